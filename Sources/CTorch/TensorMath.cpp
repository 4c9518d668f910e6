// Element-wise math, reductions, linear algebra, neural-network primitives, in-place ops.
#include "Shim.hpp"

using ctorch::dims;
using ctorch::T;

static at::Tensor unary(ct_unary_op op, const at::Tensor &t) {
  switch (op) {
  case CT_UNARY_NEG: return t.neg();
  case CT_UNARY_EXP: return t.exp();
  case CT_UNARY_LOG: return t.log();
  case CT_UNARY_SQRT: return t.sqrt();
  case CT_UNARY_RSQRT: return t.rsqrt();
  case CT_UNARY_TANH: return t.tanh();
  case CT_UNARY_SIGMOID: return t.sigmoid();
  case CT_UNARY_SILU: return at::silu(t);
  case CT_UNARY_GELU: return at::gelu(t, "none");
  case CT_UNARY_GELU_TANH: return at::gelu(t, "tanh");
  case CT_UNARY_RELU: return t.relu();
  case CT_UNARY_ABS: return t.abs();
  case CT_UNARY_SIN: return t.sin();
  case CT_UNARY_COS: return t.cos();
  case CT_UNARY_LOG1P: return t.log1p();
  case CT_UNARY_EXPM1: return t.expm1();
  case CT_UNARY_FLOOR: return t.floor();
  case CT_UNARY_CEIL: return t.ceil();
  case CT_UNARY_ROUND: return t.round();
  case CT_UNARY_SIGN: return t.sign();
  case CT_UNARY_RECIPROCAL: return t.reciprocal();
  case CT_UNARY_SQUARE: return t.square();
  case CT_UNARY_LOGICAL_NOT: return t.logical_not();
  case CT_UNARY_ISNAN: return t.isnan();
  case CT_UNARY_ISFINITE: return t.isfinite();
  case CT_UNARY_ERF: return t.erf();
  }
  TORCH_CHECK(false, "unknown unary op code ", static_cast<int>(op));
}

template <typename B> static at::Tensor binary(ct_binary_op op, const at::Tensor &a, const B &b) {
  switch (op) {
  case CT_BINARY_ADD: return at::add(a, b);
  case CT_BINARY_SUB: return at::sub(a, b);
  case CT_BINARY_MUL: return at::mul(a, b);
  case CT_BINARY_DIV: return at::div(a, b);
  case CT_BINARY_POW: return at::pow(a, b);
  case CT_BINARY_EQ: return at::eq(a, b);
  case CT_BINARY_NE: return at::ne(a, b);
  case CT_BINARY_LT: return at::lt(a, b);
  case CT_BINARY_LE: return at::le(a, b);
  case CT_BINARY_GT: return at::gt(a, b);
  case CT_BINARY_GE: return at::ge(a, b);
  case CT_BINARY_REMAINDER: return at::remainder(a, b);
  case CT_BINARY_FLOOR_DIVIDE: return at::floor_divide(a, b);
  default: break;
  }
  if constexpr (std::is_same_v<B, at::Tensor>) {
    switch (op) {
    case CT_BINARY_MAXIMUM: return at::maximum(a, b);
    case CT_BINARY_MINIMUM: return at::minimum(a, b);
    case CT_BINARY_LOGICAL_AND: return at::logical_and(a, b);
    case CT_BINARY_LOGICAL_OR: return at::logical_or(a, b);
    default: break;
    }
  } else {
    switch (op) {
    case CT_BINARY_MAXIMUM: return at::clamp_min(a, b);
    case CT_BINARY_MINIMUM: return at::clamp_max(a, b);
    default: break;
    }
  }
  TORCH_CHECK(false, "binary op code ", static_cast<int>(op), " is not available for these operands");
}

static at::Tensor reduce(ct_reduce_op op, const at::Tensor &t, at::IntArrayRef d, bool keepdim) {
  bool all = d.empty();
  switch (op) {
  case CT_REDUCE_SUM: return all && !keepdim ? t.sum() : t.sum(d, keepdim);
  case CT_REDUCE_MEAN: return all && !keepdim ? t.mean() : t.mean(d, keepdim);
  case CT_REDUCE_AMAX: return t.amax(d, keepdim);
  case CT_REDUCE_AMIN: return t.amin(d, keepdim);
  case CT_REDUCE_LOGSUMEXP: {
    if (!all) return t.logsumexp(d, keepdim);
    std::vector<int64_t> every(static_cast<size_t>(t.dim()));
    for (size_t i = 0; i < every.size(); i++) every[i] = static_cast<int64_t>(i);
    return t.logsumexp(every, keepdim);
  }
  case CT_REDUCE_PROD: {
    TORCH_CHECK(d.size() <= 1, "prod reduces over one dimension or all of them");
    return all ? t.prod() : t.prod(d[0], keepdim);
  }
  case CT_REDUCE_ANY: return all ? t.any() : t.any(d, keepdim);
  case CT_REDUCE_ALL: return all ? t.all() : t.all(d, keepdim);
  }
  TORCH_CHECK(false, "unknown reduction op code ", static_cast<int>(op));
}

static std::optional<at::Tensor> optional(ct_tensor t) {
  if (t == nullptr) return std::nullopt;
  return T(t);
}

extern "C" {

ct_tensor ct_unary(ct_unary_op op, ct_tensor t) { CT_TENSOR(unary(op, T(t))) }
ct_tensor ct_binary(ct_binary_op op, ct_tensor a, ct_tensor b) { CT_TENSOR(binary(op, T(a), T(b))) }
ct_tensor ct_binary_scalar(ct_binary_op op, ct_tensor a, ct_scalar b) {
  CT_TENSOR(binary(op, T(a), ctorch::scalar(b)))
}
ct_tensor ct_scalar_binary(ct_binary_op op, ct_scalar a, ct_tensor b) {
  CT_TENSOR(binary(op, at::scalar_tensor(ctorch::scalar(a), T(b).options().requires_grad(false)), T(b)))
}
ct_tensor ct_where(ct_tensor c, ct_tensor a, ct_tensor b) { CT_TENSOR(at::where(T(c), T(a), T(b))) }
ct_tensor ct_clamp(ct_tensor t, bool has_min, double min, bool has_max, double max) {
  CT_TENSOR(at::clamp(T(t), has_min ? std::optional<at::Scalar>(min) : std::nullopt,
                      has_max ? std::optional<at::Scalar>(max) : std::nullopt))
}
ct_tensor ct_masked_fill(ct_tensor t, ct_tensor mask, ct_scalar v) {
  CT_TENSOR(T(t).masked_fill(T(mask), ctorch::scalar(v)))
}
ct_tensor ct_softmax(ct_tensor t, int64_t dim) { CT_TENSOR(T(t).softmax(dim)) }
ct_tensor ct_log_softmax(ct_tensor t, int64_t dim) { CT_TENSOR(T(t).log_softmax(dim)) }
ct_tensor ct_dropout(ct_tensor t, double p, bool train) { CT_TENSOR(at::dropout(T(t), p, train)) }
ct_tensor ct_to_dtype(ct_tensor t, int32_t dtype) { CT_TENSOR(T(t).to(static_cast<at::ScalarType>(dtype))) }
ct_tensor ct_to_device(ct_tensor t, int32_t dt, int32_t di) {
  CT_TENSOR(T(t).to(at::Device(static_cast<c10::DeviceType>(dt), static_cast<c10::DeviceIndex>(di))))
}
ct_tensor ct_clone(ct_tensor t) { CT_TENSOR(T(t).clone()) }
ct_tensor ct_detach(ct_tensor t) { CT_TENSOR(T(t).detach()) }

ct_tensor ct_reduce(ct_reduce_op op, ct_tensor t, const int64_t *d, int32_t n, bool keepdim) {
  CT_TENSOR(reduce(op, T(t), dims(d, n), keepdim))
}
ct_tensor ct_var(ct_tensor t, const int64_t *d, int32_t n, int64_t correction, bool keepdim) {
  CT_TENSOR(at::var(T(t), n == 0 ? at::OptionalIntArrayRef() : at::OptionalIntArrayRef(dims(d, n)),
                    at::Scalar(correction), keepdim))
}
ct_tensor ct_norm(ct_tensor t, double p, const int64_t *d, int32_t n, bool keepdim) {
  CT_TENSOR(n == 0 && !keepdim ? at::norm(T(t), p) : at::norm(T(t), p, dims(d, n), keepdim))
}
bool ct_max_dim(ct_tensor t, int64_t dim, bool keepdim, ct_tensor *v, ct_tensor *i) {
  CT_PAIR(T(t).max(dim, keepdim), v, i)
}
bool ct_min_dim(ct_tensor t, int64_t dim, bool keepdim, ct_tensor *v, ct_tensor *i) {
  CT_PAIR(T(t).min(dim, keepdim), v, i)
}
ct_tensor ct_argmax(ct_tensor t, int64_t dim, bool keepdim) { CT_TENSOR(T(t).argmax(dim, keepdim)) }
ct_tensor ct_argmin(ct_tensor t, int64_t dim, bool keepdim) { CT_TENSOR(T(t).argmin(dim, keepdim)) }
ct_tensor ct_cumsum(ct_tensor t, int64_t dim) { CT_TENSOR(T(t).cumsum(dim)) }
bool ct_topk(ct_tensor t, int64_t k, int64_t dim, bool largest, bool sorted, ct_tensor *v, ct_tensor *i) {
  CT_PAIR(T(t).topk(k, dim, largest, sorted), v, i)
}
bool ct_sort(ct_tensor t, int64_t dim, bool descending, ct_tensor *v, ct_tensor *i) {
  CT_PAIR(T(t).sort(dim, descending), v, i)
}

ct_tensor ct_matmul(ct_tensor a, ct_tensor b) { CT_TENSOR(at::matmul(T(a), T(b))) }
ct_tensor ct_bmm(ct_tensor a, ct_tensor b) { CT_TENSOR(at::bmm(T(a), T(b))) }
ct_tensor ct_linear(ct_tensor x, ct_tensor w, ct_tensor b) { CT_TENSOR(at::linear(T(x), T(w), optional(b))) }
ct_tensor ct_embedding(ct_tensor w, ct_tensor idx) { CT_TENSOR(at::embedding(T(w), T(idx))) }
ct_tensor ct_layer_norm(ct_tensor x, const int64_t *s, int32_t n, ct_tensor w, ct_tensor b, double eps) {
  CT_TENSOR(at::layer_norm(T(x), dims(s, n), optional(w), optional(b), eps))
}
ct_tensor ct_rms_norm(ct_tensor x, const int64_t *s, int32_t n, ct_tensor w, double eps) {
  CT_TENSOR(at::rms_norm(T(x), dims(s, n), optional(w), eps))
}
ct_tensor ct_sdpa(ct_tensor q, ct_tensor k, ct_tensor v, ct_tensor mask, double dropout, bool causal,
                  bool has_scale, double scale, bool gqa) {
  CT_TENSOR(at::scaled_dot_product_attention(T(q), T(k), T(v), optional(mask), dropout, causal,
                                             has_scale ? std::optional<double>(scale) : std::nullopt, gqa))
}

bool ct_copy_(ct_tensor dst, ct_tensor src) { CT_STATUS(T(dst).copy_(T(src))) }
bool ct_fill_(ct_tensor t, ct_scalar v) { CT_STATUS(T(t).fill_(ctorch::scalar(v))) }
bool ct_index_copy_(ct_tensor t, int64_t dim, ct_tensor index, ct_tensor src) { CT_STATUS(T(t).index_copy_(dim, T(index), T(src))) }
bool ct_index_fill_(ct_tensor t, int64_t dim, ct_tensor index, ct_scalar v) { CT_STATUS(T(t).index_fill_(dim, T(index), ctorch::scalar(v))) }
bool ct_zero_(ct_tensor t) { CT_STATUS(T(t).zero_()) }
bool ct_add_(ct_tensor t, ct_tensor o, double alpha) { CT_STATUS(T(t).add_(T(o), alpha)) }
bool ct_mul_(ct_tensor t, ct_tensor o) { CT_STATUS(T(t).mul_(T(o))) }
bool ct_mul_scalar_(ct_tensor t, double v) { CT_STATUS(T(t).mul_(v)) }
bool ct_add_scalar_(ct_tensor t, double v) { CT_STATUS(T(t).add_(v)) }
bool ct_addcmul_(ct_tensor t, ct_tensor a, ct_tensor b, double v) { CT_STATUS(T(t).addcmul_(T(a), T(b), v)) }
bool ct_addcdiv_(ct_tensor t, ct_tensor a, ct_tensor b, double v) { CT_STATUS(T(t).addcdiv_(T(a), T(b), v)) }
bool ct_lerp_(ct_tensor t, ct_tensor end, double w) { CT_STATUS(T(t).lerp_(T(end), w)) }

} // extern "C"

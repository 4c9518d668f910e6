// Lifetime, introspection, creation, random numbers, shapes and indexing.
#include "Shim.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/detail/CUDAHooksInterface.h>

#include <sstream>

using ctorch::dims;
using ctorch::options;
using ctorch::T;

namespace ctorch {
std::atomic<int64_t> live_tensors{0};
thread_local std::string last_error;
void set_error(const char *message) { last_error = message ? message : "unknown error"; }
} // namespace ctorch

extern "C" {

const char *ct_last_error(void) { return ctorch::last_error.c_str(); }
int64_t ct_live_tensors(void) { return ctorch::live_tensors.load(std::memory_order_relaxed); }

void ct_free(ct_tensor t) {
  if (t == nullptr) return;
  ctorch::live_tensors.fetch_sub(1, std::memory_order_relaxed);
  delete t;
}

void ct_free_string(char *s) { std::free(s); }

int64_t ct_dim(ct_tensor t) { return T(t).dim(); }
void ct_sizes(ct_tensor t, int64_t *out) {
  auto s = T(t).sizes();
  std::copy(s.begin(), s.end(), out);
}
void ct_strides(ct_tensor t, int64_t *out) {
  auto s = T(t).strides();
  std::copy(s.begin(), s.end(), out);
}
int32_t ct_dtype(ct_tensor t) { return static_cast<int32_t>(T(t).scalar_type()); }
int32_t ct_device_type(ct_tensor t) { return static_cast<int32_t>(T(t).device().type()); }
int32_t ct_device_index(ct_tensor t) { return T(t).device().index(); }
int64_t ct_numel(ct_tensor t) { return T(t).numel(); }
bool ct_requires_grad(ct_tensor t) { return T(t).requires_grad(); }
bool ct_is_leaf(ct_tensor t) { return T(t).is_leaf(); }
bool ct_is_contiguous(ct_tensor t) { return T(t).is_contiguous(); }
size_t ct_element_size(ct_tensor t) { return T(t).element_size(); }

bool ct_copy_to_host(ct_tensor t, void *dst, size_t nbytes) {
  CT_STATUS({
    at::Tensor c = T(t).detach().to(at::kCPU).contiguous();
    size_t need = static_cast<size_t>(c.numel()) * c.element_size();
    TORCH_CHECK(need == nbytes, "copy to host: the tensor holds ", need, " bytes, the destination ", nbytes);
    if (need > 0) std::memcpy(dst, c.data_ptr(), need);
  })
}

bool ct_item_double(ct_tensor t, double *out) { CT_STATUS(*out = T(t).item<double>()) }
bool ct_item_int64(ct_tensor t, int64_t *out) { CT_STATUS(*out = T(t).item<int64_t>()) }

char *ct_to_string(ct_tensor t) {
  try {
    std::ostringstream os;
    os << T(t);
    return strdup(os.str().c_str());
  } catch (const std::exception &e) {
    ctorch::record(e);
    return nullptr;
  }
}

bool ct_same_data(ct_tensor a, ct_tensor b) {
  try {
    return T(a).data_ptr() == T(b).data_ptr();
  } catch (...) {
    return false;
  }
}

// ---- creation ----

ct_tensor ct_from_data(const void *data, const int64_t *sizes, int32_t ndim, int32_t dtype) {
  CT_TENSOR(at::from_blob(const_cast<void *>(data), dims(sizes, ndim), options(dtype, 0, -1)).clone())
}
ct_tensor ct_empty(const int64_t *sizes, int32_t ndim, int32_t dtype, int32_t dt, int32_t di) {
  CT_TENSOR(at::empty(dims(sizes, ndim), options(dtype, dt, di)))
}
ct_tensor ct_zeros(const int64_t *sizes, int32_t ndim, int32_t dtype, int32_t dt, int32_t di) {
  CT_TENSOR(at::zeros(dims(sizes, ndim), options(dtype, dt, di)))
}
ct_tensor ct_ones(const int64_t *sizes, int32_t ndim, int32_t dtype, int32_t dt, int32_t di) {
  CT_TENSOR(at::ones(dims(sizes, ndim), options(dtype, dt, di)))
}
ct_tensor ct_full(const int64_t *sizes, int32_t ndim, ct_scalar value, int32_t dtype, int32_t dt, int32_t di) {
  CT_TENSOR(at::full(dims(sizes, ndim), ctorch::scalar(value), options(dtype, dt, di)))
}
ct_tensor ct_arange(ct_scalar start, ct_scalar end, ct_scalar step, int32_t dtype, int32_t dt, int32_t di) {
  CT_TENSOR(at::arange(ctorch::scalar(start), ctorch::scalar(end), ctorch::scalar(step), options(dtype, dt, di)))
}
ct_tensor ct_zeros_like(ct_tensor t) { CT_TENSOR(at::zeros_like(T(t))) }
ct_tensor ct_ones_like(ct_tensor t) { CT_TENSOR(at::ones_like(T(t))) }

ct_tensor ct_randn(const int64_t *sizes, int32_t ndim, int32_t dtype, int32_t dt, int32_t di, ct_generator g) {
  CT_TENSOR(at::randn(dims(sizes, ndim), ctorch::generator(g), options(dtype, dt, di)))
}
ct_tensor ct_rand(const int64_t *sizes, int32_t ndim, int32_t dtype, int32_t dt, int32_t di, ct_generator g) {
  CT_TENSOR(at::rand(dims(sizes, ndim), ctorch::generator(g), options(dtype, dt, di)))
}
ct_tensor ct_randint(int64_t low, int64_t high, const int64_t *sizes, int32_t ndim, int32_t dtype, int32_t dt,
                     int32_t di, ct_generator g) {
  CT_TENSOR(at::randint(low, high, dims(sizes, ndim), ctorch::generator(g), options(dtype, dt, di)))
}
ct_tensor ct_multinomial(ct_tensor probs, int64_t n, bool replacement, ct_generator g) {
  CT_TENSOR(at::multinomial(T(probs), n, replacement, ctorch::generator(g)))
}
bool ct_normal_(ct_tensor t, double mean, double std, ct_generator g) {
  CT_STATUS(T(t).normal_(mean, std, ctorch::generator(g)))
}
bool ct_uniform_(ct_tensor t, double from, double to, ct_generator g) {
  CT_STATUS(T(t).uniform_(from, to, ctorch::generator(g)))
}

// ---- generators ----

void ct_manual_seed(uint64_t seed) {
  try {
    at::manual_seed(seed);
  } catch (const std::exception &e) {
    ctorch::record(e);
  }
}

ct_generator ct_generator_new(uint64_t seed, int32_t dev_type, int32_t dev_index) {
  try {
    at::Generator gen;
    if (static_cast<c10::DeviceType>(dev_type) == c10::DeviceType::CUDA) {
      gen = at::detail::getCUDAHooks().getNewGenerator(static_cast<c10::DeviceIndex>(dev_index));
    } else {
      gen = at::detail::createCPUGenerator(seed);
    }
    {
      std::lock_guard<std::mutex> lock(gen.mutex());
      gen.set_current_seed(seed);
    }
    return new ct_generator_opaque{std::move(gen)};
  } catch (const std::exception &e) {
    ctorch::record(e);
    return nullptr;
  }
}

void ct_generator_free(ct_generator g) { delete g; }

bool ct_generator_set_seed(ct_generator g, uint64_t seed) {
  CT_STATUS({
    std::lock_guard<std::mutex> lock(g->generator.mutex());
    g->generator.set_current_seed(seed);
  })
}

ct_tensor ct_generator_get_state(ct_generator g) {
  CT_TENSOR(([&] {
    std::lock_guard<std::mutex> lock(g->generator.mutex());
    return g->generator.get_state();
  })())
}

bool ct_generator_set_state(ct_generator g, ct_tensor state) {
  CT_STATUS({
    std::lock_guard<std::mutex> lock(g->generator.mutex());
    g->generator.set_state(T(state));
  })
}

// ---- shape and indexing ----

ct_tensor ct_reshape(ct_tensor t, const int64_t *s, int32_t n) { CT_TENSOR(T(t).reshape(dims(s, n))) }
ct_tensor ct_view(ct_tensor t, const int64_t *s, int32_t n) { CT_TENSOR(T(t).view(dims(s, n))) }
ct_tensor ct_permute(ct_tensor t, const int64_t *d, int32_t n) { CT_TENSOR(T(t).permute(dims(d, n))) }
ct_tensor ct_transpose(ct_tensor t, int64_t a, int64_t b) { CT_TENSOR(T(t).transpose(a, b)) }
ct_tensor ct_squeeze(ct_tensor t, int64_t dim) { CT_TENSOR(T(t).squeeze(dim)) }
ct_tensor ct_unsqueeze(ct_tensor t, int64_t dim) { CT_TENSOR(T(t).unsqueeze(dim)) }
ct_tensor ct_flatten(ct_tensor t, int64_t s, int64_t e) { CT_TENSOR(T(t).flatten(s, e)) }
ct_tensor ct_expand(ct_tensor t, const int64_t *s, int32_t n) { CT_TENSOR(T(t).expand(dims(s, n))) }
ct_tensor ct_repeat(ct_tensor t, const int64_t *r, int32_t n) { CT_TENSOR(T(t).repeat(dims(r, n))) }
ct_tensor ct_contiguous(ct_tensor t) { CT_TENSOR(T(t).contiguous()) }
ct_tensor ct_narrow(ct_tensor t, int64_t dim, int64_t start, int64_t len) { CT_TENSOR(T(t).narrow(dim, start, len)) }
ct_tensor ct_slice(ct_tensor t, int64_t dim, int64_t start, int64_t end, int64_t step) {
  CT_TENSOR(T(t).slice(dim, start, end, step))
}
ct_tensor ct_select(ct_tensor t, int64_t dim, int64_t index) { CT_TENSOR(T(t).select(dim, index)) }

static std::vector<at::Tensor> tensor_list(const ct_tensor *ts, int32_t n) {
  std::vector<at::Tensor> v;
  v.reserve(static_cast<size_t>(n));
  for (int32_t i = 0; i < n; i++) v.push_back(T(ts[i]));
  return v;
}

ct_tensor ct_cat(const ct_tensor *ts, int32_t n, int64_t dim) { CT_TENSOR(at::cat(tensor_list(ts, n), dim)) }
ct_tensor ct_stack(const ct_tensor *ts, int32_t n, int64_t dim) { CT_TENSOR(at::stack(tensor_list(ts, n), dim)) }
ct_tensor ct_index_select(ct_tensor t, int64_t dim, ct_tensor idx) { CT_TENSOR(T(t).index_select(dim, T(idx))) }
ct_tensor ct_gather(ct_tensor t, int64_t dim, ct_tensor idx) { CT_TENSOR(T(t).gather(dim, T(idx))) }
ct_tensor ct_scatter(ct_tensor t, int64_t dim, ct_tensor idx, ct_tensor src) {
  CT_TENSOR(T(t).scatter(dim, T(idx), T(src)))
}
ct_tensor ct_scatter_add(ct_tensor t, int64_t dim, ct_tensor idx, ct_tensor src) {
  CT_TENSOR(T(t).scatter_add(dim, T(idx), T(src)))
}
ct_tensor ct_masked_select(ct_tensor t, ct_tensor mask) { CT_TENSOR(T(t).masked_select(T(mask))) }
ct_tensor ct_tril(ct_tensor t, int64_t d) { CT_TENSOR(T(t).tril(d)) }
ct_tensor ct_triu(ct_tensor t, int64_t d) { CT_TENSOR(T(t).triu(d)) }
ct_tensor ct_flip(ct_tensor t, const int64_t *d, int32_t n) { CT_TENSOR(T(t).flip(dims(d, n))) }
ct_tensor ct_nonzero(ct_tensor t) { CT_TENSOR(T(t).nonzero()) }

} // extern "C"

// Fused operations with hand-written backward passes (torch::autograd::Function), where
// composing ATen ops would keep large intermediates alive for autograd.
#include "Shim.hpp"

#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/custom_function.h>

using ctorch::T;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

namespace {

// log p(target) under softmax(hidden · Wᵀ / temperature), computed `chunk` rows at a time so
// that only one [chunk, vocab] block of logits exists at once, in the forward pass and again
// in the backward pass (which recomputes the block, unless it was kept within a budget):
//   out[n] = z[n, t_n] − logsumexp(z[n, :]),   z = hidden · Wᵀ · inv_t   (f32)
//   ∂out/∂z = onehot(t) − softmax(z),   ∂z/∂hidden = W · inv_t,   ∂z/∂W = hidden · inv_t
struct LinearLogProbs : public torch::autograd::Function<LinearLogProbs> {
  // The logits of the first `keep_rows` rows (whole blocks) are kept from the forward pass for
  // the backward one, which then skips their matmul; the rest are recomputed. Blocks are
  // worked on in place in one reused [chunk, vocab] buffer: a fresh one per block would be
  // mapped and faulted in anew every time (glibc maps a block larger than a thread arena's
  // 64 MB heap straight from the kernel and unmaps it on free; commands run on pool threads).
  static at::Tensor forward(AutogradContext *ctx, const at::Tensor &hidden, const at::Tensor &weight,
                            const at::Tensor &targets, double inv_t, int64_t chunk, at::Tensor *entropy, int64_t keep_rows) {
    // `entropy` is a plain pointer, not a tensor argument: autograd would treat it as an input.
    const int64_t n = hidden.size(0);
    auto out = at::empty({n}, hidden.options().dtype(at::kFloat));
    auto lse_all = at::empty({n}, hidden.options().dtype(at::kFloat));
    auto work = at::empty({std::min(chunk, n), weight.size(0)}, hidden.options().dtype(at::kFloat));
    at::Tensor scratch = entropy != nullptr ? at::empty_like(work) : at::Tensor();
    std::vector<at::Tensor> kept;  // the first blocks' logits, one tensor per block
    for (int64_t s = 0; s < n; s += chunk) {
      const int64_t len = std::min(chunk, n - s);
      auto z = work.narrow(0, 0, len);
      if (s + len <= keep_rows) {
        kept.push_back(at::empty({len, weight.size(0)}, z.options()));
        block_logits(hidden.narrow(0, s, len), weight, inv_t, kept.back());
        z.copy_(kept.back());
      } else {
        block_logits(hidden.narrow(0, s, len), weight, inv_t, z);
      }
      auto e = entropy != nullptr ? scratch.narrow(0, 0, len) : at::Tensor();
      auto [picked, lse] = log_softmax_at(z, targets.narrow(0, s, len), e, entropy ? entropy->narrow(0, s, len) : at::Tensor());
      out.narrow(0, s, len).copy_(picked);
      lse_all.narrow(0, s, len).copy_(lse);
    }
    ctx->save_for_backward({hidden, weight, targets, lse_all});
    ctx->saved_data["inv_t"] = inv_t;
    ctx->saved_data["chunk"] = chunk;
    if (!kept.empty()) ctx->saved_data["kept"] = kept;
    return out;
  }

  // z = h · Wᵀ · inv_t as f32 [len, vocab], written into `into`.
  static void block_logits(const at::Tensor &h, const at::Tensor &weight, double inv_t, at::Tensor &into) {
    if (h.scalar_type() == at::kFloat && weight.scalar_type() == at::kFloat) {
      at::mm_out(into, h, weight.t());
    } else {
      into.copy_(at::matmul(h, weight.t()));
    }
    into.mul_(inv_t);
  }

  // log softmax(z)[t] and logsumexp(z) per row of z [len, vocab] (overwritten); with `e`
  // (scratch like z), each row's entropy into `entropy`:
  //   z' = z − max,  S = Σ exp z',  log p(t) = z'[t] − log S,  H = log S − Σ exp(z')·z' / S
  static std::pair<at::Tensor, at::Tensor> log_softmax_at(at::Tensor &z, const at::Tensor &t, at::Tensor &e, at::Tensor entropy) {
    auto top = at::amax(z, {1}, true);
    z.sub_(top);
    auto picked = z.gather(1, t.unsqueeze(1)).squeeze(1);
    at::Tensor sum;
    if (e.defined()) {
      at::exp_out(e, z);
      sum = e.sum(1);
      entropy.copy_(sum.log() - e.mul_(z).sum(1) / sum);
    } else {
      sum = z.exp_().sum(1);
    }
    auto log_sum = sum.log_();
    return {picked - log_sum, top.squeeze(1) + log_sum};
  }

  static variable_list backward(AutogradContext *ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const auto &hidden = saved[0];
    const auto &weight = saved[1];
    const auto &targets = saved[2];
    const auto &lse_all = saved[3];
    const double inv_t = ctx->saved_data["inv_t"].toDouble();
    const int64_t chunk = ctx->saved_data["chunk"].toInt();
    const auto g = grads[0].to(at::kFloat);
    const bool need_hidden = ctx->needs_input_grad(0);
    const bool need_weight = ctx->needs_input_grad(1);
    const int64_t n = hidden.size(0);
    at::Tensor grad_hidden = need_hidden ? at::empty_like(hidden) : at::Tensor();
    at::Tensor grad_weight = need_weight ? at::zeros(weight.sizes(), weight.options().dtype(at::kFloat)) : at::Tensor();
    // Kept logits are turned into their gradient in place and released after this pass (a
    // second backward pass, with a retained graph, recomputes them all).
    std::vector<at::Tensor> kept;
    if (ctx->saved_data.count("kept")) kept = ctx->saved_data["kept"].toTensorVector();
    ctx->saved_data.erase("kept");
    at::Tensor work;
    for (int64_t s = 0; s < n; s += chunk) {
      const int64_t len = std::min(chunk, n - s);
      auto h = hidden.narrow(0, s, len);
      const auto block = static_cast<size_t>(s / chunk);
      at::Tensor z;
      if (block < kept.size()) {
        z = std::move(kept[block]);
      } else {
        if (!work.defined()) work = at::empty({std::min(chunk, n), weight.size(0)}, hidden.options().dtype(at::kFloat));
        z = work.narrow(0, 0, len);
        block_logits(h, weight, inv_t, z);
      }
      auto gc = g.narrow(0, s, len).unsqueeze(1);  // [len, 1]
      // (onehot − softmax) · g · inv_t
      auto grad_logits = z.sub_(lse_all.narrow(0, s, len).unsqueeze(1)).exp_().mul_(gc.neg());
      grad_logits.scatter_add_(1, targets.narrow(0, s, len).unsqueeze(1), gc);
      grad_logits.mul_(inv_t);
      auto grad_logits_typed = grad_logits.to(hidden.scalar_type());
      if (need_hidden) {
        auto rows = grad_hidden.narrow(0, s, len);
        at::mm_out(rows, grad_logits_typed, weight);
      }
      if (need_weight) {
        // In place (no [vocab, hidden] temporary per chunk: 671 MB for Gemma's 262k × 640).
        if (hidden.scalar_type() == at::kFloat) {
          grad_weight.addmm_(grad_logits_typed.t(), h);
        } else {
          grad_weight.add_(at::matmul(grad_logits_typed.t(), h).to(at::kFloat));
        }
      }
    }
    if (need_weight) grad_weight = grad_weight.to(weight.scalar_type());
    return {grad_hidden, grad_weight, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

// Activation checkpointing (the reentrant form of torch.utils.checkpoint): the block runs
// without autograd in the forward pass, keeping only its input; the backward pass runs it
// again with autograd and back-propagates through that copy, which accumulates the block's
// parameter gradients and yields the input's. The block is a callback into Swift.
struct BlockCallback : torch::CustomClassHolder {
  void *context;
  ct_block_fn run;
  ct_release_fn release;
  ct_done_fn after_backward;
  BlockCallback(void *c, ct_block_fn r, ct_release_fn rel, ct_done_fn done) : context(c), run(r), release(rel), after_backward(done) {}
  ~BlockCallback() override {
    if (release) release(context);
  }
  at::Tensor operator()(const at::Tensor &input) const {
    ct_tensor out = run(context, ctorch::wrap(input));
    if (out == nullptr) throw std::runtime_error(std::string("checkpointed block: ") + ct_last_error());
    at::Tensor result = out->tensor;
    ct_free(out);
    return result;
  }
  void backward_done() const {
    if (after_backward != nullptr && !after_backward(context)) {
      throw std::runtime_error(std::string("checkpointed block, after its backward pass: ") + ct_last_error());
    }
  }
};

struct Checkpoint : public torch::autograd::Function<Checkpoint> {
  static at::Tensor forward(AutogradContext *ctx, const at::Tensor &input, c10::intrusive_ptr<BlockCallback> block) {
    at::Tensor output = (*block)(input);
    ctx->save_for_backward({input});
    ctx->saved_data["block"] = at::IValue::make_capsule(block);
    return output;
  }

  static variable_list backward(AutogradContext *ctx, variable_list grads) {
    auto input = ctx->get_saved_variables()[0];
    auto block = c10::static_intrusive_pointer_cast<BlockCallback>(ctx->saved_data["block"].toCapsule());
    at::AutoGradMode enable(true);
    auto x = input.detach().requires_grad_(true);
    auto y = (*block)(x);
    torch::autograd::backward({y}, {grads[0]});
    block->backward_done();
    return {x.grad(), at::Tensor()};
  }
};

// A block whose backward pass is told when it ends, without checkpointing: the forward pass
// runs the block with autograd on a detached copy of the input and keeps that inner graph;
// the backward pass back-propagates through it (accumulating the block's parameter
// gradients, whatever order the outer graph would have run them in — autocast's cached
// weight casts come from earlier passes), calls after_backward, and returns the input's
// gradient. The same operations as running the block in the outer graph, in one piece.
struct KeptBlock : public torch::autograd::Function<KeptBlock> {
  static at::Tensor forward(AutogradContext *ctx, const at::Tensor &input, c10::intrusive_ptr<BlockCallback> block) {
    at::AutoGradMode enable(true);
    auto x = input.detach().requires_grad_(true);
    auto y = (*block)(x);
    ctx->saved_data["input"] = x;
    ctx->saved_data["output"] = y;
    ctx->saved_data["block"] = at::IValue::make_capsule(block);
    return y.detach();
  }

  static variable_list backward(AutogradContext *ctx, variable_list grads) {
    auto x = ctx->saved_data["input"].toTensor();
    auto y = ctx->saved_data["output"].toTensor();
    auto block = c10::static_intrusive_pointer_cast<BlockCallback>(ctx->saved_data["block"].toCapsule());
    at::AutoGradMode enable(true);
    torch::autograd::backward({y}, {grads[0]});
    block->backward_done();
    auto grad = x.grad();
    ctx->saved_data.clear();
    return {grad, at::Tensor()};
  }
};

} // namespace

extern "C" {

ct_tensor ct_checkpoint(ct_tensor input, void *context, ct_block_fn run, ct_release_fn release, ct_done_fn after_backward) {
  CT_TENSOR(Checkpoint::apply(T(input), c10::make_intrusive<BlockCallback>(context, run, release, after_backward)))
}

ct_tensor ct_kept_block(ct_tensor input, void *context, ct_block_fn run, ct_release_fn release, ct_done_fn after_backward) {
  CT_TENSOR(KeptBlock::apply(T(input), c10::make_intrusive<BlockCallback>(context, run, release, after_backward)))
}

ct_tensor ct_share(ct_tensor t) { CT_TENSOR(T(t)) }

void ct_set_last_error(const char *message) { ctorch::set_error(message); }

ct_tensor ct_linear_log_probs(ct_tensor hidden, ct_tensor weight, ct_tensor targets, double inv_temperature, int64_t chunk,
                              ct_tensor entropy_out, int64_t keep_bytes) {
  at::Tensor *entropy = entropy_out ? &entropy_out->tensor : nullptr;
  chunk = std::max<int64_t>(chunk, 1);
  // Kept only when a backward pass will come; whole chunks (or every row), within the budget.
  const bool differentiable = at::GradMode::is_enabled() && (T(hidden).requires_grad() || T(weight).requires_grad());
  const int64_t rows = T(hidden).size(0), row_bytes = std::max<int64_t>(T(weight).size(0), 1) * 4;
  int64_t keep_rows = differentiable && keep_bytes > 0 ? std::min(rows, keep_bytes / row_bytes) : 0;
  if (keep_rows < rows) keep_rows = keep_rows / chunk * chunk;
  CT_TENSOR(LinearLogProbs::apply(T(hidden), T(weight), T(targets), inv_temperature, chunk, entropy, keep_rows))
}

// oneDNN's pre-packed linear (the kernels PyTorch's inductor uses on CPU): the weight is
// reordered once into the blocked layout the matmul kernel reads, instead of being packed
// again on every call. Found through the dispatcher because these ops have no C++ header.
static at::Tensor pack_linear_weight(const at::Tensor &weight, int64_t batch_hint) {
  static auto op = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("mkldnn::_reorder_linear_weight", "")
                       .typed<at::Tensor(const at::Tensor &, std::optional<int64_t>)>();
  return op.call(weight, batch_hint > 0 ? std::optional<int64_t>(batch_hint) : std::nullopt);
}

static at::Tensor packed_linear(const at::Tensor &x, const at::Tensor &packed, const std::optional<at::Tensor> &bias) {
  static auto op = c10::Dispatcher::singleton()
                       .findSchemaOrThrow("mkldnn::_linear_pointwise", "")
                       .typed<at::Tensor(const at::Tensor &, const at::Tensor &, const std::optional<at::Tensor> &,
                                         c10::string_view, c10::List<std::optional<at::Scalar>>,
                                         std::optional<c10::string_view>)>();
  return op.call(x, packed, bias, "none", c10::List<std::optional<at::Scalar>>(), std::nullopt);
}

ct_tensor ct_pack_linear_weight(ct_tensor weight, int64_t batch_hint) { CT_TENSOR(pack_linear_weight(T(weight), batch_hint)) }

ct_tensor ct_packed_linear(ct_tensor x, ct_tensor packed, ct_tensor bias) {
  CT_TENSOR(packed_linear(T(x), T(packed), bias ? std::optional<at::Tensor>(T(bias)) : std::nullopt))
}

int64_t ct_data_version(ct_tensor t) { return static_cast<int64_t>(T(t)._version()); }

} // extern "C"

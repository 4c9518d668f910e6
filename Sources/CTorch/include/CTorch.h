// CTorch: a plain C ABI over libtorch (ATen). Mechanical: opaque handles in, opaque handles
// out, no Swift types, no logic beyond translating arguments.
//
// Conventions
// - A function returning `ct_tensor` returns a new owning handle, or NULL on failure.
// - A function returning `bool` returns true on success.
// - On failure the libtorch message is kept per thread; read it with ct_last_error().
//   No C++ exception ever leaves this library.
// - Every handle returned must be released with ct_free (ct_generator_free for generators).
// - dtype codes are c10::ScalarType numbers; device types are c10::DeviceType numbers
//   (0 = CPU, 1 = CUDA) with an index (-1 = current).
#ifndef CTORCH_H
#define CTORCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ct_tensor_opaque *ct_tensor;
typedef struct ct_generator_opaque *ct_generator;

/// A scalar argument: kind 0 = floating (f), 1 = integer (i), 2 = boolean (i != 0).
typedef struct {
  int32_t kind;
  double f;
  int64_t i;
} ct_scalar;

typedef enum {
  CT_UNARY_NEG = 0,
  CT_UNARY_EXP,
  CT_UNARY_LOG,
  CT_UNARY_SQRT,
  CT_UNARY_RSQRT,
  CT_UNARY_TANH,
  CT_UNARY_SIGMOID,
  CT_UNARY_SILU,
  CT_UNARY_GELU,
  CT_UNARY_GELU_TANH,
  CT_UNARY_RELU,
  CT_UNARY_ABS,
  CT_UNARY_SIN,
  CT_UNARY_COS,
  CT_UNARY_LOG1P,
  CT_UNARY_EXPM1,
  CT_UNARY_FLOOR,
  CT_UNARY_CEIL,
  CT_UNARY_ROUND,
  CT_UNARY_SIGN,
  CT_UNARY_RECIPROCAL,
  CT_UNARY_SQUARE,
  CT_UNARY_LOGICAL_NOT,
  CT_UNARY_ISNAN,
  CT_UNARY_ISFINITE,
  CT_UNARY_ERF,
} ct_unary_op;

typedef enum {
  CT_BINARY_ADD = 0,
  CT_BINARY_SUB,
  CT_BINARY_MUL,
  CT_BINARY_DIV,
  CT_BINARY_POW,
  CT_BINARY_MAXIMUM,
  CT_BINARY_MINIMUM,
  CT_BINARY_EQ,
  CT_BINARY_NE,
  CT_BINARY_LT,
  CT_BINARY_LE,
  CT_BINARY_GT,
  CT_BINARY_GE,
  CT_BINARY_LOGICAL_AND,
  CT_BINARY_LOGICAL_OR,
  CT_BINARY_REMAINDER,
  CT_BINARY_FLOOR_DIVIDE,
} ct_binary_op;

typedef enum {
  CT_REDUCE_SUM = 0,
  CT_REDUCE_MEAN,
  CT_REDUCE_AMAX,
  CT_REDUCE_AMIN,
  CT_REDUCE_LOGSUMEXP,
  CT_REDUCE_PROD,
  CT_REDUCE_ANY,
  CT_REDUCE_ALL,
} ct_reduce_op;

// ---- errors, lifetime, introspection ------------------------------------------------

const char *ct_last_error(void);
int64_t ct_live_tensors(void);
void ct_free(ct_tensor t);
/// Frees a string returned by this library.
void ct_free_string(char *s);

int64_t ct_dim(ct_tensor t);
/// Writes ct_dim(t) sizes (or strides) into out.
void ct_sizes(ct_tensor t, int64_t *out);
void ct_strides(ct_tensor t, int64_t *out);
int32_t ct_dtype(ct_tensor t);
int32_t ct_device_type(ct_tensor t);
int32_t ct_device_index(ct_tensor t);
int64_t ct_numel(ct_tensor t);
bool ct_requires_grad(ct_tensor t);
bool ct_is_leaf(ct_tensor t);
bool ct_is_contiguous(ct_tensor t);
size_t ct_element_size(ct_tensor t);
/// Copies the elements (row-major, any device) into `dst`, which holds `nbytes` bytes;
/// nbytes must equal numel * element size.
bool ct_copy_to_host(ct_tensor t, void *dst, size_t nbytes);
bool ct_item_double(ct_tensor t, double *out);
bool ct_item_int64(ct_tensor t, int64_t *out);
/// Human-readable rendering (values, dtype, shape); free with ct_free_string.
char *ct_to_string(ct_tensor t);
/// True when both handles view the same storage at the same offset.
bool ct_same_data(ct_tensor a, ct_tensor b);

// ---- creation -----------------------------------------------------------------------

/// Copies numel * element-size bytes from `data` into a new CPU tensor.
ct_tensor ct_from_data(const void *data, const int64_t *sizes, int32_t ndim, int32_t dtype);
ct_tensor ct_empty(const int64_t *sizes, int32_t ndim, int32_t dtype, int32_t dev_type, int32_t dev_index);
ct_tensor ct_zeros(const int64_t *sizes, int32_t ndim, int32_t dtype, int32_t dev_type, int32_t dev_index);
ct_tensor ct_ones(const int64_t *sizes, int32_t ndim, int32_t dtype, int32_t dev_type, int32_t dev_index);
ct_tensor ct_full(const int64_t *sizes, int32_t ndim, ct_scalar value, int32_t dtype, int32_t dev_type,
                  int32_t dev_index);
ct_tensor ct_arange(ct_scalar start, ct_scalar end, ct_scalar step, int32_t dtype, int32_t dev_type,
                    int32_t dev_index);
ct_tensor ct_zeros_like(ct_tensor t);
ct_tensor ct_ones_like(ct_tensor t);
/// Standard normal (randn) or uniform [0, 1) (rand); `gen` may be NULL for the default.
ct_tensor ct_randn(const int64_t *sizes, int32_t ndim, int32_t dtype, int32_t dev_type, int32_t dev_index,
                   ct_generator gen);
ct_tensor ct_rand(const int64_t *sizes, int32_t ndim, int32_t dtype, int32_t dev_type, int32_t dev_index,
                  ct_generator gen);
ct_tensor ct_randint(int64_t low, int64_t high, const int64_t *sizes, int32_t ndim, int32_t dtype,
                     int32_t dev_type, int32_t dev_index, ct_generator gen);
ct_tensor ct_multinomial(ct_tensor probs, int64_t num_samples, bool replacement, ct_generator gen);
bool ct_normal_(ct_tensor t, double mean, double std, ct_generator gen);
bool ct_uniform_(ct_tensor t, double from, double to, ct_generator gen);

// ---- random generators --------------------------------------------------------------

void ct_manual_seed(uint64_t seed);
// PyTorch's deterministic algorithms (torch.use_deterministic_algorithms) with cuDNN's
// deterministic mode and no cuDNN benchmarking; on, it also sets CUBLAS_WORKSPACE_CONFIG
// (":4096:8") unless the environment has it. False with ct_last_error when it failed.
bool ct_set_deterministic(bool on);
bool ct_get_deterministic(void);
ct_generator ct_generator_new(uint64_t seed, int32_t dev_type, int32_t dev_index);
void ct_generator_free(ct_generator g);
bool ct_generator_set_seed(ct_generator g, uint64_t seed);
/// The full state as a uint8 CPU tensor (for checkpoints), and its restoration.
ct_tensor ct_generator_get_state(ct_generator g);
bool ct_generator_set_state(ct_generator g, ct_tensor state);

// ---- shape and indexing -------------------------------------------------------------

ct_tensor ct_reshape(ct_tensor t, const int64_t *sizes, int32_t ndim);
ct_tensor ct_view(ct_tensor t, const int64_t *sizes, int32_t ndim);
ct_tensor ct_permute(ct_tensor t, const int64_t *dims, int32_t ndim);
ct_tensor ct_transpose(ct_tensor t, int64_t dim0, int64_t dim1);
ct_tensor ct_squeeze(ct_tensor t, int64_t dim);
ct_tensor ct_unsqueeze(ct_tensor t, int64_t dim);
ct_tensor ct_flatten(ct_tensor t, int64_t start_dim, int64_t end_dim);
ct_tensor ct_expand(ct_tensor t, const int64_t *sizes, int32_t ndim);
ct_tensor ct_repeat(ct_tensor t, const int64_t *repeats, int32_t ndim);
ct_tensor ct_contiguous(ct_tensor t);
ct_tensor ct_narrow(ct_tensor t, int64_t dim, int64_t start, int64_t length);
ct_tensor ct_slice(ct_tensor t, int64_t dim, int64_t start, int64_t end, int64_t step);
ct_tensor ct_select(ct_tensor t, int64_t dim, int64_t index);
ct_tensor ct_cat(const ct_tensor *ts, int32_t n, int64_t dim);
ct_tensor ct_stack(const ct_tensor *ts, int32_t n, int64_t dim);
ct_tensor ct_index_select(ct_tensor t, int64_t dim, ct_tensor index);
ct_tensor ct_gather(ct_tensor t, int64_t dim, ct_tensor index);
ct_tensor ct_scatter(ct_tensor t, int64_t dim, ct_tensor index, ct_tensor src);
ct_tensor ct_scatter_add(ct_tensor t, int64_t dim, ct_tensor index, ct_tensor src);
ct_tensor ct_masked_select(ct_tensor t, ct_tensor mask);
ct_tensor ct_tril(ct_tensor t, int64_t diagonal);
ct_tensor ct_triu(ct_tensor t, int64_t diagonal);
ct_tensor ct_flip(ct_tensor t, const int64_t *dims, int32_t ndim);
ct_tensor ct_nonzero(ct_tensor t);

// ---- element-wise -------------------------------------------------------------------

ct_tensor ct_unary(ct_unary_op op, ct_tensor t);
ct_tensor ct_binary(ct_binary_op op, ct_tensor a, ct_tensor b);
ct_tensor ct_binary_scalar(ct_binary_op op, ct_tensor a, ct_scalar b);
/// `b op a` for a scalar b (e.g. 1 - x, 2 / x).
ct_tensor ct_scalar_binary(ct_binary_op op, ct_scalar a, ct_tensor b);
ct_tensor ct_where(ct_tensor cond, ct_tensor a, ct_tensor b);
ct_tensor ct_clamp(ct_tensor t, bool has_min, double min, bool has_max, double max);
ct_tensor ct_masked_fill(ct_tensor t, ct_tensor mask, ct_scalar value);
ct_tensor ct_softmax(ct_tensor t, int64_t dim);
ct_tensor ct_log_softmax(ct_tensor t, int64_t dim);
ct_tensor ct_dropout(ct_tensor t, double p, bool train);
ct_tensor ct_to_dtype(ct_tensor t, int32_t dtype);
ct_tensor ct_to_device(ct_tensor t, int32_t dev_type, int32_t dev_index);
ct_tensor ct_clone(ct_tensor t);
ct_tensor ct_detach(ct_tensor t);

// ---- reductions, sorting ------------------------------------------------------------

/// Reduces over `dims` (ndim 0 = all dimensions).
ct_tensor ct_reduce(ct_reduce_op op, ct_tensor t, const int64_t *dims, int32_t ndim, bool keepdim);
/// Variance with `correction` (1 = Bessel) over dims (ndim 0 = all).
ct_tensor ct_var(ct_tensor t, const int64_t *dims, int32_t ndim, int64_t correction, bool keepdim);
ct_tensor ct_norm(ct_tensor t, double p, const int64_t *dims, int32_t ndim, bool keepdim);
bool ct_max_dim(ct_tensor t, int64_t dim, bool keepdim, ct_tensor *values, ct_tensor *indices);
bool ct_min_dim(ct_tensor t, int64_t dim, bool keepdim, ct_tensor *values, ct_tensor *indices);
ct_tensor ct_argmax(ct_tensor t, int64_t dim, bool keepdim);
ct_tensor ct_argmin(ct_tensor t, int64_t dim, bool keepdim);
ct_tensor ct_cumsum(ct_tensor t, int64_t dim);
bool ct_topk(ct_tensor t, int64_t k, int64_t dim, bool largest, bool sorted, ct_tensor *values,
             ct_tensor *indices);
bool ct_sort(ct_tensor t, int64_t dim, bool descending, ct_tensor *values, ct_tensor *indices);

// ---- linear algebra and neural-network primitives -----------------------------------

ct_tensor ct_matmul(ct_tensor a, ct_tensor b);
ct_tensor ct_bmm(ct_tensor a, ct_tensor b);
/// x [*, in] · wᵀ [in, out] (+ b [out]); bias may be NULL.
ct_tensor ct_linear(ct_tensor x, ct_tensor w, ct_tensor bias);
ct_tensor ct_embedding(ct_tensor weight, ct_tensor indices);
ct_tensor ct_layer_norm(ct_tensor x, const int64_t *shape, int32_t ndim, ct_tensor weight, ct_tensor bias,
                        double eps);
ct_tensor ct_rms_norm(ct_tensor x, const int64_t *shape, int32_t ndim, ct_tensor weight, double eps);
/// Fused attention. q [B, Hq, Tq, D], k/v [B, Hkv, Tk, D]; mask (bool: true = attend, or
/// additive float) broadcastable to [B, Hq, Tq, Tk], may be NULL; scale used when has_scale.
/// log-softmax(hidden · weightᵀ · inv_temperature)[n, targets[n]] for hidden [N, H], weight [V, H],
/// targets [N] int64: [N] f32, with a backward pass that recomputes logits `chunk` rows at a
/// time, except the first rows whose f32 logits fit in `keep_bytes` (kept from the forward
/// pass when autograd records it). When `entropy_out` ([N] f32) is given, the entropy of each
/// row is written into it (not differentiated).
ct_tensor ct_linear_log_probs(ct_tensor hidden, ct_tensor weight, ct_tensor targets, double inv_temperature, int64_t chunk,
                              ct_tensor entropy_out, int64_t keep_bytes);

/// oneDNN pre-packed linear weights (CPU, f32/bf16): pack once, then multiply many times.
/// `batch_hint` (0: none) tunes the layout for that many rows.
ct_tensor ct_pack_linear_weight(ct_tensor weight, int64_t batch_hint);
/// x [..., in] · packedᵀ (+ bias) with a weight from ct_pack_linear_weight.
ct_tensor ct_packed_linear(ct_tensor x, ct_tensor packed, ct_tensor bias);
/// The tensor's version counter (bumped by every in-place change).
int64_t ct_data_version(ct_tensor t);

/// A block for ct_checkpoint: returns a new handle (ownership passes to the caller) or NULL
/// after ct_set_last_error. `input` is a new handle owned by the block.
typedef ct_tensor (*ct_block_fn)(void *context, ct_tensor input);
typedef void (*ct_release_fn)(void *context);
/// Called after a checkpointed block's backward pass; false (after ct_set_last_error) fails it.
typedef bool (*ct_done_fn)(void *context);
/// run(context, input) without autograd now and again with autograd during backward
/// (activation checkpointing); then after_backward(context) (may be NULL) once the block's
/// gradients are accumulated; release(context) when the graph no longer needs it.
ct_tensor ct_checkpoint(ct_tensor input, void *context, ct_block_fn run, ct_release_fn release, ct_done_fn after_backward);
/// run(context, input) now with autograd, its graph kept inside one node; during backward the
/// gradient flows through that graph, then after_backward(context) runs (the block's
/// gradients are complete); release(context) when the graph no longer needs it.
ct_tensor ct_kept_block(ct_tensor input, void *context, ct_block_fn run, ct_release_fn release, ct_done_fn after_backward);
/// A second handle to the same tensor.
ct_tensor ct_share(ct_tensor t);
/// Sets this thread's error message (for callbacks reporting failure).
void ct_set_last_error(const char *message);

ct_tensor ct_sdpa(ct_tensor q, ct_tensor k, ct_tensor v, ct_tensor mask, double dropout, bool causal,
                  bool has_scale, double scale, bool enable_gqa);

// ---- in place (optimizers, caches) --------------------------------------------------

bool ct_copy_(ct_tensor dst, ct_tensor src);
bool ct_fill_(ct_tensor t, ct_scalar value);
/// t.index_copy_(dim, index, src) and t.index_fill_(dim, index, value): device-side indices
/// (what a captured CUDA graph can replay with new values).
bool ct_index_copy_(ct_tensor t, int64_t dim, ct_tensor index, ct_tensor src);
bool ct_index_fill_(ct_tensor t, int64_t dim, ct_tensor index, ct_scalar value);
bool ct_zero_(ct_tensor t);
bool ct_add_(ct_tensor t, ct_tensor other, double alpha);
bool ct_mul_(ct_tensor t, ct_tensor other);
bool ct_mul_scalar_(ct_tensor t, double value);
bool ct_add_scalar_(ct_tensor t, double value);
bool ct_addcmul_(ct_tensor t, ct_tensor a, ct_tensor b, double value);
bool ct_addcdiv_(ct_tensor t, ct_tensor a, ct_tensor b, double value);
bool ct_lerp_(ct_tensor t, ct_tensor end, double weight);

// ---- autograd -----------------------------------------------------------------------

/// Makes glibc keep freed large blocks for reuse instead of unmapping them (see Torch.keepFreedMemory).
void ct_keep_freed_memory(void);

bool ct_set_requires_grad(ct_tensor t, bool requires_grad);
/// grad may be NULL for a scalar t.
bool ct_backward(ct_tensor t, ct_tensor grad, bool retain_graph);
/// *out = the accumulated gradient, or NULL when none has been computed.
bool ct_grad(ct_tensor t, ct_tensor *out);
/// Drops the accumulated gradient (the next backward allocates a fresh one).
bool ct_zero_grad(ct_tensor t);
bool ct_retain_grad(ct_tensor t);
/// Sets the accumulated gradient (a rank that had no data still steps with the summed one).
bool ct_set_grad(ct_tensor t, ct_tensor grad);
/// Points t (keeping its autograd identity: a leaf stays the same leaf) at data's storage,
/// shape and strides, as `t.data = data` does in Python: how sharded parameters are freed
/// and filled again without the model noticing.
bool ct_set_data(ct_tensor t, ct_tensor data);
/// Sets the calling thread's grad mode and returns the previous one.
bool ct_set_grad_enabled(bool enabled);
bool ct_is_grad_enabled(void);
/// Autocast (automatic mixed precision) on the calling thread for a device type: eligible
/// ops (matmuls, linear, attention) run in `dtype`, the rest keep their inputs' precision.
/// `ct_autocast_enter` stores the previous state in *was_enabled/*was_dtype for
/// `ct_autocast_exit`, which also drops the cache of cast weights when the outermost
/// region ends. False (with the last error set) when the device type has no autocast.
bool ct_autocast_enter(int32_t dev_type, int32_t dtype, bool *was_enabled, int32_t *was_dtype);
void ct_autocast_exit(int32_t dev_type, bool was_enabled, int32_t was_dtype);
/// Drops autocast's cast copies of weights now (sharded weights were just freed).
void ct_autocast_clear_cache(void);

// ---- runtime ------------------------------------------------------------------------

const char *ct_version(void);
/// Path of the libtorch_cpu.so this process loaded ("" when unknown).
const char *ct_library_path(void);
/// at::show_config(); free with ct_free_string.
char *ct_build_config(void);
void ct_set_num_threads(int32_t n);
/// prctl(PR_SET_PDEATHSIG, signal) (variadic in C, so Swift cannot call it): the kernel
/// sends `signal` to this process when its parent dies. 0 on success, -1 with errno.
int32_t ct_set_parent_death_signal(int32_t signal);
/// Quiets libtorch's own diagnostics on stderr for the rest of the process: its warnings and
/// errors are no longer logged (the caller reports the failure in one line) and exceptions
/// carry no C++ stack frames. Left uncalled, libtorch prints both (`--verbose`).
void ct_quiet_cpp_diagnostics(void);
int32_t ct_get_num_threads(void);
void ct_set_num_interop_threads(int32_t n);
/// dlopen()s libtorch_cuda.so (RTLD_GLOBAL), from `path` if given, else beside
/// libtorch_cpu.so, else through the loader's search path. Safe to call repeatedly.
bool ct_cuda_load(const char *path);
bool ct_cuda_is_available(void);
int32_t ct_cuda_device_count(void);
bool ct_cuda_synchronize(int32_t dev_index);

// ---- CUDA graphs ---------------------------------------------------------------------

/// A CUDA graph made by iap's plugin at `plugin` (gpu/libiap_cuda_graphs.so: it needs the
/// CUDA build of libtorch). To capture: enter a side stream (waits for the device), run the
/// work once eagerly (warm-up), begin, run it again (recorded, not run), end, leave (waits
/// for the side stream); then replay on the current stream. NULL / false on failure
/// (ct_last_error).
typedef struct ct_cuda_graph_opaque *ct_cuda_graph;
ct_cuda_graph ct_cuda_graph_new(const char *plugin);
bool ct_cuda_graph_enter_side_stream(ct_cuda_graph g, int32_t device);
bool ct_cuda_graph_capture_begin(ct_cuda_graph g);
bool ct_cuda_graph_capture_end(ct_cuda_graph g);
bool ct_cuda_graph_leave_side_stream(ct_cuda_graph g);
bool ct_cuda_graph_replay(ct_cuda_graph g);
void ct_cuda_graph_free(ct_cuda_graph g);

// ---- process groups (c10d) ------------------------------------------------------------

typedef struct ct_group_opaque *ct_group;

/// Reduction of ct_group_all_reduce / ct_group_reduce_scatter.
typedef enum { CT_COLLECTIVE_SUM = 0, CT_COLLECTIVE_MAX = 1, CT_COLLECTIVE_MIN = 2 } ct_collective_op;

/// Whether this build has Gloo (the headers were present when the shim was compiled).
bool ct_group_gloo_available(void);
/// Rendezvous through a TCPStore at host:port (rank 0 serves it and waits for `world`
/// ranks), then a Gloo process group bound to `bind_host` (the address peers reach this rank
/// at; "" = this machine's hostname, falling back to loopback). Every collective and the
/// rendezvous fail after `timeout_s`. NULL on failure (ct_last_error).
ct_group ct_group_gloo(const char *host, int32_t port, int32_t rank, int32_t world, const char *bind_host, double timeout_s);
/// The same rendezvous, then an NCCL process group (CUDA tensors, device `device`) made by
/// iap's NCCL plugin at `plugin` (gpu/libiap_nccl.so: it needs the CUDA build of libtorch,
/// which this shim is not compiled against). NULL on failure (ct_last_error).
ct_group ct_group_nccl(const char *plugin, const char *host, int32_t port, int32_t rank, int32_t world, int32_t device, double timeout_s);
void ct_group_free(ct_group g);
/// In place on `t` (contiguous, on the CPU), across all ranks.
bool ct_group_all_reduce(ct_group g, ct_tensor t, int32_t op);
/// A collective in flight (Gloo runs it on its own threads).
typedef struct ct_work_opaque *ct_work;
/// Starts ct_group_all_reduce and returns at once; `t` must stay untouched until
/// ct_work_wait returns (true when it finished, false on failure or timeout). Free with
/// ct_work_free after waiting.
ct_work ct_group_all_reduce_start(ct_group g, ct_tensor t, int32_t op);
bool ct_work_wait(ct_work w);
void ct_work_free(ct_work w);
/// [world, ...t.shape]: every rank's `t` (same shape on each), in rank order.
ct_tensor ct_group_all_gather(ct_group g, ct_tensor t);
/// `t` [world · n, ...] reduced across ranks; returns this rank's [n, ...] part.
ct_tensor ct_group_reduce_scatter(ct_group g, ct_tensor t, int32_t op);
/// In place: every rank's `t` becomes root's.
bool ct_group_broadcast(ct_group g, ct_tensor t, int32_t root);
bool ct_group_barrier(ct_group g);
/// After a failed collective: marks this rank present under `tag` in the rendezvous store
/// and waits up to `wait_s` seconds for the others; present[r] (world entries, zeroed by
/// the caller) becomes 1 for every rank seen. False when the store is unreachable (rank 0,
/// which serves it, is gone).
bool ct_group_roll_call(ct_group g, const char *tag, double wait_s, uint8_t *present);

#ifdef __cplusplus
}
#endif

#endif

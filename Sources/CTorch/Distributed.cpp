// c10d process groups over Gloo: rendezvous through a TCPStore, collectives on CPU tensors.
// Gloo's code is inside libtorch_cpu.so; its headers come from scripts/setup-gloo.sh
// (IAP_HAVE_GLOO). Only out-of-line members of ProcessGroupGloo and Backend's virtual
// collectives are called, so no Gloo class is laid out by this file's compiler.
#include "Shim.hpp"

#ifdef IAP_HAVE_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <chrono>
#include <dlfcn.h>
#include <thread>

struct ct_group_opaque {
  c10::intrusive_ptr<c10d::TCPStore> store;
  c10::intrusive_ptr<c10d::Backend> backend;
  std::chrono::milliseconds timeout;
  int rank;
  int world;
};

namespace {

c10d::ReduceOp reduce_op(int32_t op) {
  switch (op) {
  case CT_COLLECTIVE_MAX:
    return c10d::ReduceOp(c10d::ReduceOp::MAX);
  case CT_COLLECTIVE_MIN:
    return c10d::ReduceOp(c10d::ReduceOp::MIN);
  default:
    return c10d::ReduceOp(c10d::ReduceOp::SUM);
  }
}

// Waits for a collective; a peer that died or hangs surfaces here as an exception (Gloo's
// own timeout or the wait's).
void finish(ct_group g, const c10::intrusive_ptr<c10d::Work> &work) {
  if (!work->wait(g->timeout)) throw std::runtime_error("collective did not finish within the timeout");
}

// The rendezvous: rank 0 serves a TCPStore at host:port and waits for the others.
c10::intrusive_ptr<c10d::TCPStore> make_store(const char *host, int32_t port, int32_t rank, int32_t world, std::chrono::milliseconds timeout) {
  c10d::TCPStoreOptions store_options;
  store_options.port = static_cast<uint16_t>(port);
  store_options.isServer = rank == 0;
  store_options.numWorkers = world;
  store_options.waitWorkers = true;
  store_options.timeout = timeout;
  return c10::make_intrusive<c10d::TCPStore>(std::string(host), store_options);
}

// The NCCL plugin's entry point (GPUPlugins/iap_nccl.cpp).
using nccl_backend_fn = void *(*)(void *store, int rank, int world, int device, double timeout_s, char *error, size_t error_size);

} // namespace

extern "C" {

bool ct_group_gloo_available(void) { return true; }

ct_group ct_group_nccl(const char *plugin, const char *host, int32_t port, int32_t rank, int32_t world, int32_t device, double timeout_s) {
  setenv("TORCH_FR_BUFFER_SIZE", "0", 0);
  try {
    // Loaded before the rendezvous, so a missing plugin fails every rank at once.
    void *library = dlopen(plugin, RTLD_NOW | RTLD_GLOBAL);
    TORCH_CHECK(library != nullptr, "cannot load the NCCL plugin ", plugin, ": ", dlerror());
    auto make = reinterpret_cast<nccl_backend_fn>(dlsym(library, "iap_nccl_backend"));
    TORCH_CHECK(make != nullptr, plugin, " has no iap_nccl_backend (not iap's NCCL plugin?)");
    auto timeout = std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
    auto store = make_store(host, port, rank, world, timeout);
    char error[2048] = {0};
    void *raw = make(static_cast<c10d::Store *>(store.get()), rank, world, device, timeout_s, error, sizeof error);
    TORCH_CHECK(raw != nullptr, "NCCL process group: ", error);
    auto backend = c10::intrusive_ptr<c10d::Backend>::reclaim(static_cast<c10d::Backend *>(raw));
    return new ct_group_opaque{store, backend, timeout, rank, world};
  } catch (const std::exception &e) {
    ctorch::record(e);
    return nullptr;
  }
}

ct_group ct_group_gloo(const char *host, int32_t port, int32_t rank, int32_t world, const char *bind_host, double timeout_s) {
  // c10d's flight recorder (a process-wide log of collectives, read on the first group's
  // creation) inserts into a shared tree without a lock that holds across groups: several
  // groups of one process (ranks as threads: tests, iap-bench zero2) crashed in it. We never
  // dump it, so it is off unless the user asks for it.
  setenv("TORCH_FR_BUFFER_SIZE", "0", 0);
  try {
    auto timeout = std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
    auto store = make_store(host, port, rank, world, timeout);
    auto options = c10d::ProcessGroupGloo::Options::create(timeout);
    std::string bind(bind_host);
    options->devices.push_back(bind.empty() ? c10d::ProcessGroupGloo::createDefaultDevice()
                                            : c10d::ProcessGroupGloo::createDeviceForHostname(bind));
    auto backend = c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, world, options);
    return new ct_group_opaque{store, backend, timeout, rank, world};
  } catch (const std::exception &e) {
    ctorch::record(e);
    return nullptr;
  }
}

void ct_group_free(ct_group g) { delete g; }

bool ct_group_all_reduce(ct_group g, ct_tensor t, int32_t op) {
  CT_STATUS({
    std::vector<at::Tensor> tensors{ctorch::T(t)};
    c10d::AllreduceOptions options;
    options.reduceOp = reduce_op(op);
    options.timeout = g->timeout;
    finish(g, g->backend->allreduce(tensors, options));
  })
}

struct ct_work_opaque {
  ct_group group;
  c10::intrusive_ptr<c10d::Work> work;
};

ct_work ct_group_all_reduce_start(ct_group g, ct_tensor t, int32_t op) {
  try {
    std::vector<at::Tensor> tensors{ctorch::T(t)};
    c10d::AllreduceOptions options;
    options.reduceOp = reduce_op(op);
    options.timeout = g->timeout;
    return new ct_work_opaque{g, g->backend->allreduce(tensors, options)};
  } catch (const std::exception &e) {
    ctorch::record(e);
    return nullptr;
  }
}

bool ct_work_wait(ct_work w) { CT_STATUS(finish(w->group, w->work)) }

void ct_work_free(ct_work w) { delete w; }

ct_tensor ct_group_all_gather(ct_group g, ct_tensor t) {
  CT_TENSOR(([&] {
    std::vector<at::Tensor> input{ctorch::T(t).contiguous()};
    std::vector<at::Tensor> parts;
    for (int r = 0; r < g->world; r++) parts.push_back(at::empty_like(input[0]));
    std::vector<std::vector<at::Tensor>> outputs{parts};
    c10d::AllgatherOptions options;
    options.timeout = g->timeout;
    finish(g, g->backend->allgather(outputs, input, options));
    return at::stack(outputs[0]);
  }()))
}

ct_tensor ct_group_reduce_scatter(ct_group g, ct_tensor t, int32_t op) {
  CT_TENSOR(([&] {
    const at::Tensor &whole = ctorch::T(t);
    TORCH_CHECK(whole.dim() > 0 && whole.size(0) % g->world == 0, "reduce-scatter: the first dimension (", whole.size(0),
                ") is not a multiple of the world size (", g->world, ")");
    auto chunks = whole.contiguous().chunk(g->world, 0);
    std::vector<std::vector<at::Tensor>> inputs{{}};
    for (auto &c : chunks) inputs[0].push_back(c.contiguous());
    std::vector<at::Tensor> output{at::empty_like(inputs[0][0])};
    c10d::ReduceScatterOptions options;
    options.reduceOp = reduce_op(op);
    options.timeout = g->timeout;
    finish(g, g->backend->reduce_scatter(output, inputs, options));
    return output[0];
  }()))
}

bool ct_group_broadcast(ct_group g, ct_tensor t, int32_t root) {
  CT_STATUS({
    std::vector<at::Tensor> tensors{ctorch::T(t)};
    c10d::BroadcastOptions options;
    options.rootRank = root;
    options.timeout = g->timeout;
    finish(g, g->backend->broadcast(tensors, options));
  })
}

bool ct_group_barrier(ct_group g) {
  CT_STATUS({
    c10d::BarrierOptions options;
    options.timeout = g->timeout;
    finish(g, g->backend->barrier(options));
  })
}

bool ct_group_roll_call(ct_group g, const char *tag, double wait_s, uint8_t *present) {
  CT_STATUS({
    // Each rank still running marks itself in the store under the same tag, then watches
    // for the others until all are there or the wait is over.
    std::string prefix = std::string("iap-roll-call/") + tag + "/";
    g->store->set(prefix + std::to_string(g->rank), std::vector<uint8_t>{1});
    auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(wait_s);
    while (true) {
      int here = 0;
      for (int r = 0; r < g->world; r++) {
        if (!present[r]) present[r] = g->store->check({prefix + std::to_string(r)}) ? 1 : 0;
        here += present[r];
      }
      if (here == g->world || std::chrono::steady_clock::now() >= deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  })
}

} // extern "C"

#else // built without Gloo's headers

struct ct_group_opaque {};
struct ct_work_opaque {};

static const char *kNoGloo = "this build has no Gloo: its headers were missing when the shim was compiled (run 'make setup', then rebuild)";

extern "C" {
bool ct_group_gloo_available(void) { return false; }
ct_group ct_group_gloo(const char *, int32_t, int32_t, int32_t, const char *, double) {
  ctorch::set_error(kNoGloo);
  return nullptr;
}
ct_group ct_group_nccl(const char *, const char *, int32_t, int32_t, int32_t, int32_t, double) {
  ctorch::set_error(kNoGloo);
  return nullptr;
}
void ct_group_free(ct_group g) { delete g; }
bool ct_group_all_reduce(ct_group, ct_tensor, int32_t) { return ctorch::set_error(kNoGloo), false; }
ct_work ct_group_all_reduce_start(ct_group, ct_tensor, int32_t) { return ctorch::set_error(kNoGloo), nullptr; }
bool ct_work_wait(ct_work) { return ctorch::set_error(kNoGloo), false; }
void ct_work_free(ct_work w) { delete w; }
ct_tensor ct_group_all_gather(ct_group, ct_tensor) { return ctorch::set_error(kNoGloo), nullptr; }
ct_tensor ct_group_reduce_scatter(ct_group, ct_tensor, int32_t) { return ctorch::set_error(kNoGloo), nullptr; }
bool ct_group_broadcast(ct_group, ct_tensor, int32_t) { return ctorch::set_error(kNoGloo), false; }
bool ct_group_barrier(ct_group) { return ctorch::set_error(kNoGloo), false; }
bool ct_group_roll_call(ct_group, const char *, double, uint8_t *) { return ctorch::set_error(kNoGloo), false; }
}

#endif

// NCCL process groups for iap, built apart from the shim (scripts/build-nccl-plugin.sh):
// ProcessGroupNCCL lives in the CUDA build of libtorch (libtorch_cuda.so) and its headers
// need CUDA's, which the CPU build of the shim has neither of. The shim dlopen()s this
// library on a GPU machine (dist.backend: nccl) and calls iap_nccl_backend with the
// rendezvous store it made; everything after that (collectives, waits) goes through c10d's
// Backend interface, as for Gloo.
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>

#include <chrono>
#include <cstdio>

extern "C" {

// A ProcessGroupNCCL for rank `rank` of `world` over `store` (a c10d::Store*, which the
// group keeps a reference to), bound to CUDA device `device` (its communicators are made
// there at once), collectives failing after `timeout_s`. Returns a c10d::Backend* whose one
// reference passes to the caller, or NULL with the reason in `error`.
void *iap_nccl_backend(void *store, int rank, int world, int device, double timeout_s, char *error, size_t error_size) {
  try {
    auto shared = c10::intrusive_ptr<c10d::Store>::reclaim_copy(static_cast<c10d::Store *>(store));
    auto options = c10d::ProcessGroupNCCL::Options::create();
    options->timeout = std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
    auto group = c10::make_intrusive<c10d::ProcessGroupNCCL>(shared, rank, world, options);
    group->setBoundDeviceId(at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(device)));
    c10d::Backend *backend = group.release();
    return backend;
  } catch (const std::exception &e) {
    std::snprintf(error, error_size, "%s", e.what());
    return nullptr;
  }
}

} // extern "C"

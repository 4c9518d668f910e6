// Autograd, threads, version, and run-time loading of the CUDA backend.
#include "Shim.hpp"

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <ATen/Version.h>
#include <ATen/autocast_mode.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <c10/core/GradMode.h>
#include <c10/util/Logging.h>
#include <torch/headeronly/version.h>

#include <dlfcn.h>
#include <sys/prctl.h>
#include <malloc.h>
#include <mutex>

using ctorch::T;

extern "C" {

void ct_keep_freed_memory(void) {
  // Large tensors are otherwise returned to the kernel on free and faulted back in, zeroed,
  // on the next allocation: a steady cost in decode loops that reallocate the same sizes.
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
}

bool ct_set_deterministic(bool on) {
  // cuBLAS reads this when its first handle is made; without it, deterministic mode makes
  // CUDA matmuls fail rather than run.
  if (on) setenv("CUBLAS_WORKSPACE_CONFIG", ":4096:8", 0);
  CT_STATUS({
    at::globalContext().setDeterministicAlgorithms(on, /*warn_only=*/false);
    at::globalContext().setDeterministicCuDNN(on);
    if (on) at::globalContext().setBenchmarkCuDNN(false);
  })
}

bool ct_get_deterministic(void) { return at::globalContext().deterministicAlgorithms(); }

bool ct_set_requires_grad(ct_tensor t, bool r) { CT_STATUS(t->tensor.set_requires_grad(r)) }

bool ct_backward(ct_tensor t, ct_tensor grad, bool retain_graph) {
  CT_STATUS(T(t).backward(grad ? T(grad) : at::Tensor(), retain_graph))
}

bool ct_grad(ct_tensor t, ct_tensor *out) {
  CT_STATUS({
    const at::Tensor &g = T(t).grad();
    *out = g.defined() ? ctorch::wrap(g) : nullptr;
  })
}

bool ct_zero_grad(ct_tensor t) { CT_STATUS(t->tensor.mutable_grad().reset()) }
bool ct_retain_grad(ct_tensor t) { CT_STATUS(T(t).retain_grad()) }
bool ct_set_grad(ct_tensor t, ct_tensor grad) { CT_STATUS(t->tensor.mutable_grad() = T(grad)) }

bool ct_set_data(ct_tensor t, ct_tensor data) { CT_STATUS(t->tensor.set_data(T(data))) }

bool ct_set_grad_enabled(bool enabled) {
  bool previous = c10::GradMode::is_enabled();
  c10::GradMode::set_enabled(enabled);
  return previous;
}
bool ct_is_grad_enabled(void) { return c10::GradMode::is_enabled(); }

bool ct_autocast_enter(int32_t dev_type, int32_t dtype, bool *was_enabled, int32_t *was_dtype) {
  CT_STATUS({
    const auto device = static_cast<c10::DeviceType>(dev_type);
    TORCH_CHECK(at::autocast::is_autocast_available(device), "autocast is not available on ", c10::DeviceTypeName(device));
    *was_enabled = at::autocast::is_autocast_enabled(device);
    *was_dtype = static_cast<int32_t>(at::autocast::get_autocast_dtype(device));
    at::autocast::set_autocast_dtype(device, static_cast<at::ScalarType>(dtype));
    at::autocast::set_autocast_enabled(device, true);
    at::autocast::increment_nesting();
  })
}

void ct_autocast_exit(int32_t dev_type, bool was_enabled, int32_t was_dtype) {
  const auto device = static_cast<c10::DeviceType>(dev_type);
  // The cast copies of weights are kept for the whole outermost region (a weight used by
  // every micro-batch is cast once), then dropped: the optimizer changes the originals.
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  at::autocast::set_autocast_enabled(device, was_enabled);
  at::autocast::set_autocast_dtype(device, static_cast<at::ScalarType>(was_dtype));
}

void ct_autocast_clear_cache(void) { at::autocast::clear_cache(); }

const char *ct_version(void) { return TORCH_VERSION; }

const char *ct_library_path(void) {
  static std::string path = [] {
    Dl_info info;
    if (dladdr(reinterpret_cast<void *>(&at::get_num_threads), &info) != 0 && info.dli_fname != nullptr) {
      return std::string(info.dli_fname);
    }
    return std::string();
  }();
  return path.c_str();
}

char *ct_build_config(void) {
  try {
    return strdup(at::show_config().c_str());
  } catch (const std::exception &e) {
    ctorch::record(e);
    return nullptr;
  }
}

int32_t ct_set_parent_death_signal(int32_t signal) {
  return prctl(PR_SET_PDEATHSIG, static_cast<unsigned long>(signal), 0UL, 0UL, 0UL);
}

void ct_quiet_cpp_diagnostics(void) {
  // c10's levels: 0 info, 1 warning, 2 error, 3 fatal; c10d logs each connection retry as a
  // warning holding the whole exception, stack frames included.
  FLAGS_caffe2_log_level = 3;
  c10::SetStackTraceFetcher([]() { return std::string(); });
}

void ct_set_num_threads(int32_t n) {
  try {
    at::set_num_threads(n);
  } catch (const std::exception &e) {
    ctorch::record(e);
  }
}
int32_t ct_get_num_threads(void) { return at::get_num_threads(); }
void ct_set_num_interop_threads(int32_t n) {
  try {
    at::set_num_interop_threads(n);
  } catch (const std::exception &e) {
    ctorch::record(e);
  }
}

static std::mutex cuda_mutex;
static void *cuda_handle = nullptr;

bool ct_cuda_load(const char *path) {
  std::lock_guard<std::mutex> lock(cuda_mutex);
  if (cuda_handle != nullptr) return true;
  std::string tried;
  auto attempt = [&](const std::string &candidate) {
    if (cuda_handle != nullptr) return;
    cuda_handle = dlopen(candidate.c_str(), RTLD_NOW | RTLD_GLOBAL);
    if (cuda_handle == nullptr) {
      const char *why = dlerror();
      tried += "\n  " + candidate + ": " + (why ? why : "not loadable");
    }
  };
  if (path != nullptr && *path != 0) {
    attempt(path);
  } else {
    // Beside libtorch_cpu.so first: that is the libtorch this binary runs against.
    Dl_info info;
    if (dladdr(reinterpret_cast<void *>(&at::get_num_threads), &info) != 0 && info.dli_fname != nullptr) {
      std::string cpu = info.dli_fname;
      auto slash = cpu.rfind('/');
      if (slash != std::string::npos) attempt(cpu.substr(0, slash) + "/libtorch_cuda.so");
    }
    attempt("libtorch_cuda.so");
  }
  if (cuda_handle == nullptr) {
    ctorch::set_error(("libtorch_cuda.so could not be loaded:" + tried).c_str());
    return false;
  }
  return true;
}

bool ct_cuda_is_available(void) {
  try {
    return at::detail::getCUDAHooks().hasCUDA();
  } catch (...) {
    return false;
  }
}

int32_t ct_cuda_device_count(void) {
  try {
    return at::detail::getCUDAHooks().deviceCount();
  } catch (...) {
    return 0;
  }
}

bool ct_cuda_synchronize(int32_t dev_index) {
  CT_STATUS(at::detail::getCUDAHooks().deviceSynchronize(static_cast<c10::DeviceIndex>(dev_index)))
}

} // extern "C"

// CUDA graphs through iap's plugin (GPUPlugins/iap_cuda_graphs.cpp, gpu/libiap_cuda_graphs.so):
// at::cuda::CUDAGraph is in the CUDA build of libtorch, which this shim is not compiled
// against, so the plugin is dlopen()ed and its entry points called through pointers.
#include "Shim.hpp"

#include <dlfcn.h>

namespace {

using new_fn = void *(*)(char *, size_t);
using device_step_fn = int (*)(void *, int, char *, size_t);
using step_fn = int (*)(void *, char *, size_t);
using free_fn = void (*)(void *);

struct Plugin {
  new_fn make;
  device_step_fn enter;
  step_fn begin, end, leave, replay;
  free_fn release;
};

template <typename F> F symbol(void *library, const char *plugin, const char *name) {
  auto found = reinterpret_cast<F>(dlsym(library, name));
  TORCH_CHECK(found != nullptr, plugin, " has no ", name, " (not iap's CUDA graphs plugin?)");
  return found;
}

Plugin load(const char *plugin) {
  void *library = dlopen(plugin, RTLD_NOW | RTLD_GLOBAL);
  TORCH_CHECK(library != nullptr, "cannot load the CUDA graphs plugin ", plugin, ": ", dlerror());
  return Plugin{symbol<new_fn>(library, plugin, "iap_cuda_graph_new"),
                symbol<device_step_fn>(library, plugin, "iap_cuda_graph_enter_side_stream"),
                symbol<step_fn>(library, plugin, "iap_cuda_graph_capture_begin"),
                symbol<step_fn>(library, plugin, "iap_cuda_graph_capture_end"),
                symbol<step_fn>(library, plugin, "iap_cuda_graph_leave_side_stream"),
                symbol<step_fn>(library, plugin, "iap_cuda_graph_replay"),
                symbol<free_fn>(library, plugin, "iap_cuda_graph_free")};
}

// Runs one of the plugin's steps, turning its message into the shim's error.
bool run(const char *what, void *graph, step_fn step) {
  char error[2048] = {0};
  if (step(graph, error, sizeof error) == 0) return true;
  ctorch::set_error((std::string(what) + ": " + error).c_str());
  return false;
}

} // namespace

struct ct_cuda_graph_opaque {
  Plugin plugin;
  void *graph;
};

extern "C" {

ct_cuda_graph ct_cuda_graph_new(const char *plugin) {
  try {
    Plugin loaded = load(plugin);
    char error[2048] = {0};
    void *graph = loaded.make(error, sizeof error);
    TORCH_CHECK(graph != nullptr, "CUDA graph: ", error);
    return new ct_cuda_graph_opaque{loaded, graph};
  } catch (const std::exception &e) {
    ctorch::record(e);
    return nullptr;
  }
}

bool ct_cuda_graph_enter_side_stream(ct_cuda_graph g, int32_t device) {
  char error[2048] = {0};
  if (g->plugin.enter(g->graph, device, error, sizeof error) == 0) return true;
  ctorch::set_error((std::string("entering a side stream: ") + error).c_str());
  return false;
}

bool ct_cuda_graph_capture_begin(ct_cuda_graph g) { return run("beginning a capture", g->graph, g->plugin.begin); }
bool ct_cuda_graph_capture_end(ct_cuda_graph g) { return run("ending a capture", g->graph, g->plugin.end); }
bool ct_cuda_graph_leave_side_stream(ct_cuda_graph g) { return run("leaving the side stream", g->graph, g->plugin.leave); }
bool ct_cuda_graph_replay(ct_cuda_graph g) { return run("replaying", g->graph, g->plugin.replay); }

void ct_cuda_graph_free(ct_cuda_graph g) {
  if (g == nullptr) return;
  g->plugin.release(g->graph);
  delete g;
}

} // extern "C"

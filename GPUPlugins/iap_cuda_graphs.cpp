// CUDA graphs for iap's decode steps, built apart from the shim with the NCCL plugin
// (scripts/build-nccl-plugin.sh): at::cuda::CUDAGraph lives in the CUDA build of libtorch
// (libtorch_cuda.so), which the CPU build of the shim does not link. The shim dlopen()s this
// library on a GPU machine when decode graphs are on (`CausalLM.decodeGraphs`).
//
// A graph is captured on a side stream (CUDA forbids capturing the legacy default stream):
// the caller enters the side stream, runs the step once eagerly there (warm-up: cuBLAS
// handles and workspaces are made lazily, which capture would not allow), captures the same
// step, leaves the side stream, and replays the graph on its own stream from then on.
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include <cstdio>
#include <optional>

namespace {

struct Graph {
  at::cuda::CUDAGraph graph;
  std::optional<c10::cuda::CUDAStreamGuard> side;
};

template <typename F> int guarded(char *error, size_t error_size, F body) {
  try {
    body();
    return 0;
  } catch (const std::exception &e) {
    std::snprintf(error, error_size, "%s", e.what());
    return 1;
  }
}

} // namespace

extern "C" {

void *iap_cuda_graph_new(char *error, size_t error_size) {
  Graph *made = nullptr;
  guarded(error, error_size, [&] { made = new Graph(); });
  return made;
}

// Waits for the device, then makes a fresh stream of `device`'s pool current.
int iap_cuda_graph_enter_side_stream(void *graph, int device, char *error, size_t error_size) {
  return guarded(error, error_size, [&] {
    auto *g = static_cast<Graph *>(graph);
    c10::cuda::device_synchronize();
    g->side.emplace(c10::cuda::getStreamFromPool(false, static_cast<c10::DeviceIndex>(device)));
  });
}

int iap_cuda_graph_capture_begin(void *graph, char *error, size_t error_size) {
  return guarded(error, error_size, [&] { static_cast<Graph *>(graph)->graph.capture_begin(); });
}

int iap_cuda_graph_capture_end(void *graph, char *error, size_t error_size) {
  return guarded(error, error_size, [&] { static_cast<Graph *>(graph)->graph.capture_end(); });
}

// Waits for the side stream's work, then restores the stream that was current before.
int iap_cuda_graph_leave_side_stream(void *graph, char *error, size_t error_size) {
  return guarded(error, error_size, [&] {
    auto *g = static_cast<Graph *>(graph);
    if (g->side) g->side->current_stream().synchronize();
    g->side.reset();
  });
}

int iap_cuda_graph_replay(void *graph, char *error, size_t error_size) {
  return guarded(error, error_size, [&] { static_cast<Graph *>(graph)->graph.replay(); });
}

void iap_cuda_graph_free(void *graph) { delete static_cast<Graph *>(graph); }

} // extern "C"

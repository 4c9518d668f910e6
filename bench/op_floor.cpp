// The C++ floor for the per-op benchmark: the same `a + b` on 8-element f32 tensors as the
// Swift and Python measurements, straight through ATen's dispatcher, one thread.
// Built and run by scripts/bench-torch.sh; prints one JSON line.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

int main() {
  at::set_num_threads(1);
  auto a = at::ones({8});
  auto b = at::ones({8});
  for (int i = 0; i < 10000; i++) {
    auto c = at::add(a, b);
  }
  const int n = 200000;
  std::vector<double> rounds;
  for (int r = 0; r < 5; r++) {
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < n; i++) {
      auto c = at::add(a, b);
    }
    auto t1 = std::chrono::steady_clock::now();
    rounds.push_back(std::chrono::duration<double>(t1 - t0).count() / n * 1e6);
  }
  std::sort(rounds.begin(), rounds.end());
  std::printf("{\"bench\":\"add_8_f32\",\"threads\":1,\"us_per_op\":%.3f}\n", rounds[2]);
}

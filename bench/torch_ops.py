"""The Python side of scripts/bench-torch.sh: the same measurements as `iap bench ops`,
from PyTorch's Python API, printed as JSON lines."""
import json
import sys
import time

import torch


def matmul_gflops(n, threads):
    torch.set_num_threads(threads)
    g = torch.Generator().manual_seed(0)
    a = torch.randn(n, n, generator=g)
    b = torch.randn(n, n, generator=g)
    for _ in range(3):
        a @ b
    best = float("inf")
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(5):
            a @ b
        best = min(best, (time.perf_counter() - t) / 5)
    return 2 * n**3 / best / 1e9


def small_add_us(iterations):
    torch.set_num_threads(1)
    a = torch.ones(8)
    b = torch.ones(8)
    for _ in range(10000):
        a + b
    rounds = []
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(iterations):
            a + b
        rounds.append((time.perf_counter() - t) / iterations * 1e6)
    return sorted(rounds)[2]


if __name__ == "__main__":
    iterations = int(sys.argv[1]) if len(sys.argv) > 1 else 200000
    print(json.dumps({"torch": torch.__version__}))
    for threads in (1, 2):
        print(json.dumps({"bench": "matmul_f32", "size": 1024, "threads": threads,
                          "gflops": round(matmul_gflops(1024, threads), 1)}))
    print(json.dumps({"bench": "add_8_f32", "threads": 1, "us_per_op": round(small_add_us(iterations), 3)}))

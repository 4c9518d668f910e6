#!/usr/bin/env bash
# Tensor-engine benchmark (issue: foundation): f32 matmul GFLOP/s at 1 and 2 threads, and
# the time of one small op (a + b, 8 elements) from Swift, from C++ (ATen directly: the
# floor) and from Python PyTorch 2.11, all measured in this run on this machine.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
bash scripts/setup-libtorch.sh
bash scripts/setup-gloo.sh
swift build -c release --product iap-bench >&2
python=$(bash scripts/python-reference.sh)
torch="$repo/.deps/libtorch/torch"

floor_bin=$(mktemp -d)/op_floor
g++ -O2 -std=c++17 -D_GLIBCXX_USE_CXX11_ABI=1 -isystem "$torch/include" \
  -isystem "$torch/include/torch/csrc/api/include" bench/op_floor.cpp \
  -L"$torch/lib" -Wl,--no-as-needed -ltorch_cpu -lc10 -Wl,-rpath,"$torch/lib" -o "$floor_bin"

swift_out=$(.build/release/iap-bench ops)
cpp_out=$("$floor_bin")
python_out=$("$python" bench/torch_ops.py)

"$python" - "$swift_out" "$cpp_out" "$python_out" <<'PY'
import json, sys
def rows(text): return [json.loads(l) for l in text.splitlines() if l.strip()]
swift, cpp, py = (rows(t) for t in sys.argv[1:4])
def pick(rs, bench, threads):
    return next(r for r in rs if r.get("bench") == bench and r.get("threads") == threads)
print(f"reference: PyTorch {py[0]['torch']}")
print("| measurement | Swift (iap) | C++ ATen | Python PyTorch |")
print("|---|---|---|---|")
for t in (1, 2):
    s, p = pick(swift, "matmul_f32", t), pick(py, "matmul_f32", t)
    print(f"| matmul f32 1024³, {t} thread(s), GFLOP/s | {s['gflops']} | – | {p['gflops']} |")
s, c, p = (pick(r, "add_8_f32", 1)["us_per_op"] for r in (swift, cpp, py))
print(f"| a + b (8 × f32), µs per op | {s} | {c} | {p} |")
print()
print(f"Swift / Python per-op time: {s / p:.2f} (issue target ≤ 0.20)")
print(f"binding overhead above ATen: Swift {s - c:.3f} µs, Python {p - c:.3f} µs "
      f"(ratio {(s - c) / (p - c):.2f})")
PY

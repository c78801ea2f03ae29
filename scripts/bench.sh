#!/usr/bin/env bash
# Benchmarks tapeflow against LibTorch 1.13 (Debian's libtorch-dev) on the workloads of the
# speed issue (W1-W5, W8), on the CPU, and prints a markdown table. Raw numbers go to
# build-bench/bench.json.
#
#   scripts/bench.sh [extra cmake configure arguments for tapeflow]
#
# Environment:
#   BENCH_THREADS=N     threads for LibTorch (default: nproc); OMP_NUM_THREADS is unset.
#   BENCH_QUICK=1       20x fewer iterations (smoke run; do not report these numbers).
#   BENCH_NO_PEER=1     skip LibTorch (its columns read n/a).
#   OPENBLAS_CORETYPE   honoured if set. If unset and OpenBLAS's own CPU detection falls back
#                       to a pre-AVX2 kernel on a CPU that has AVX2/AVX-512 (seen on VMs that
#                       hide the CPU model: "Prescott", ~5x slower sgemm), this script sets it
#                       to SkylakeX or Haswell for both libraries and says so.
#   TORCH_API_INCLUDE   LibTorch's C++ API include dir (default /usr/include/torch/csrc/api/include).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

B=build-bench
CXX_BIN=${CXX:-g++}
TORCH_API_INCLUDE=${TORCH_API_INCLUDE:-/usr/include/torch/csrc/api/include}
JOBS=$(nproc)
unset OMP_NUM_THREADS
export BENCH_THREADS=${BENCH_THREADS:-$(nproc)}
mkdir -p "$B"

log() { printf '== %s\n' "$*" >&2; }

peer=1
if [[ -n "${BENCH_NO_PEER:-}" && "${BENCH_NO_PEER}" != 0 ]]; then
  peer=0
elif [[ ! -f "$TORCH_API_INCLUDE/torch/torch.h" ]]; then
  log "LibTorch not found ($TORCH_API_INCLUDE/torch/torch.h): apt-get install libtorch-dev," \
      "or set BENCH_NO_PEER=1"
  exit 1
fi

# --- OpenBLAS kernel selection (same for both libraries) ---
source "$(dirname "${BASH_SOURCE[0]}")/openblas-coretype.sh"
openblas_pick_coretype "$B"

# --- build tapeflow (Release) with the bench target, then install it for W8 ---
log "configure + build tapeflow in $B"
# Examples are off: W8 compiles examples/dydw.cpp by hand, and the install holds only the library.
cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=Release -DTAPEFLOW_BUILD_BENCH=ON -DTAPEFLOW_BUILD_TESTS=OFF \
  -DTAPEFLOW_BUILD_EXAMPLES=OFF "$@" >"$B/configure.log" 2>&1 || { tail -40 "$B/configure.log" >&2; exit 1; }
cmake --build "$B" -j"$JOBS" >"$B/build.log" 2>&1 || { tail -40 "$B/build.log" >&2; exit 1; }
rm -rf "$B/_install"
cmake --install "$B" --prefix "$B/_install" >"$B/install.log" 2>&1 || { tail -40 "$B/install.log" >&2; exit 1; }

bench_core=$(find "$B" -path "$B/peer" -prune -o -path "$B/_install" -prune -o \
  -type f -name bench_core -perm -u+x -print | head -1)
[[ -n "$bench_core" ]] || { log "bench_core was not built (is TAPEFLOW_BUILD_BENCH wired up?)"; exit 1; }

# --- build the LibTorch peer (a separate CMake project) ---
if [[ $peer == 1 ]]; then
  log "configure + build the LibTorch peer in $B/peer"
  cmake -S bench/peer -B "$B/peer" -DCMAKE_BUILD_TYPE=Release >"$B/peer-configure.log" 2>&1 ||
    { tail -40 "$B/peer-configure.log" >&2; exit 1; }
  cmake --build "$B/peer" -j"$JOBS" >"$B/peer-build.log" 2>&1 || { tail -40 "$B/peer-build.log" >&2; exit 1; }
fi

# --- run W1-W5, one library at a time ---
log "running $bench_core"
"$bench_core" >"$B/tapeflow.json"
if [[ $peer == 1 ]]; then
  log "running $B/peer/libtorch_bench"
  "$B/peer/libtorch_bench" >"$B/libtorch.json"
else
  echo '{"library":"libtorch"}' >"$B/libtorch.json"
fi

# --- W8 (compile time, best of 3), the merged JSON and the table ---
log "W8: compile times (best of 3)"
python3 - "$B" "$CXX_BIN" "$TORCH_API_INCLUDE" "$peer" <<'PY'
import json, os, platform, subprocess, sys, time

B, cxx, torch_inc, peer = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "1"
os.makedirs(f"{B}/w8", exist_ok=True)

def best_compile(args, reps=3):
    best = None
    for _ in range(reps):
        t0 = time.perf_counter()
        r = subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        dt = time.perf_counter() - t0
        if r.returncode != 0:
            print("W8 compile failed: " + " ".join(args) + "\n" + r.stderr[-3000:], file=sys.stderr)
            return None
        best = dt if best is None else min(best, dt)
    return best

w8_tf_cmd = [cxx, "-std=c++20", "-O2", "-c", "examples/dydw.cpp", "-I", f"{B}/_install/include",
             "-o", f"{B}/w8/dydw.o"]
w8_torch_cmd = [cxx, "-std=c++20", "-O2", "-c", "bench/peer/dydw_torch.cpp", "-I", torch_inc,
                "-D_GLIBCXX_USE_CXX11_ABI=1", "-o", f"{B}/w8/dydw_torch.o"]
w8_tf = best_compile(w8_tf_cmd) if os.path.exists("examples/dydw.cpp") else None
if not os.path.exists("examples/dydw.cpp"):
    print("W8: examples/dydw.cpp does not exist", file=sys.stderr)
w8_torch = best_compile(w8_torch_cmd) if peer else None

tf = json.load(open(f"{B}/tapeflow.json"))
lt = json.load(open(f"{B}/libtorch.json"))

def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()

def git_rev():
    r = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return r.stdout.strip() or None

merged = {
    "machine": {"cpu": cpu_model(), "cpus": os.cpu_count(),
                "bench_threads": int(os.environ.get("BENCH_THREADS", "0")),
                "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE"),
                "quick": bool(os.environ.get("BENCH_QUICK") not in (None, "", "0")),
                "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "git": git_rev()},
    "tapeflow": tf, "libtorch": lt,
    "W8": {"tapeflow_s": w8_tf, "libtorch_s": w8_torch,
           "tapeflow_cmd": " ".join(w8_tf_cmd), "libtorch_cmd": " ".join(w8_torch_cmd)},
}
with open(f"{B}/bench.json", "w") as f:
    json.dump(merged, f, indent=2)
    f.write("\n")

def fmt(v, unit=""):
    if v is None:
        return "n/a"
    return f"{v:,.3g}{unit}" if abs(v) < 100 else f"{v:,.0f}{unit}"

def verdict(ok):
    return "n/a" if ok is None else ("**met**" if ok else "**missed**")

rows = []
def time_row(name, t, l, unit, limit):  # lower is better; target: t <= limit * l
    ratio = t / l if t is not None and l else None
    ok = None if ratio is None else ratio <= limit
    rows.append((name, fmt(t, unit), fmt(l, unit), "n/a" if ratio is None else f"{ratio:.3f}× time",
                 f"≤ {limit:g}× LibTorch: {verdict(ok)}"))

def g(d, *keys):
    for k in keys:
        if not isinstance(d, dict) or d.get(k) is None:
            return None
        d = d[k]
    return d

time_row("W1 y=a·w²+b·w+c (ns/iter)", g(tf, "W1_ns"), g(lt, "W1_ns"), " ns", 0.1)
time_row("W2 W1 + dy/dw via tape (ns/iter)", g(tf, "W2_ns"), g(lt, "W2_ns"), " ns", 0.1)
time_row("W3 10-op chain on 64 floats (ns/chain)", g(tf, "W3_ns"), g(lt, "W3_ns"), " ns", 0.1)
time_row("W3t W3 with 10 long-tail ops (ns/chain)", g(tf, "W3t_ns"), g(lt, "W3t_ns"), " ns", 0.1)
for n in ("256", "1024", "2048"):
    t, l = g(tf, "W4", n, "gflops"), g(lt, "W4", n, "gflops")
    blas = g(tf, "W4", n, "cblas_gflops")
    share = t / blas if t is not None and blas else None
    ok = None if share is None else share >= 0.98
    rows.append((f"W4 matmul {n}² (GFLOPS)", fmt(t), fmt(l),
                 "n/a" if t is None or not l else f"{t / l:.3f}× rate",
                 f"≥ 98% of cblas_sgemm ({fmt(blas)} GFLOPS, same run): "
                 + ("n/a" if share is None else f"{100 * share:.1f}% {verdict(ok)}")))
for key, name, target in (("add_GBps", "W5 a+b, 1e7 floats (GB/s)", 25.0),
                          ("relu_GBps", "W5 relu(a) (GB/s)", None),
                          ("sum_GBps", "W5 reduce_sum(a) (GB/s)", None)):
    t, l = g(tf, "W5", key), g(lt, "W5", key)
    rows.append((name, fmt(t), fmt(l), "n/a" if t is None or not l else f"{t / l:.3f}× rate",
                 "—" if target is None else
                 f"≥ {target:g} GB/s: {verdict(None if t is None else t >= target)}"))
ratio = w8_tf / w8_torch if w8_tf is not None and w8_torch else None
rows.append(("W8 compile examples/dydw.cpp (s)", fmt(w8_tf, " s"), fmt(w8_torch, " s"),
             "n/a" if ratio is None else f"{ratio:.3f}× time",
             f"≤ 1.5 s: {verdict(None if w8_tf is None else w8_tf <= 1.5)}"))

m = merged["machine"]
for lib in (tf, lt):
    for key, want in (("W1_y", 25.0), ("W2_dydw", 10.0)):
        if lib.get(key) is not None and lib[key] != want:
            print(f"WARNING: {lib['library']} {key} = {lib[key]}, expected {want:g}", file=sys.stderr)
print(f"\nCPU: {m['cpu']}, {m['cpus']} CPUs; LibTorch threads {lt.get('threads', 'n/a')}; "
      f"OPENBLAS_CORETYPE={m['openblas_coretype'] or '(auto)'}"
      + ("; QUICK RUN (not for reporting)" if m["quick"] else "") + "\n")
print("| workload | tapeflow | LibTorch | ratio | target |")
print("| --- | ---: | ---: | ---: | --- |")
for r in rows:
    print("| " + " | ".join(r) + " |")
lt_blas = ", ".join(f"{n}: {fmt(g(lt, 'W4', n, 'cblas_gflops'))}" for n in ("256", "1024", "2048"))
print(f"\ncblas_sgemm GFLOPS in the LibTorch run: {lt_blas}. Ratio: tapeflow ÷ LibTorch "
      "(time: lower is better; rate: higher is better). Best of 5 runs (W8: best of 3).")
print(f"Raw JSON: {B}/bench.json")
PY

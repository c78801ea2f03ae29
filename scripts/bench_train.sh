#!/usr/bin/env bash
# Training benchmarks W6 (MLP 784-256-128-10, SGD, batch 128, one Fashion-MNIST epoch),
# W7 (2-conv CNN, Adam, batch 64, 200 steps) and W11 (the small ResNet of
# examples/common/resnet.hpp, Adam, batch 64, 60 steps): tapeflow vs LibTorch 1.13 (Debian's
# libtorch-dev), on the CPU. Prints a markdown table; raw numbers go to
# build-bench/bench_train.json. Definitions: bench/common/train_util.hpp.
#
#   scripts/bench_train.sh [extra cmake configure arguments for tapeflow]
#
# Each workload runs in its own process (peak RSS is per workload). LibTorch runs twice:
# OMP_WAIT_POLICY=passive and the OpenMP default, with torch::set_num_threads(2).
#
# Environment:
#   BENCH_TRAIN_THREADS=N  LibTorch threads (default 2).
#   BENCH_NO_PEER=1        skip LibTorch (its columns read n/a).
#   BENCH_TRAIN_WORKLOADS  which workloads to run (default "W6 W7 W11").
#   BENCH_MAX_LOAD=L       before each run, wait (up to BENCH_LOAD_WAIT_S, default 300 s) for
#                          the 1-minute load average to drop below L (default 1.5); the load
#                          seen is recorded with each run.
#   OPENBLAS_CORETYPE      honoured if set; else set as in scripts/bench.sh when OpenBLAS
#                          mis-detects an AVX2/AVX-512 CPU as a pre-AVX2 one (both libraries).
#   FASHION_MNIST_DIR      not used: both programs read /usr/share/datasets/fashion-mnist
#                          (Debian's dataset-fashion-mnist).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

B=build-bench
JOBS=$(nproc)
unset OMP_NUM_THREADS OMP_WAIT_POLICY
export BENCH_TRAIN_THREADS=${BENCH_TRAIN_THREADS:-2}
MAX_LOAD=${BENCH_MAX_LOAD:-1.5}
LOAD_WAIT_S=${BENCH_LOAD_WAIT_S:-300}
mkdir -p "$B/train"

log() { printf '== %s\n' "$*" >&2; }

peer=1
[[ -n "${BENCH_NO_PEER:-}" && "${BENCH_NO_PEER}" != 0 ]] && peer=0

for f in train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz; do
  [[ -f /usr/share/datasets/fashion-mnist/$f ]] ||
    { log "missing /usr/share/datasets/fashion-mnist/$f: apt-get install dataset-fashion-mnist"; exit 1; }
done

# --- OpenBLAS kernel selection (same for both libraries) ---
source "$(dirname "${BASH_SOURCE[0]}")/openblas-coretype.sh"
openblas_pick_coretype "$B"

# --- builds ---
log "configure + build tapeflow (bench_train) in $B"
cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=Release -DTAPEFLOW_BUILD_BENCH=ON -DTAPEFLOW_BUILD_TESTS=OFF \
  -DTAPEFLOW_BUILD_EXAMPLES=OFF "$@" >"$B/train-configure.log" 2>&1 ||
  { tail -40 "$B/train-configure.log" >&2; exit 1; }
cmake --build "$B" -j"$JOBS" --target bench_train >"$B/train-build.log" 2>&1 ||
  { tail -40 "$B/train-build.log" >&2; exit 1; }
bench_train="$B/bench/bench_train"
[[ -x "$bench_train" ]] || bench_train=$(find "$B" -maxdepth 3 -path "$B/peer" -prune -o \
  -path "$B/_install" -prune -o -path "$B/prof" -prune -o -type f -name bench_train -perm -u+x -print | head -1)
[[ -n "$bench_train" ]] || { log "bench_train was not built"; exit 1; }

if [[ $peer == 1 ]]; then
  log "configure + build the LibTorch peer (libtorch_train) in $B/peer"
  cmake -S bench/peer -B "$B/peer" -DCMAKE_BUILD_TYPE=Release >"$B/peer-configure.log" 2>&1 ||
    { tail -40 "$B/peer-configure.log" >&2; exit 1; }
  cmake --build "$B/peer" -j"$JOBS" --target libtorch_train >"$B/peer-train-build.log" 2>&1 ||
    { tail -40 "$B/peer-train-build.log" >&2; exit 1; }
fi

# --- runs: one process per (library, OpenMP policy, workload) ---
load1() { cut -d' ' -f1 /proc/loadavg; }
wait_for_quiet() {
  local waited=0
  while awk -v l="$(load1)" -v m="$MAX_LOAD" 'BEGIN { exit !(l >= m) }'; do
    if (( waited >= LOAD_WAIT_S )); then
      log "load $(load1) still >= $MAX_LOAD after ${LOAD_WAIT_S}s; running anyway"
      return
    fi
    (( waited == 0 )) && log "waiting for load < $MAX_LOAD (now $(load1))"
    sleep 10
    waited=$((waited + 10))
  done
}
# run NAME CMD...: writes $B/train/NAME.json with the load averages before/after added.
run() {
  local name=$1
  shift
  wait_for_quiet
  local before
  before=$(load1)
  log "$name (load $before): $*"
  if "$@" >"$B/train/$name.raw" 2>"$B/train/$name.err"; then
    python3 - "$B/train/$name.raw" "$before" "$(load1)" >"$B/train/$name.json" <<'PY'
import json, sys
d = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
d["load_before"], d["load_after"] = float(sys.argv[2]), float(sys.argv[3])
print(json.dumps(d))
PY
  else
    log "$name failed (rc $?):"
    tail -20 "$B/train/$name.err" >&2
    echo "{\"failed\":true}" >"$B/train/$name.json"
  fi
}

rm -f "$B"/train/*.json
for w in ${BENCH_TRAIN_WORKLOADS:-W6 W7 W11}; do
  run "tapeflow_$w" "$bench_train" "$w"
  if [[ $peer == 1 ]]; then
    run "libtorch_passive_$w" env OMP_WAIT_POLICY=passive "$B/peer/libtorch_train" "$w"
    run "libtorch_default_$w" "$B/peer/libtorch_train" "$w"
  fi
done

# --- merged JSON and the table ---
python3 - "$B" "$peer" <<'PY'
import json, os, subprocess, sys, time

B, peer = sys.argv[1], sys.argv[2] == "1"

def load(name):
    p = f"{B}/train/{name}.json"
    if not os.path.exists(p):
        return {}
    d = json.load(open(p))
    return {} if d.get("failed") else d

runs = {f"{lib}_{w}": load(f"{lib}_{w}") for lib in ("tapeflow", "libtorch_passive", "libtorch_default")
        for w in ("W6", "W7", "W11")}

def cpu_model():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "?"

git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
merged = {
    "machine": {"cpu": cpu_model(), "cpus": os.cpu_count(),
                "libtorch_threads": int(os.environ.get("BENCH_TRAIN_THREADS", "2")),
                "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE"),
                "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "git": git or None},
    "definitions": {
        "W6": "MLP 784-256-128-10 ReLU, sparse softmax CE (mean), SGD lr 0.1, batch 128, fixed order, "
              "60000 images (469 steps); 1 warm-up epoch, best of 3 timed epochs (seconds/epoch)",
        "W7": "conv3x3(1->32,SAME)+ReLU+maxpool2, conv3x3(32->64,SAME)+ReLU+maxpool2, dense 128 ReLU, "
              "dense 10; Adam lr 1e-3 eps 1e-7; batch 64; 20 warm-up steps, best of 3 windows of 200 steps",
        "W11": "ResNet of examples/common/resnet.hpp (width 16, 1 block per stage, BatchNorm training mode, "
               "no augmentation); Adam lr 1e-3 eps 1e-7; batch 64; 10 warm-up steps, best of 3 windows of 60 steps",
        "rss_MiB": "getrusage ru_maxrss of the whole process (loading included)",
        "rss_data_MiB": "VmRSS right after preloading the data set",
        "rss_train_MiB": "peak RSS of the training phase (high-water mark reset after preloading)",
    },
    "runs": runs,
}
with open(f"{B}/bench_train.json", "w") as f:
    json.dump(merged, f, indent=2)
    f.write("\n")

def g(run, key):
    v = runs.get(run, {}).get(key)
    return None if v is None else float(v)

def fmt(v, unit="", digits=3):
    if v is None:
        return "n/a"
    return f"{v:,.{digits}g}{unit}" if abs(v) < 1000 else f"{v:,.0f}{unit}"

def verdict(ok):
    return "n/a" if ok is None else ("**met**" if ok else "**missed**")

rows = []
def row(name, key, w, unit, kind, target_text, ok_fn, digits=3):
    t, p, d = g(f"tapeflow_{w}", key), g(f"libtorch_passive_{w}", key), g(f"libtorch_default_{w}", key)
    if kind == "time":
        ratio = "n/a" if t is None or not p else f"{t / p:.2f}× time"
    elif kind == "rate":
        ratio = "n/a" if t is None or not p else f"{t / p:.2f}× rate"
    else:
        ratio = "n/a" if t is None or not p else f"{t / p:.2f}×"
    tgt = "—" if ok_fn is None else f"{target_text}: {verdict(None if t is None else ok_fn(t))}"
    rows.append((name, fmt(t, unit, digits), fmt(p, unit, digits), fmt(d, unit, digits), ratio, tgt))

row("W6 seconds/epoch (best of 3)", "W6_s", "W6", " s", "time", "≤ 0.46 s", lambda v: v <= 0.46)
row("W6 peak RSS, ru_maxrss", "rss_MiB", "W6", " MiB", "mem", "≤ 250 MiB", lambda v: v <= 250)
row("W6 RSS after preload (data resident)", "rss_data_MiB", "W6", " MiB", "mem", "", None)
row("W6 peak RSS, training phase only", "rss_train_MiB", "W6", " MiB", "mem", "", None)
row("W6 final loss (last batch)", "W6_final_loss", "W6", "", "val", "", None)
row("W7 images/s (best of 3 × 200 steps)", "W7_images_per_s", "W7", "", "rate", "≥ 4,300 images/s",
    lambda v: v >= 4300)
row("W7 peak RSS, ru_maxrss", "rss_MiB", "W7", " MiB", "mem", "", None)
row("W7 final loss (last batch)", "W7_final_loss", "W7", "", "val", "", None)

def ratio_ok(w, key, goal):
    def ok(v):
        p = g(f"libtorch_passive_{w}", key)
        return None if not p else v / p >= goal
    return ok
row("W11 images/s (best of 3 × 60 steps)", "W11_images_per_s", "W11", "", "rate",
    "≥ 1.3× LibTorch", ratio_ok("W11", "W11_images_per_s", 1.3))
row("W11 peak RSS, ru_maxrss", "rss_MiB", "W11", " MiB", "mem", "≤ LibTorch",
    lambda v: (lambda p: None if not p else v <= p)(g("libtorch_passive_W11", "rss_MiB")))
row("W11 final loss (last batch)", "W11_final_loss", "W11", "", "val", "", None)

m = merged["machine"]
print(f"\nCPU: {m['cpu']}, {m['cpus']} CPUs; LibTorch threads {m['libtorch_threads']}; "
      f"OPENBLAS_CORETYPE={m['openblas_coretype'] or '(auto)'}; git {m['git']}\n")
print("| workload | tapeflow | LibTorch passive | LibTorch default | ratio vs passive | target |")
print("| --- | ---: | ---: | ---: | ---: | --- |")
for r in rows:
    print("| " + " | ".join(r) + " |")
print("\nAll timed repetitions and the 1-min load average before/after each run:")
for name, d in runs.items():
    if not d:
        print(f"- {name}: n/a")
        continue
    reps = (d.get("W6_epochs_s") or d.get("W7_windows_images_per_s")
            or d.get("W11_windows_images_per_s") or [])
    print(f"- {name}: reps {', '.join(fmt(float(x)) for x in reps)}; "
          f"load {d.get('load_before')} → {d.get('load_after')}")
print(f"\nRaw JSON: {B}/bench_train.json")
PY

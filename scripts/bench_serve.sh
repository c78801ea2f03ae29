#!/usr/bin/env bash
# Latency and throughput of the prediction server (examples/serve.cpp) under N concurrent
# keep-alive clients, each POSTing one Fashion-MNIST image to the MLP in a loop
# (bench/serve_load.cpp). Nothing is trained: serve_load writes a checkpoint of a seeded,
# untrained MLP, which costs the same per request as a trained one. Prints a markdown table;
# the raw JSON lines go to $B/bench_serve.jsonl.
#
#   scripts/bench_serve.sh                  # builds serve and serve_load in build/ first
#
# Environment:
#   B=DIR              build directory (default build; configured with TAPEFLOW_BUILD_BENCH=ON
#                      and TAPEFLOW_BUILD_EXAMPLES=ON)
#   SERVE_BIN=PATH     the serve binary to measure (default $B/examples/serve), e.g. an older build
#   SERVE_ARGS="..."   extra serve flags (e.g. "--threads 16")
#   CLIENTS="1 8 32 64" concurrent clients, one run each
#   DURATION_S=10      seconds per run
#   NO_BUILD=1         do not (re)build
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

B=${B:-build}
SERVE_BIN=${SERVE_BIN:-$B/examples/serve}
CLIENTS=${CLIENTS:-"1 8 32 64"}
DURATION_S=${DURATION_S:-10}
LOAD=$B/bench/serve_load

log() { printf '== %s\n' "$*" >&2; }

if [[ -z "${NO_BUILD:-}" ]]; then
  cmake --build "$B" -j2 --target serve serve_load >&2
fi

work=$(mktemp -d)
serve_pid=
cleanup() {
  [[ -n "$serve_pid" ]] && kill "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

"$LOAD" --write_ckpt "$work" --model mlp --seed 7 >/dev/null
mkfifo "$work/out"
# shellcheck disable=SC2086
"$SERVE_BIN" --ckpt_dir "$work" --model mlp --port 0 ${SERVE_ARGS:-} >"$work/out" 2>"$work/serve.stderr" &
serve_pid=$!
exec 3<"$work/out"
read -r -t 60 line <&3 || { log "serve did not start:"; cat "$work/serve.stderr" >&2; exit 1; }
port=${line##*:}
log "serve (pid $serve_pid) on port $port: $SERVE_BIN ${SERVE_ARGS:-}"
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$serve_pid/status"; }
rss_start=$(rss_kb)

mkdir -p "$B"
: >"$B/bench_serve.jsonl"
printf '| clients | requests/s | p50 ms | p90 ms | p99 ms | max ms | errors | reconnects |\n'
printf '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n'
for n in $CLIENTS; do
  j=$("$LOAD" --port "$port" --clients "$n" --duration_s "$DURATION_S")
  printf '%s\n' "$j" >>"$B/bench_serve.jsonl"
  python3 - "$j" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
l = r["latency_ms"]
errors = r["transport_errors"] + r["http_errors"]
print(f"| {r['clients']} | {r['requests_per_s']:.0f} | {l['p50']:.3f} | {l['p90']:.3f} | "
      f"{l['p99']:.3f} | {l['max']:.1f} | {errors} | {r['reconnects']} |")
PY
done
log "serve RSS: $rss_start kB at start, $(rss_kb) kB after the runs; load average: $(cut -d' ' -f1-3 /proc/loadavg)"

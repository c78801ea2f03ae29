#!/usr/bin/env bash
# Latency and throughput of the prediction server (examples/serve.cpp) under N concurrent
# keep-alive clients, each POSTing one Fashion-MNIST image to the MLP or CNN in a loop
# (bench/serve_load.cpp), with request batching off and/or on. Nothing is trained: serve_load
# writes a checkpoint of a seeded, untrained model, which costs the same per request as a
# trained one. Prints a markdown table; the raw JSON lines go to $B/bench_serve.jsonl.
#
#   scripts/bench_serve.sh                                  # MLP, batching off
#   MODEL=cnn BATCHING="off on" scripts/bench_serve.sh      # CNN, batching off vs on
#
# Environment:
#   B=DIR              build directory (default build; configured with TAPEFLOW_BUILD_BENCH=ON
#                      and TAPEFLOW_BUILD_EXAMPLES=ON)
#   SERVE_BIN=PATH     the serve binary to measure (default $B/examples/serve), e.g. an older build
#   SERVE_ARGS="..."   extra serve flags (e.g. "--threads 16")
#   MODEL=mlp          mlp or cnn
#   BATCHING="off"     "off", "on" or "off on": one server per mode, each run at every CLIENTS
#   BATCH_ARGS="..."   serve flags with batching on (default "--enable_batching
#                      --max_batch_size 64 --batch_timeout_micros 0")
#   CLIENTS="1 8 32 64" concurrent clients, one run each
#   DURATION_S=10      seconds per run
#   NO_BUILD=1         do not (re)build
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

B=${B:-build}
SERVE_BIN=${SERVE_BIN:-$B/examples/serve}
MODEL=${MODEL:-mlp}
BATCHING=${BATCHING:-off}
BATCH_ARGS=${BATCH_ARGS:-"--enable_batching --max_batch_size 64 --batch_timeout_micros 0"}
CLIENTS=${CLIENTS:-"1 8 32 64"}
DURATION_S=${DURATION_S:-10}
LOAD=$B/bench/serve_load

log() { printf '== %s\n' "$*" >&2; }

if [[ -z "${NO_BUILD:-}" ]]; then
  cmake --build "$B" -j2 --target serve serve_load >&2
fi

work=$(mktemp -d)
serve_pid=
stop_serve() {
  if [[ -n "$serve_pid" ]]; then
    kill "$serve_pid" 2>/dev/null || true
    wait "$serve_pid" 2>/dev/null || true
    serve_pid=
  fi
}
cleanup() {
  stop_serve
  rm -rf "$work"
}
trap cleanup EXIT

"$LOAD" --write_ckpt "$work" --model "$MODEL" --seed 7 >/dev/null
mkdir -p "$B"
: >"$B/bench_serve.jsonl"
printf '| model | batching | clients | requests/s | p50 ms | p90 ms | p99 ms | max ms | errors | reconnects |\n'
printf '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n'
for mode in $BATCHING; do
  args=${SERVE_ARGS:-}
  [[ "$mode" == on ]] && args="$args $BATCH_ARGS"
  rm -f "$work/out"
  mkfifo "$work/out"
  # shellcheck disable=SC2086
  "$SERVE_BIN" --ckpt_dir "$work" --model "$MODEL" --port 0 $args >"$work/out" 2>"$work/serve.stderr" &
  serve_pid=$!
  exec 3<"$work/out"
  read -r -t 60 line <&3 || { log "serve did not start:"; cat "$work/serve.stderr" >&2; exit 1; }
  port=${line##*:}
  log "serve (pid $serve_pid) on port $port: $SERVE_BIN --model $MODEL $args"
  rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$serve_pid/status"; }
  rss_start=$(rss_kb)
  for n in $CLIENTS; do
    j=$("$LOAD" --port "$port" --clients "$n" --duration_s "$DURATION_S")
    printf '%s\n' "$j" >>"$B/bench_serve.jsonl"
    python3 - "$j" "$MODEL" "$mode" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
l = r["latency_ms"]
errors = r["transport_errors"] + r["http_errors"]
print(f"| {sys.argv[2]} | {sys.argv[3]} | {r['clients']} | {r['requests_per_s']:.0f} | "
      f"{l['p50']:.3f} | {l['p90']:.3f} | {l['p99']:.3f} | {l['max']:.1f} | {errors} | "
      f"{r['reconnects']} |")
PY
  done
  log "serve RSS: $rss_start kB at start, $(rss_kb) kB after the runs; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
  stop_serve
  exec 3<&-
  grep -h "batching:" "$work/serve.stderr" >&2 || true
done

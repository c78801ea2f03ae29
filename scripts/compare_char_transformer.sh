#!/usr/bin/env bash
# Trains the character transformer of examples/char_transformer.cpp with tapeflow and with its
# LibTorch peer (bench/peer/char_transformer_torch.cpp) for the same steps, seed and data, one
# after the other, and prints both validation losses (nats per character) and training step
# rates, with the ratio tapeflow/LibTorch (> 1: tapeflow is faster). MODEL=lstm does the same
# for the stacked LSTM of examples/char_lstm.cpp and bench/peer/char_lstm_torch.cpp
# (scripts/compare_char_lstm.sh is that).
#
#   scripts/compare_char_transformer.sh STEPS [flags for both programs, e.g. --layers 2 --seed 7]
#
# Flags both take: --batch_size --context --layers --heads (transformer only) --width
# --learning_rate --weight_decay --global_clipnorm --warmup_steps --final_lr_fraction --seed
# --threads --limit --eval_every --eval_windows --data_dir. Logs go to
# $BUILD_DIR/compare_char_transformer/ (MODEL=lstm: compare_char_lstm/) unless OUT_DIR is set.
#
# Environment:
#   MODEL=transformer           or lstm: which example and peer
#   BUILD_DIR=build             tapeflow build tree (configured here if it has no cache yet)
#   PEER_BUILD_DIR=build-bench/peer   LibTorch peer build tree
#   NO_BUILD=1                  run the programs already built in BUILD_DIR and PEER_BUILD_DIR:
#                               configure and build nothing (an error if one is missing)
#   OUT_DIR=DIR                 where the logs go (default under BUILD_DIR, see above)
#   JOBS=N                      build parallelism (default: nproc)
#   OMP_WAIT_POLICY=passive     LibTorch's OpenMP threads sleep rather than spin while they
#                               wait (on a machine shared with other jobs, spinning made the
#                               peer 50x slower); set it to ACTIVE for OpenMP's default.
#   OPENBLAS_CORETYPE           honoured if set; else set as in scripts/bench.sh when OpenBLAS
#                               mis-detects the CPU (the same for both programs).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [[ $# -lt 1 || ! $1 =~ ^[0-9]+$ ]]; then
  echo "usage: $0 STEPS [flags for both programs]" >&2
  exit 2
fi
steps=$1
shift

model=${MODEL:-transformer}
case "$model" in
  transformer | lstm) ;;
  *) echo "MODEL must be transformer or lstm, not '$model'" >&2; exit 2 ;;
esac
example="char_$model"  # the tapeflow target; its peer is ${example}_torch
B=${BUILD_DIR:-build}
P=${PEER_BUILD_DIR:-build-bench/peer}
JOBS=${JOBS:-$(nproc)}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
out=${OUT_DIR:-"$B/compare_$example"}
mkdir -p "$out"

log() { printf '== %s\n' "$*" >&2; }

source "$(dirname "${BASH_SOURCE[0]}")/openblas-coretype.sh"
openblas_pick_coretype "$out"

if [[ "${NO_BUILD:-0}" == 1 ]]; then
  log "NO_BUILD=1: using the $example and ${example}_torch already built in $B and $P"
else
  if [[ ! -f "$B/CMakeCache.txt" ]]; then
    log "configure tapeflow in $B"
    cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=Release -DTAPEFLOW_BUILD_EXAMPLES=ON >"$out/configure.log" 2>&1 ||
      { tail -40 "$out/configure.log" >&2; exit 1; }
  fi
  log "build $example in $B"
  cmake --build "$B" -j"$JOBS" --target "$example" >"$out/build.log" 2>&1 ||
    { tail -40 "$out/build.log" >&2; exit 1; }
  log "configure + build the LibTorch peer (${example}_torch) in $P"
  cmake -S bench/peer -B "$P" -DCMAKE_BUILD_TYPE=Release >"$out/peer-configure.log" 2>&1 ||
    { tail -40 "$out/peer-configure.log" >&2; exit 1; }
  cmake --build "$P" -j"$JOBS" --target "${example}_torch" >"$out/peer-build.log" 2>&1 ||
    { tail -40 "$out/peer-build.log" >&2; exit 1; }
fi

tapeflow_exe=$(find "$B" -name "$example" -type f -perm -u+x | head -1)
torch_exe="$P/${example}_torch"
[[ -n "$tapeflow_exe" && -x "$torch_exe" ]] || { log "a program was not built"; exit 1; }

# field NAME LINE: the number after NAME in a `final:` line.
field() { awk -v k="$1" '{ for (i = 1; i < NF; i++) if ($i == k) print $(i + 1) }' <<<"$2"; }

run() {  # run NAME EXE FLAGS...: trains, keeps the log, prints its `final:` line
  local name=$1 exe=$2
  shift 2
  log "$name: $exe --steps $steps $* (1-minute load $(cut -d' ' -f1 /proc/loadavg))"
  "$exe" --steps "$steps" "$@" >"$out/$name.log" 2>&1 || { tail -20 "$out/$name.log" >&2; exit 1; }
  tail -1 "$out/$name.log"
}
tf_final=$(run tapeflow "$tapeflow_exe" --sample_chars 0 "$@")
torch_final=$(run libtorch "$torch_exe" "$@")  # the peer does not sample
log "$(sed -n 2p "$out/libtorch.log")"

tf_val=$(field val_loss "$tf_final")
torch_val=$(field val_loss "$torch_final")
tf_rate=$(field steps_per_s "$tf_final")
torch_rate=$(field steps_per_s "$torch_final")
printf '%-10s %16s %10s %12s\n' "" "initial val_loss" "val_loss" "steps/s"
printf '%-10s %16s %10s %12s\n' tapeflow "$(field initial_val_loss "$tf_final")" "$tf_val" "$tf_rate"
printf '%-10s %16s %10s %12s\n' LibTorch "$(field initial_val_loss "$torch_final")" "$torch_val" \
  "$torch_rate"
awk -v a="$tf_val" -v b="$torch_val" -v r="$tf_rate" -v s="$torch_rate" -v n="$steps" \
  'BEGIN { printf "after %d steps: val_loss tapeflow - LibTorch = %+.4f nats/char; " \
           "step rate tapeflow/LibTorch = %.2fx\n", n, a - b, r / s }'

#!/usr/bin/env bash
# tf::distribute benchmarks under mpirun on this machine (loopback), from an existing build dir
# configured with -DTAPEFLOW_BUILD_BENCH=ON -DTAPEFLOW_BUILD_EXAMPLES=ON (default: build):
#   D1  100 MB float32 all-reduce on 2 ranks: strategy.all_reduce vs MPI_Allreduce, same buffer
#   D2  gradient step of an 8 x 512 MLP on 2 ranks: no all-reduce, reduce after the walk,
#       reduce during the walk (with and without the progress thread)
#   W7d weak scaling of the CNN example (batch 64 per replica, 1 epoch of --limit images):
#       1 rank x 1 thread, 2 ranks x 1 thread, 1 rank x 2 threads
#
#   scripts/bench_distribute.sh [build dir]
# Environment: BTL=vader|tcp (default vader: shared memory), LIMIT (default 8000 images).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
B=${1:-build}
BTL=${BTL:-vader}
LIMIT=${LIMIT:-8000}
MPI=(mpirun --allow-run-as-root --oversubscribe --mca btl "self,$BTL")
cmake --build "$B" --target bench_allreduce bench_overlap fashion_mnist_distributed -j"$(nproc)" >/dev/null
echo "## D1 (btl $BTL, load $(cut -d' ' -f1 /proc/loadavg))"
"${MPI[@]}" -np 2 "$B/bench/bench_allreduce" 100 7
echo "## D2 (btl $BTL, load $(cut -d' ' -f1 /proc/loadavg))"
"${MPI[@]}" -np 2 "$B/bench/bench_overlap" 8 512 64 15
echo "## W7d weak scaling, CNN, batch 64 per replica (btl $BTL, load $(cut -d' ' -f1 /proc/loadavg))"
ex="$B/examples/fashion_mnist_distributed"
args=(--model cnn --epochs 1 --limit "$LIMIT" --batch_size 64)
echo "1 rank x 1 thread:  $("$ex" "${args[@]}" --threads 1 | grep -o '[0-9]* images/s')"
echo "2 ranks x 1 thread: $("${MPI[@]}" -np 2 "$ex" "${args[@]}" --threads 1 | grep -o '[0-9]* images/s')"
echo "1 rank x 2 threads: $("$ex" "${args[@]}" --threads 2 | grep -o '[0-9]* images/s')"

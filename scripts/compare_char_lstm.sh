#!/usr/bin/env bash
# Trains the stacked-LSTM character model of examples/char_lstm.cpp with tapeflow and with its
# LibTorch peer (bench/peer/char_lstm_torch.cpp) for the same steps, seed and data, and prints
# both validation losses and step rates with the ratio tapeflow/LibTorch:
# scripts/compare_char_transformer.sh with MODEL=lstm (its environment variables apply:
# BUILD_DIR, PEER_BUILD_DIR, NO_BUILD, OUT_DIR, JOBS, OMP_WAIT_POLICY, OPENBLAS_CORETYPE).
#
#   scripts/compare_char_lstm.sh STEPS [flags for both programs, e.g. --layers 1 --seed 7]
set -euo pipefail
MODEL=lstm exec "$(dirname "${BASH_SOURCE[0]}")/compare_char_transformer.sh" "$@"

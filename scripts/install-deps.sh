#!/usr/bin/env bash
# Installs the Debian packages needed to build and test tapeflow; does nothing when all are present.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive

packages=(
  cmake g++ make pkg-config
  libxtensor-dev xtl-dev libxsimd-dev libxtensor-blas-dev libopenblas-dev
  catch2 libcli11-dev zlib1g-dev
  python3-numpy
  libcpp-httplib-dev nlohmann-json3-dev  # serve.cpp (httplib); saved models (json)
  dataset-fashion-mnist
  fortunes  # the text examples/char_transformer.cpp and char_lstm.cpp train on
  libopenmpi-dev openmpi-bin  # tf::distribute (MPI) and its mpirun tests
  clang libclang-rt-14-dev  # scripts/sanitize.sh and fuzz.sh: ASan/UBSan/TSan, libFuzzer
  clang-format-14  # scripts/check_format.sh
)

missing=()
for pkg in "${packages[@]}"; do
  status="$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)"
  if [[ "$status" != "install ok installed" ]]; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

sudo_cmd=()
if ((EUID != 0)); then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "install-deps: not root and no sudo; please install: ${missing[*]}" >&2
    exit 1
  fi
  # -n: fail instead of prompting, since there may be no terminal.
  sudo_cmd=(sudo -n env DEBIAN_FRONTEND=noninteractive)
fi

echo "install-deps: installing ${missing[*]}"
"${sudo_cmd[@]}" apt-get update -qq </dev/null
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null >/dev/null
echo "install-deps: done"

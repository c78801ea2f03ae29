# Sourced by the bench scripts: openblas_pick_coretype DIR
#
# On VMs that hide the CPU model, OpenBLAS falls back to pre-AVX2 kernels ("Prescott", ~5x
# slower sgemm). When OPENBLAS_CORETYPE is unset and that happens on a CPU that has AVX2 or
# AVX-512, export SkylakeX or Haswell so that both libraries under test run the same,
# appropriate kernels, and say so (through the caller's `log`). DIR holds the probe program.
openblas_pick_coretype() {
  local dir=$1
  [[ -z "${OPENBLAS_CORETYPE:-}" ]] || return 0
  cat > "$dir/openblas_probe.c" <<'EOF'
#include <stdio.h>
char* openblas_get_corename(void);
int main(void) { printf("%s\n", openblas_get_corename()); return 0; }
EOF
  cc -O0 "$dir/openblas_probe.c" -o "$dir/openblas_probe" -lopenblas 2>/dev/null || return 0
  local detected flags
  detected=$("$dir/openblas_probe")
  flags=$(grep -m1 '^flags' /proc/cpuinfo || true)
  has() { [[ " $flags " == *" $1 "* ]]; }
  local legacy='^(Katmai|Coppermine|Northwood|Prescott|Banias|Core2|Penryn|Dunnington|Nehalem|Sandybridge|Atom|Barcelona|Opteron|Bobcat|Bulldozer|Piledriver|Steamroller|Excavator|Unknown|unknown)$'
  [[ "$detected" =~ $legacy ]] || return 0
  if has avx512f && has avx512bw && has avx512vl && has avx512dq; then
    export OPENBLAS_CORETYPE=SkylakeX
  elif has avx2 && has fma; then
    export OPENBLAS_CORETYPE=Haswell
  fi
  if [[ -n "${OPENBLAS_CORETYPE:-}" ]]; then
    log "OpenBLAS detected '$detected', but the CPU runs $OPENBLAS_CORETYPE kernels:" \
        "OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE for both libraries"
  fi
}

#pragma once

// Vectorised forms of three per-element functions that xsimd does not give exactly enough on
// its own (issue #11, W3t). Each handles n elements of contiguous or broadcast (stride 0)
// operands, the whole span through the same vector code (a short tail is padded, not run
// scalar), so a value's result does not depend on where it sits in the tensor.
//
// - erfc, float: xsimd's double erfc, rounded to float. xsimd's float erfc is up to 71 ulp off
//   near underflow (it rounds x² before exp); the double one is within 1e-11 relative there,
//   so the float result is within 1 ulp of the correctly rounded value over [-10, 10].
// - atan2, float and double: xsimd's, within 2 ulp; lanes with a zero, infinite or NaN operand
//   (where xsimd returns NaN for IEEE's signed-zero and infinity cases) take std::atan2.
// - floormod, float: fmod computed in double, where it is exact as long as |a/b| < 2^28 (the
//   double quotient then truncates to the true one, and a - q·b needs at most 52 bits); other
//   lanes (b = 0, a non-finite operand, a larger quotient) take the shared scalar function.
#include <cstdint>

namespace tapeflow::cpu::vec {

void erfc(const float* x, float* y, int64_t n);

/// o[i] = atan2(y[i·sy], x[i·sx]) with sy, sx ∈ {0, 1}.
void atan2(const float* y, int64_t sy, const float* x, int64_t sx, float* o, int64_t n);
void atan2(const double* y, int64_t sy, const double* x, int64_t sx, double* o, int64_t n);

/// o[i] = floormod(a[i·sa], b[i·sb]) with sa, sb ∈ {0, 1} (TF's FloorMod: the divisor's sign).
void floormod(const float* a, int64_t sa, const float* b, int64_t sb, float* o, int64_t n);

}  // namespace tapeflow::cpu::vec

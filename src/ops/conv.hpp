#pragma once

// The window helpers of src/ops/conv.cpp that the other convolutions (src/ops/nn_ext.cpp:
// conv1d, conv2d_transpose, depthwise_conv2d) build on. Internal; not installed.

#include <string>
#include <vector>

#include "backend/backend.hpp"
#include "tapeflow/tensor.hpp"

namespace tapeflow::detail {

struct HW {
  int64_t h, w;
};

/// TF's forms of strides / ksize / dilations: 1 int (both axes), 2 ints (h, w) or 4 ints
/// [1, h, w, 1]; each must be positive.
HW spatial_pair(const char* op, const char* what, const std::vector<int>& v);
/// "SAME" → true, "VALID" → false, else InvalidArgumentError.
bool is_same_padding(const char* op, const std::string& padding);
/// A defined floating NHWC tensor (rank 4), else InvalidArgumentError naming `op`.
void check_image(const char* op, const Tensor& x, int index);
/// Output size and SAME split as TF (window_axis) for image shape x, window k, strides s and
/// dilations d; VALID needs the dilated window inside the image. `window` is for messages.
Conv2DAttrs window_geometry(const char* op,
                            const Shape& x,
                            HW k,
                            HW s,
                            bool same,
                            const std::string& window,
                            HW d = {1, 1});
/// Patches of x as rows [n·oh·ow, kh·kw·c] (zeros in the padding) and their adjoint; each is
/// the other's gradient.
Tensor im2col(const Tensor& x, const Conv2DAttrs& a);
Tensor col2im(const Tensor& cols, const Conv2DAttrs& a);

}  // namespace tapeflow::detail

#!/usr/bin/python3
"""Reference values for test/nn/test_layers_image.cpp, computed by PyTorch (Debian's
python3-torch) from the same inputs and weights: every tensor is det(shape, seed, scale), the
values scale * sin(0.37 * i + seed) over the flat index i, rounded to float32, exactly as the
test's det() builds them. Prints C++ initialiser lists to paste into the test.

TensorFlow's padding is written out here, independently of tapeflow: "same" pads a forward
convolution by max((out - 1) * stride + k - in, 0) in total, half (rounded down) before. A
transposed convolution of output length L is the full one (torch's conv_transpose2d, length
(in - 1) * stride + k) read from that forward padding's start, zeros past its end.

    /usr/bin/python3 test/nn/reference/layers_image_reference.py
"""
import math

import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)


def det(shape, seed, scale=1.0):
    n = int(np.prod(shape))
    v = (scale * np.sin(0.37 * np.arange(n) + seed)).astype(np.float32)
    return torch.tensor(v.astype(np.float64)).reshape(shape)


def show(name, t):
    vals = ", ".join(f"{x:.7g}" for x in t.detach().reshape(-1).tolist())
    print(f"// {name}: shape {tuple(t.shape)}\nconst Vec {name} = {{{vals}}};")


def same_pad_before(in_len, out_len, k, s):
    return max((out_len - 1) * s + k - in_len, 0) // 2


def same_pads(in_len, k, s):
    out = math.ceil(in_len / s)
    total = max((out - 1) * s + k - in_len, 0)
    return total // 2, total - total // 2


def conv_transpose(x, kernel, bias, stride, padding, out_hw):
    """x NHWC, kernel [kh, kw, out, in] (Keras), TF's conv2d_transpose to out_hw, + bias."""
    kh, kw = kernel.shape[0], kernel.shape[1]
    w = kernel.permute(3, 2, 0, 1)  # torch [in, out, kh, kw]
    full = F.conv_transpose2d(x.permute(0, 3, 1, 2), w, stride=stride)
    (ih, iw), (oh, ow) = x.shape[1:3], out_hw
    top = same_pad_before(oh, ih, kh, stride[0]) if padding == "same" else 0
    left = same_pad_before(ow, iw, kw, stride[1]) if padding == "same" else 0
    full = F.pad(full, (0, max(0, left + ow - full.shape[3]), 0, max(0, top + oh - full.shape[2])))
    y = full[:, :, top:top + oh, left:left + ow] + bias[None, :, None, None]
    return y.permute(0, 2, 3, 1)


def depthwise(x, kernel, bias, stride, padding):
    """x NHWC, kernel [kh, kw, c, m]: output channel c * m_count + m, + bias."""
    kh, kw, c, m = kernel.shape
    w = kernel.permute(2, 3, 0, 1).reshape(c * m, 1, kh, kw)
    xc = x.permute(0, 3, 1, 2)
    if padding == "same":
        t, b = same_pads(x.shape[1], kh, stride[0])
        l, r = same_pads(x.shape[2], kw, stride[1])
        xc = F.pad(xc, (l, r, t, b))
    return (F.conv2d(xc, w, bias, stride=stride, groups=c)).permute(0, 2, 3, 1)


# Conv2DTranspose: x [2, 3, 3, 2] -> 3 filters. (case, kernel, stride, padding, out_hw)
x = det((2, 3, 3, 2), 1.0)
cases = [
    ("kConvTValid", (3, 3), (1, 1), "valid", (5, 5)),
    ("kConvTSame2", (3, 3), (2, 2), "same", (6, 6)),
    ("kConvTValid2Pad1", (3, 2), (2, 2), "valid", (8, 7)),  # output_padding (1, 1)
    ("kConvTSame2K2Pad", (2, 2), (2, 3), "same", (5, 8)),  # output_padding (1, 2)
]
for name, (kh, kw), stride, padding, out_hw in cases:
    kernel, bias = det((kh, kw, 3, 2), 2.0, 0.5), det((3,), 3.0, 0.1)
    show(name, conv_transpose(x, kernel, bias, stride, padding, out_hw))

# DepthwiseConv2D: x [2, 4, 5, 2]; valid stride 1 multiplier 2; same stride 2 multiplier 1.
x = det((2, 4, 5, 2), 4.0)
show("kDepthwiseValid", depthwise(x, det((3, 3, 2, 2), 5.0, 0.5), det((4,), 6.0, 0.1), (1, 1), "valid"))
show("kDepthwiseSame2", depthwise(x, det((2, 3, 2, 1), 7.0, 0.5), det((2,), 8.0, 0.1), (2, 2), "same"))

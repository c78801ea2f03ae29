#pragma once

// Every kernel of the Backend interface (src/backend/backend.hpp) by name, as an X-macro, for
// backends that forward each kernel the same way (cuda/backend.cpp, the test double
// test/gpu/fake_gpu_plugin.cpp). Those classes are final and instantiated, so a kernel missing
// here fails to compile there, and so does a name that is not a Backend virtual.
#define TAPEFLOW_BACKEND_KERNELS(X)                                                              \
  X(add) X(sub) X(mul) X(div) X(pow) X(maximum) X(minimum) X(equal) X(not_equal) X(less)         \
  X(less_equal) X(greater) X(greater_equal) X(logical_and) X(logical_or) X(select) X(neg) X(exp) \
  X(log) X(log1p) X(sqrt) X(rsqrt) X(abs) X(sign) X(sin) X(cos) X(tanh) X(sigmoid) X(floor)      \
  X(relu) X(relu_grad) X(square) X(erf) X(logical_not) X(cast) X(reduce_sum) X(reduce_max)       \
  X(reduce_min) X(reduce_prod) X(argmax) X(argmin) X(matmul) X(strided_copy) X(pad) X(concat)    \
  X(gather) X(scatter_add) X(fill) X(random) X(im2col) X(col2im) X(max_pool2d)                   \
  X(max_pool2d_grad) X(max_pool2d_grad_grad) X(avg_pool2d) X(avg_pool2d_grad) X(apply_adam)

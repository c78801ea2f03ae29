// LibTorch counterpart of examples/dydw.cpp (the seed example), used only for the W8
// compile-time comparison: y = a*w^2 + b*w + c, dy/dw at w = 4 is 10.
#include <torch/torch.h>

#include <cassert>
#include <iostream>

int main() {
  auto a = torch::scalar_tensor(1.f), b = torch::scalar_tensor(2.f), c = torch::scalar_tensor(1.f);
  auto w = torch::scalar_tensor(4.f, torch::requires_grad());
  auto y = a * torch::pow(w, 2.f) + b * w + c;
  auto grads = torch::autograd::grad({y}, {w});
  std::cout << grads[0] << "\n";
  assert(grads[0].item<float>() == 10.f);
  return 0;
}

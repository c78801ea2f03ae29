// tf::test::compute_gradient: theoretical Jacobians from the tape, numerical ones by central
// differences, both laid out [x.size, y.size] as tf.test.compute_gradient does.
#include <algorithm>
#include <cmath>

#include "core/fail.hpp"
#include "tapeflow/ops.hpp"
#include "tapeflow/tape.hpp"
#include "tapeflow/testing.hpp"

namespace tapeflow::test {

namespace {
Tensor with_values(const Tensor& like, const std::vector<double>& v) {
  DeviceScope scope(like.device_info());
  return constant(v, like.shape(), like.dtype());
}
}  // namespace

std::pair<std::vector<Tensor>, std::vector<Tensor>> compute_gradient(
    const TestFunction& f, const std::vector<Tensor>& inputs, double delta) {
  for (const Tensor& x : inputs)
    if (!x.defined() || !is_floating(x.dtype()))
      throw InvalidArgumentError("compute_gradient: inputs must be defined floating-point tensors");
  std::vector<Tensor> xs = inputs;
  Tensor y0 = f(xs);
  if (!is_floating(y0.dtype()))
    throw InvalidArgumentError("compute_gradient: f must return a floating-point tensor");
  const int64_t ny = y0.num_elements();
  std::vector<Tensor> theoretical, numerical;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& x = inputs[i];
    const int64_t nx = x.num_elements();
    std::vector<double> th(size_t(nx * ny), 0.0), nu(size_t(nx * ny), 0.0);
    // Theoretical: row k of dy/dx from a tape seeded with the k-th unit vector.
    for (int64_t k = 0; k < ny; ++k) {
      std::vector<Tensor> in = inputs;
      GradientTape tape;
      tape.watch(in[i]);
      Tensor y = f(in);
      std::vector<double> seed(size_t(ny), 0.0);
      seed[size_t(k)] = 1.0;
      Tensor g = tape.gradient(y, in[i], with_values(y, seed));
      if (!g.defined()) continue;
      std::vector<double> gv = g.to_vector<double>();
      for (int64_t j = 0; j < nx; ++j) th[size_t(j * ny + k)] = gv[size_t(j)];
    }
    // Numerical: central differences (f(x + h e_j) - f(x - h e_j)) / 2h.
    std::vector<double> xv = x.to_vector<double>();
    for (int64_t j = 0; j < nx; ++j) {
      double base = delta > 0 ? delta : (x.dtype() == DType::float64 ? 1e-6 : 1e-3);
      double h = base * std::max(1.0, std::fabs(xv[size_t(j)]));
      std::vector<double> p = xv, m = xv;
      p[size_t(j)] += h;
      m[size_t(j)] -= h;
      std::vector<Tensor> in = inputs;
      in[i] = with_values(x, p);
      std::vector<double> yp = f(in).to_vector<double>();
      in[i] = with_values(x, m);
      std::vector<double> ym = f(in).to_vector<double>();
      // Use the step actually representable in the dtype.
      std::vector<double> pr = in[i].to_vector<double>();
      double step = with_values(x, p).to_vector<double>()[size_t(j)] - pr[size_t(j)];
      for (int64_t k = 0; k < ny; ++k)
        nu[size_t(j * ny + k)] = (yp[size_t(k)] - ym[size_t(k)]) / step;
    }
    DeviceScope scope(x.device_info());
    theoretical.push_back(constant(th, Shape{nx, ny}, x.dtype()));
    numerical.push_back(constant(nu, Shape{nx, ny}, x.dtype()));
  }
  return {theoretical, numerical};
}

double max_gradient_error(const TestFunction& f, const std::vector<Tensor>& inputs, double delta) {
  auto [th, nu] = compute_gradient(f, inputs, delta);
  double err = 0.0;
  for (size_t i = 0; i < th.size(); ++i) {
    std::vector<double> a = th[i].to_vector<double>(), b = nu[i].to_vector<double>();
    for (size_t j = 0; j < a.size(); ++j) {
      double d = std::fabs(a[j] - b[j]);
      if (std::isnan(d)) return INFINITY;
      err = std::max(err, d);
    }
  }
  return err;
}

}  // namespace tapeflow::test

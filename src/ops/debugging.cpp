#include "ops/debugging.hpp"

#include <cmath>
#include <vector>

#include "backend/backend.hpp"
#include "core/fail.hpp"
#include "tapeflow/debugging.hpp"

namespace tapeflow::detail {

std::atomic<bool> g_check_numerics{false};

namespace {

struct NonFinite {
  int64_t nan = 0;
  int64_t inf = 0;
};

template <class T>
NonFinite count_non_finite(const T* p, int64_t n) {
  NonFinite c;
  for (int64_t i = 0; i < n; ++i) {
    // One test per element on the common all-finite path; classify only the rare misses.
    if (!std::isfinite(p[i])) [[unlikely]] {
      if (std::isnan(p[i]))
        ++c.nan;
      else
        ++c.inf;
    }
  }
  return c;
}

/// NaN and Inf counts of a floating tensor on any device (others are copied to the host).
NonFinite scan(const Tensor& t) {
  const TensorImpl& impl = *t.impl();
  const void* data = impl.data;
  std::vector<unsigned char> host;
  if (impl.device.type != DeviceType::CPU) {
    host.resize(impl.nbytes);
    backend_for(impl.device).copy_to_host(impl.data, host.data(), impl.nbytes);
    data = host.data();
  }
  if (impl.dtype == DType::float32)
    return count_non_finite(static_cast<const float*>(data), impl.size());
  return count_non_finite(static_cast<const double*>(data), impl.size());
}

}  // namespace

void check_op_output(const char* op, InputList inputs, const Tensor& out) {
  if (!out.defined() || !is_floating(out.dtype())) return;
  NonFinite c = scan(out);
  if (c.nan == 0 && c.inf == 0) return;
  std::string shapes;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (i) shapes += ", ";
    shapes += inputs[i].defined() ? inputs[i].shape().to_string() : std::string("<undefined>");
  }
  if (inputs.size() == 0) shapes = "none";
  fail<InvalidArgumentError>(op,
                             "Op ",
                             op,
                             " produced Inf/NaN in its output: ",
                             c.inf,
                             " Inf and ",
                             c.nan,
                             " NaN among ",
                             out.num_elements(),
                             " ",
                             dtype_name(out.dtype()),
                             " values of shape ",
                             out.shape(),
                             "; input shapes: ",
                             shapes);
}

}  // namespace tapeflow::detail

namespace tapeflow::debugging {

Tensor check_numerics(const Tensor& t, const std::string& message) {
  detail::check_defined("CheckNumerics", t, 0);
  if (!is_floating(t.dtype())) return t;
  detail::NonFinite c = detail::scan(t);
  if (c.nan == 0 && c.inf == 0) return t;
  // TensorFlow's wording, so searches for the message find its explanations.
  const char* what = c.nan && c.inf ? "Inf and NaN" : c.nan ? "NaN" : "Inf";
  detail::fail<InvalidArgumentError>("CheckNumerics", message, " : Tensor had ", what, " values");
}

void enable_check_numerics() { detail::g_check_numerics.store(true, std::memory_order_relaxed); }
void disable_check_numerics() { detail::g_check_numerics.store(false, std::memory_order_relaxed); }
bool check_numerics_enabled() { return detail::check_numerics_on(); }

}  // namespace tapeflow::debugging

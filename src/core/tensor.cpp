// Tensor handles: accessors, device transfer, and construction from / copies to host values.
// Printing is in tensor_print.cpp.
#include "tapeflow/tensor.hpp"

#include <cstring>
#include <vector>

#include "backend/backend.hpp"
#include "core/convert.hpp"
#include "core/device_context.hpp"
#include "core/dispatch.hpp"
#include "core/fail.hpp"
#include "core/tensor_impl.hpp"

namespace tapeflow {

using detail::TensorImpl;

static const TensorImpl& checked(const std::shared_ptr<TensorImpl>& p) {
  if (!p) throw FailedPreconditionError("use of an undefined tensor (an unconnected gradient?)");
  return *p;
}

const Shape& Tensor::shape() const { return checked(impl_).shape; }
DType Tensor::dtype() const { return checked(impl_).dtype; }
std::string Tensor::device() const { return checked(impl_).device.name(); }
Device Tensor::device_info() const { return checked(impl_).device; }
uint64_t Tensor::id() const { return checked(impl_).id; }
const void* Tensor::data() const {
  const auto& i = checked(impl_);
  if (i.device.type != DeviceType::CPU)
    throw FailedPreconditionError("data() needs a CPU tensor; this one is on " + i.device.name() +
                                  " (call cpu() first)");
  return i.data;
}

Tensor Tensor::cpu() const { return detail::on_device(*this, Device{DeviceType::CPU, 0}); }
Tensor Tensor::to(const std::string& device) const {
  Device d = Device::parse(device);
  detail::backend_for(d);  // throws if absent
  return detail::on_device(*this, d);
}

namespace detail {

Tensor on_device(const Tensor& t, Device device) {
  const auto& impl = t.impl();
  if (impl->device == device) return t;
  // Host staging keeps this correct for every pair of devices.
  auto out = new_impl(impl->shape, impl->dtype, device);
  if (impl->device.type == DeviceType::CPU) {
    backend_for(device).copy_from_host(impl->data, out->data, impl->nbytes);
  } else if (device.type == DeviceType::CPU) {
    backend_for(impl->device).copy_to_host(impl->data, out->data, impl->nbytes);
  } else {
    std::vector<unsigned char> host(impl->nbytes);
    backend_for(impl->device).copy_to_host(impl->data, host.data(), impl->nbytes);
    backend_for(device).copy_from_host(host.data(), out->data, impl->nbytes);
  }
  return Tensor(std::move(out));
}

namespace {
template <class From, class To>
void convert(const From* src, To* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = convert_element<To>(src[i]);
}
void convert_any(const void* src, DType s, void* dst, DType d, int64_t n) {
  if (n == 0) return;  // src may be null (an empty vector's data())
  if (s == d) {
    std::memcpy(dst, src, size_t(n) * size_t(dtype_size(s)));
    return;
  }
  dispatch_all(s, [&]<class S>() {
    dispatch_all(d,
                 [&]<class D>() { convert(static_cast<const S*>(src), static_cast<D*>(dst), n); });
  });
}
}  // namespace

Tensor make_tensor(const void* data, DType src, int64_t count, const Shape& shape, DType dst) {
  checked_num_elements("Const", shape);
  if (count != shape.num_elements())
    throw InvalidArgumentError(str_cat("constant(): ",
                                       count,
                                       " values do not fill shape ",
                                       shape,
                                       " (",
                                       shape.num_elements(),
                                       " elements)"));
  Device dev = current_device();
  auto host = make_impl(shape, dst, Device{DeviceType::CPU, 0}, "Const");
  convert_any(data, src, host->data, dst, count);
  Tensor t(std::move(host));
  return dev.type == DeviceType::CPU ? t : on_device(t, dev);
}

void copy_out(const Tensor& t, void* dst, DType dst_dtype) {
  Tensor c = t.cpu();
  convert_any(c.impl()->data, c.dtype(), dst, dst_dtype, c.num_elements());
}

}  // namespace detail

}  // namespace tapeflow

#include "tapeflow/device.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <string>
#include <vector>

#include "backend/backend.hpp"
#include "core/device_context.hpp"
#include "tapeflow/errors.hpp"

namespace tapeflow {

std::string Device::name() const {
  return std::string("/job:localhost/replica:0/task:0/device:") +
         (type == DeviceType::CPU ? "CPU:" : "GPU:") + std::to_string(index);
}

Device Device::parse(const std::string& spec) {
  std::string s;
  for (char c : spec) s += char(std::toupper(static_cast<unsigned char>(c)));
  // Keep only the last "/device:" or "/" component: "/job:.../device:GPU:0" → "GPU:0".
  if (auto p = s.rfind("DEVICE:"); p != std::string::npos) s = s.substr(p + 7);
  if (auto p = s.rfind('/'); p != std::string::npos) s = s.substr(p + 1);
  auto colon = s.find(':');
  std::string type = s.substr(0, colon);
  int index = 0;
  if (colon != std::string::npos) {
    std::string num = s.substr(colon + 1);
    if (num.empty() || !std::all_of(num.begin(), num.end(), ::isdigit))
      throw InvalidArgumentError("Could not parse device specification '" + spec + "'");
    index = std::stoi(num);
  }
  if (type == "CPU") return {DeviceType::CPU, index};
  if (type == "GPU") return {DeviceType::GPU, index};
  throw InvalidArgumentError("Could not parse device specification '" + spec +
                             "'; expected e.g. /cpu:0 or /gpu:0");
}

namespace detail {

std::vector<Device>& device_stack() {
  thread_local std::vector<Device> stack;
  return stack;
}

Device current_device() {
  auto& s = device_stack();
  return s.empty() ? config::default_device() : s.back();
}

void check_device_exists(Device d) {
  if (d.type == DeviceType::CPU && d.index == 0) return;
  backend_for(d);  // throws with the list of available devices
}

}  // namespace detail

DeviceScope::DeviceScope(const std::string& device) : DeviceScope(Device::parse(device)) {}
DeviceScope::DeviceScope(Device device) {
  detail::check_device_exists(device);
  detail::device_stack().push_back(device);
}
DeviceScope::~DeviceScope() { detail::device_stack().pop_back(); }

namespace config {

std::vector<std::string> list_physical_devices(const std::string& type) {
  std::string t;
  for (char c : type) t += char(std::toupper(static_cast<unsigned char>(c)));
  std::vector<std::string> out;
  if (t == "CPU" || t.empty()) out.push_back(Device{DeviceType::CPU, 0}.name());
  if (t == "GPU" || t.empty())
    for (int i = 0; i < detail::gpu_count(); ++i) out.push_back(Device{DeviceType::GPU, i}.name());
  return out;
}

bool gpu_available() { return detail::gpu_count() > 0; }

std::string gpu_unavailable_reason() { return detail::gpu_unavailable_reason(); }

Device default_device() {
  // A throwing initialiser leaves `dev` unset, so each later call reports the problem again.
  static const Device dev = [] {
    const char* env = std::getenv("TAPEFLOW_DEVICE");
    if (env && *env) {
      Device d;
      try {
        d = Device::parse(env);
        detail::check_device_exists(d);
      } catch (const InvalidArgumentError& e) {
        throw InvalidArgumentError(std::string("TAPEFLOW_DEVICE=") + env + ": " + e.what());
      }
      return d;
    }
    return gpu_available() ? Device{DeviceType::GPU, 0} : Device{DeviceType::CPU, 0};
  }();
  return dev;
}

}  // namespace config
}  // namespace tapeflow

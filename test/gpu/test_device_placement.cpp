// Device placement (API.md §4, issue #4). Without a GPU: the library still works on the CPU,
// gpu_available() is false, and asking for a GPU throws InvalidArgumentError saying why. With
// a GPU: placement, copies between devices, device names and gradients on the GPU. The GPU
// cases run only where a GPU is present; elsewhere they say "skipped: no GPU" visibly.
#include <cstdlib>
#include <string>

#include "test_util.hpp"

namespace tf = tapeflow;
using Catch::Matchers::Approx;
using Catch::Matchers::Contains;

namespace {

const std::string kCpu = "/job:localhost/replica:0/task:0/device:CPU:0";
const std::string kGpu0 = "/job:localhost/replica:0/task:0/device:GPU:0";

/// True when the GPU cases can run; otherwise warns once per test case, visibly.
bool have_gpu() {
  if (tf::config::gpu_available()) return true;
  WARN("skipped: no GPU (" << tf::config::gpu_unavailable_reason() << ")");
  return false;
}

/// The environment's default-device override, or "" (the default then follows the hardware).
std::string device_env() {
  const char* env = std::getenv("TAPEFLOW_DEVICE");
  return env ? env : "";
}

/// What each way of lacking a GPU says (src/backend/cuda_loader.cpp, cuda/backend.cpp).
bool names_a_known_reason(const std::string& why) {
  for (const char* r : {"built without CUDA",
                        "CUDA plugin",
                        "NVIDIA driver",
                        "no CUDA device",
                        "CUDA is not usable",
                        "not a tapeflow CUDA plugin",
                        "built for another libtapeflow"})
    if (why.find(r) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("without a GPU: gpu_available() is false and the reason is given", "[device][gpu]") {
  if (tf::config::gpu_available()) {
    CHECK(tf::config::gpu_unavailable_reason().empty());
    return;
  }
  const std::string why = tf::config::gpu_unavailable_reason();
  INFO("reason: " << why);
  CHECK(names_a_known_reason(why));
  CHECK(tf::config::list_physical_devices("GPU").empty());
  CHECK(tf::config::list_physical_devices("gpu").empty());
  CHECK(tf::config::list_physical_devices("CPU") == std::vector<std::string>{kCpu});
  if (device_env().empty())
    CHECK(tf::config::default_device() == tf::Device{tf::DeviceType::CPU, 0});
  // The CPU works as before.
  auto y = tf::constant({1.f, 2.f}) * 3.f;
  CHECK(y.device() == kCpu);
  CHECK(y.to_vector<float>() == std::vector<float>{3.f, 6.f});
}

TEST_CASE(
    "without a GPU: every spelling of /gpu:0 throws InvalidArgumentError with the reason "
    "and the available devices",
    "[device][gpu]") {
  if (tf::config::gpu_available()) return;
  const std::string why = tf::config::gpu_unavailable_reason();
  for (const char* spec : {"/gpu:0", "/GPU:0", "/device:GPU:0", "gpu:0", kGpu0.c_str()}) {
    INFO("spec " << spec);
    CHECK_THROWS_AS(tf::DeviceScope(spec), tf::InvalidArgumentError);
    CHECK_THROWS_WITH(tf::DeviceScope(spec),
                      Contains("Device '" + kGpu0 + "' not found") &&
                          Contains("no GPU is available, because " + why) &&
                          Contains("available: " + kCpu));
  }
  // Tensor::to() refuses too, and the failed requests left no scope behind.
  auto x = tf::constant({1.f, 2.f});
  CHECK_THROWS_AS(x.to("/gpu:0"), tf::InvalidArgumentError);
  CHECK_THROWS_WITH(x.to("/gpu:0"), Contains(why));
  CHECK(tf::ones({2}).device() == tf::config::default_device().name());
  CHECK(x.cpu().to_vector<float>() == std::vector<float>{1.f, 2.f});
}

TEST_CASE("a missing device names the available ones; CPU:0 always exists", "[device][gpu]") {
  CHECK_THROWS_AS(tf::DeviceScope("/gpu:99"), tf::InvalidArgumentError);
  CHECK_THROWS_WITH(tf::DeviceScope("/gpu:99"), Contains("GPU:99") && Contains(kCpu));
  CHECK_THROWS_WITH(tf::DeviceScope("/cpu:1"), Contains("CPU:1") && Contains(kCpu));
  tf::DeviceScope cpu("/cpu:0");
  CHECK(tf::zeros({3}).device() == kCpu);
  const auto all = tf::config::list_physical_devices("");
  REQUIRE(!all.empty());
  CHECK(all.front() == kCpu);
  CHECK(all.size() == 1 + tf::config::list_physical_devices("GPU").size());
}

// ---- with a GPU -------------------------------------------------------------------------------

TEST_CASE("GPU: devices are listed and GPU:0 is the default device", "[device][gpu]") {
  if (!have_gpu()) return;
  const auto gpus = tf::config::list_physical_devices("GPU");
  REQUIRE(!gpus.empty());
  CHECK(gpus.front() == kGpu0);
  if (device_env().empty()) {
    CHECK(tf::config::default_device() == tf::Device{tf::DeviceType::GPU, 0});
    CHECK(tf::constant(1.f).device() == kGpu0);
  }
  CHECK(tf::config::gpu_unavailable_reason().empty());
}

TEST_CASE("GPU: ops in a DeviceScope run there and values round-trip to the host",
          "[device][gpu]") {
  if (!have_gpu()) return;
  for (const char* spec : {"/gpu:0", "/GPU:0", "/device:GPU:0", "gpu:0"}) {
    INFO("spec " << spec);
    tf::DeviceScope scope(spec);
    auto a = tf::constant({{1.f, 2.f}, {3.f, 4.f}});
    CHECK(a.device() == kGpu0);
    auto b = tf::matmul(a, a) + 1.f;
    CHECK(b.device() == kGpu0);
    CHECK(b.to_vector<float>() == std::vector<float>{8.f, 11.f, 16.f, 23.f});
    CHECK(tf::reduce_sum(b).item<float>() == 58.f);
    CHECK_THROWS_AS(b.data(), tf::FailedPreconditionError);  // no silent host read of GPU memory
  }
  // Printing copies to the host first and prints as on the CPU.
  std::ostringstream on_gpu, on_cpu;
  {
    tf::DeviceScope scope("/gpu:0");
    on_gpu << tf::constant({1.f, 2.f, 3.f});
  }
  on_cpu << tf::constant({1.f, 2.f, 3.f}).cpu();
  CHECK(on_gpu.str() == "tf.Tensor([1. 2. 3.], shape=(3,), dtype=float32)");
  CHECK(on_gpu.str() == on_cpu.str());
}

TEST_CASE("GPU: cpu() and to() copy between devices; mixed inputs go to the op's device",
          "[device][gpu]") {
  if (!have_gpu()) return;
  std::vector<double> v(1000);
  for (size_t i = 0; i < v.size(); ++i) v[i] = 0.5 * double(i) - 7.0;
  tf::Tensor host;
  {
    tf::DeviceScope cpu("/cpu:0");
    host = tf::constant(v, {10, 100});
  }
  REQUIRE(host.device() == kCpu);
  tf::Tensor dev = host.to("/gpu:0");
  CHECK(dev.device() == kGpu0);
  CHECK(dev.to_vector<double>() == v);
  CHECK(dev.cpu().device() == kCpu);
  CHECK(dev.cpu().to_vector<double>() == v);
  CHECK(dev.to("/gpu:0").impl() == dev.impl());  // already there: no copy
  {
    tf::DeviceScope gpu("/gpu:0");
    auto s = host + dev;  // the CPU input is copied to GPU:0
    CHECK(s.device() == kGpu0);
    CHECK(s.to_vector<double>()[999] == 2.0 * v[999]);
  }
  {
    tf::DeviceScope cpu("/cpu:0");
    auto s = dev * host;  // the GPU input is copied to CPU:0
    CHECK(s.device() == kCpu);
    CHECK(s.to_vector<double>()[3] == v[3] * v[3]);
  }
}

TEST_CASE("GPU: gradients run on the forward op's device, whatever the caller's scope",
          "[device][gpu][autodiff]") {
  if (!have_gpu()) return;
  tf::GradientTape tape({.persistent = true});
  tf::Tensor w, y;
  {
    tf::DeviceScope gpu("/gpu:0");
    w = tf::constant(4.f);
    tape.watch(w);
    y = tf::constant(1.f) * tf::pow(w, 2.f) + tf::constant(2.f) * w + tf::constant(1.f);
  }
  tf::DeviceScope cpu("/cpu:0");
  auto g = tape.gradient(y, w);
  CHECK(g.device() == kGpu0);
  CHECK(g.item<float>() ==
        Catch::Detail::Approx(10.f).epsilon(1e-6));  // 2w + 2 at w = 4 (CUDA's powf)
  // A CPU source used on the GPU: its gradient is computed on the GPU (as TF), values agree.
  auto x = tf::constant({1.0, -2.0, 3.0});
  tf::GradientTape t2;
  t2.watch(x);
  tf::Tensor z;
  {
    tf::DeviceScope gpu("/gpu:0");
    z = tf::reduce_sum(tf::exp(x) * 2.0);
  }
  auto gx = t2.gradient(z, x);
  CHECK(gx.device() == kGpu0);
  CHECK_THAT(gx.to_vector<double>(),
             Approx(std::vector<double>{2 * std::exp(1.0), 2 * std::exp(-2.0), 2 * std::exp(3.0)}));
}

TEST_CASE("GPU: variables stay on their device through assign and optimizer steps",
          "[device][gpu][variable]") {
  if (!have_gpu()) return;
  tf::DeviceScope gpu("/gpu:0");
  tf::Variable w(tf::constant({1.f, 2.f}), {.name = "w"});
  CHECK(w.device() == kGpu0);
  {
    tf::DeviceScope cpu("/cpu:0");
    w.assign(tf::constant({5.f, 6.f}));  // a CPU value copied into the GPU variable
    CHECK(w.device() == kGpu0);
    w.assign_add(tf::constant({1.f, 1.f}));
    CHECK(w.device() == kGpu0);
    tf::Tensor keep = w.value();  // a held value forces the out-of-place path
    w.assign_sub(tf::constant({2.f, 2.f}));
    CHECK(w.device() == kGpu0);
    CHECK(keep.to_vector<float>() == std::vector<float>{6.f, 7.f});
  }
  CHECK(w.value().to_vector<float>() == std::vector<float>{4.f, 5.f});
  tf::optimizers::SGD opt({.learning_rate = 0.5f});
  tf::GradientTape tape;
  auto loss = tf::reduce_sum(tf::square(w.value()));  // d/dw = 2w
  auto grads = tape.gradient(loss, {w.value()});
  opt.apply_gradients(grads, {w});
  CHECK(w.device() == kGpu0);
  CHECK(w.value().to_vector<float>() == std::vector<float>{0.f, 0.f});  // w - 0.5 * 2w
}

TEST_CASE(
    "GPU: an allocation larger than the device throws ResourceExhaustedError and the "
    "device keeps working",
    "[device][gpu]") {
  if (!have_gpu()) return;
  tf::DeviceScope gpu("/gpu:0");
  CHECK_THROWS_AS(tf::zeros({int64_t(1) << 40}), tf::ResourceExhaustedError);  // 4 TiB
  CHECK_THROWS_WITH(tf::zeros({int64_t(1) << 40}), Contains("GPU:0") && Contains("out of memory"));
  CHECK(tf::reduce_sum(tf::ones({1000})).item<float>() == 1000.f);
}

TEST_CASE("GPU: datasets built from GPU tensors yield the same values", "[device][gpu][data]") {
  if (!have_gpu()) return;
  tf::Tensor x;
  {
    tf::DeviceScope gpu("/gpu:0");
    x = tf::reshape(tf::range(0, 12, 1, tf::float32), {6, 2});
  }
  std::vector<float> seen;
  for (const auto& batch : tf::data::Dataset::from_tensor_slices(x).batch(4))
    for (float f : batch[0].to_vector<float>()) seen.push_back(f);
  CHECK(seen == x.to_vector<float>());
}

// MultiWorkerMirroredStrategy: one replica per process over the process group of
// communicator.hpp, with tensor fusion (reducer.hpp) and a gradient all-reduce that runs while
// the tape's backward walk goes on (the tape's gradient-ready hook, tape_impl.hpp).
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "autodiff/tape_impl.hpp"
#include "backend/backend.hpp"
#include "backend/gpu_comm.hpp"
#include "core/device_context.hpp"
#include "core/fail.hpp"
#include "core/tensor_impl.hpp"
#include "distribute/communicator.hpp"
#include "distribute/reducer.hpp"
#include "ops/run_op.hpp"
#include "tapeflow/distribute.hpp"
#include "tapeflow/ops.hpp"
#include "tapeflow/optimizers.hpp"

namespace tapeflow::distribute {
namespace detail {

class Runtime {
 public:
  std::shared_ptr<Communicator> comm;
  BufferPool buffers;
  GradientStats last_gradient;
  // The NCCL communicator across the replicas (backend/gpu_comm.hpp), made on the first
  // collective that every replica can run on its GPU, and bound to that GPU for good.
  void* nccl = nullptr;
  int nccl_gpu = -1;
};

}  // namespace detail

namespace {

namespace core = ::tapeflow::detail;
using core::fail;
using detail::TensorSpec;
const Device kCpu{DeviceType::CPU, 0};

void check_op(ReduceOp op, const char* name) {
  if (op != ReduceOp::SUM && op != ReduceOp::MEAN)
    fail<InvalidArgumentError>(
        name, "Unknown reduce op ", int(op), "; expected ReduceOp::SUM or ReduceOp::MEAN");
}

const char* op_name(ReduceOp op) { return op == ReduceOp::SUM ? "SUM" : "MEAN"; }

/// A CPU result moved back to the device of the tensor it came from.
Tensor to_device_of(const Tensor& result, const Tensor& like) {
  if (!result.defined() || like.device_info().type == DeviceType::CPU) return result;
  return result.to(like.device());
}

// The NCCL path (GPU tensors, a plugin built with NCCL): taken by a collective when every
// replica votes for it in the signature check that precedes it (check_same_on_all_replicas), so
// the replicas never disagree on the engine. A replica votes for it when all its defined tensors
// of that call are on one GPU, the one its communicator is bound to (if it has one yet).

/// The GPU for NCCL to reduce `tensors` on, or -1 for the host path.
int nccl_gpu_for(const detail::Runtime& rt, const std::vector<Tensor>& tensors) {
  int gpu = -1;
  for (const Tensor& t : tensors) {
    if (!t.defined()) continue;
    const Device d = t.device_info();
    if (d.type != DeviceType::GPU || (gpu >= 0 && d.index != gpu)) return -1;
    gpu = d.index;
  }
  if (gpu < 0 || (rt.nccl && rt.nccl_gpu != gpu) || !core::gpu_comm_available()) return -1;
  return gpu;
}

/// The replicas' NCCL communicator, bootstrapped over MPI on first use as Horovod does: the
/// chief makes NCCL's unique id, MPI broadcasts it, every replica joins with its rank. Every
/// replica calls this at the same collective (they all voted for the NCCL path).
void* nccl_comm(detail::Runtime& rt, int gpu) {
  if (rt.nccl) return rt.nccl;
  detail::Communicator& comm = *rt.comm;
  // Byte 0 says whether the chief failed, so that no replica waits in ncclCommInitRank for it.
  std::vector<char> message(129, 0), id;
  std::string why;
  if (comm.rank() == 0) {
    why = core::gpu_comm_unique_id(id);
    message[0] = why.empty() ? 0 : 1;
    if (why.empty()) std::memcpy(message.data() + 1, id.data(), std::min<size_t>(id.size(), 128));
  }
  comm.broadcast(message.data(), int64_t(message.size()), 0, "the NCCL unique id");
  if (message[0] != 0)
    fail<InternalError>(
        "NcclBootstrap", "the chief could not make NCCL's unique id", why.empty() ? "" : ": ", why);
  id.assign(message.begin() + 1, message.end());
  void* handle = nullptr;
  why = core::gpu_comm_init(id, comm.size(), comm.rank(), gpu, &handle);
  if (!why.empty())
    fail<InternalError>("NcclBootstrap",
                        "replica ",
                        comm.rank(),
                        " could not join the NCCL communicator on /gpu:",
                        gpu,
                        ": ",
                        why);
  rt.nccl = handle;
  rt.nccl_gpu = gpu;
  return handle;
}

/// Sums (or averages) the defined tensors over the replicas on GPU `gpu` with NCCL, as one NCCL
/// group; each result is a new tensor (a copy reduced in place), undefined where the input was.
std::vector<Tensor> nccl_all_reduce(detail::Runtime& rt,
                                    int gpu,
                                    const std::vector<Tensor>& tensors,
                                    ReduceOp op,
                                    const char* what) {
  void* comm = nccl_comm(rt, gpu);
  DeviceScope scope(Device{DeviceType::GPU, gpu});
  std::vector<Tensor> out(tensors.size());
  std::vector<void*> buffers;
  std::vector<size_t> elements;
  std::vector<DType> dtypes;
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (!tensors[i].defined()) continue;
    out[i] = identity(stop_gradient(tensors[i]));
    if (out[i].num_elements() == 0) continue;
    buffers.push_back(out[i].impl()->data);
    elements.push_back(size_t(out[i].num_elements()));
    dtypes.push_back(out[i].dtype());
  }
  if (!buffers.empty())
    if (std::string why = core::gpu_comm_all_reduce(comm, buffers, elements, dtypes); !why.empty())
      fail<InternalError>("CollectiveReduceV2",
                          what,
                          " of ",
                          buffers.size(),
                          " tensors on /gpu:",
                          gpu,
                          " through NCCL: ",
                          why);
  if (op == ReduceOp::MEAN) {
    const double replicas = double(rt.comm->size());
    for (Tensor& t : out)
      if (t.defined()) t = t / cast(constant(replicas), t.dtype());
  }
  return out;
}

}  // namespace

MultiWorkerMirroredStrategy::MultiWorkerMirroredStrategy(MultiWorkerOptions options)
    : options_(options), runtime_(std::make_shared<detail::Runtime>()) {
  if (const char* env = std::getenv("TAPEFLOW_DISTRIBUTE_TIMEOUT"); env && *env)
    options_.timeout_seconds = std::atof(env);
  if (options_.fusion_bytes <= 0)
    throw InvalidArgumentError("MultiWorkerMirroredStrategy: fusion_bytes must be positive, got " +
                               std::to_string(options_.fusion_bytes));
  runtime_->comm = detail::world();
  runtime_->comm->set_timeout(options_.timeout_seconds);
}

MultiWorkerMirroredStrategy::~MultiWorkerMirroredStrategy() = default;

int MultiWorkerMirroredStrategy::num_replicas_in_sync() const { return runtime_->comm->size(); }
int MultiWorkerMirroredStrategy::worker_index() const { return runtime_->comm->rank(); }
bool MultiWorkerMirroredStrategy::is_chief() const { return runtime_->comm->rank() == 0; }
std::string MultiWorkerMirroredStrategy::backend() const { return runtime_->comm->backend(); }
std::string MultiWorkerMirroredStrategy::gpu_backend() const {
  return core::gpu_comm_available() ? "nccl" : "host";
}

std::vector<Tensor> MultiWorkerMirroredStrategy::all_reduce(const std::vector<Tensor>& tensors,
                                                            ReduceOp op) const {
  check_op(op, "CollectiveReduceV2");
  detail::Communicator& comm = *runtime_->comm;
  std::vector<TensorSpec> specs;
  std::vector<bool> defined;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    defined.push_back(t.defined());
    specs.push_back(t.defined() ? TensorSpec{t.shape(), t.dtype()} : TensorSpec{Shape{}, float32});
    if (!t.defined()) continue;
    if (t.dtype() == DType::boolean)
      fail<InvalidArgumentError>("CollectiveReduceV2",
                                 "all_reduce: tensor #",
                                 i,
                                 " is bool; only float32, float64, int32 and int64 can be reduced");
    if (op == ReduceOp::MEAN && !is_floating(t.dtype()))
      fail<InvalidArgumentError>("CollectiveReduceV2",
                                 "all_reduce with ReduceOp::MEAN needs floating tensors; tensor #",
                                 i,
                                 " is ",
                                 dtype_name(t.dtype()),
                                 " (use ReduceOp::SUM)");
  }
  const int gpu = nccl_gpu_for(*runtime_, tensors);
  const bool nccl = detail::check_same_on_all_replicas(
      comm,
      std::string(op_name(op)) + ": " + detail::describe(specs, defined),
      "CollectiveReduceV2",
      "all_reduce",
      gpu >= 0);
  if (comm.size() == 1) return tensors;
  if (nccl) return nccl_all_reduce(*runtime_, gpu, tensors, op, "all_reduce");

  std::vector<size_t> which;  // the defined tensors
  std::vector<TensorSpec> live;
  for (size_t i = 0; i < tensors.size(); ++i)
    if (defined[i]) {
      which.push_back(i);
      live.push_back(specs[i]);
    }
  detail::BucketedReduce reduce(
      comm, runtime_->buffers, live, options_.fusion_bytes, op, /*track_defined=*/false);
  for (size_t k = 0; k < which.size(); ++k) reduce.put(k, tensors[which[k]].cpu());
  std::vector<Tensor> reduced = reduce.finish();
  std::vector<Tensor> out(tensors.size());
  for (size_t k = 0; k < which.size(); ++k)
    out[which[k]] = to_device_of(reduced[k], tensors[which[k]]);
  return out;
}

Tensor MultiWorkerMirroredStrategy::all_reduce(const Tensor& tensor, ReduceOp op) const {
  return all_reduce(std::vector<Tensor>{tensor}, op)[0];
}

std::vector<Tensor> MultiWorkerMirroredStrategy::broadcast(const std::vector<Tensor>& tensors,
                                                           int root) const {
  detail::Communicator& comm = *runtime_->comm;
  if (root < 0 || root >= comm.size())
    fail<InvalidArgumentError>("CollectiveBcastSend",
                               "broadcast: root ",
                               root,
                               " is not a replica (there are ",
                               comm.size(),
                               ")");
  std::vector<TensorSpec> specs;
  std::vector<bool> defined;
  for (const Tensor& t : tensors) {
    defined.push_back(t.defined());
    specs.push_back(t.defined() ? TensorSpec{t.shape(), t.dtype()} : TensorSpec{Shape{}, float32});
  }
  const int gpu = nccl_gpu_for(*runtime_, tensors);
  const bool nccl = detail::check_same_on_all_replicas(
      comm,
      "root " + std::to_string(root) + ": " + detail::describe(specs, defined),
      "CollectiveBcastSend",
      "broadcast",
      gpu >= 0);
  if (comm.size() == 1) return tensors;
  if (nccl) {  // each tensor copied, then overwritten in place with root's bytes
    void* handle = nccl_comm(*runtime_, gpu);
    DeviceScope scope(Device{DeviceType::GPU, gpu});
    std::vector<Tensor> out(tensors.size());
    for (size_t i = 0; i < tensors.size(); ++i) {
      if (!tensors[i].defined()) continue;
      out[i] = identity(stop_gradient(tensors[i]));
      const size_t bytes = size_t(out[i].num_elements() * dtype_size(out[i].dtype()));
      if (bytes == 0) continue;
      if (std::string why = core::gpu_comm_broadcast(handle, out[i].impl()->data, bytes, root);
          !why.empty())
        fail<InternalError>(
            "CollectiveBcastSend", "broadcast of tensor #", i, " through NCCL: ", why);
    }
    return out;
  }
  // One fused byte buffer: broadcast moves bytes, so dtypes can share it.
  int64_t total = 0;
  for (const Tensor& t : tensors)
    if (t.defined()) total += t.num_elements() * dtype_size(t.dtype());
  std::vector<char> buffer(static_cast<size_t>(total));
  int64_t offset = 0;
  if (comm.rank() == root)
    for (const Tensor& t : tensors)
      if (t.defined()) {
        const int64_t n = t.num_elements() * dtype_size(t.dtype());
        std::memcpy(buffer.data() + offset, t.cpu().impl()->data, size_t(n));
        offset += n;
      }
  comm.broadcast(
      buffer.data(), total, root, "broadcast of " + std::to_string(tensors.size()) + " tensors");
  std::vector<Tensor> out(tensors.size());
  offset = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    if (!t.defined()) continue;
    const int64_t n = t.num_elements() * dtype_size(t.dtype());
    Tensor r = core::new_tensor(t.shape(), t.dtype(), kCpu);
    std::memcpy(r.impl()->data, buffer.data() + offset, size_t(n));
    offset += n;
    out[i] = to_device_of(r, t);
  }
  return out;
}

Tensor MultiWorkerMirroredStrategy::broadcast(const Tensor& tensor, int root) const {
  return broadcast(std::vector<Tensor>{tensor}, root)[0];
}

Tensor MultiWorkerMirroredStrategy::all_gather(const Tensor& tensor) const {
  detail::Communicator& comm = *runtime_->comm;
  if (!tensor.defined())
    throw InvalidArgumentError("all_gather: the tensor is undefined [Op:CollectiveGatherV2]");
  if (tensor.rank() < 1)
    fail<InvalidArgumentError>("CollectiveGatherV2",
                               "all_gather needs a tensor of rank >= 1 (it concatenates along "
                               "axis 0); got shape ",
                               tensor.shape());
  // Everything but the first dimension must agree; the first dimensions are gathered.
  const std::vector<int64_t> dims0 = tensor.shape().dims();  // dims() returns a copy
  const std::vector<int64_t> rest(dims0.begin() + 1, dims0.end());
  detail::check_same_on_all_replicas(
      comm,
      detail::describe({TensorSpec{Shape(rest), tensor.dtype()}}, {true}) + " (after axis 0)",
      "CollectiveGatherV2",
      "all_gather");
  if (comm.size() == 1) return tensor;
  std::vector<int64_t> rows(size_t(comm.size()));
  const int64_t mine = tensor.shape()[0];
  comm.all_gather(&mine, sizeof(int64_t), rows.data(), "all_gather of the first dimensions");
  const int64_t row_bytes = Shape(rest).num_elements() * dtype_size(tensor.dtype());
  std::vector<int64_t> bytes;
  int64_t total_rows = 0;
  for (int64_t r : rows) {
    bytes.push_back(r * row_bytes);
    total_rows += r;
  }
  std::vector<int64_t> dims{total_rows};
  dims.insert(dims.end(), rest.begin(), rest.end());
  Tensor out = core::new_tensor(Shape(dims), tensor.dtype(), kCpu);
  comm.all_gather_v(tensor.cpu().impl()->data,
                    bytes,
                    out.impl()->data,
                    "all_gather of " + tensor.shape().to_string());
  return to_device_of(out, tensor);
}

void MultiWorkerMirroredStrategy::barrier() const { runtime_->comm->barrier("barrier"); }

void MultiWorkerMirroredStrategy::broadcast_variables(const std::vector<Variable>& vars) const {
  std::vector<Tensor> values;
  values.reserve(vars.size());
  for (const Variable& v : vars) values.push_back(v.peek());
  std::vector<Tensor> chief = broadcast(values, 0);
  if (runtime_->comm->size() == 1) return;
  for (size_t i = 0; i < vars.size(); ++i) vars[i].assign(chief[i]);
}

void MultiWorkerMirroredStrategy::broadcast_variables(const std::vector<Variable>& vars,
                                                      optimizers::Optimizer& optimizer) const {
  optimizer.build(vars);
  std::vector<Variable> all = vars;
  for (const Variable& v : vars)
    for (const auto& [name, slot] : optimizer.slots(v)) all.push_back(slot);
  broadcast_variables(all);
  Tensor step = constant(int64_t(optimizer.iterations()));
  optimizer.set_iterations(broadcast(step, 0).item<int64_t>());
}

std::vector<Tensor> MultiWorkerMirroredStrategy::gradient(GradientTape& tape,
                                                          const Tensor& target,
                                                          const std::vector<Variable>& vars,
                                                          ReduceOp op) const {
  check_op(op, "CollectiveReduceV2");
  detail::Communicator& comm = *runtime_->comm;
  std::vector<TensorSpec> specs;
  for (size_t i = 0; i < vars.size(); ++i) {
    if (!is_floating(vars[i].dtype()))
      fail<InvalidArgumentError>("CollectiveReduceV2",
                                 "gradient: variable #",
                                 i,
                                 " ('",
                                 vars[i].name(),
                                 "') is ",
                                 dtype_name(vars[i].dtype()),
                                 "; only floating variables have gradients");
    specs.push_back(TensorSpec{vars[i].shape(), vars[i].dtype()});
  }
  if (comm.size() == 1) return tape.gradient(target, vars);
  std::vector<Tensor> values;
  for (const Variable& v : vars) values.push_back(v.peek());
  const int gpu = nccl_gpu_for(*runtime_, values);
  const bool nccl = detail::check_same_on_all_replicas(
      comm,
      std::string(op_name(op)) + ": " +
          detail::describe(specs, std::vector<bool>(specs.size(), true)),
      "CollectiveReduceV2",
      "gradient all-reduce",
      gpu >= 0);
  const size_t n = vars.size();

  if (nccl) {
    // On the GPU: the walk first, then one NCCL group over every gradient, queued on the GPU's
    // stream behind the kernels of the walk (NCCL fuses the group's small reductions itself).
    std::vector<Tensor> local = tape.gradient(target, vars);
    // An undefined gradient counts as zeros; the result is undefined where no replica had one.
    std::vector<int64_t> any(n);
    for (size_t i = 0; i < n; ++i) any[i] = local[i].defined() ? 1 : 0;
    if (n > 0) comm.max_int64(any.data(), int(n), "the flags of defined gradients");
    const Device device{DeviceType::GPU, gpu};
    DeviceScope scope(device);
    for (size_t i = 0; i < n; ++i) {
      if (!local[i].defined() && any[i] != 0)
        local[i] = zeros(vars[i].shape(), vars[i].dtype());
      else if (local[i].defined() && !(local[i].device_info() == device))
        local[i] = local[i].to(device.name());
    }
    runtime_->last_gradient = {n > 0 ? 1 : 0, 0, true};
    return nccl_all_reduce(*runtime_, gpu, local, op, "gradient all-reduce");
  }

  // Buckets in reverse variable order: the walk finishes the last layers' gradients first.
  std::vector<TensorSpec> reversed(specs.rbegin(), specs.rend());
  detail::BucketedReduce reduce(
      comm, runtime_->buffers, reversed, options_.fusion_bytes, op, /*track_defined=*/true);
  std::vector<Tensor> local;
  if (options_.overlap_backward) {
    const core::GradientReadyHook hook = [&](size_t i, const Tensor& g) {
      reduce.put(n - 1 - i, g.defined() ? g.cpu() : Tensor());
    };
    const core::GradientReadyHook* previous = core::set_gradient_ready_hook(&hook);
    struct Restore {
      const core::GradientReadyHook* previous;
      ~Restore() { core::set_gradient_ready_hook(previous); }
    } restore{previous};
    // Nonblocking MPI moves data only inside MPI calls: while the walk computes, a helper
    // thread pokes the collectives in flight (Horovod runs all communication on a background
    // thread for the same reason).
    std::atomic<bool> walking{true};
    std::thread progress;
    if (options_.progress_thread && comm.threads_may_poke())
      progress = std::thread([&] {
        while (walking.load(std::memory_order_relaxed)) {
          comm.poke();
          std::this_thread::sleep_for(std::chrono::microseconds(200));
        }
      });
    struct Join {
      std::atomic<bool>& walking;
      std::thread& t;
      ~Join() {
        walking = false;
        if (t.joinable()) t.join();
      }
    } join{walking, progress};
    local = tape.gradient(target, vars);
  } else {
    local = tape.gradient(target, vars);
    for (size_t i = n; i > 0; --i)
      reduce.put(n - i, local[i - 1].defined() ? local[i - 1].cpu() : Tensor());
  }
  runtime_->last_gradient = {
      reduce.buckets(), options_.overlap_backward ? reduce.sent() : 0, false};
  std::vector<Tensor> reduced = reduce.finish();
  std::vector<Tensor> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = to_device_of(reduced[n - 1 - i], vars[i].peek());
  return out;
}

GradientStats MultiWorkerMirroredStrategy::last_gradient_stats() const {
  return runtime_->last_gradient;
}

// ---- MirroredStrategy ------------------------------------------------------------------------

MirroredStrategy::MirroredStrategy(std::vector<std::string> devices)
    : devices_(std::move(devices)) {
  if (devices_.empty()) throw InvalidArgumentError("MirroredStrategy: the device list is empty");
  std::vector<Device> parsed;
  for (const std::string& d : devices_) parsed.push_back(Device::parse(d));
  gpu_ = parsed[0].type == DeviceType::GPU;
  for (size_t i = 0; i < parsed.size(); ++i) {
    if ((parsed[i].type == DeviceType::GPU) != gpu_)
      throw InvalidArgumentError("MirroredStrategy: the device list mixes CPU and GPU devices ('" +
                                 devices_[0] + "', '" + devices_[i] + "'); use one kind");
    if (!gpu_) continue;
    // "Device '...GPU:1' not found: ..., because ..." when it is absent.
    (void)tapeflow::detail::backend_for(parsed[i]);
    for (size_t j = 0; j < i; ++j)
      if (parsed[j] == parsed[i])
        throw InvalidArgumentError("MirroredStrategy: GPU '" + devices_[i] +
                                   "' is listed twice; one replica per GPU");
  }
  nccl_ = gpu_ && tapeflow::detail::gpu_all_reduce_available();
}

std::string MirroredStrategy::backend() const { return nccl_ ? "nccl" : "host"; }

std::vector<Tensor> MirroredStrategy::all_reduce(const std::vector<Tensor>& per_device,
                                                 ReduceOp op) const {
  check_op(op, "CollectiveReduceV2");
  if (per_device.size() != devices_.size())
    fail<InvalidArgumentError>("CollectiveReduceV2",
                               "MirroredStrategy.all_reduce: expected one tensor per device (",
                               devices_.size(),
                               "), got ",
                               per_device.size());
  for (size_t i = 0; i < per_device.size(); ++i) {
    tapeflow::detail::check_defined("CollectiveReduceV2", per_device[i], int(i));
    if (!(per_device[i].shape() == per_device[0].shape()) ||
        per_device[i].dtype() != per_device[0].dtype())
      fail<InvalidArgumentError>("CollectiveReduceV2",
                                 "MirroredStrategy.all_reduce: devices disagree: ",
                                 per_device[0].shape(),
                                 " ",
                                 dtype_name(per_device[0].dtype()),
                                 " vs. ",
                                 per_device[i].shape(),
                                 " ",
                                 dtype_name(per_device[i].dtype()));
  }
  const DType dtype = per_device[0].dtype();
  if (dtype == DType::boolean)
    fail<InvalidArgumentError>("CollectiveReduceV2",
                               "MirroredStrategy.all_reduce: bool tensors cannot be reduced");
  if (op == ReduceOp::MEAN && !is_floating(dtype))
    fail<InvalidArgumentError>("CollectiveReduceV2",
                               "all_reduce with ReduceOp::MEAN needs floating tensors; got ",
                               dtype_name(dtype),
                               " (use ReduceOp::SUM)");
  const bool mean = op == ReduceOp::MEAN;
  const double replicas = double(per_device.size());
  if (nccl_) {
    // NCCL reduces in place: each device gets its own copy of its input first (not connected
    // to any tape: the result is a new value, as TF's collectives are).
    std::vector<Tensor> out;
    std::vector<void*> buffers;
    std::vector<int> gpus;
    for (size_t i = 0; i < per_device.size(); ++i) {
      const Device d = Device::parse(devices_[i]);
      DeviceScope scope(d);
      out.push_back(identity(stop_gradient(per_device[i].to(devices_[i]))));
      buffers.push_back(out.back().impl()->data);
      gpus.push_back(d.index);
    }
    const int64_t n = per_device[0].shape().num_elements();
    if (n > 0)
      if (std::string why = tapeflow::detail::gpu_all_reduce(gpus, buffers, size_t(n), dtype);
          !why.empty())
        fail<InternalError>("CollectiveReduceV2",
                            "MirroredStrategy.all_reduce of ",
                            per_device[0].shape(),
                            " ",
                            dtype_name(dtype),
                            " over ",
                            devices_.size(),
                            " GPUs: ",
                            why);
    if (mean)
      for (size_t i = 0; i < out.size(); ++i) {
        DeviceScope scope(devices_[i]);
        out[i] = out[i] / cast(constant(replicas), dtype);
      }
    return out;
  }
  // CPU devices, or GPUs without NCCL: sum on the first device, then one copy per device.
  Tensor sum = stop_gradient(per_device[0]);
  for (size_t i = 1; i < per_device.size(); ++i)
    sum = add(sum, stop_gradient(per_device[i]).to(sum.device()));
  if (mean) sum = sum / cast(constant(replicas), dtype);
  std::vector<Tensor> out;
  for (const std::string& d : devices_) out.push_back(sum.to(d));
  return out;
}

}  // namespace tapeflow::distribute

// A prediction server in TensorFlow Serving's layout and REST API (docs/serving.md), for either
//  - any model saved with Model::save: --model_base_path DIR holds numbered version folders
//    DIR/1/model.safetensors, DIR/2/..., the newest is served and a newer one is picked up while
//    running (polled every --file_system_poll_wait_seconds) without dropping a request; a
//    version that fails to load is refused and the previous one keeps serving;
//  - or a Fashion-MNIST checkpoint: the latest one in --ckpt_dir restored into the CNN or MLP of
//    examples/common/models.hpp (predictions are softmax probabilities), model name "fashion".
//
//   POST /v1/models/NAME[/versions/N]:predict  {"instances": [...]} -> {"predictions": [...]}
//                                              {"inputs": [...]}    -> {"outputs": [...]}
//   GET  /v1/models/NAME[/versions/N]          -> version status
//   GET  /v1/models/NAME[/versions/N]/metadata -> input and output shapes
//
// Bad requests get 400 with {"error": "..."}, bodies over --max_body_bytes 413, unknown paths
// 404, requests slower than --request_timeout_s 408, connections past --max_connections 503;
// no request makes it exit or answer 500 (docs/serving.md, "Errors and limits"). Prints exactly one
// line on stdout, `listening on http://HOST:PORT`; SIGTERM or SIGINT stops it (in-flight requests
// finish) with exit code 0. HTTP and JSON come from Debian's cpp-httplib and nlohmann-json, used
// here only, never by the library.
#include <fcntl.h>
#include <httplib.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <deque>
#include <exception>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <string>
#include <tapeflow/checkpoint.hpp>
#include <tapeflow/tapeflow.hpp>
#include <thread>
#include <vector>

#include "common/bounded_server.hpp"
#include "common/models.hpp"
#include "common/serve_request.hpp"

namespace tf = tapeflow;
using json = nlohmann::json;

namespace {

constexpr const char* kFashionName = "fashion";
constexpr int64_t kClasses = 10;

struct Options {
  std::string ckpt_dir;
  std::string model = "cnn";
  std::string model_base_path;
  std::string model_name;  // "fashion" with --ckpt_dir, else "default" (TF Serving's)
  double poll_s = 1;
  std::string host = "127.0.0.1";
  int port = 8501;  // TensorFlow Serving's REST port
  size_t max_body_bytes = size_t(8) << 20;
  int64_t max_instances = 1024;
  int threads = 8;
  size_t max_connections = 256;
  double request_timeout_s = 10;
  double io_timeout_s = 5;
  bool enable_batching = false;
  int64_t max_batch_size = 64;
  int64_t batch_timeout_micros = 0;
};

void reply(httplib::Response& res, int status, const json& body) {
  res.status = status;
  // replace: no byte a client sent can make dump() throw (type_error 316, invalid UTF-8).
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

void reply_error(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  res.set_content(example::json_error_body(message), "application/json");
}

/// "3" for ".../ckpt-3": the checkpoint's number as the model version, else "1".
std::string version_of(const std::string& ckpt_path) {
  auto dash = ckpt_path.find_last_of('-');
  if (dash == std::string::npos || dash + 1 == ckpt_path.size()) return "1";
  std::string tail = ckpt_path.substr(dash + 1);
  for (char c : tail)
    if (c < '0' || c > '9') return "1";
  return tail;
}

/// One loaded version of the model: how to read a request for it and to run it. Requests hold
/// a shared_ptr, so a version replaced while they run finishes them before it is freed.
struct Servable {
  int64_t version = 1;
  std::function<example::PredictInput(std::string_view body)> parse;
  std::function<json(const tf::Tensor& x)> predict;  // one entry per instance
  json metadata;
};

/// One model call at a time, whichever version (docs/serving.md, "Concurrency"): requests, and
/// the trial run of a version being loaded while another serves.
std::mutex g_inference_mutex;

/// Merges concurrent predict requests into one model call (--enable_batching), as TF Serving's
/// batching does. A request's parsed batch joins a queue. When no model call is running, the
/// request thread becomes the leader: it waits at most `timeout` after the oldest queued request
/// arrived for `max_batch_size` instances to queue, takes the oldest request and every other
/// queued one for the same version while their instances fit (a larger request runs alone),
/// runs them as one batch (tf::concat on the first axis) and hands each request its rows; then
/// the oldest request still queued leads the next batch. While one batch runs the next one
/// queues, so under load batches form with no timeout at all, and no thread is added: a lone
/// request runs on its own thread as without batching.
class Batcher {
 public:
  Batcher(int64_t max_batch_size, std::chrono::microseconds timeout)
      : max_(max_batch_size), timeout_(timeout) {}

  /// The rows of `s`'s model for `x`, computed within a merged batch; rethrows its exception.
  json predict(const std::shared_ptr<Servable>& s, const tf::Tensor& x) {
    Task task;
    task.servable = s.get();
    task.x = x;
    task.n = x.shape()[0];
    task.arrived = std::chrono::steady_clock::now();
    std::unique_lock<std::mutex> lock(mutex_);
    queue_.push_back(&task);
    queued_ += task.n;
    if (leading_) filled_.notify_one();
    while (!task.done) {
      if (leading_)
        task.wake.wait(lock);
      else
        lead(lock);
    }
    if (task.error) std::rethrow_exception(task.error);
    return std::move(task.rows);
  }

  /// "N requests (I instances) in M model calls".
  std::string stats() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return std::to_string(requests_) + " requests (" + std::to_string(instances_) +
           " instances) in " + std::to_string(calls_) + " model calls";
  }

 private:
  /// One waiting request; it lives on its thread's stack until `done`.
  struct Task {
    const Servable* servable = nullptr;  // kept alive by the request's shared_ptr
    tf::Tensor x;
    int64_t n = 0;
    std::chrono::steady_clock::time_point arrived;
    std::condition_variable wake;
    bool done = false;
    json rows;
    std::exception_ptr error;
  };

  /// Runs one batch as the leader; `lock` holds mutex_ on entry and on return.
  void lead(std::unique_lock<std::mutex>& lock) {
    leading_ = true;
    filled_.wait_until(lock, queue_.front()->arrived + timeout_, [&] { return queued_ >= max_; });
    std::vector<Task*> batch;
    int64_t n = 0;
    const Servable* s = queue_.front()->servable;
    for (auto it = queue_.begin(); it != queue_.end();) {
      if ((*it)->servable == s && (batch.empty() || n + (*it)->n <= max_)) {
        n += (*it)->n;
        batch.push_back(*it);
        it = queue_.erase(it);
      } else {
        ++it;
      }
    }
    queued_ -= n;
    lock.unlock();
    execute(batch);
    lock.lock();
    ++calls_;
    for (Task* t : batch) {
      requests_ += 1;
      instances_ += t->n;
      t->done = true;
      t->wake.notify_one();  // under the lock: the task outlives this
    }
    leading_ = false;
    if (!queue_.empty()) queue_.front()->wake.notify_one();  // it leads next
  }

  /// Fills each task's rows, or its error, from one model call.
  static void execute(const std::vector<Task*>& batch) {
    size_t answered = 0;
    try {
      std::vector<tf::Tensor> xs;
      for (const Task* t : batch) xs.push_back(t->x);
      const tf::Tensor x = xs.size() == 1 ? xs[0] : tf::concat(xs, 0);
      json rows;
      {
        std::lock_guard<std::mutex> lock(g_inference_mutex);
        rows = batch[0]->servable->predict(x);
      }
      size_t at = 0;
      for (; answered < batch.size(); ++answered) {
        Task& t = *batch[answered];
        t.rows = json::array();
        for (int64_t i = 0; i < t.n; ++i) t.rows.push_back(std::move(rows.at(at++)));
      }
    } catch (...) {
      for (; answered < batch.size(); ++answered) batch[answered]->error = std::current_exception();
    }
  }

  const int64_t max_;
  const std::chrono::microseconds timeout_;
  mutable std::mutex mutex_;
  std::condition_variable filled_;  // the leader waits on it for the batch to fill
  std::deque<Task*> queue_;
  int64_t queued_ = 0;  // instances in queue_
  bool leading_ = false;
  int64_t requests_ = 0, instances_ = 0, calls_ = 0;
};

/// The outputs `y` [n, ...] as n nested lists (numbers for rank 1).
json rows_of(const tf::Tensor& y) {
  const std::vector<int64_t> dims = y.shape().dims();
  const std::vector<float> v =
      (y.dtype() == tf::float32 ? y : tf::cast(y, tf::float32)).to_vector<float>();
  size_t at = 0;
  std::function<json(size_t)> nest = [&](size_t axis) -> json {
    if (axis == dims.size()) return v[at++];
    json list = json::array();
    for (int64_t i = 0; i < dims[axis]; ++i) list.push_back(nest(axis + 1));
    return list;
  };
  return nest(0);
}

json tensor_info(const std::vector<int64_t>& dims) {
  json dim = json::array();
  for (int64_t d : dims) dim.push_back({{"size", std::to_string(d)}, {"name", ""}});
  return {{"dtype", "DT_FLOAT"}, {"tensor_shape", {{"dim", dim}, {"unknown_rank", false}}}};
}

/// Loads DIR/<version>/model.safetensors (tf::models::load_model) and runs it once on zeros,
/// which checks it and gives its output shape. Throws a tf::Error saying why it cannot serve.
std::shared_ptr<Servable> load_saved(const std::string& base,
                                     int64_t version,
                                     int64_t max_instances) {
  const std::string file = base + "/" + std::to_string(version) + "/model.safetensors";
  tf::Model model = tf::models::load_model(file, {.compile = false});
  const std::optional<tf::Shape>& built = model.impl()->build_input_shape();
  if (!built || built->rank() < 1)
    throw tf::InvalidArgumentError("'" + file + "' holds no input shape (saved unbuilt?)");
  std::vector<int64_t> instance = built->dims();
  instance.erase(instance.begin());
  std::vector<int64_t> one{1};
  one.insert(one.end(), instance.begin(), instance.end());
  std::vector<int64_t> out;
  {
    std::lock_guard<std::mutex> lock(g_inference_mutex);
    out = model(tf::zeros(tf::Shape(one)), false).shape().dims();
  }
  if (out.empty() || out[0] != 1)
    throw tf::InvalidArgumentError("'" + file + "' gives an output of shape " +
                                   tf::Shape(out).to_string() +
                                   " for one instance; serving needs one output row per instance");
  std::vector<int64_t> in{-1};
  in.insert(in.end(), instance.begin(), instance.end());
  out[0] = -1;
  auto s = std::make_shared<Servable>();
  s->version = version;
  s->parse = [instance, max_instances](std::string_view body) {
    return example::parse_predict_body(body, instance, max_instances);
  };
  s->predict = [model](const tf::Tensor& x) { return rows_of(model(x, /*training=*/false)); };
  s->metadata = {{"signature_def",
                  {{"signature_def",
                    {{"serving_default",
                      {{"inputs", {{"input", tensor_info(in)}}},
                       {"outputs", {{"output", tensor_info(out)}}},
                       {"method_name", "tensorflow/serving/predict"}}}}}}},
                 {"class_name", model.class_name()},
                 {"source", file},
                 {"max_instances", max_instances}};
  return s;
}

/// The numbered version folders of `base` holding a model.safetensors, newest first.
std::vector<int64_t> versions_in(const std::string& base) {
  std::vector<int64_t> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(base, ec)) {
    const std::string name = e.path().filename().string();
    if (name.empty() || name.size() > 18 ||
        name.find_first_not_of("0123456789") != std::string::npos)
      continue;
    if (std::filesystem::exists(e.path() / "model.safetensors", ec))
      out.push_back(std::stoll(name));
  }
  std::sort(out.rbegin(), out.rend());
  return out;
}

/// TensorFlow Serving's error code for a failed load.
const char* error_code(const std::exception& e) {
  if (dynamic_cast<const tf::DataLossError*>(&e)) return "DATA_LOSS";
  if (dynamic_cast<const tf::NotFoundError*>(&e)) return "NOT_FOUND";
  if (dynamic_cast<const tf::UnimplementedError*>(&e)) return "UNIMPLEMENTED";
  if (dynamic_cast<const tf::InvalidArgumentError*>(&e)) return "INVALID_ARGUMENT";
  return "UNKNOWN";
}

/// The served version and the state of every version seen (TF Serving's model_version_status).
class Versions {
 public:
  std::shared_ptr<Servable> current() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return current_;
  }
  int64_t current_version() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return current_ ? current_->version : 0;
  }
  bool seen(int64_t version) const {
    std::lock_guard<std::mutex> lock(mutex_);
    return states_.count(version) != 0;
  }
  void serve(std::shared_ptr<Servable> s) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (current_) states_[current_->version] = state("END", "OK", "");
    states_[s->version] = state("AVAILABLE", "OK", "");
    current_ = std::move(s);
  }
  void refuse(int64_t version, const std::exception& e) {
    std::lock_guard<std::mutex> lock(mutex_);
    states_[version] = state("END", error_code(e), e.what());
  }
  /// Every version's status, newest first, or only `version`'s (nullopt if never seen).
  std::optional<json> status(std::optional<int64_t> version) const {
    std::lock_guard<std::mutex> lock(mutex_);
    json list = json::array();
    for (auto it = states_.rbegin(); it != states_.rend(); ++it) {
      if (version && it->first != *version) continue;
      json entry = it->second;
      entry["version"] = std::to_string(it->first);
      list.push_back(std::move(entry));
    }
    if (version && list.empty()) return std::nullopt;
    return json{{"model_version_status", std::move(list)}};
  }

 private:
  static json state(const char* state, const char* code, const std::string& message) {
    return {{"state", state}, {"status", {{"error_code", code}, {"error_message", message}}}};
  }
  mutable std::mutex mutex_;
  std::shared_ptr<Servable> current_;
  std::map<int64_t, json> states_;
};

/// Loads the newest version of `base` not seen before, if it is newer than the served one.
/// Returns whether a version is served afterwards.
bool poll_versions(const std::string& base, int64_t max_instances, Versions& versions) {
  for (int64_t v : versions_in(base)) {
    if (v <= versions.current_version()) break;
    if (versions.seen(v)) continue;  // refused before: a fixed model needs a new number
    try {
      versions.serve(load_saved(base, v, max_instances));
      std::fprintf(stderr, "serve: serving version %lld of %s\n", (long long)v, base.c_str());
    } catch (const std::exception& e) {
      versions.refuse(v, e);
      std::fprintf(
          stderr, "serve: refusing version %lld of %s: %s\n", (long long)v, base.c_str(), e.what());
      continue;
    }
    break;
  }
  return versions.current() != nullptr;
}

// SIGTERM/SIGINT write one byte here; main() waits on the other end. A pipe, because a signal
// handler may do little more than write(2), and the signal may land on any thread (OpenBLAS
// starts its own before main()).
int g_stop_pipe[2] = {-1, -1};
extern "C" void on_stop_signal(int) {
  const int saved = errno;
  [[maybe_unused]] ssize_t w = ::write(g_stop_pipe[1], "s", 1);
  errno = saved;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{
      "Serve predictions of saved tapeflow models (or a Fashion-MNIST checkpoint) over HTTP"};
  auto* base_opt = app.add_option("--model_base_path",
                                  o.model_base_path,
                                  "directory of numbered version folders N/model.safetensors "
                                  "(Model::save); the newest is served");
  auto* ckpt_opt = app.add_option(
      "--ckpt_dir", o.ckpt_dir, "or: a directory holding a Fashion-MNIST checkpoint");
  base_opt->excludes(ckpt_opt);
  app.add_option("--model_name",
                 o.model_name,
                 "the NAME in /v1/models/NAME (default: \"default\", \"fashion\" with --ckpt_dir)");
  app.add_option("--file_system_poll_wait_seconds",
                 o.poll_s,
                 "with --model_base_path: look for new versions this often (0: never)")
      ->check(CLI::Range(0.0, 86400.0))
      ->capture_default_str();
  app.add_option("--model", o.model, "with --ckpt_dir: the architecture it was trained with")
      ->check(CLI::IsMember({"cnn", "mlp"}))
      ->capture_default_str();
  app.add_option("--host", o.host, "address to listen on")->capture_default_str();
  app.add_option("--port", o.port, "port to listen on (0: pick a free one)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  app.add_option("--max_body_bytes", o.max_body_bytes, "larger request bodies get 413")
      ->check(CLI::Range(size_t(1), size_t(1) << 32))
      ->capture_default_str();
  app.add_option("--max_instances", o.max_instances, "more instances in one request get 400")
      ->check(CLI::Range(int64_t(1), int64_t(1) << 20))
      ->capture_default_str();
  app.add_option("--threads", o.threads, "HTTP worker threads (connections served at once)")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  app.add_option("--max_connections",
                 o.max_connections,
                 "connections served or waiting for a thread; more get 503")
      ->check(CLI::Range(size_t(1), size_t(1) << 20))
      ->capture_default_str();
  app.add_option("--request_timeout_s",
                 o.request_timeout_s,
                 "reading a request, and writing its answer, must each finish within this")
      ->check(CLI::Range(0.01, 3600.0))
      ->capture_default_str();
  app.add_option(
         "--io_timeout_s", o.io_timeout_s, "a client silent this long mid-request is dropped")
      ->check(CLI::Range(0.01, 3600.0))
      ->capture_default_str();
  app.add_flag("--enable_batching",
               o.enable_batching,
               "merge concurrent predict requests into one model call");
  app.add_option("--max_batch_size", o.max_batch_size, "with batching: instances per model call")
      ->check(CLI::Range(int64_t(1), int64_t(1) << 20))
      ->capture_default_str();
  app.add_option("--batch_timeout_micros",
                 o.batch_timeout_micros,
                 "with batching: how long a request may wait for others to join its batch")
      ->check(CLI::Range(int64_t(0), int64_t(60'000'000)))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (o.model_base_path.empty() == o.ckpt_dir.empty()) {
    std::fprintf(stderr, "serve: give --model_base_path DIR (saved models) or --ckpt_dir DIR\n");
    return 2;
  }
  const bool saved_models = !o.model_base_path.empty();
  if (o.model_name.empty()) o.model_name = saved_models ? "default" : kFashionName;
  Versions versions;

  if (saved_models) {
    if (!poll_versions(o.model_base_path, o.max_instances, versions)) {
      std::fprintf(stderr,
                   "serve: no servable version in --model_base_path '%s' (expected "
                   "'%s/<N>/model.safetensors', written by Model::save)\n",
                   o.model_base_path.c_str(),
                   o.model_base_path.c_str());
      return 1;
    }
  } else {
    // The model: the training example's architecture, built for one image, then restored.
    const tf::Shape input_shape = example::input_shape(o.model);
    tf::layers::Sequential model = example::make_model(o.model);
    std::string ckpt_path;
    try {
      tf::Shape one = input_shape;
      one[0] = 1;
      model.build(one);
      ckpt_path = tf::train::latest_checkpoint(o.ckpt_dir);
      // The training examples save whole models (ckpt-N.safetensors, no state file); a saved
      // model restores as a checkpoint of {"model", "optimizer"}.
      if (const int n = example::latest_saved_epoch(o.ckpt_dir); ckpt_path.empty() && n > 0)
        ckpt_path = o.ckpt_dir + "/ckpt-" + std::to_string(n);
      if (ckpt_path.empty()) {
        std::fprintf(stderr,
                     "serve: no checkpoint found in --ckpt_dir '%s' (write one with "
                     "fashion_mnist_%s --ckpt_dir DIR)\n",
                     o.ckpt_dir.c_str(),
                     o.model.c_str());
        return 1;
      }
      tf::train::Checkpoint ckpt({}, {{"model", model}});
      ckpt.restore(ckpt_path);
    } catch (const std::exception& e) {
      std::fprintf(stderr,
                   "serve: cannot restore the %s model from --ckpt_dir '%s': %s\n",
                   o.model.c_str(),
                   o.ckpt_dir.c_str(),
                   e.what());
      return 1;
    }
    auto fashion = std::make_shared<Servable>();
    fashion->version = std::stoll(version_of(ckpt_path));
    const int64_t max_instances = o.max_instances;
    fashion->parse = [input_shape, max_instances](std::string_view body) {
      return example::PredictInput{example::parse_predict_request(body, input_shape, max_instances),
                                   false};
    };
    fashion->predict = [model](const tf::Tensor& x) {
      const int64_t n = x.shape()[0];
      std::vector<float> probs = tf::nn::softmax(model(x, /*training=*/false)).to_vector<float>();
      json predictions = json::array();
      for (int64_t i = 0; i < n; ++i)
        predictions.push_back(
            std::vector<float>(probs.begin() + i * kClasses, probs.begin() + (i + 1) * kClasses));
      return predictions;
    };
    fashion->metadata = {{"architecture", o.model},
                         {"checkpoint", ckpt_path},
                         {"instance_shapes", json::array({{784}, {28, 28}, {28, 28, 1}})},
                         {"prediction_shape", json::array({kClasses})},
                         {"max_instances", o.max_instances},
                         {"max_body_bytes", o.max_body_bytes}};
    versions.serve(fashion);
  }

  // New versions, polled; stopped (and joined) before main returns.
  std::mutex poll_mutex;
  std::condition_variable poll_wake;
  bool poll_stop = false;
  std::thread poller;
  if (saved_models && o.poll_s > 0)
    poller = std::thread([&] {
      std::unique_lock<std::mutex> lock(poll_mutex);
      while (!poll_wake.wait_for(
          lock, std::chrono::duration<double>(o.poll_s), [&] { return poll_stop; })) {
        lock.unlock();
        try {
          poll_versions(o.model_base_path, o.max_instances, versions);
        } catch (const std::exception& e) {
          std::fprintf(stderr, "serve: polling %s: %s\n", o.model_base_path.c_str(), e.what());
        }
        lock.lock();
      }
    });
  auto stop_poller = [&] {
    {
      std::lock_guard<std::mutex> lock(poll_mutex);
      poll_stop = true;
    }
    poll_wake.notify_all();
    if (poller.joinable()) poller.join();
  };

  std::unique_ptr<Batcher> batcher;
  if (o.enable_batching)
    batcher = std::make_unique<Batcher>(o.max_batch_size,
                                        std::chrono::microseconds(o.batch_timeout_micros));

  auto ms = [](double s) { return std::chrono::milliseconds(int64_t(s * 1000 + 0.5)); };
  example::BoundedServer server({.threads = size_t(o.threads),
                                 .max_connections = o.max_connections,
                                 .request_timeout = ms(o.request_timeout_s),
                                 .io_timeout = ms(o.io_timeout_s)});
  server.set_payload_max_length(o.max_body_bytes);
  // An idle keep-alive connection holds a worker thread, and stop() waits for it to time out:
  // 1 s keeps both short (httplib's default is 5 s).
  server.set_keep_alive_timeout(1);

  // /v1/models/NAME[/versions/N][/metadata] and /v1/models/NAME[/versions/N]:predict.
  const std::string status_route = R"(/v1/models/([^/:]+)(?:/versions/([0-9]{1,18}))?(/metadata)?)";
  const std::string predict_route = R"(/v1/models/([^/:]+)(?:/versions/([0-9]{1,18}))?:predict)";
  // 404 with the request and TF Serving's wording: "Servable not found for request: Latest(x)".
  auto not_found =
      [](const httplib::Request& req, httplib::Response& res, const std::string& what) {
        reply_error(res,
                    404,
                    "not found: " + req.method + " " + req.path +
                        " (Servable not found for request: " + what + ")");
      };
  // The servable a request names, or a 404 answer: an unknown name, or a version not served.
  auto servable_for = [&](const httplib::Request& req,
                          httplib::Response& res) -> std::shared_ptr<Servable> {
    const std::string name = req.matches[1];
    const std::string version = req.matches[2];
    std::shared_ptr<Servable> s = versions.current();
    if (name != o.model_name) {
      not_found(req, res, "Latest(" + name + ")");
      return nullptr;
    }
    if (!version.empty() && std::to_string(s->version) != version) {
      not_found(req, res, "Specific(" + name + ", " + version + ")");
      return nullptr;
    }
    return s;
  };
  const std::string too_large_message =
      "request body exceeds " + std::to_string(o.max_body_bytes) + " bytes (--max_body_bytes)";
  const std::string request_timeout_message = server.request_timeout_message();
  // The body is read here rather than by httplib, which would refuse any body over 8 KiB sent
  // as application/x-www-form-urlencoded: the type curl -d and Python's urllib send by default.
  server.Post(
      predict_route,
      [&](const httplib::Request& req,
          httplib::Response& res,
          const httplib::ContentReader& read_body) {
        if (req.is_multipart_form_data()) {
          read_body([](const httplib::MultipartFormData&) { return true; },
                    [](const char*, size_t) { return true; });  // drain it; the answer is no
          reply_error(res, 400, "multipart form data is not supported; POST the JSON itself");
          return;
        }
        std::string body;
        bool too_large = false;
        // httplib checks Content-Length against the limit; this covers chunked bodies too. Past the
        // limit the rest is read and dropped, so the connection stays usable for the answer.
        const bool complete = read_body([&](const char* data, size_t n) {
          too_large = too_large || body.size() + n > o.max_body_bytes;
          if (too_large)
            body.clear();
          else
            body.append(data, n);
          return true;
        });
        if (too_large || res.status == 413) {
          reply_error(res, 413, too_large_message);
          return;
        }
        if (!complete && example::BoundedServer::current_request_timed_out()) {
          reply_error(res, 408, request_timeout_message);
          return;
        }
        if (!complete) {
          reply_error(res, 400, "the request body could not be read (cut off or malformed)");
          return;
        }
        try {
          const std::shared_ptr<Servable> s = servable_for(req, res);
          if (!s) return;
          const example::PredictInput in = s->parse(body);
          json out;
          if (batcher) {
            out = batcher->predict(s, in.x);
          } else {
            std::lock_guard<std::mutex> lock(g_inference_mutex);
            out = s->predict(in.x);
          }
          reply(res, 200, json{{in.columnar ? "outputs" : "predictions", std::move(out)}});
        } catch (const tf::InvalidArgumentError& e) {
          reply_error(res, 400, e.what());
        } catch (const std::exception& e) {
          reply_error(res, 500, std::string("internal error: ") + e.what());
        }
      });
  server.Get(status_route, [&](const httplib::Request& req, httplib::Response& res) {
    const std::string name = req.matches[1];
    const std::string version = req.matches[2];
    if (req.matches[3].matched) {  // metadata
      const std::shared_ptr<Servable> s = servable_for(req, res);
      if (!s) return;
      reply(res,
            200,
            json{{"model_spec", {{"name", o.model_name}, {"version", std::to_string(s->version)}}},
                 {"metadata", s->metadata}});
      return;
    }
    if (name != o.model_name) {
      not_found(req, res, "Latest(" + name + ")");
      return;
    }
    std::optional<int64_t> v;
    if (!version.empty()) v = std::stoll(version);
    if (std::optional<json> status = versions.status(v))
      reply(res, 200, *status);
    else
      not_found(req, res, "Specific(" + name + ", " + version + ")");
  });
  auto wrong_method = [](const char* allow) {
    return [allow](const httplib::Request& req, httplib::Response& res) {
      res.set_header("Allow", allow);
      reply_error(
          res, 405, "method " + req.method + " not allowed on " + req.path + "; use " + allow);
    };
  };
  server.Get(predict_route, wrong_method("POST"));
  server.Post(status_route, wrong_method("GET"));

  // Bodies for the statuses httplib sets itself (404, 413, 400 for unreadable requests). httplib
  // calls this outside any try: an exception here would end the process.
  httplib::Server::HandlerWithResponse on_error = [&](const httplib::Request& req,
                                                      httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    try {
      std::string message = "HTTP status " + std::to_string(res.status);
      if (res.status == 404) message = "not found: " + req.method + " " + req.path;
      if (res.status == 413) message = too_large_message;
      if (res.status == 400)
        message = "bad request: the HTTP request or its body could not be read";
      if (res.status == 400 && example::BoundedServer::current_request_timed_out()) {
        res.status = 408;
        message = request_timeout_message;
      }
      reply_error(res, res.status, message);
    } catch (...) {
      res.set_content("{\"error\": \"internal error\"}", "application/json");
    }
    return httplib::Server::HandlerResponse::Handled;
  };
  server.set_error_handler(on_error);
  server.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        try {
          std::string what = "unknown exception";
          try {
            std::rethrow_exception(ep);
          } catch (const std::exception& e) {
            what = e.what();
          } catch (...) {
          }
          reply_error(res, 500, "internal error: " + what);
        } catch (...) {
          res.status = 500;
          res.set_content("{\"error\": \"internal error\"}", "application/json");
        }
      });

  int port = o.port;
  if (port == 0) {
    port = server.bind_to_any_port(o.host);
  } else if (!server.bind_to_port(o.host, port)) {
    port = -1;
  }
  if (port < 0) {
    std::fprintf(stderr, "serve: cannot listen on %s:%d\n", o.host.c_str(), o.port);
    stop_poller();
    return 1;
  }
  if (!server.widen_listen_backlog()) std::perror("serve: listen backlog stays at 5");

  if (::pipe2(g_stop_pipe, O_CLOEXEC) != 0) {
    std::perror("serve: pipe2");
    stop_poller();
    return 1;
  }
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  // A client that hangs up mid-answer must cost a failed write, not the process.
  std::signal(SIGPIPE, SIG_IGN);

  std::atomic<bool> listen_failed{false};
  std::thread listener([&] {
    if (!server.listen_after_bind()) listen_failed = true;
    on_stop_signal(0);  // wakes main() if the server stops on its own
  });
  // stop() does nothing until the server runs: wait for that before announcing the port.
  while (!server.is_running() && !listen_failed)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::printf("listening on http://%s:%d\n", o.host.c_str(), port);
  std::fflush(stdout);

  char byte;
  while (::read(g_stop_pipe[0], &byte, 1) < 0 && errno == EINTR) {
  }
  server.stop();
  listener.join();
  stop_poller();
  if (batcher) {
    std::fprintf(stderr, "serve: batching: %s\n", batcher->stats().c_str());
  }
  if (listen_failed) {
    std::fprintf(stderr, "serve: the HTTP server stopped with an error\n");
    return 1;
  }
  return 0;
}

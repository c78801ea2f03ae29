// A prediction server for the Fashion-MNIST models: restores the latest checkpoint in
// --ckpt_dir into the CNN or MLP of examples/common/models.hpp and answers TensorFlow
// Serving's REST calls on --host:--port (docs/serving.md):
//
//   POST /v1/models/fashion:predict  {"instances": [[784 floats in [0, 1]], ...]}
//                                    -> {"predictions": [[10 softmax probabilities], ...]}
//   GET  /v1/models/fashion          -> model status;  GET /v1/models/fashion/metadata
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
#include <csignal>
#include <cstdio>
#include <exception>
#include <mutex>
#include <nlohmann/json.hpp>
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

constexpr const char* kModelName = "fashion";
constexpr int64_t kClasses = 10;

struct Options {
  std::string ckpt_dir;
  std::string model = "cnn";
  std::string host = "127.0.0.1";
  int port = 8501;  // TensorFlow Serving's REST port
  size_t max_body_bytes = size_t(8) << 20;
  int64_t max_instances = 1024;
  int threads = 8;
  size_t max_connections = 256;
  double request_timeout_s = 10;
  double io_timeout_s = 5;
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
  CLI::App app{"Serve Fashion-MNIST predictions from a tapeflow checkpoint over HTTP"};
  app.add_option("--ckpt_dir", o.ckpt_dir, "directory holding the checkpoint to serve")->required();
  app.add_option("--model", o.model, "architecture the checkpoint was trained with")
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
  CLI11_PARSE(app, argc, argv);

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
  const std::string version = version_of(ckpt_path);

  // Inference is serialised: requests parse and encode JSON in parallel, one batch runs the
  // model at a time (docs/serving.md, "Concurrency", says why).
  std::mutex model_mutex;
  auto predict = [&](const tf::Tensor& x) {
    std::lock_guard<std::mutex> lock(model_mutex);
    return tf::nn::softmax(model(x, /*training=*/false)).to_vector<float>();
  };

  auto ms = [](double s) { return std::chrono::milliseconds(int64_t(s * 1000 + 0.5)); };
  example::BoundedServer server({.threads = size_t(o.threads),
                                 .max_connections = o.max_connections,
                                 .request_timeout = ms(o.request_timeout_s),
                                 .io_timeout = ms(o.io_timeout_s)});
  server.set_payload_max_length(o.max_body_bytes);
  // An idle keep-alive connection holds a worker thread, and stop() waits for it to time out:
  // 1 s keeps both short (httplib's default is 5 s).
  server.set_keep_alive_timeout(1);

  const std::string base = std::string("/v1/models/") + kModelName;
  const std::string predict_path = base + ":predict";
  const std::string too_large_message =
      "request body exceeds " + std::to_string(o.max_body_bytes) + " bytes (--max_body_bytes)";
  const std::string request_timeout_message = server.request_timeout_message();
  // The body is read here rather than by httplib, which would refuse any body over 8 KiB sent
  // as application/x-www-form-urlencoded: the type curl -d and Python's urllib send by default.
  server.Post(
      predict_path,
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
          tf::Tensor x = example::parse_predict_request(body, input_shape, o.max_instances);
          const int64_t n = x.shape()[0];
          std::vector<float> probs = predict(x);
          json predictions = json::array();
          for (int64_t i = 0; i < n; ++i)
            predictions.push_back(std::vector<float>(probs.begin() + i * kClasses,
                                                     probs.begin() + (i + 1) * kClasses));
          reply(res, 200, json{{"predictions", std::move(predictions)}});
        } catch (const tf::InvalidArgumentError& e) {
          reply_error(res, 400, e.what());
        } catch (const std::exception& e) {
          reply_error(res, 500, std::string("internal error: ") + e.what());
        }
      });
  server.Get(base, [&](const httplib::Request&, httplib::Response& res) {
    reply(res,
          200,
          json{{"model_version_status",
                json::array({{{"version", version},
                              {"state", "AVAILABLE"},
                              {"status", {{"error_code", "OK"}, {"error_message", ""}}}}})}});
  });
  server.Get(base + "/metadata", [&](const httplib::Request&, httplib::Response& res) {
    reply(res,
          200,
          json{{"model_spec", {{"name", kModelName}, {"version", version}}},
               {"metadata",
                {{"architecture", o.model},
                 {"checkpoint", ckpt_path},
                 {"instance_shapes", json::array({{784}, {28, 28}, {28, 28, 1}})},
                 {"prediction_shape", json::array({kClasses})},
                 {"max_instances", o.max_instances},
                 {"max_body_bytes", o.max_body_bytes}}}});
  });
  auto wrong_method = [](const char* allow) {
    return [allow](const httplib::Request& req, httplib::Response& res) {
      res.set_header("Allow", allow);
      reply_error(
          res, 405, "method " + req.method + " not allowed on " + req.path + "; use " + allow);
    };
  };
  server.Get(predict_path, wrong_method("POST"));
  server.Post(base, wrong_method("GET"));

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
    return 1;
  }
  if (!server.widen_listen_backlog()) std::perror("serve: listen backlog stays at 5");

  if (::pipe2(g_stop_pipe, O_CLOEXEC) != 0) {
    std::perror("serve: pipe2");
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
  if (listen_failed) {
    std::fprintf(stderr, "serve: the HTTP server stopped with an error\n");
    return 1;
  }
  return 0;
}

// Load generator for examples/serve.cpp (docs/serving.md, "Latency"): N keep-alive clients,
// one thread each, POST the same one-image predict request for a fixed time; prints one JSON
// object with requests/s, latency percentiles and errors. Also writes the checkpoint of a
// seeded, untrained model for scripts/bench_serve.sh, so no training is needed:
//
//   serve_load --write_ckpt DIR --model mlp               # DIR/ckpt-1
//   serve_load --port 8501 --clients 8 --duration_s 10   # {"clients": 8, "requests_per_s": ...}
//
// Each client sets TCP_NODELAY and keeps its connection open; one the server closes is
// reopened (httplib::Client does that) and counted in "reconnects".
#include <httplib.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <tapeflow/checkpoint.hpp>
#include <tapeflow/tapeflow.hpp>
#include <thread>
#include <vector>

#include "common/models.hpp"

namespace tf = tapeflow;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

struct ClientStats {
  std::vector<double> latency_ms;  // answered requests with status 200
  int64_t transport_errors = 0;    // no HTTP answer (connect/read/write failure or timeout)
  int64_t http_errors = 0;         // an answer other than 200
  std::string first_error;
};

double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const size_t i = std::min(sorted.size() - 1, size_t(p * double(sorted.size() - 1) + 0.5));
  return sorted[i];
}

int write_checkpoint(const std::string& dir, const std::string& arch, uint64_t seed) {
  tf::random::set_seed(seed);
  tf::layers::Sequential model = example::make_model(arch, seed);
  tf::Shape one = example::input_shape(arch);
  one[0] = 1;
  model.build(one);
  tf::train::Checkpoint ckpt({}, {{"model", model}});
  std::printf("%s\n", ckpt.save(dir + "/ckpt").c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string host = "127.0.0.1", write_ckpt, model = "mlp";
  int port = 8501, clients = 8, batch = 1;
  double duration_s = 10, timeout_s = 10;
  uint64_t seed = 7;
  CLI::App app{"HTTP load generator for the serve example"};
  app.add_option("--host", host)->capture_default_str();
  app.add_option("--port", port)->capture_default_str();
  app.add_option("--clients", clients, "concurrent keep-alive connections")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  app.add_option("--duration_s", duration_s, "how long to send")->capture_default_str();
  app.add_option("--batch", batch, "instances per request")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  app.add_option("--timeout_s", timeout_s, "per-request connect/read/write timeout")
      ->capture_default_str();
  app.add_option("--write_ckpt", write_ckpt, "write a seeded untrained checkpoint here and exit");
  app.add_option("--model", model, "architecture for --write_ckpt")
      ->check(CLI::IsMember({"cnn", "mlp"}))
      ->capture_default_str();
  app.add_option("--seed", seed, "weights (--write_ckpt) and pixels")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (!write_ckpt.empty()) return write_checkpoint(write_ckpt, model, seed);

  tf::random::set_seed(seed);
  const std::vector<float> pixels = tf::random::uniform({batch, 784}).to_vector<float>();
  json instances = json::array();
  for (int i = 0; i < batch; ++i)
    instances.push_back(
        std::vector<float>(pixels.begin() + i * 784, pixels.begin() + (i + 1) * 784));
  const std::string body = json{{"instances", instances}}.dump();

  std::vector<ClientStats> stats(static_cast<size_t>(clients));
  std::atomic<int64_t> reconnects{0};
  const auto start = Clock::now();
  const auto stop = start + std::chrono::duration<double>(duration_s);
  std::vector<std::thread> threads;
  for (int t = 0; t < clients; ++t)
    threads.emplace_back([&, t] {
      ClientStats& s = stats[size_t(t)];
      httplib::Client c(host, port);
      c.set_keep_alive(true);
      c.set_tcp_nodelay(true);
      const auto to = std::chrono::duration<double>(timeout_s);
      c.set_connection_timeout(to);
      c.set_read_timeout(to);
      c.set_write_timeout(to);
      while (Clock::now() < stop) {
        const bool was_open = c.is_socket_open();
        const auto t0 = Clock::now();
        auto r = c.Post("/v1/models/fashion:predict", body, "application/json");
        const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
        if (!was_open && !s.latency_ms.empty()) ++reconnects;
        if (!r) {
          ++s.transport_errors;
          if (s.first_error.empty()) s.first_error = httplib::to_string(r.error());
          std::this_thread::sleep_for(std::chrono::milliseconds(10));  // no hot loop on refusal
        } else if (r->status != 200) {
          ++s.http_errors;
          if (s.first_error.empty())
            s.first_error = std::to_string(r->status) + " " + r->body.substr(0, 200);
        } else {
          s.latency_ms.push_back(ms);
        }
      }
    });
  for (auto& th : threads) th.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();

  std::vector<double> all;
  int64_t transport = 0, http = 0;
  std::string first_error;
  for (const auto& s : stats) {
    all.insert(all.end(), s.latency_ms.begin(), s.latency_ms.end());
    transport += s.transport_errors;
    http += s.http_errors;
    if (first_error.empty()) first_error = s.first_error;
  }
  std::sort(all.begin(), all.end());
  auto round3 = [](double v) { return double(int64_t(v * 1000 + 0.5)) / 1000; };
  json out{{"clients", clients},
           {"batch", batch},
           {"duration_s", round3(elapsed)},
           {"requests", all.size()},
           {"requests_per_s", round3(double(all.size()) / elapsed)},
           {"latency_ms",
            {{"p50", round3(percentile(all, 0.50))},
             {"p90", round3(percentile(all, 0.90))},
             {"p99", round3(percentile(all, 0.99))},
             {"max", round3(all.empty() ? 0 : all.back())}}},
           {"transport_errors", transport},
           {"http_errors", http},
           {"reconnects", reconnects.load()},
           {"first_error", first_error}};
  std::printf("%s\n", out.dump(-1, ' ', false, json::error_handler_t::replace).c_str());
  return 0;
}

// End-to-end test of examples/serve.cpp serving saved models (--model_base_path): saves small
// seeded models with Model::save into numbered version folders, starts the server binary
// (--serve PATH) on a free loopback port, and checks its answers against the same models called
// in this process: metadata shapes, predict with "instances" and "inputs", a new version picked
// up while requests keep coming, a damaged version refused, 404 and 400 answers.
// Test cases share one server and run in declaration order; the last one stops it.
#define CATCH_CONFIG_RUNNER
#include <httplib.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <tapeflow/tapeflow.hpp>
#include <thread>
#include <vector>

#include "serve/serve_process.hpp"
#include "test_util.hpp"

namespace tf = tapeflow;
namespace L = tf::layers;
using json = nlohmann::json;
using serve_test::Clock;
using serve_test::g_serve;
using serve_test::ServeProcess;

namespace {

constexpr double kPollS = 0.1;  // --file_system_poll_wait_seconds
bool g_batching = false;        // --batching: the shared server runs with --enable_batching

/// Version 1: instances of shape [2, 3] (a rank-2 input) to 3 outputs.
tf::Model model_v1() {
  tf::random::set_seed(31);
  tf::Model m(L::Sequential({L::Flatten(), L::Dense(3)}));
  m.build({1, 2, 3});
  return m;
}

/// Version 2: the same input, another architecture with 2 outputs.
tf::Model model_v2() {
  tf::random::set_seed(32);
  tf::Model m(L::Sequential({L::Flatten(), L::Dense(4, "relu"), L::Dense(2)}));
  m.build({1, 2, 3});
  return m;
}

/// `n` seeded instances of 2x3 values in [-1, 1], row-major.
std::vector<float> random_rows(int n, uint64_t seed) {
  tf::random::set_seed(seed);
  return tf::random::uniform({n, 2, 3}, -1.0, 1.0).to_vector<float>();
}

/// The instances as nested [2][3] lists.
json nested(const std::vector<float>& v) {
  json rows = json::array();
  for (size_t i = 0; i < v.size(); i += 6)
    rows.push_back({{v[i], v[i + 1], v[i + 2]}, {v[i + 3], v[i + 4], v[i + 5]}});
  return rows;
}

/// model(x) in this process, one row per instance.
std::vector<std::vector<float>> reference(const tf::Model& m, const std::vector<float>& v) {
  const int64_t n = int64_t(v.size() / 6);
  tf::Tensor y = m(tf::constant(v, tf::Shape({n, 2, 3})), false);
  const int64_t k = y.shape()[1];
  const std::vector<float> flat = y.to_vector<float>();
  std::vector<std::vector<float>> rows;
  for (int64_t i = 0; i < n; ++i)
    rows.emplace_back(flat.begin() + i * k, flat.begin() + (i + 1) * k);
  return rows;
}

/// `got` (a JSON list of rows) equals `want` to float precision.
void check_rows(const json& got, const std::vector<std::vector<float>>& want) {
  REQUIRE(got.is_array());
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    INFO("row " << i);
    REQUIRE(got[i].size() == want[i].size());
    for (size_t k = 0; k < want[i].size(); ++k)
      CHECK(got[i][k].get<double>() == Approx(want[i][k]).margin(1e-6));
  }
}

/// The dims of a TF Serving TensorInfo ({"tensor_shape": {"dim": [{"size": "-1"}, ...]}}).
std::vector<int64_t> dims_of(const json& info) {
  std::vector<int64_t> dims;
  for (const json& d : info.at("tensor_shape").at("dim"))
    dims.push_back(std::stoll(d.at("size").get<std::string>()));
  return dims;
}

/// A model base path with version 1 saved, and a server on it polling every kPollS.
struct Fixture {
  std::unique_ptr<test::TempDir> dir;
  std::string base;
  tf::Model v1, v2;
  std::unique_ptr<ServeProcess> server;

  static Fixture& get() {
    static Fixture f = [] {
      Fixture x;
      x.dir = std::make_unique<test::TempDir>("serve_saved");
      x.base = x.dir->file("models");
      x.v1 = model_v1();
      x.v2 = model_v2();
      std::filesystem::create_directories(x.base + "/1");
      x.v1.save(x.base + "/1/model.safetensors");
      std::vector<std::string> args{"--model_base_path",
                                    x.base,
                                    "--model_name",
                                    "tiny",
                                    "--file_system_poll_wait_seconds",
                                    std::to_string(kPollS),
                                    "--port",
                                    "0",
                                    "--max_instances",
                                    "64"};
      if (g_batching)
        args.insert(
            args.end(),
            {"--enable_batching", "--max_batch_size", "4", "--batch_timeout_micros", "1000"});
      x.server = std::make_unique<ServeProcess>(args, x.dir->file("serve.stderr"));
      return x;
    }();
    INFO("serve stderr: " << f.server->stderr_text());
    REQUIRE(f.server->port() > 0);
    return f;
  }

  httplib::Client client() const {
    httplib::Client c("127.0.0.1", server->port());
    c.set_connection_timeout(10);
    c.set_read_timeout(30);
    c.set_write_timeout(30);
    return c;
  }
};

httplib::Result get(httplib::Client& c, const std::string& path) {
  auto r = c.Get(path.c_str());
  INFO("GET " << path << ": " << httplib::to_string(r.error()));
  REQUIRE(r);
  return r;
}

httplib::Result post(httplib::Client& c, const std::string& path, const std::string& body) {
  auto r = c.Post(path.c_str(), body, "application/json");
  INFO("POST " << path << ": " << httplib::to_string(r.error()));
  REQUIRE(r);
  return r;
}

/// The answer is `status` with {"error": text}, text containing `words`.
void check_error(const httplib::Result& r, int status, const std::string& words) {
  INFO("answer: " << r->body);
  CHECK(r->status == status);
  json e = json::parse(r->body, nullptr, false);
  REQUIRE(e.is_object());
  REQUIRE(e.contains("error"));
  CHECK_THAT(e["error"].get<std::string>(), Catch::Contains(words));
}

/// The version of model `name` served, from its /metadata ("" if not answered).
std::string served_version(httplib::Client& c, const std::string& name = "tiny") {
  auto r = c.Get(("/v1/models/" + name + "/metadata").c_str());
  if (!r || r->status != 200) return "";
  return json::parse(r->body)["model_spec"]["version"].get<std::string>();
}

/// Waits (at most timeout_s) until `done()`; returns whether it happened.
template <class F>
bool wait_for(F done, double timeout_s = 30) {
  const auto deadline = Clock::now() + std::chrono::duration<double>(timeout_s);
  while (Clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

const std::string kPredict = "/v1/models/tiny:predict";

}  // namespace

TEST_CASE("serve saved: version 1 is AVAILABLE, metadata has the model's shapes", "[serve]") {
  auto& f = Fixture::get();
  auto c = f.client();
  auto r = get(c, "/v1/models/tiny");
  CHECK(r->status == 200);
  json s = json::parse(r->body);
  REQUIRE(s["model_version_status"].size() == 1);
  CHECK(s["model_version_status"][0]["version"] == "1");
  CHECK(s["model_version_status"][0]["state"] == "AVAILABLE");
  CHECK(s["model_version_status"][0]["status"]["error_code"] == "OK");
  CHECK(get(c, "/v1/models/tiny/versions/1")->status == 200);

  for (const std::string path :
       {"/v1/models/tiny/metadata", "/v1/models/tiny/versions/1/metadata"}) {
    INFO(path);
    auto m = get(c, path);
    REQUIRE(m->status == 200);
    json md = json::parse(m->body);
    CHECK(md["model_spec"]["name"] == "tiny");
    CHECK(md["model_spec"]["version"] == "1");
    const json& sig = md["metadata"]["signature_def"]["signature_def"]["serving_default"];
    CHECK(dims_of(sig["inputs"]["input"]) == std::vector<int64_t>{-1, 2, 3});
    CHECK(dims_of(sig["outputs"]["output"]) == std::vector<int64_t>{-1, 3});
    CHECK(sig["inputs"]["input"]["dtype"] == "DT_FLOAT");
  }
}

TEST_CASE("serve saved: predict with instances and inputs equals the model called directly",
          "[serve]") {
  auto& f = Fixture::get();
  auto c = f.client();
  const std::vector<float> x = random_rows(5, 41);
  const auto want = reference(f.v1, x);

  SECTION("instances, nested [2][3]") {
    auto r = post(c, kPredict, json{{"instances", nested(x)}}.dump());
    INFO(r->body);
    REQUIRE(r->status == 200);
    check_rows(json::parse(r->body)["predictions"], want);
  }
  SECTION("instances, each one flat list of 6 numbers, to /versions/1") {
    json flat = json::array();
    for (size_t i = 0; i < x.size(); i += 6)
      flat.push_back(std::vector<float>(x.begin() + long(i), x.begin() + long(i + 6)));
    auto r = post(c, "/v1/models/tiny/versions/1:predict", json{{"instances", flat}}.dump());
    INFO(r->body);
    REQUIRE(r->status == 200);
    check_rows(json::parse(r->body)["predictions"], want);
  }
  SECTION("inputs (columnar), a list or named") {
    for (const json& inputs : {json(nested(x)), json{{"x", nested(x)}}}) {
      auto r = post(c, kPredict, json{{"inputs", inputs}}.dump());
      INFO(r->body);
      REQUIRE(r->status == 200);
      json got = json::parse(r->body);
      CHECK_FALSE(got.contains("predictions"));
      check_rows(got["outputs"], want);
    }
  }
}

TEST_CASE("serve saved: bad requests get 400 or 404 and the server keeps serving", "[serve]") {
  auto& f = Fixture::get();
  auto c = f.client();
  check_error(post(c, kPredict, "{\"instances\": [[1, 2"), 400, "malformed JSON");
  check_error(post(c, kPredict, "[1, 2, 3]"), 400, "expected an object");
  check_error(post(c, kPredict, "{\"rows\": []}"), 400, "missing key \"instances\"");
  check_error(post(c, kPredict, "{\"instances\": [[1, 2, 3]]}"), 400, "instances[0] has 3");
  check_error(post(c, kPredict, "{\"instances\": [[[1, 2, 3], [4, 5, \"x\"]]]}"),
              400,
              "instances[0][1][2] is a string");
  check_error(post(c, kPredict, "{\"instances\": [], \"inputs\": []}"), 400, "not both");
  check_error(post(c, kPredict, "{\"instances\": []}"), 400, "is empty");
  // The client's raw bytes come back escaped, the answer valid JSON.
  check_error(post(c, kPredict, std::string("{\"instances\": \xff\xfe}")), 400, "\\xff");

  check_error(post(c, "/v1/models/other:predict", "{}"), 404, "Latest(other)");
  check_error(get(c, "/v1/models/other"), 404, "Latest(other)");
  check_error(get(c, "/v1/models/other/metadata"), 404, "Latest(other)");
  check_error(post(c, "/v1/models/tiny/versions/7:predict", "{}"), 404, "Specific(tiny, 7)");
  check_error(get(c, "/v1/models/tiny/versions/7"), 404, "Specific(tiny, 7)");
  check_error(get(c, "/v1/models/tiny/versions/7/metadata"), 404, "Specific(tiny, 7)");
  check_error(get(c, "/v1/nothing"), 404, "not found");

  auto r = post(c, kPredict, json{{"instances", nested(random_rows(1, 42))}}.dump());
  CHECK(r->status == 200);
}

TEST_CASE("serve saved: a new version is picked up while requests keep being answered", "[serve]") {
  auto& f = Fixture::get();
  const std::vector<float> x = random_rows(3, 43);
  const std::string body = json{{"instances", nested(x)}}.dump();
  const auto want1 = reference(f.v1, x), want2 = reference(f.v2, x);

  // Clients predict without pause across the switch: every answer is 200, from version 1 or 2.
  std::atomic<bool> stop{false};
  std::atomic<int> answered{0}, failed{0}, from_v2{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t)
    clients.emplace_back([&] {
      auto c = f.client();
      while (!stop) {
        auto r = c.Post(kPredict.c_str(), body, "application/json");
        if (!r || r->status != 200) {
          ++failed;
          continue;
        }
        ++answered;
        const json p = json::parse(r->body)["predictions"];
        if (p.size() != 3 || (p[0].size() != 3 && p[0].size() != 2)) ++failed;
        if (p[0].size() == 2) ++from_v2;
      }
    });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  // Model::save writes atomically (a temporary file renamed), so the poller never sees half a
  // file; the folder appears first, empty, and is skipped until the file is there.
  std::filesystem::create_directories(f.base + "/2");
  f.v2.save(f.base + "/2/model.safetensors");
  auto c = f.client();
  CHECK(wait_for([&] { return served_version(c) == "2"; }));
  CHECK(wait_for([&] { return from_v2 >= 20; }));
  stop = true;
  for (auto& t : clients) t.join();
  INFO("answered " << answered << ", from version 2 " << from_v2);
  CHECK(failed == 0);
  CHECK(answered > 20);

  auto r = post(c, kPredict, body);
  REQUIRE(r->status == 200);
  check_rows(json::parse(r->body)["predictions"], want2);
  r = post(c, "/v1/models/tiny/versions/2:predict", json{{"inputs", nested(x)}}.dump());
  REQUIRE(r->status == 200);
  check_rows(json::parse(r->body)["outputs"], want2);
  // Version 1 is no longer served; its status says it ended.
  check_error(post(c, "/v1/models/tiny/versions/1:predict", body), 404, "Specific(tiny, 1)");
  json s = json::parse(get(c, "/v1/models/tiny")->body)["model_version_status"];
  REQUIRE(s.size() == 2);
  CHECK(s[0]["version"] == "2");
  CHECK(s[0]["state"] == "AVAILABLE");
  CHECK(s[1]["version"] == "1");
  CHECK(s[1]["state"] == "END");
  json md = json::parse(get(c, "/v1/models/tiny/metadata")->body);
  const json& sig = md["metadata"]["signature_def"]["signature_def"]["serving_default"];
  CHECK(dims_of(sig["outputs"]["output"]) == std::vector<int64_t>{-1, 2});
}

TEST_CASE("serve saved: a damaged version is refused and the previous one keeps serving",
          "[serve]") {
  auto& f = Fixture::get();
  auto c = f.client();
  REQUIRE(served_version(c) == "2");
  // Version 3: version 2's file cut in half.
  std::string bytes;
  {
    std::ifstream in(f.base + "/2/model.safetensors", std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  REQUIRE(bytes.size() > 100);
  std::filesystem::create_directories(f.base + "/3");
  {
    std::ofstream out(f.base + "/3/model.safetensors.tmp", std::ios::binary);
    out.write(bytes.data(), long(bytes.size() / 2));
  }
  std::filesystem::rename(f.base + "/3/model.safetensors.tmp", f.base + "/3/model.safetensors");

  json v3;
  CHECK(wait_for([&] {
    auto r = c.Get("/v1/models/tiny/versions/3");
    if (!r || r->status != 200) return false;
    v3 = json::parse(r->body)["model_version_status"];
    return true;
  }));
  INFO("version 3: " << v3.dump() << "\nserve stderr: " << f.server->stderr_text());
  REQUIRE(v3.size() == 1);
  CHECK(v3[0]["state"] == "END");
  CHECK(v3[0]["status"]["error_code"] == "DATA_LOSS");
  CHECK_FALSE(v3[0]["status"]["error_message"].get<std::string>().empty());
  CHECK_THAT(f.server->stderr_text(), Catch::Contains("refusing version 3"));

  CHECK(served_version(c) == "2");
  const std::vector<float> x = random_rows(2, 44);
  auto r = post(c, kPredict, json{{"instances", nested(x)}}.dump());
  REQUIRE(r->status == 200);
  check_rows(json::parse(r->body)["predictions"], reference(f.v2, x));
  check_error(post(c, "/v1/models/tiny/versions/3:predict", "{}"), 404, "Specific(tiny, 3)");
}

TEST_CASE("serve saved: no servable version exits non-zero; a damaged newest falls back",
          "[serve]") {
  test::TempDir dir("serve_saved_start");
  ServeProcess none({"--model_base_path", dir.str(), "--port", "0"}, dir.file("none.stderr"));
  CHECK(none.port() == -1);
  CHECK(none.wait_exit(30) == 1);
  CHECK_THAT(none.stderr_text(), Catch::Contains("no servable version"));

  const std::string base = dir.file("m");
  std::filesystem::create_directories(base + "/4");
  std::ofstream(base + "/4/model.safetensors") << "not a safetensors file";
  ServeProcess damaged({"--model_base_path", base, "--port", "0"}, dir.file("damaged.stderr"));
  CHECK(damaged.port() == -1);
  CHECK(damaged.wait_exit(30) == 1);
  CHECK_THAT(damaged.stderr_text(), Catch::Contains("refusing version 4"));

  // A good version 2 under the damaged 4 is served, under the default name.
  std::filesystem::create_directories(base + "/2");
  tf::Model m = model_v1();
  m.save(base + "/2/model.safetensors");
  ServeProcess fallback({"--model_base_path", base, "--port", "0"}, dir.file("fallback.stderr"));
  INFO("serve stderr: " << fallback.stderr_text());
  REQUIRE(fallback.port() > 0);
  httplib::Client c("127.0.0.1", fallback.port());
  CHECK(served_version(c, "default") == "2");
  const std::vector<float> x = random_rows(1, 45);
  auto r = post(c, "/v1/models/default:predict", json{{"instances", nested(x)}}.dump());
  REQUIRE(r->status == 200);
  check_rows(json::parse(r->body)["predictions"], reference(m, x));
  CHECK(fallback.terminate(30) == 0);
}

TEST_CASE("serve saved: with --enable_batching concurrent requests share one model call",
          "[serve]") {
  test::TempDir dir("serve_saved_batching");
  const std::string base = dir.file("m");
  std::filesystem::create_directories(base + "/1");
  tf::Model m = model_v1();
  m.save(base + "/1/model.safetensors");
  // The batch closes when 8 instances are queued (or after 10 s): the 4 requests below, of
  // 1 + 2 + 3 + 2 instances, make one model call however slowly they arrive.
  ServeProcess server({"--model_base_path",
                       base,
                       "--port",
                       "0",
                       "--enable_batching",
                       "--max_batch_size",
                       "8",
                       "--batch_timeout_micros",
                       "10000000"},
                      dir.file("serve.stderr"));
  INFO("serve stderr: " << server.stderr_text());
  REQUIRE(server.port() > 0);
  const std::vector<int> sizes{1, 2, 3, 2};
  std::vector<std::vector<float>> xs;
  for (size_t i = 0; i < sizes.size(); ++i) xs.push_back(random_rows(sizes[i], 50 + i));
  std::vector<std::string> bodies(sizes.size());
  std::vector<int> statuses(sizes.size(), -1);
  std::vector<std::thread> clients;
  for (size_t i = 0; i < sizes.size(); ++i)
    clients.emplace_back([&, i] {
      httplib::Client c("127.0.0.1", server.port());
      c.set_read_timeout(60);
      // Every other request in the columnar format: each gets its own key back.
      const char* key = i % 2 ? "inputs" : "instances";
      auto r = c.Post(
          "/v1/models/default:predict", json{{key, nested(xs[i])}}.dump(), "application/json");
      if (r) {
        statuses[i] = r->status;
        bodies[i] = r->body;
      }
    });
  for (auto& t : clients) t.join();
  for (size_t i = 0; i < sizes.size(); ++i) {
    INFO("request " << i << ": " << bodies[i]);
    REQUIRE(statuses[i] == 200);
    check_rows(json::parse(bodies[i])[i % 2 ? "outputs" : "predictions"], reference(m, xs[i]));
  }
  // More instances than --max_batch_size run alone; bad requests still get 400, not batched.
  httplib::Client c("127.0.0.1", server.port());
  const std::vector<float> big = random_rows(12, 60);
  auto r = post(c, "/v1/models/default:predict", json{{"instances", nested(big)}}.dump());
  REQUIRE(r->status == 200);
  check_rows(json::parse(r->body)["predictions"], reference(m, big));
  check_error(post(c, "/v1/models/default:predict", "{\"instances\": [[1]]}"), 400, "has 1");

  REQUIRE(server.terminate(30) == 0);
  CHECK_THAT(server.stderr_text(),
             Catch::Contains("serve: batching: 5 requests (20 instances) in 2 model calls"));
}

TEST_CASE("serve saved: SIGTERM stops the server with exit code 0", "[serve]") {
  auto& f = Fixture::get();
  CHECK(f.server->terminate(30) == 0);
  CHECK(f.server->rest_of_stdout().empty());
  if (g_batching) CHECK_THAT(f.server->stderr_text(), Catch::Contains("serve: batching: "));
}

int main(int argc, char* argv[]) {
  ::signal(SIGPIPE, SIG_IGN);
  Catch::Session session;
  using Catch::clara::Opt;
  session.cli(session.cli() | Opt(g_serve, "path")["--serve"]("the serve binary to test") |
              Opt(g_batching)["--batching"]("run the shared server with --enable_batching"));
  if (int rc = session.applyCommandLine(argc, argv)) return rc;
  if (g_serve.empty()) {
    std::fprintf(stderr, "serve_saved_test: pass --serve PATH (the serve example binary)\n");
    return 2;
  }
  return session.run();
}

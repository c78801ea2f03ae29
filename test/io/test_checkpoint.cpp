// tf::train::Checkpoint and CheckpointManager: exact round trips, Adam continuing bit for bit
// after a restore into a fresh model and optimizer, refusal of damaged files, validation before
// any assignment, and a writer killed with SIGKILL at random moments.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "test_util.hpp"

namespace tf = tapeflow;
namespace L = tapeflow::layers;
namespace fs = std::filesystem;

namespace {

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}
void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), std::streamsize(bytes.size()));
}

// A small classifier and its data: 8 examples of 5 features, 3 classes.
L::Sequential make_model(uint64_t seed) {
  tf::random::set_seed(seed);
  L::Sequential model({L::Dense(6, "relu"), L::Dense(3)});
  model.build({8, 5});
  return model;
}
tf::Tensor features() {
  tf::random::set_seed(99);
  return tf::random::normal({8, 5});
}
tf::Tensor labels() { return tf::constant(std::vector<int>{0, 1, 2, 0, 1, 2, 1, 0}, {8}); }

void train(const L::Sequential& model, tf::optimizers::Optimizer& opt, int steps) {
  tf::losses::SparseCategoricalCrossentropy loss({.from_logits = true});
  const tf::Tensor x = features(), y = labels();
  for (int i = 0; i < steps; ++i)
    opt.minimize([&] { return loss(y, model(x, true)); }, model.trainable_variables());
}

std::vector<std::vector<float>> values(const std::vector<tf::Variable>& vars) {
  std::vector<std::vector<float>> out;
  for (const auto& v : vars) out.push_back(v.peek().to_vector<float>());
  return out;
}

}  // namespace

TEST_CASE("Checkpoint: variables of every dtype round-trip exactly", "[checkpoint]") {
  test::TempDir dir("ckpt");
  tf::Variable w(tf::constant({{1.5f, -2.f, 3.25f}, {0.f, 1e-30f, -7.f}}), {.name = "w"});
  tf::Variable d(tf::constant({0.1, -0.2}), {.name = "d"});
  tf::Variable i(tf::constant(std::vector<int>{7, -8, 9}, {3}), {.name = "i"});
  tf::Variable l(tf::constant(int64_t(1) << 40), {.name = "l"});
  tf::Variable b(tf::constant({true, false, true}), {.name = "b"});
  tf::Variable empty(tf::zeros({0, 4}), {.name = "empty"});
  tf::train::Checkpoint ckpt({{"w", w}, {"d", d}, {"i", i}, {"l", l}, {"b", b}, {"empty", empty}});
  const std::string path = ckpt.save(dir.file("model"));
  CHECK(path == dir.file("model-1"));
  CHECK(fs::is_regular_file(path + ".safetensors"));
  CHECK(ckpt.save_counter() == 1);
  CHECK(tf::train::latest_checkpoint(dir.str()) == path);

  w.assign(tf::zeros({2, 3}));
  d.assign(tf::zeros({2}, tf::float64));
  i.assign(tf::zeros({3}, tf::int32));
  l.assign(tf::constant(int64_t(0)));
  b.assign(tf::constant({false, false, false}));
  ckpt.restore(path);
  CHECK(w.peek().to_vector<float>() == std::vector<float>{1.5f, -2.f, 3.25f, 0.f, 1e-30f, -7.f});
  CHECK(d.peek().to_vector<double>() == std::vector<double>{0.1, -0.2});
  CHECK(i.peek().to_vector<int>() == std::vector<int>{7, -8, 9});
  CHECK(l.peek().item<int64_t>() == int64_t(1) << 40);
  CHECK(b.peek().to_vector<bool>() == std::vector<bool>{true, false, true});
  CHECK(empty.shape() == tf::Shape{0, 4});

  // The ".safetensors" file name works as well as the checkpoint path, and save numbers go on.
  ckpt.restore(path + ".safetensors");
  CHECK(ckpt.save(dir.file("model")) == dir.file("model-2"));
  CHECK(tf::train::latest_checkpoint(dir.str()) == dir.file("model-2"));
}

TEST_CASE("Checkpoint: the file is safetensors with a padded header and string metadata",
          "[checkpoint]") {
  test::TempDir dir("ckpt");
  tf::Variable w(tf::constant({1.f, 2.f}), {.name = "w"});
  tf::train::Checkpoint ckpt({{"w", w}});
  const std::string bytes = read_bytes(ckpt.write(dir.file("x")) + ".safetensors");
  REQUIRE(bytes.size() >= 8);
  uint64_t n = 0;
  for (int k = 7; k >= 0; --k) n = n << 8 | static_cast<unsigned char>(bytes[size_t(k)]);
  CHECK(n % 8 == 0);
  const std::string header = bytes.substr(8, n);
  CHECK(header.front() == '{');
  CHECK(header.find("\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[") !=
        std::string::npos);
  CHECK(header.find("\"save_counter\":{\"dtype\":\"I64\",\"shape\":[]") != std::string::npos);
  CHECK(header.find("\"format\":\"tapeflow.checkpoint\"") != std::string::npos);
  CHECK(header.find("\"object_graph\":\"{") != std::string::npos);
  // Data: save_counter (8 bytes) then w (sorted by name), nothing else.
  CHECK(bytes.size() == 8 + n + 8 + 8);
  float w1;
  std::memcpy(&w1, bytes.data() + 8 + n + 8 + 4, 4);
  CHECK(w1 == 2.f);
}

TEST_CASE("Checkpoint: restoring Adam state continues training bit for bit", "[checkpoint]") {
  test::TempDir dir("ckpt");
  // Uninterrupted: 5 + 4 steps.
  L::Sequential reference = make_model(1);
  tf::optimizers::Adam ref_opt({.learning_rate = 0.01});
  train(reference, ref_opt, 9);

  // Interrupted: 5 steps, save, then a freshly built model (other initial weights) and a fresh
  // optimizer (no slots yet) restore and train 4 more.
  std::string path;
  {
    L::Sequential model = make_model(1);
    tf::optimizers::Adam opt({.learning_rate = 0.01});
    train(model, opt, 5);
    tf::train::Checkpoint ckpt({}, {{"model", model}, {"optimizer", opt}});
    path = ckpt.save(dir.file("ckpt"));
  }
  L::Sequential model = make_model(2);
  tf::optimizers::Adam opt({.learning_rate = 0.01});
  REQUIRE(opt.variables().empty());
  tf::train::Checkpoint ckpt({}, {{"model", model}, {"optimizer", opt}});
  ckpt.restore(tf::train::latest_checkpoint(dir.str()));
  CHECK(opt.iterations() == 5);
  CHECK(opt.variables().size() == 8);  // m and v of 2 kernels and 2 biases
  CHECK(ckpt.save_counter() == 1);
  train(model, opt, 4);

  CHECK(opt.iterations() == 9);
  CHECK(values(model.variables()) == values(reference.variables()));
  for (size_t k = 0; k < 4; ++k) {
    const tf::Variable v = model.variables()[k], r = reference.variables()[k];
    CHECK(opt.get_slot(v, "m").peek().to_vector<float>() ==
          ref_opt.get_slot(r, "m").peek().to_vector<float>());
    CHECK(opt.get_slot(v, "v").peek().to_vector<float>() ==
          ref_opt.get_slot(r, "v").peek().to_vector<float>());
  }
}

TEST_CASE("Checkpoint: a model-only checkpoint restores from a training checkpoint",
          "[checkpoint]") {
  test::TempDir dir("ckpt");
  L::Sequential trained = make_model(3);
  tf::optimizers::SGD opt({.learning_rate = 0.1f, .momentum = 0.9f});
  train(trained, opt, 2);
  tf::train::Checkpoint({}, {{"model", trained}, {"optimizer", opt}}).save(dir.file("ckpt"));

  // What a serving program does: rebuild the architecture, restore the weights only.
  L::Sequential served = make_model(4);
  tf::train::Checkpoint ckpt({}, {{"model", served}});
  ckpt.restore(tf::train::latest_checkpoint(dir.str()));
  CHECK(values(served.variables()) == values(trained.variables()));

  // An unbuilt model lacks the variables: refused, naming one.
  L::Sequential unbuilt({L::Dense(6, "relu"), L::Dense(3)});
  tf::train::Checkpoint bad({}, {{"model", unbuilt}});
  CHECK_THROWS_AS(bad.restore(tf::train::latest_checkpoint(dir.str())), tf::NotFoundError);
  CHECK_THROWS_WITH(bad.restore(tf::train::latest_checkpoint(dir.str())),
                    Catch::Contains("model/layer-0/kernel") && Catch::Contains("build"));
}

TEST_CASE("Checkpoint: nested checkpoints and single variables as objects", "[checkpoint]") {
  test::TempDir dir("ckpt");
  tf::Variable a(tf::constant(1.f), {.name = "a"});
  tf::Variable b(tf::constant(2.f), {.name = "b"});
  tf::train::Checkpoint inner({{"a", a}});
  tf::train::Checkpoint outer({}, {{"inner", inner}, {"b", b}});
  const auto keys = outer.tensors();
  REQUIRE(keys.size() == 3);
  CHECK(keys[0].first == "b");
  CHECK(keys[1].first == "inner/a");
  CHECK(keys[2].first == "save_counter");
  const std::string path = outer.save(dir.file("n"));
  a.assign(tf::constant(0.f));
  b.assign(tf::constant(0.f));
  outer.restore(path);
  CHECK(a.peek().item<float>() == 1.f);
  CHECK(b.peek().item<float>() == 2.f);

  CHECK_THROWS_AS(tf::train::Checkpoint({{"x/y", a}}), tf::InvalidArgumentError);
  CHECK_THROWS_AS(tf::train::Checkpoint({{"a", a}}, {{"a", b}}), tf::InvalidArgumentError);
  CHECK_THROWS_AS(tf::train::Checkpoint({{"save_counter", a}}), tf::InvalidArgumentError);
}

TEST_CASE("Checkpoint: a shape or dtype mismatch is refused and nothing is assigned",
          "[checkpoint]") {
  test::TempDir dir("ckpt");
  tf::Variable w(tf::constant({1.f, 2.f, 3.f}), {.name = "w"});
  tf::Variable b(tf::constant({4.f}), {.name = "b"});
  const std::string path = tf::train::Checkpoint({{"a", b}, {"w", w}}).save(dir.file("m"));

  // "a" sorts first and would fit; "w" does not. Neither may change.
  tf::Variable a2(tf::constant({9.f}), {.name = "a2"});
  tf::Variable w2(tf::constant({{5.f, 6.f}}), {.name = "w2"});
  tf::train::Checkpoint other({{"a", a2}, {"w", w2}});
  CHECK_THROWS_AS(other.restore(path), tf::InvalidArgumentError);
  CHECK_THROWS_WITH(other.restore(path),
                    Catch::Contains("'w'") && Catch::Contains("(3,)") && Catch::Contains("(1, 2)"));
  CHECK(a2.peek().to_vector<float>() == std::vector<float>{9.f});
  CHECK(w2.peek().to_vector<float>() == std::vector<float>{5.f, 6.f});

  tf::Variable w3(tf::constant({1.0, 2.0, 3.0}), {.name = "w3"});
  tf::train::Checkpoint wrong_dtype({{"a", a2}, {"w", w3}});
  CHECK_THROWS_WITH(wrong_dtype.restore(path),
                    Catch::Contains("float32") && Catch::Contains("float64"));
  CHECK(a2.peek().to_vector<float>() == std::vector<float>{9.f});

  tf::train::Checkpoint missing({{"a", a2}, {"zz", w2}});
  CHECK_THROWS_AS(missing.restore(path), tf::NotFoundError);
  CHECK_THROWS_WITH(missing.restore(path), Catch::Contains("'zz'"));
  CHECK(a2.peek().to_vector<float>() == std::vector<float>{9.f});
}

TEST_CASE("Checkpoint: a missing file or empty path is NotFoundError", "[checkpoint]") {
  test::TempDir dir("ckpt");
  tf::Variable w(tf::constant(1.f));
  tf::train::Checkpoint ckpt({{"w", w}});
  CHECK_THROWS_AS(ckpt.restore(dir.file("nope-1")), tf::NotFoundError);
  CHECK_THROWS_WITH(ckpt.restore(dir.file("nope-1")), Catch::Contains("nope-1.safetensors"));
  CHECK_THROWS_AS(ckpt.restore(""), tf::NotFoundError);
}

TEST_CASE("Checkpoint: a change to any byte of the file is DataLossError", "[checkpoint]") {
  test::TempDir dir("ckpt");
  tf::Variable w(tf::constant({{1.f, 2.f}, {3.f, 4.f}}), {.name = "w"});
  tf::Variable b(tf::constant({0.5f, -0.5f}), {.name = "b"});
  tf::optimizers::Adam opt;
  opt.apply_gradients({tf::ones({2, 2}), tf::ones({2})}, {w, b});
  tf::train::Checkpoint ckpt({{"w", w}, {"b", b}}, {{"optimizer", opt}});
  const std::string file = ckpt.save(dir.file("m")) + ".safetensors";
  const std::string good = read_bytes(file);
  const auto w0 = w.peek().to_vector<float>();
  const auto m0 = opt.get_slot(w, "m").peek().to_vector<float>();
  w.assign(tf::zeros({2, 2}));
  int refused = 0;
  for (size_t pos = 0; pos < good.size(); ++pos) {
    std::string bad = good;
    bad[pos] = char(bad[pos] ^ 0x20);
    write_bytes(file, bad);
    try {
      ckpt.restore(file);
      FAIL_CHECK("byte " << pos << " changed and restore accepted it");
    } catch (const tf::DataLossError& e) {
      ++refused;
      if (pos == good.size() - 1) CHECK_THAT(e.what(), Catch::Contains(file));
    }
  }
  CHECK(refused == int(good.size()));
  CHECK(w.peek().to_vector<float>() == std::vector<float>(4, 0.f));  // never half-applied
  write_bytes(file, good);
  ckpt.restore(file);
  CHECK(w.peek().to_vector<float>() == w0);
  CHECK(opt.get_slot(w, "m").peek().to_vector<float>() == m0);
}

TEST_CASE("Checkpoint: a truncated file is DataLossError", "[checkpoint]") {
  test::TempDir dir("ckpt");
  tf::Variable w(tf::random::normal({16}), {.name = "w"});
  tf::train::Checkpoint ckpt({{"w", w}});
  const std::string file = ckpt.save(dir.file("m")) + ".safetensors";
  const std::string good = read_bytes(file);
  for (size_t len : {size_t(0),
                     size_t(3),
                     size_t(8),
                     size_t(20),
                     good.size() / 2,
                     good.size() - 4,
                     good.size() - 1}) {
    INFO("truncated to " << len << " of " << good.size() << " bytes");
    write_bytes(file, good.substr(0, len));
    CHECK_THROWS_AS(ckpt.restore(file), tf::DataLossError);
  }
  write_bytes(file, good + "extra");
  CHECK_THROWS_AS(ckpt.restore(file), tf::DataLossError);
}

TEST_CASE("latest_checkpoint: empty or missing directory gives an empty path", "[checkpoint]") {
  test::TempDir dir("ckpt");
  CHECK(tf::train::latest_checkpoint(dir.str()).empty());
  CHECK(tf::train::latest_checkpoint(dir.file("does-not-exist")).empty());
  tf::Variable w(tf::constant(1.f));
  tf::train::CheckpointManager manager(tf::train::Checkpoint({{"w", w}}), dir.str());
  CHECK(manager.latest_checkpoint().empty());
  CHECK(manager.checkpoints().empty());
  CHECK(manager.restore_or_initialize().empty());
  CHECK(w.peek().item<float>() == 1.f);
}

TEST_CASE("CheckpointManager: keeps max_to_keep, writes the state file, resumes", "[checkpoint]") {
  test::TempDir dir("ckpt");
  tf::Variable w(tf::constant(0.f), {.name = "w"});
  tf::train::Checkpoint ckpt({{"w", w}});
  {
    tf::train::CheckpointManager manager(ckpt, dir.str(), {.max_to_keep = 3});
    for (int i = 1; i <= 5; ++i) {
      w.assign(tf::constant(float(i)));
      CHECK(manager.save() == dir.file("ckpt-" + std::to_string(i)));
    }
    CHECK(manager.checkpoints() ==
          std::vector<std::string>{dir.file("ckpt-3"), dir.file("ckpt-4"), dir.file("ckpt-5")});
    CHECK(manager.latest_checkpoint() == dir.file("ckpt-5"));
    CHECK_FALSE(fs::exists(dir.file("ckpt-2.safetensors")));
    CHECK(fs::exists(dir.file("ckpt-3.safetensors")));
    CHECK(read_bytes(dir.file("checkpoint")) ==
          "model_checkpoint_path: \"ckpt-5\"\n"
          "all_model_checkpoint_paths: \"ckpt-3\"\n"
          "all_model_checkpoint_paths: \"ckpt-4\"\n"
          "all_model_checkpoint_paths: \"ckpt-5\"\n");
  }
  // A new process: a fresh variable, checkpoint and manager pick up the directory.
  tf::Variable w2(tf::constant(-1.f), {.name = "w"});
  tf::train::Checkpoint ckpt2({{"w", w2}});
  tf::train::CheckpointManager manager(ckpt2, dir.str(), {.max_to_keep = 3});
  CHECK(manager.checkpoints().size() == 3);
  CHECK(manager.restore_or_initialize() == dir.file("ckpt-5"));
  CHECK(w2.peek().item<float>() == 5.f);
  CHECK(ckpt2.save_counter() == 5);
  CHECK(manager.save() == dir.file("ckpt-6"));
  CHECK(manager.save(100) == dir.file("ckpt-100"));
  CHECK(manager.checkpoints() ==
        std::vector<std::string>{dir.file("ckpt-5"), dir.file("ckpt-6"), dir.file("ckpt-100")});
  CHECK(tf::train::latest_checkpoint(dir.str()) == dir.file("ckpt-100"));
  CHECK_FALSE(fs::exists(dir.file("ckpt-4.safetensors")));
  // No temporary files are left behind.
  for (const auto& p : dir.files()) CHECK(p.filename().string().rfind(".", 0) != 0);
  CHECK_THROWS_AS(tf::train::CheckpointManager(ckpt2, dir.str(), {.max_to_keep = 0}),
                  tf::InvalidArgumentError);
}

TEST_CASE("CheckpointManager: a writer killed at random moments never damages the latest",
          "[checkpoint][kill]") {
  test::TempDir dir("ckpt_kill");
  constexpr int64_t kN = 1 << 16;  // 256 KiB per checkpoint: writes take a little while
  std::mt19937 rng(12345);
  int64_t last_seen = 0;
  for (int round = 0; round < 6; ++round) {
    INFO("round " << round);
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      // The child saves forever; step k stores a filled with k and step == k.
      int code = 0;
      try {
        tf::Variable a(tf::zeros({kN}), {.name = "a"});
        tf::Variable step(tf::constant(int64_t(0)), {.name = "step"});
        tf::train::Checkpoint ckpt({{"a", a}, {"step", step}});
        tf::train::CheckpointManager manager(ckpt, dir.str(), {.max_to_keep = 2});
        manager.restore_or_initialize();
        for (int64_t k = step.peek().item<int64_t>() + 1;; ++k) {
          a.assign(tf::fill({kN}, float(k)));
          step.assign(tf::constant(k));
          manager.save(k);
        }
      } catch (...) {
        code = 3;
      }
      ::_exit(code);
    }
    // Wait until this child has saved at least once, then kill it a little later.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    int64_t seen = last_seen;
    while (seen <= last_seen && std::chrono::steady_clock::now() < deadline) {
      const std::string latest = tf::train::latest_checkpoint(dir.str());
      if (!latest.empty()) seen = std::stoll(latest.substr(latest.rfind('-') + 1));
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % 20000));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    REQUIRE(WIFSIGNALED(status));  // killed, not failed
    REQUIRE(seen > last_seen);

    const std::string latest = tf::train::latest_checkpoint(dir.str());
    REQUIRE_FALSE(latest.empty());
    const int64_t k = std::stoll(latest.substr(latest.rfind('-') + 1));
    CHECK(k >= seen);
    tf::Variable a(tf::zeros({kN}), {.name = "a"});
    tf::Variable step(tf::constant(int64_t(0)), {.name = "step"});
    tf::train::Checkpoint ckpt({{"a", a}, {"step", step}});
    ckpt.restore(latest);
    CHECK(step.peek().item<int64_t>() == k);
    const auto v = a.peek().to_vector<float>();
    CHECK(std::all_of(v.begin(), v.end(), [&](float x) { return x == float(k); }));
    // Every checkpoint the state file lists is whole too.
    tf::train::CheckpointManager manager(ckpt, dir.str(), {.max_to_keep = 2});
    CHECK_FALSE(manager.checkpoints().empty());
    for (const std::string& p : manager.checkpoints()) CHECK_NOTHROW(ckpt.restore(p));
    last_seen = k;
  }
}

TEST_CASE("Checkpoint: BatchNormalization's moving statistics are saved with the layer",
          "[checkpoint]") {
  test::TempDir dir("ckpt");
  auto make = [] {
    L::Sequential m({L::Dense(4), L::BatchNormalization()});
    m.build({2, 3});
    return m;
  };
  L::Sequential a = make();
  tf::random::set_seed(5);
  a(tf::random::normal({16, 3}), /*training=*/true);  // moves moving_mean / moving_variance
  tf::train::Checkpoint({}, {{"model", a}}).save(dir.file("bn"));
  L::Sequential b = make();
  tf::train::Checkpoint ckpt({}, {{"model", b}});
  const auto keys = ckpt.tensors();
  CHECK(std::any_of(keys.begin(), keys.end(), [](const auto& k) {
    return k.first == "model/layer-1/moving_mean";
  }));
  ckpt.restore(tf::train::latest_checkpoint(dir.str()));
  REQUIRE(b.variables().size() == 6);
  CHECK(values(b.variables()) == values(a.variables()));
  CHECK(values(b.non_trainable_variables()) != values(make().non_trainable_variables()));
}

TEST_CASE("Checkpoint: optimizer state that does not fit is refused before any assignment",
          "[checkpoint]") {
  test::TempDir dir("ckpt");
  tf::Variable w(tf::constant({1.f, 2.f}), {.name = "w"});
  tf::optimizers::Adam ams({.amsgrad = true});
  ams.apply_gradients({tf::constant({0.5f, -0.5f})}, {w});
  const std::string path =
      tf::train::Checkpoint({{"w", w}}, {{"optimizer", ams}}).save(dir.file("o"));

  tf::Variable w2(tf::constant({7.f, 8.f}), {.name = "w"});
  tf::optimizers::Adam plain;  // no "vhat" slot
  tf::train::Checkpoint ckpt({{"w", w2}}, {{"optimizer", plain}});
  CHECK_THROWS_AS(ckpt.restore(path), tf::InvalidArgumentError);
  CHECK_THROWS_WITH(ckpt.restore(path), Catch::Contains("vhat"));
  CHECK(w2.peek().to_vector<float>() == std::vector<float>{7.f, 8.f});
  CHECK(plain.iterations() == 0);

  // A checkpoint without the optimizer cannot restore one.
  const std::string bare = tf::train::Checkpoint({{"w", w}}).save(dir.file("bare"));
  CHECK_THROWS_AS(ckpt.restore(bare), tf::NotFoundError);
  CHECK_THROWS_WITH(ckpt.restore(bare), Catch::Contains("optimizer"));

  // The same options restore: slots and iterations.
  tf::optimizers::Adam ams2({.amsgrad = true});
  tf::train::Checkpoint ok({{"w", w2}}, {{"optimizer", ams2}});
  ok.restore(path);
  CHECK(ams2.iterations() == 1);
  CHECK(w2.peek().to_vector<float>() == w.peek().to_vector<float>());
  CHECK(ams2.get_slot(w2, "vhat").peek().to_vector<float>() ==
        ams.get_slot(w, "vhat").peek().to_vector<float>());
}

TEST_CASE("CheckpointManager: a directory given with a trailing slash", "[checkpoint]") {
  test::TempDir dir("ckpt");
  tf::Variable w(tf::constant(3.f), {.name = "w"});
  tf::train::Checkpoint ckpt({{"w", w}});
  tf::train::CheckpointManager manager(ckpt, dir.str() + "/", {.max_to_keep = 2});
  const std::string path = manager.save();
  CHECK(read_bytes(dir.file("checkpoint")).rfind("model_checkpoint_path: \"ckpt-1\"\n", 0) == 0);
  CHECK(tf::train::latest_checkpoint(dir.str()) == dir.file("ckpt-1"));
  CHECK(fs::equivalent(tf::train::latest_checkpoint(dir.str() + "/") + ".safetensors",
                       path + ".safetensors"));
}

TEST_CASE("Checkpoint: a header that is not strict JSON is DataLossError naming why",
          "[checkpoint]") {
  test::TempDir dir("ckpt");
  tf::Variable w(tf::constant({1.f}), {.name = "w"});
  tf::train::Checkpoint ckpt({{"w", w}});
  const std::string file = dir.file("hand.safetensors");
  // A safetensors file around `header`: its length (8 bytes, little-endian), the header padded
  // with spaces to a multiple of 8, and one float32.
  auto write_with = [&](std::string header) {
    header.append((8 - header.size() % 8) % 8, ' ');
    std::string bytes(8, '\0');
    for (int i = 0; i < 8; ++i)
      bytes[size_t(i)] = char((uint64_t(header.size()) >> (8 * i)) & 0xFF);
    bytes += header;
    bytes += std::string("\0\0\x80\x3f", 4);  // 1.0f
    write_bytes(file, bytes);
  };
  const std::string tensor = R"("w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]})";
  const std::string deep = std::string(70, '[') + std::string(70, ']');
  for (const auto& [header, why] : std::vector<std::pair<std::string, std::string>>{
           {"{" + tensor + "," + tensor + "}", "duplicate key \"w\""},
           {"{" + tensor + "} {}", "invalid JSON at byte"},
           {"{" + tensor + R"(,"x":)" + deep + "}", "nested too deeply"},
           {R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0,18446744073709551616]}})",
            "integer out of range"},
           {"{" + tensor + ",\"\xff\":1}", "invalid JSON at byte"}}) {
    INFO(header);
    write_with(header);
    CHECK_THROWS_AS(ckpt.restore(file), tf::DataLossError);
    CHECK_THROWS_WITH(ckpt.restore(file),
                      Catch::Matchers::Contains(why) && Catch::Matchers::Contains(file));
  }
}

TEST_CASE("Checkpoint: names that are not UTF-8 are refused before anything is written",
          "[checkpoint]") {
  // The header is written by nlohmann-json, which refuses to write invalid UTF-8; the file's
  // reader (ours and the reference one) would refuse it too.
  test::TempDir dir("ckpt");
  tf::Variable w(tf::constant({1.f}), {.name = "w"});
  tf::train::Checkpoint ckpt({{"w\xff", w}});
  const std::string file = dir.file("bad.safetensors");
  CHECK_THROWS_AS(ckpt.write(file), tf::InvalidArgumentError);
  CHECK_THROWS_WITH(ckpt.write(file), Catch::Matchers::Contains("UTF-8"));
  CHECK_FALSE(std::filesystem::exists(file));
  // The same name in the metadata of a valid one round-trips through the object graph.
  tf::train::Checkpoint good({{"w\xc3\xa9", w}});
  const std::string ok = good.write(dir.file("ok.safetensors"));
  w.assign(tf::constant({0.f}));
  good.restore(ok);
  CHECK(w.peek().to_vector<float>() == std::vector<float>{1.f});
}

// Model::save and tf::models::load_model: the architecture and weights come back exactly,
// training on after a load matches never having stopped, user layers load by registered name,
// and damaged, foreign or newer files are refused with nothing returned.

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
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

// CRC-32C (Castagnoli), bitwise: enough to re-sign a file the test edits on purpose.
uint32_t crc32c(const std::string& s) {
  uint32_t c = 0xFFFFFFFFu;
  for (unsigned char b : s) {
    c ^= b;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1u)));
  }
  return ~c;
}

// Replaces `from` by `to` (same length) in the header and fixes the file's crc32c, so that the
// edit reaches the model loader rather than being caught as damage.
std::string edit_header(std::string bytes, const std::string& from, const std::string& to) {
  REQUIRE(from.size() == to.size());
  const size_t at = bytes.find(from);
  REQUIRE(at != std::string::npos);
  bytes.replace(at, from.size(), to);
  const size_t crc = bytes.find("\"crc32c\":\"") + 10;
  bytes.replace(crc, 8, "00000000");
  char hex[9];
  std::snprintf(hex, sizeof hex, "%08x", crc32c(bytes));
  bytes.replace(crc, 8, hex);
  return bytes;
}

std::vector<std::vector<float>> weights_of(const tf::Model& m) {
  std::vector<std::vector<float>> out;
  for (const tf::Tensor& t : m.get_weights()) out.push_back(t.to_vector<float>());
  return out;
}

// A small CNN touching every built-in layer with options and state: 8 images 6x6x2, 3 classes.
tf::Model make_cnn(uint64_t seed) {
  tf::random::set_seed(seed);
  L::Sequential body({L::Conv2D({.filters = 4,
                                 .kernel_size = {3, 2},
                                 .strides = {1, 1},
                                 .padding = "same",
                                 .activation = "relu"}),
                      L::BatchNormalization({.momentum = 0.9}),
                      L::MaxPool2D({.pool_size = 2}),
                      L::AveragePooling2D({.pool_size = {1, 3}, .strides = {1, 1}}),
                      L::Flatten(),
                      L::Dropout({.rate = 0.25, .seed = 17}),
                      L::Dense({.units = 5, .activation = "tanh", .use_bias = false}),
                      L::Dense(3)});
  tf::Model model(body);
  model.compile({.optimizer = tf::optimizers::Adam({.learning_rate = 0.01, .clipnorm = 1.0}),
                 .loss = tf::losses::SparseCategoricalCrossentropy({.from_logits = true}),
                 .metrics = {"accuracy"}});
  model.build({8, 6, 6, 2});
  return model;
}
tf::Tensor images() {
  tf::random::set_seed(99);
  return tf::random::normal({8, 6, 6, 2});
}
tf::Tensor labels() { return tf::constant(std::vector<int>{0, 1, 2, 0, 1, 2, 1, 0}, {8}); }

// A user-defined layer with an option, a weight of its own and a sublayer:
// y = inner(x) * scale + offset.
class ScaledImpl final : public L::Layer::Impl {
 public:
  ScaledImpl(std::string name, double scale, L::Layer inner)
      : Impl(std::move(name)), scale_(scale), inner_(std::move(inner)) {}
  std::string class_name() const override { return "ScaledBlock"; }
  void build(const tf::Shape& s, tf::DType dtype) override {
    inner_.build(s, dtype);
    offset_ = add_weight("offset", tf::fill({inner_.compute_output_shape(s)[1]}, 0.5f));
  }
  tf::Tensor call(const tf::Tensor& x, bool training) override {
    return inner_(x, training) * scale_ + offset_;
  }
  std::vector<L::Layer> sublayers() const override { return {inner_}; }
  L::LayerConfig get_config() const override {
    return L::LayerConfig(name()).set_double("scale", scale_);
  }

 private:
  double scale_;
  L::Layer inner_;
  tf::Variable offset_;
};

void register_scaled_block() {
  L::register_layer("ScaledBlock", [](const L::LayerConfig& c, const std::vector<L::Layer>& subs) {
    return L::Layer(std::make_shared<ScaledImpl>(c.name(), c.get_double("scale"), subs.at(0)));
  });
}

}  // namespace

TEST_CASE("load_model: every built-in layer comes back with its config and exact weights",
          "[model_save]") {
  test::TempDir dir("model_save");
  tf::Model model = make_cnn(3);
  model.train_on_batch(images(), labels());  // moves BatchNorm's statistics and Adam's slots
  const std::string path = dir.file("cnn.safetensors");
  model.save(path);

  tf::Model loaded = tf::models::load_model(path);
  REQUIRE(loaded.compiled());
  CHECK(loaded.metrics_names() == model.metrics_names());
  CHECK(loaded.class_name() == "Sequential");
  CHECK(loaded.name() == model.name());
  const auto a = model.layers(), b = loaded.layers();
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    INFO("layer " << i << " " << a[i].name());
    CHECK(b[i].class_name() == a[i].class_name());
    CHECK(b[i].name() == a[i].name());
    CHECK(b[i].impl()->get_config().values() == a[i].impl()->get_config().values());
  }
  CHECK(weights_of(loaded) == weights_of(model));
  // Inference (BatchNorm's moving statistics) gives the same outputs, bit for bit.
  CHECK(loaded.predict(images()).to_vector<float>() == model.predict(images()).to_vector<float>());
  CHECK(loaded.optimizer().iterations() == 1);
  auto& adam = dynamic_cast<tf::optimizers::Adam&>(loaded.optimizer());
  CHECK(adam.learning_rate() == 0.01);
  CHECK(adam.clipnorm() == std::optional<double>(1.0));
  // The summaries agree.
  std::ostringstream sa, sb;
  model.summary(sa);
  loaded.summary(sb);
  CHECK(sa.str() == sb.str());
}

TEST_CASE("load_model: training on after a load gives the weights of never stopping",
          "[model_save]") {
  test::TempDir dir("model_save");
  const tf::Tensor x = images(), y = labels();
  constexpr int k = 3, m = 4;

  tf::Model straight = make_cnn(5);
  std::vector<double> straight_losses;
  for (int i = 0; i < k + m; ++i) straight_losses.push_back(straight.train_on_batch(x, y)["loss"]);

  tf::Model first = make_cnn(5);
  for (int i = 0; i < k; ++i) first.train_on_batch(x, y);
  first.save(dir.file("k.safetensors"));
  tf::Model resumed = tf::models::load_model(dir.file("k.safetensors"));
  std::vector<double> resumed_losses;
  for (int i = 0; i < m; ++i) resumed_losses.push_back(resumed.train_on_batch(x, y)["loss"]);

  CHECK(resumed.optimizer().iterations() == k + m);
  // Dropout's masks (seeded), Adam's moments and step and BatchNorm's statistics all resume.
  CHECK(weights_of(resumed) == weights_of(straight));
  CHECK(resumed_losses == std::vector<double>(straight_losses.begin() + k, straight_losses.end()));
}

// Without shuffling: fit's seeded shuffle restarts its sequence of orders in each fit call, so a
// resumed fit would visit the rows in other orders than one long fit.
TEST_CASE("load_model: fit on after a load matches one fit over all epochs", "[model_save]") {
  test::TempDir dir("model_save");
  tf::random::set_seed(1);
  const tf::Tensor x = tf::random::normal({32, 4});
  std::vector<int> parity;
  for (int i = 0; i < 32; ++i) parity.push_back(i % 2);
  const tf::Tensor y = tf::constant(parity, {32});
  auto make = [] {
    tf::random::set_seed(2);
    tf::Model m(L::Sequential({L::Dense(8, "relu"), L::Dense(2)}));
    m.compile({.optimizer = tf::optimizers::SGD({.learning_rate = 0.1f, .momentum = 0.9f}),
               .loss = "sparse_categorical_crossentropy",
               .metrics = {"accuracy"}});
    return m;
  };
  tf::Model straight = make();
  straight.fit(x, y, {.batch_size = 8, .epochs = 4, .verbose = 0, .shuffle = false});
  tf::Model first = make();
  first.fit(x, y, {.batch_size = 8, .epochs = 2, .verbose = 0, .shuffle = false});
  first.save(dir.file("e2.safetensors"));
  tf::Model resumed = tf::models::load_model(dir.file("e2.safetensors"));
  resumed.fit(
      x, y, {.batch_size = 8, .epochs = 4, .verbose = 0, .shuffle = false, .initial_epoch = 2});
  CHECK(weights_of(resumed) == weights_of(straight));
}

TEST_CASE("load_model: a user layer loads by its registered name; unregistered is NotFoundError",
          "[model_save]") {
  test::TempDir dir("model_save");
  tf::random::set_seed(8);
  tf::Model model(L::Sequential(
      {L::Layer(std::make_shared<ScaledImpl>("scaled", 2.5, L::Dense(3, "relu"))), L::Dense(2)}));
  const tf::Tensor x = tf::random::normal({4, 5});
  // A call, not just build: Sequential's build stops at a layer without compute_output_shape,
  // and the layers after it get their weights (and saved build shapes) on the first call.
  model(x);
  const std::string path = dir.file("custom.safetensors");
  model.save(path);

  if (!L::is_layer_registered("ScaledBlock")) {
    CHECK_THROWS_AS(tf::models::load_model(path), tf::NotFoundError);
    CHECK_THROWS_WITH(tf::models::load_model(path),
                      Catch::Contains("ScaledBlock") && Catch::Contains("register_layer"));
  }
  register_scaled_block();
  tf::Model loaded = tf::models::load_model(path);
  CHECK_FALSE(loaded.compiled());  // saved uncompiled
  CHECK(loaded.layers()[0].class_name() == "ScaledBlock");
  CHECK(loaded.layers()[0].impl()->get_config().get_double("scale") == 2.5);
  CHECK(weights_of(loaded) == weights_of(model));
  CHECK(loaded(x).to_vector<float>() == model(x).to_vector<float>());
}

TEST_CASE("load_model: a factory that throws, or bad options, return no model", "[model_save]") {
  test::TempDir dir("model_save");
  tf::Model model(L::Sequential({L::Dense(3), L::Dense(2)}));
  model.build({1, 4});
  const std::string path = dir.file("m.safetensors");
  model.save(path);
  // Options of the wrong type reach the factory's typed getters: a clear InvalidArgumentError.
  // (The architecture is a JSON string inside the header: its quotes are escaped.)
  write_bytes(path, edit_header(read_bytes(path), R"(\"use_bias\":true)", R"(\"use_bias\":1234)"));
  CHECK_THROWS_AS(tf::models::load_model(path), tf::InvalidArgumentError);
  CHECK_THROWS_WITH(tf::models::load_model(path),
                    Catch::Contains("use_bias") && Catch::Contains("a boolean"));
  // A different width than the saved weights: refused by the restore, before returning.
  model.save(path);
  write_bytes(path, edit_header(read_bytes(path), R"(\"units\":3)", R"(\"units\":4)"));
  CHECK_THROWS_AS(tf::models::load_model(path), tf::Error);
}

TEST_CASE("load_model: any changed byte is DataLossError; truncation too", "[model_save]") {
  test::TempDir dir("model_save");
  tf::random::set_seed(4);
  tf::Model model(L::Sequential({L::Dense(2)}));
  model.compile({.optimizer = "adam", .loss = "mse"});
  model.train_on_batch(tf::ones({2, 3}), tf::zeros({2, 2}));
  const std::string path = dir.file("m.safetensors");
  model.save(path);
  const std::string good = read_bytes(path);
  int refused = 0;
  for (size_t pos = 0; pos < good.size(); ++pos) {
    std::string bad = good;
    bad[pos] = char(bad[pos] ^ 0x20);
    write_bytes(path, bad);
    try {
      tf::models::load_model(path);
      FAIL_CHECK("byte " << pos << " changed and load_model accepted it");
    } catch (const tf::DataLossError&) {
      ++refused;
    }
  }
  CHECK(refused == int(good.size()));
  for (size_t len : {size_t(0), size_t(7), good.size() / 2, good.size() - 1}) {
    write_bytes(path, good.substr(0, len));
    CHECK_THROWS_AS(tf::models::load_model(path), tf::DataLossError);
  }
  write_bytes(path, good);
  CHECK(weights_of(tf::models::load_model(path)) == weights_of(model));
}

TEST_CASE("load_model: a newer format version, a checkpoint, a missing file are clear errors",
          "[model_save]") {
  test::TempDir dir("model_save");
  tf::Model model(L::Sequential({L::Dense(2)}));
  model.build({1, 3});
  const std::string path = dir.file("m.safetensors");
  model.save(path);
  const std::string good = read_bytes(path);
  CHECK(good.find("\"model_format_version\":\"1\"") != std::string::npos);

  write_bytes(
      path, edit_header(good, "\"model_format_version\":\"1\"", "\"model_format_version\":\"3\""));
  CHECK_THROWS_AS(tf::models::load_model(path), tf::UnimplementedError);
  CHECK_THROWS_WITH(tf::models::load_model(path),
                    Catch::Contains("version 3") && Catch::Contains("newer"));
  write_bytes(
      path, edit_header(good, "\"model_format_version\":\"1\"", "\"model_format_version\":\"x\""));
  CHECK_THROWS_AS(tf::models::load_model(path), tf::DataLossError);

  tf::train::Checkpoint({}, {{"model", L::Layer(model)}}).write(dir.file("ckpt"));
  CHECK_THROWS_AS(tf::models::load_model(dir.file("ckpt.safetensors")), tf::InvalidArgumentError);
  CHECK_THROWS_WITH(tf::models::load_model(dir.file("ckpt.safetensors")),
                    Catch::Contains("no model config"));
  CHECK_THROWS_AS(tf::models::load_model(dir.file("absent.safetensors")), tf::NotFoundError);
}

TEST_CASE("Model.save: unbuilt is refused; a saved model restores as a checkpoint too",
          "[model_save]") {
  test::TempDir dir("model_save");
  tf::Model unbuilt(L::Sequential({L::Dense(2)}));
  CHECK_THROWS_AS(unbuilt.save(dir.file("u.safetensors")), tf::FailedPreconditionError);
  CHECK_FALSE(fs::exists(dir.file("u.safetensors")));

  tf::Model model = make_cnn(6);
  model.train_on_batch(images(), labels());
  model.save(dir.file("sub/dir/m.safetensors"));  // directories are created
  model.save(dir.file("sub/dir/m.safetensors"));  // and the file replaced atomically
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir.file("sub/dir")))
    names.push_back(e.path().filename().string());
  CHECK(names == std::vector<std::string>{"m.safetensors"});  // no temporary left behind

  tf::Model fresh = make_cnn(7);
  tf::train::Checkpoint({}, {{"model", L::Layer(fresh)}, {"optimizer", fresh.optimizer()}})
      .restore(dir.file("sub/dir/m"));
  CHECK(weights_of(fresh) == weights_of(model));
  CHECK(fresh.optimizer().iterations() == 1);
}

TEST_CASE("Model.save: a compile config that cannot be named loads uncompiled, weights intact",
          "[model_save]") {
  test::TempDir dir("model_save");
  tf::Model model(L::Sequential({L::Dense(2)}));
  model.compile(
      {.optimizer = "sgd", .loss = tf::LossSpec("l1", [](const tf::Tensor& t, const tf::Tensor& p) {
                             return tf::reduce_mean(tf::abs(p - t), {-1});
                           })});
  model.train_on_batch(tf::ones({2, 3}), tf::zeros({2, 2}));
  model.save(dir.file("m.safetensors"));
  tf::Model loaded = tf::models::load_model(dir.file("m.safetensors"));
  CHECK_FALSE(loaded.compiled());
  CHECK(weights_of(loaded) == weights_of(model));
  // And compile = false ignores a saved compile config.
  tf::Model named(L::Sequential({L::Dense(2)}));
  named.compile({.optimizer = "rmsprop", .loss = "mse"});
  named.build({1, 3});
  named.save(dir.file("n.safetensors"));
  CHECK(tf::models::load_model(dir.file("n.safetensors")).compiled());
  CHECK_FALSE(tf::models::load_model(dir.file("n.safetensors"), {.compile = false}).compiled());
}

TEST_CASE("LayerConfig: typed values round-trip and mistyped ones name the option",
          "[model_save]") {
  L::LayerConfig c("block");
  c.set_int("n", -3).set_double("x", 0.1).set_bool("b", true).set_string("s", "a\"b");
  c.set_ints("v", {1, 2, 3});
  CHECK(c.get_int("n") == -3);
  CHECK(c.get_double("x") == 0.1);
  CHECK(c.get_bool("b"));
  CHECK(c.get_string("s") == "a\"b");
  CHECK(c.get_ints("v") == std::vector<int64_t>{1, 2, 3});
  CHECK(c.get_double("n") == -3.0);  // an integer is a number
  CHECK_THROWS_AS(c.get_int("x"), tf::InvalidArgumentError);
  CHECK_THROWS_WITH(c.get_string("missing"),
                    Catch::Contains("block") && Catch::Contains("'missing'"));
  CHECK_THROWS_AS(c.set_json("bad", "{"), tf::InvalidArgumentError);
  CHECK_THROWS_AS(L::layer_from_config("NoSuchLayer", c, {}), tf::NotFoundError);
}

// Model::save / load_model for the layers of layers_ext.hpp (issue #13 §2): every built-in layer
// comes back from the file alone with its config, its sublayers and its build shapes (a list of
// them for the layers called on a list of inputs), and computes exactly what the saved one did.

#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "test_util.hpp"

namespace tf = tapeflow;
namespace L = tapeflow::layers;

namespace {

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}
void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), std::streamsize(bytes.size()));
}

// CRC-32C, bitwise: re-signs a file the test edits on purpose (as test_model_save.cpp).
uint32_t crc32c(const std::string& s) {
  uint32_t c = 0xFFFFFFFFu;
  for (unsigned char b : s) {
    c ^= b;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1u)));
  }
  return ~c;
}
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

std::vector<float> values(const tf::Tensor& t) { return t.to_vector<float>(); }

// Moves every weight away from its initial value, so that the round trip is of trained-looking
// values (LayerNormalization's ones and zeros would come back from any file).
void perturb(const tf::Model& model, uint64_t seed) {
  tf::random::set_seed(seed);
  for (const tf::Variable& v : model.variables())
    v.assign(v.peek() + tf::random::normal(v.shape(), 0.0, 0.3, v.dtype()));
}

// The same class names, names, configs and build shapes, sublayers included.
void check_same_layers(const L::Layer& a, const L::Layer& b) {
  INFO("layer " << a.name() << " (" << a.class_name() << ")");
  CHECK(b.class_name() == a.class_name());
  CHECK(b.name() == a.name());
  CHECK(b.impl()->get_config().values() == a.impl()->get_config().values());
  CHECK(b.built() == a.built());
  CHECK(b.impl()->build_input_shape() == a.impl()->build_input_shape());
  CHECK(b.impl()->build_input_shapes() == a.impl()->build_input_shapes());
  const std::vector<L::Layer> sa = a.impl()->sublayers(), sb = b.impl()->sublayers();
  REQUIRE(sa.size() == sb.size());
  for (size_t i = 0; i < sa.size(); ++i) check_same_layers(sa[i], sb[i]);
}

std::vector<std::vector<float>> weights_of(const tf::Model& m) {
  std::vector<std::vector<float>> out;
  for (const tf::Tensor& t : m.get_weights()) out.push_back(t.to_vector<float>());
  return out;
}

// Saves, loads from the file alone, and checks the architecture and weights came back.
tf::Model round_trip(const tf::Model& model, const std::string& path) {
  model.save(path);
  tf::Model loaded = tf::models::load_model(path);
  check_same_layers(model, loaded);
  CHECK(weights_of(loaded) == weights_of(model));
  return loaded;
}

bool has_version(const std::string& path, int v) {
  return read_bytes(path).find("\"model_format_version\":\"" + std::to_string(v) + "\"") !=
         std::string::npos;
}

// A user-defined model over layers of layers_ext.hpp, declared with track(): token ids →
// Embedding → self-attention (MultiHeadAttention on the list {x, x}) → residual Add →
// LayerNormalization → Concatenate of the mean and max over steps → Dense.
class EncoderImpl final : public L::Layer::Impl {
 public:
  EncoderImpl(std::string name, double residual_scale, const std::vector<L::Layer>& layers)
      : Impl(std::move(name)), scale_(residual_scale) {
    for (const L::Layer& l : layers) layers_.push_back(track(l));
  }
  std::string class_name() const override { return "TinyEncoder"; }
  L::LayerConfig get_config() const override {
    return L::LayerConfig(name()).set_double("residual_scale", scale_);
  }
  tf::Tensor call(const tf::Tensor& ids, bool training) override {
    tf::Tensor x = layers_[0](ids, training);
    tf::Tensor a = layers_[1]({x, x}, training);
    tf::Tensor h = layers_[3](layers_[2]({x, a * scale_}, training), training);
    tf::Tensor pooled = layers_[6]({layers_[4](h, training), layers_[5](h, training)}, training);
    return layers_[7](pooled, training);
  }

 private:
  double scale_;
  std::vector<L::Layer> layers_;
};

L::Layer make_encoder() {
  return L::Layer(std::make_shared<EncoderImpl>(
      "encoder",
      0.5,
      std::vector<L::Layer>{
          L::Embedding({.input_dim = 11, .output_dim = 6, .name = "tokens"}),
          L::MultiHeadAttention({.num_heads = 2, .key_dim = 3, .name = "self_attention"}),
          L::Add("residual"),
          L::LayerNormalization({.epsilon = 1e-5, .name = "norm"}),
          L::GlobalAveragePooling1D({.keepdims = false, .name = "mean"}),
          L::GlobalMaxPooling1D({.keepdims = false, .name = "max"}),
          L::Concatenate({.axis = -1, .name = "pooled"}),
          L::Dense({.units = 3, .activation = "", .use_bias = true, .name = "logits"})}));
}

// A pre-LayerNorm block with causal self-attention, holding its attention as the typed handle
// (attention over query, value and key with a causal mask is not a plain list call).
class CausalBlockImpl final : public L::Layer::Impl {
 public:
  CausalBlockImpl(std::string name, L::Layer norm, L::MultiHeadAttention attention, L::Layer out)
      : Impl(std::move(name)),
        norm_(track(std::move(norm))),
        attention_(track(std::move(attention))),
        out_(track(std::move(out))) {}
  std::string class_name() const override { return "CausalBlock"; }
  tf::Tensor call(const tf::Tensor& x, bool training) override {
    tf::Tensor h = norm_(x, training);
    tf::Tensor y =
        x + attention_(h, h, h, {.attention_mask = {}, .use_causal_mask = true, .training = false});
    return out_(y, training);
  }

 private:
  L::Layer norm_;
  L::MultiHeadAttention attention_;
  L::Layer out_;
};

tf::Tensor token_ids() {
  return tf::constant(std::vector<int>{1, 4, 2, 9, 10, 0, 3, 3, 7, 5, 8, 6}, {2, 6});
}

}  // namespace

TEST_CASE("load_model: merge layers come back built for their list of inputs",
          "[model_save][layer_configs]") {
  test::TempDir dir("layer_configs");
  tf::random::set_seed(21);
  const tf::Tensor a = tf::random::normal({3, 4}), b = tf::random::normal({3, 4}),
                   c = tf::random::normal({3, 4}), d = tf::random::normal({3, 2});
  struct Case {
    L::Layer layer;
    std::string class_name;
    std::vector<tf::Tensor> inputs;
  };
  const std::vector<Case> cases{
      {L::Add(), "Add", {a, b, c}},
      {L::Subtract(), "Subtract", {a, b}},
      {L::Multiply(), "Multiply", {a, b}},
      {L::Average(), "Average", {a, b, c}},
      {L::Maximum(), "Maximum", {a, b}},
      {L::Minimum(), "Minimum", {a, b}},
      {L::Concatenate({.axis = 1, .name = "cat"}), "Concatenate", {a, d, b}},
  };
  for (const Case& k : cases) {
    INFO(k.class_name);
    tf::Model model(k.layer);
    const tf::Tensor y = L::Layer(model)(k.inputs);
    const std::string path = dir.file(k.class_name + ".safetensors");
    tf::Model loaded = round_trip(model, path);
    CHECK(loaded.class_name() == k.class_name);
    CHECK(has_version(path, 2));  // a build_config with "input_shapes"
    REQUIRE(loaded.built());
    CHECK(loaded.impl()->build_input_shapes().size() == k.inputs.size());
    CHECK(values(L::Layer(loaded)(k.inputs)) == values(y));
  }
  // The axis is an option: Concatenate's comes back.
  tf::Model cat = tf::models::load_model(dir.file("Concatenate.safetensors"));
  CHECK(cat.impl()->get_config().get_int("axis") == 1);
  CHECK(L::Layer(cat)({a, d}).shape() == tf::Shape{3, 6});
}

TEST_CASE("load_model: Reshape, Permute, Conv1D, Activation and global pooling on sequences",
          "[model_save][layer_configs]") {
  test::TempDir dir("layer_configs");
  tf::random::set_seed(22);
  tf::Model model(L::Sequential(
      {L::Reshape({3, 4}),
       L::Permute({2, 1}),
       L::Conv1D({.filters = 5, .kernel_size = 2, .padding = "causal", .activation = "relu"}),
       L::Activation("gelu"),
       L::Conv1D({.filters = 4,
                  .kernel_size = 3,
                  .strides = 2,
                  .padding = "same",
                  .activation = "tanh",
                  .use_bias = false}),
       L::GlobalMaxPooling1D({.keepdims = true}),
       L::Reshape({-1}),
       L::Dense(2)}));
  const tf::Tensor x = tf::random::normal({4, 12});
  model.build({4, 12});
  perturb(model, 1);
  const std::string path = dir.file("seq.safetensors");
  tf::Model loaded = round_trip(model, path);
  CHECK(has_version(path, 1));  // nothing built from a list: readable by format-1 readers
  CHECK(values(loaded.predict(x)) == values(model.predict(x)));
  const auto conv = loaded.layers()[2].impl()->get_config();
  CHECK(conv.get_string("padding") == "causal");
  CHECK(conv.get_ints("kernel_size") == std::vector<int64_t>{2});
  CHECK(loaded.layers()[1].impl()->get_config().get_ints("dims") == std::vector<int64_t>{2, 1});
  CHECK(loaded.layers()[6].impl()->get_config().get_ints("target_shape") ==
        std::vector<int64_t>{-1});
}

TEST_CASE("load_model: ZeroPadding2D, UpSampling2D, RandomFlip and 2-d global pooling",
          "[model_save][layer_configs]") {
  test::TempDir dir("layer_configs");
  tf::random::set_seed(23);
  tf::Model model(L::Sequential({L::ZeroPadding2D({.top_bottom = {1, 0}, .left_right = {0, 2}}),
                                 L::UpSampling2D({.size = {2, 1}}),
                                 L::RandomFlip({.mode = "horizontal", .seed = 3}),
                                 L::Conv2D(3, {2, 2}, "relu"),
                                 L::ZeroPadding2D({.padding = {0, 1}}),
                                 L::GlobalAveragePooling2D({.keepdims = true}),
                                 L::GlobalMaxPooling2D()}));
  const tf::Tensor x = tf::random::normal({2, 3, 4, 2});
  model(x);
  perturb(model, 2);
  tf::Model loaded = round_trip(model, dir.file("img.safetensors"));
  CHECK(values(loaded(x)) == values(model(x)));
  CHECK(loaded(x).shape() == tf::Shape{2, 3});
  // Neither has drawn a flip yet: the seed came back, so their first training calls agree.
  CHECK(values(loaded(x, true)) == values(model(x, true)));
  const auto pad = loaded.layers()[0].impl()->get_config();
  CHECK(pad.get_json("padding") == "[[1,0],[0,2]]");
  CHECK(loaded.layers()[4].impl()->get_config().get_json("padding") == "[[0,0],[1,1]]");
  CHECK(loaded.layers()[2].impl()->get_config().get_string("mode") == "horizontal");
}

TEST_CASE("load_model: Embedding, Conv1D and LayerNormalization over several axes",
          "[model_save][layer_configs]") {
  test::TempDir dir("layer_configs");
  tf::random::set_seed(24);
  tf::Model model(L::Sequential(
      {L::Embedding(11, 8),
       L::Conv1D({.filters = 4, .kernel_size = 3, .padding = "valid"}),
       L::LayerNormalization({.axis = {-2, -1}, .epsilon = 1e-4, .center = true, .scale = false}),
       L::LayerNormalization(),
       L::GlobalAveragePooling1D(),
       L::Dense({.units = 3, .activation = "softmax"})}));
  const tf::Tensor ids = token_ids();
  model(ids);
  perturb(model, 3);
  tf::Model loaded = round_trip(model, dir.file("emb.safetensors"));
  CHECK(values(loaded(ids)) == values(model(ids)));
  CHECK(values(loaded.predict(ids)) == values(model.predict(ids)));
  const auto norm = loaded.layers()[2].impl()->get_config();
  CHECK(norm.get_ints("axis") == std::vector<int64_t>{-2, -1});
  CHECK_FALSE(norm.get_bool("scale"));
  CHECK(loaded.layers()[0].impl()->get_config().get_int("input_dim") == 11);
}

TEST_CASE("load_model: MultiHeadAttention with its options and its dropout seed",
          "[model_save][layer_configs]") {
  test::TempDir dir("layer_configs");
  tf::random::set_seed(25);
  tf::Model model(L::MultiHeadAttention({.num_heads = 2,
                                         .key_dim = 3,
                                         .value_dim = 4,
                                         .dropout = 0.25,
                                         .use_bias = true,
                                         .output_shape = 5,
                                         .seed = 7}));
  const tf::Tensor x = tf::random::normal({2, 4, 6});
  model(x);
  model(x, true);  // one training call: the next draws with seed 7 + 1
  perturb(model, 4);
  tf::Model loaded = round_trip(model, dir.file("mha.safetensors"));
  CHECK(values(loaded(x)) == values(model(x)));
  CHECK(loaded(x).shape() == tf::Shape{2, 4, 5});
  CHECK(values(loaded(x, true)) == values(model(x, true)));
  const auto c = loaded.impl()->get_config();
  CHECK(c.get_int("value_dim") == 4);
  CHECK(c.get_int("output_shape") == 5);

  // Defaults: output_shape null (the query's width), no seed. Cross-attention over {q, v} is a
  // build from a list of inputs.
  tf::Model cross(L::MultiHeadAttention({.num_heads = 1, .key_dim = 2}));
  const tf::Tensor q = tf::random::normal({2, 3, 6}), v = tf::random::normal({2, 5, 4});
  const tf::Tensor y = L::Layer(cross)({q, v});
  perturb(cross, 5);
  const std::string path = dir.file("cross.safetensors");
  tf::Model back = round_trip(cross, path);
  CHECK(has_version(path, 2));
  CHECK(back.impl()->get_config().get_json("output_shape") == "null");
  CHECK_FALSE(back.impl()->get_config().has("seed"));
  CHECK(values(L::Layer(back)({q, v})) == values(L::Layer(cross)({q, v})));
  CHECK(L::Layer(back)({q, v}).shape() == y.shape());
}

TEST_CASE("load_model: SimpleRNN, LSTM, GRU and Bidirectional with their sublayers",
          "[model_save][layer_configs]") {
  test::TempDir dir("layer_configs");
  tf::random::set_seed(26);
  tf::Model model(L::Sequential(
      {L::SimpleRNN({.units = 4, .activation = "relu", .return_sequences = true}),
       L::GRU({.units = 3, .return_sequences = true, .go_backwards = true}),
       L::LSTM({.units = 3, .unit_forget_bias = false, .return_sequences = true}),
       L::Bidirectional(L::GRU({.units = 2, .reset_after = false, .return_sequences = true}),
                        {.merge_mode = "concat"}),
       L::Bidirectional(L::LSTM({.units = 3, .recurrent_activation = "tanh"}),
                        {.merge_mode = "ave", .name = "bi"}),
       L::Dense(2)}));
  const tf::Tensor x = tf::random::normal({2, 5, 3});
  model(x);
  perturb(model, 6);
  tf::Model loaded = round_trip(model, dir.file("rnn.safetensors"));
  CHECK(values(loaded(x)) == values(model(x)));
  CHECK(values(loaded.predict(x)) == values(model.predict(x)));
  const std::vector<L::Layer> layers = loaded.layers();
  CHECK(layers[1].impl()->get_config().get_bool("reset_after"));
  CHECK(layers[1].impl()->get_config().get_bool("go_backwards"));
  CHECK_FALSE(layers[2].impl()->get_config().get_bool("unit_forget_bias"));
  // Bidirectional: its merge mode, and the wrapped layer twice, backward reading backwards.
  CHECK(layers[4].name() == "bi");
  CHECK(layers[4].impl()->get_config().get_string("merge_mode") == "ave");
  const std::vector<L::Layer> dirs = layers[4].impl()->sublayers();
  REQUIRE(dirs.size() == 2);
  CHECK(dirs[0].class_name() == "LSTM");
  CHECK(dirs[0].name().rfind("forward_", 0) == 0);
  CHECK(dirs[1].name().rfind("backward_", 0) == 0);
  CHECK_FALSE(dirs[0].impl()->get_config().get_bool("go_backwards"));
  CHECK(dirs[1].impl()->get_config().get_bool("go_backwards"));
  CHECK(dirs[1].impl()->get_config().get_string("recurrent_activation") == "tanh");
}

TEST_CASE("load_model: a user model over these layers loads once registered, else NotFoundError",
          "[model_save][layer_configs]") {
  test::TempDir dir("layer_configs");
  tf::random::set_seed(27);
  tf::Model model(make_encoder());
  const tf::Tensor ids = token_ids();
  model(ids);
  perturb(model, 7);
  const std::string path = dir.file("encoder.safetensors");
  model.save(path);
  CHECK(has_version(path, 2));  // attention, Add and Concatenate were called on lists

  if (!L::is_layer_registered("TinyEncoder")) {
    CHECK_THROWS_AS(tf::models::load_model(path), tf::NotFoundError);
    CHECK_THROWS_WITH(tf::models::load_model(path), Catch::Contains("TinyEncoder"));
  }
  L::register_layer("TinyEncoder", [](const L::LayerConfig& c, const std::vector<L::Layer>& subs) {
    if (subs.size() != 8) throw tf::InvalidArgumentError("TinyEncoder: expected 8 sublayers");
    return L::Layer(std::make_shared<EncoderImpl>(c.name(), c.get_double("residual_scale"), subs));
  });
  tf::Model loaded = tf::models::load_model(path);
  check_same_layers(model, loaded);
  CHECK(weights_of(loaded) == weights_of(model));
  CHECK(values(loaded(ids)) == values(model(ids)));
  CHECK(loaded.impl()->get_config().get_double("residual_scale") == 0.5);
  // The layers called on lists were built for those lists.
  const std::vector<L::Layer> subs = loaded.impl()->sublayers();
  CHECK(subs[1].impl()->build_input_shapes() ==
        std::vector<tf::Shape>{tf::Shape{2, 6, 6}, tf::Shape{2, 6, 6}});
  CHECK(subs[6].impl()->build_input_shapes() ==
        std::vector<tf::Shape>{tf::Shape{2, 6}, tf::Shape{2, 6}});

  // And training on from the loaded model matches training on from the saved one.
  const tf::Tensor labels = tf::constant(std::vector<int>{2, 0}, {2});
  for (const tf::Model* m : {&model, &loaded})
    m->compile({.optimizer = tf::optimizers::SGD({.learning_rate = 0.1f}),
                .loss = tf::losses::SparseCategoricalCrossentropy({.from_logits = true})});
  for (int i = 0; i < 2; ++i) {
    model.train_on_batch(ids, labels);
    loaded.train_on_batch(ids, labels);
  }
  CHECK(weights_of(loaded) == weights_of(model));
}

TEST_CASE("load_model: a bad config of these layers is a clear error naming the option",
          "[model_save][layer_configs]") {
  auto config = [](const std::string& name) { return L::LayerConfig(name); };
  CHECK_THROWS_WITH(
      L::layer_from_config("ZeroPadding2D", config("zp").set_json("padding", "[[1,2],[3]]"), {}),
      Catch::Contains("zp") && Catch::Contains("padding"));
  CHECK_THROWS_AS(
      L::layer_from_config("ZeroPadding2D", config("zp").set_json("padding", "\"same\""), {}),
      tf::InvalidArgumentError);
  CHECK_THROWS_WITH(L::layer_from_config("LSTM", config("lstm"), {}),
                    Catch::Contains("lstm") && Catch::Contains("'units'"));
  CHECK_THROWS_WITH(L::layer_from_config("Concatenate", config("cat").set_ints("axis", {}), {}),
                    Catch::Contains("cat") && Catch::Contains("axis"));
  CHECK_THROWS_WITH(L::layer_from_config("Conv1D",
                                         config("conv")
                                             .set_int("filters", 2)
                                             .set_ints("kernel_size", {3, 3})
                                             .set_ints("strides", {1})
                                             .set_string("padding", "valid")
                                             .set_string("activation", "")
                                             .set_bool("use_bias", true),
                                         {}),
                    Catch::Contains("kernel_size"));
  CHECK_THROWS_AS(L::layer_from_config("Add", config("add"), {L::Dense(2)}),
                  tf::InvalidArgumentError);
  // Bidirectional needs its two recurrent sublayers.
  const L::LayerConfig bi = config("bi").set_string("merge_mode", "concat");
  CHECK_THROWS_WITH(L::layer_from_config("Bidirectional", bi, {L::LSTM({.units = 2})}),
                    Catch::Contains("bi") && Catch::Contains("2 sublayers"));
  CHECK_THROWS_WITH(L::layer_from_config("Bidirectional", bi, {L::Dense(2), L::Dense(2)}),
                    Catch::Contains("recurrent"));
  CHECK_THROWS_AS(L::layer_from_config("Bidirectional",
                                       config("bi").set_string("merge_mode", "max"),
                                       {L::GRU({.units = 2}), L::GRU({.units = 2})}),
                  tf::InvalidArgumentError);
  // A file whose list of build shapes is damaged in form (checksum intact) is a DataLossError.
  test::TempDir dir("layer_configs");
  tf::Model model{L::Add()};
  const tf::Tensor sum = L::Layer(model)({tf::ones({1, 2}), tf::ones({1, 2})});
  CHECK(values(sum) == std::vector<float>{2, 2});
  const std::string path = dir.file("add.safetensors");
  model.save(path);
  write_bytes(
      path,
      edit_header(read_bytes(path), R"(\"input_shapes\":[[1,2])", R"(\"input_shapes\":[[1.5])"));
  CHECK_THROWS_AS(tf::models::load_model(path), tf::DataLossError);
}

TEST_CASE("load_model: a user block holding a typed MultiHeadAttention (causal, 3 inputs)",
          "[model_save][layer_configs]") {
  test::TempDir dir("layer_configs");
  tf::random::set_seed(28);
  tf::Model model(L::Sequential({L::Embedding(11, 4),
                                 L::Layer(std::make_shared<CausalBlockImpl>(
                                     "block",
                                     L::LayerNormalization(),
                                     L::MultiHeadAttention({.num_heads = 2, .key_dim = 2}),
                                     L::Dense(4, "relu"))),
                                 L::Dense(11)}));
  const tf::Tensor ids = token_ids();
  model(ids);
  perturb(model, 8);
  L::register_layer("CausalBlock", [](const L::LayerConfig& c, const std::vector<L::Layer>& s) {
    if (s.size() != 3) throw tf::InvalidArgumentError("CausalBlock: expected 3 sublayers");
    return L::Layer(std::make_shared<CausalBlockImpl>(
        c.name(), s[0], L::MultiHeadAttention(s[1]), s[2]));  // checked: a MultiHeadAttention
  });
  const std::string path = dir.file("causal.safetensors");
  tf::Model loaded = round_trip(model, path);
  CHECK(has_version(path, 2));  // attention built from {query, value, key}
  const L::Layer attention = loaded.layers()[1].impl()->sublayers()[1];
  CHECK(attention.impl()->build_input_shapes().size() == 3);
  CHECK(values(loaded(ids)) == values(model(ids)));
  // The handle conversion refuses another layer type.
  CHECK_THROWS_AS(L::MultiHeadAttention(L::Dense(2)), tf::InvalidArgumentError);
}

TEST_CASE("load_model: Conv2DTranspose, DepthwiseConv2D and RandomTranslation",
          "[model_save][layer_configs]") {
  test::TempDir dir("layer_configs");
  tf::random::set_seed(29);
  tf::Model model(L::Sequential({L::DepthwiseConv2D({.kernel_size = {2, 2},
                                                     .strides = {1, 1},
                                                     .padding = "same",
                                                     .depth_multiplier = 2,
                                                     .activation = "relu"}),
                                 L::RandomTranslation({.height_factor = {-0.2, 0.1},
                                                       .width_factor = 0.25,
                                                       .fill_mode = "constant",
                                                       .interpolation = "nearest",
                                                       .fill_value = 0.5,
                                                       .seed = 4}),
                                 L::Conv2DTranspose({.filters = 3,
                                                     .kernel_size = {3, 3},
                                                     .strides = {2, 2},
                                                     .padding = "same",
                                                     .output_padding = L::Size2{1, 0},
                                                     .activation = "tanh"}),
                                 L::Conv2DTranspose({.filters = 2, .kernel_size = {2, 3}})}));
  const tf::Tensor x = tf::random::normal({2, 4, 5, 2});
  model(x);
  perturb(model, 6);
  tf::Model loaded = round_trip(model, dir.file("conv_t.safetensors"));
  CHECK(values(loaded(x)) == values(model(x)));
  CHECK(loaded(x).shape() == model(x).shape());
  // The translation's seed and factors came back: the first training calls agree.
  CHECK(values(loaded(x, true)) == values(model(x, true)));
  const auto t = loaded.layers()[1].impl()->get_config();
  CHECK(t.get_string("fill_mode") == "constant");
  CHECK(t.get_string("interpolation") == "nearest");
  CHECK(t.get_double("fill_value") == 0.5);
  CHECK(loaded.layers()[2].impl()->get_config().get_ints("output_padding") ==
        std::vector<int64_t>{1, 0});
  CHECK_FALSE(loaded.layers()[3].impl()->get_config().has("output_padding"));
  CHECK(loaded.layers()[0].impl()->get_config().get_int("depth_multiplier") == 2);
}

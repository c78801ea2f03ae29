// tf::layers (issue #12): layers with several inputs, user-defined layers over tracked
// sublayers, and the new layers. Forward values are checked against PyTorch (python3-torch) on
// the same inputs and weights: test/nn/reference/layers_ext_reference.py prints the constants
// below from det() values computed the same way. Gradients: float64 finite differences.
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "test_util.hpp"

namespace tf = tapeflow;
namespace L = tapeflow::layers;
namespace M = Catch::Matchers;
using Vec = std::vector<double>;

namespace {

// scale·sin(0.37·i + seed) over the flat index, rounded to float32 (as the reference script).
tf::Tensor det(const tf::Shape& shape,
               double seed,
               double scale = 1.0,
               tf::DType dtype = tf::float32) {
  std::vector<float> v(size_t(shape.num_elements()));
  for (size_t i = 0; i < v.size(); ++i) v[i] = float(scale * std::sin(0.37 * double(i) + seed));
  return tf::cast(tf::constant(v, shape), dtype);
}

Vec values(const tf::Tensor& t) { return t.to_vector<double>(); }

auto near(const Vec& expected, double margin = 2e-5) { return M::Approx(expected).margin(margin); }

std::vector<std::string> names(const std::vector<tf::Variable>& vars) {
  std::vector<std::string> n;
  for (const tf::Variable& v : vars) n.push_back(v.name());
  return n;
}

// ---- PyTorch reference values ----------------------------------------------------------------
const Vec kLayerNorm = {-0.3897793, 0.1868198,  -0.098102,  -0.4244262, 0.6673758,  0.05500014,
                        -0.3689365, -0.4332922, 0.7932831,  -0.2090609, -0.468369,  -0.4176686,
                        -0.5110201, -0.2922842, -0.2007169, -0.3902183, -0.6514632, -0.1267074,
                        -0.1246884, -0.3989842, 0.6343786,  0.07765418, -0.3554684, -0.4342606};
const Vec kMha = {0.02533084, 0.01722646,  0.006790564, -0.004564396, 0.03417664, 0.02669744,
                  0.01560487, 0.002400258, 0.04886305,  0.04268708,   0.0307336,  0.01462049,
                  0.06237825, 0.05699437,  0.04389657,  0.02485758,   0.06376705, 0.05682887,
                  0.04219917, 0.02185802,  0.06374996,  0.05745454,   0.04338292, 0.02343962};
const Vec kMhaScores = {0.2115645, 0.2045108, 0.1715358, 0.1955106, 0.2168783, 0.2010363, 0.2004586,
                        0.1973741, 0.1996419, 0.2014891, 0.1797201, 0.1923526, 0.2507626, 0.2024347,
                        0.1747301, 0.1871535, 0.2272876, 0.194546,  0.1745334, 0.2164795, 0.1988503,
                        0.2024491, 0.1995832, 0.1975819, 0.2015355, 0.2097813, 0.1762247, 0.2057175,
                        0.2248689, 0.1834076, 0.2096852, 0.2058777, 0.1736667, 0.1942689, 0.2165015,
                        0.1926125, 0.1919576, 0.2239596, 0.2064142, 0.1850561, 0.1950268, 0.1954338,
                        0.2152347, 0.2036598, 0.1906448, 0.197928,  0.2057293, 0.1977236, 0.1944333,
                        0.2041857, 0.2144025, 0.1756679, 0.1973734, 0.2259116, 0.1866446, 0.2064349,
                        0.1886465, 0.1995018, 0.2116843, 0.1937324};
const Vec kMhaMasked = {0.1142924,  0.1193703,     0.1082921,    0.08255699, 0.01222157,
                        0.00635862, -0.0003649425, -0.007039102, 0.07573896, 0.06961039,
                        0.05406038, 0.03119356,    0.1845531,    0.1801796,  0.1514196,
                        0.1021657,  0.0934075,     0.08968887,   0.07383128, 0.04798097,
                        0.05148625, 0.04240601,    0.02758632,   0.009032951};
const Vec kSimpleRnnSeq = {-0.3911268,
                           -0.5015556,
                           -0.547643,
                           0.667045,
                           0.4500952,
                           0.09830244,
                           -0.07852769,
                           0.1556077,
                           0.3550591,
                           -0.5482856,
                           -0.3546168,
                           -0.07518643,
                           -0.2492948,
                           -0.3597493,
                           -0.4198949,
                           0.4863182,
                           0.206445,
                           -0.1397445};
const Vec kLstmSeq = {0.0545606,
                      0.05664854,
                      0.05139887,
                      0.004790568,
                      0.024492,
                      0.04096149,
                      -0.09467823,
                      -0.09000529,
                      -0.0727917,
                      -0.03758782,
                      -0.05709127,
                      -0.06925999,
                      0.02493383,
                      0.007973969,
                      -0.008485941,
                      0.01853899,
                      0.02559926,
                      0.02869711};
const Vec kLstmC = {-0.2202473, -0.1935492, -0.1439787, 0.03423978, 0.04711629, 0.05320306};
const Vec kLstmBackwardSeq = {-0.09721798,
                              -0.1011696,
                              -0.09170722,
                              -0.08275542,
                              -0.06468625,
                              -0.03810564,
                              0.007490491,
                              0.02180819,
                              0.03288591,
                              0.005795811,
                              0.02230692,
                              0.03547264,
                              0.05601061,
                              0.06110278,
                              0.05773797,
                              -0.009272008,
                              -0.02666257,
                              -0.04045721};
const Vec kGruSeq = {-0.0811506,
                     -0.02499084,
                     0.04053296,
                     0.02458572,
                     0.0789331,
                     0.124248,
                     0.1409242,
                     0.1271729,
                     0.1033451,
                     0.004435004,
                     -0.02086166,
                     -0.04326555,
                     -0.08671501,
                     -0.05626176,
                     -0.01162964,
                     -0.02183908,
                     0.03920801,
                     0.09638351};
const Vec kConv1dValid = {-0.7688129,
                          -0.8804811,
                          0.8211193,
                          0.2753101,
                          1.605276,
                          1.212621,
                          -1.375951,
                          -1.09966,
                          -0.2522206,
                          -0.5571875,
                          1.257868,
                          0.6914413};
const Vec kConv1dCausal = {0.2607797,  0.3508169,  -0.4830139, -0.0727655, -0.7688129,
                           -0.8804811, 0.8211193,  0.2753101,  1.605276,   1.212621,
                           0.4363465,  0.2155375,  0.3214372,  0.7541376,  -1.375951,
                           -1.09966,   -0.2522206, -0.5571875, 1.257868,   0.6914413};
const Vec kConv1dSame2 = {-0.4830139,
                          -0.0727655,
                          0.8211193,
                          0.2753101,
                          0.3720029,
                          0.7534666,
                          0.3214372,
                          0.7541376,
                          -0.2522206,
                          -0.5571875,
                          1.135911,
                          1.328118};

}  // namespace

// ---- several inputs --------------------------------------------------------------------------

TEST_CASE("merging layers take a list of inputs: Add, Subtract, Multiply, Average, Max, Min",
          "[layers_ext]") {
  auto a = tf::constant({{1.f, 2.f}, {3.f, 4.f}});
  auto b = tf::constant({{10.f, 20.f}, {30.f, 40.f}});
  auto c = tf::constant({{-1.f, 5.f}, {0.f, 1.f}});
  CHECK(values(L::Add()({a, b, c})) == Vec{10, 27, 33, 45});
  CHECK(values(L::Subtract()({b, a})) == Vec{9, 18, 27, 36});
  CHECK(values(L::Multiply()({a, b})) == Vec{10, 40, 90, 160});
  CHECK(values(L::Average()({a, b})) == Vec{5.5, 11, 16.5, 22});
  CHECK(values(L::Maximum()({a, c})) == Vec{1, 5, 3, 4});
  CHECK(values(L::Minimum()({a, c})) == Vec{-1, 2, 0, 1});
  // Keras broadcasts axes of length 1.
  CHECK(values(L::Add()({a, tf::constant({{100.f, 200.f}})})) == Vec{101, 202, 103, 204});
}

TEST_CASE("merging layers reject mismatched shapes, one tensor, and Subtract of three",
          "[layers_ext]") {
  L::Add add("my_add");
  auto a = tf::ones({2, 3}), b = tf::ones({2, 4});
  CHECK_THROWS_AS(add({a, b}), tf::InvalidArgumentError);
  CHECK_THROWS_WITH(
      add({a, b}),
      Catch::Contains("\"my_add\"") && Catch::Contains("(2, 3)") && Catch::Contains("(2, 4)"));
  CHECK_THROWS_WITH(add(a), Catch::Contains("list of inputs"));
  CHECK_THROWS_WITH(add(std::vector<tf::Tensor>{a}), Catch::Contains("at least 2 inputs"));
  CHECK_THROWS_WITH(L::Subtract()({a, a, a}), Catch::Contains("exactly 2 inputs"));
  CHECK_THROWS_WITH(L::Dense(2)({a, a}), Catch::Contains("expects 1 input"));
}

TEST_CASE("Concatenate joins along axis; other axes must agree", "[layers_ext]") {
  auto a = tf::constant({{1.f, 2.f}, {3.f, 4.f}});
  auto b = tf::constant({{5.f}, {6.f}});
  tf::Tensor y = L::Concatenate()({a, b});
  CHECK(y.shape() == tf::Shape{2, 3});
  CHECK(values(y) == Vec{1, 2, 5, 3, 4, 6});
  CHECK(values(L::Concatenate({.axis = 0})({a, a})) == Vec{1, 2, 3, 4, 1, 2, 3, 4});
  CHECK_THROWS_AS(L::Concatenate({.axis = 0})({a, b}), tf::InvalidArgumentError);
  CHECK_THROWS_WITH(L::Concatenate({.axis = 0})({a, b}),
                    Catch::Contains("matching shapes") && Catch::Contains("(2, 1)"));
}

// ---- user-defined layers -----------------------------------------------------------------

namespace {

// A residual block written as user code: two Dense layers and a LayerNormalization, declared
// once with track(), and an Add of the shortcut.
class ResidualBlockImpl : public L::Layer::Impl {
 public:
  explicit ResidualBlockImpl(int64_t width)
      : Impl(L::unique_layer_name("residual_block")),
        dense1_(track(L::Dense(width, "relu"))),
        dense2_(track(L::Dense(width))),
        norm_(track(L::LayerNormalization())) {}

  tf::Tensor call(const tf::Tensor& x, bool training) override {
    tf::Tensor y = dense2_(dense1_(x, training), training);
    return norm_(L::Add()({x, y}), training);
  }

 private:
  L::Dense dense1_, dense2_;
  L::LayerNormalization norm_;
};

// A pre-LayerNorm transformer block: causal self-attention and a GELU MLP, each residual.
class TransformerBlockImpl : public L::Layer::Impl {
 public:
  TransformerBlockImpl(int64_t width, int64_t heads)
      : Impl(L::unique_layer_name("transformer_block")),
        ln1_(track(L::LayerNormalization())),
        attention_(track(L::MultiHeadAttention({.num_heads = heads, .key_dim = width / heads}))),
        ln2_(track(L::LayerNormalization())),
        up_(track(L::Dense(4 * width, "gelu"))),
        down_(track(L::Dense(width))) {}

  tf::Tensor call(const tf::Tensor& x, bool training) override {
    tf::Tensor h = ln1_(x, training);
    x_attention_ =
        attention_(h, h, h, {.attention_mask = {}, .use_causal_mask = true, .training = training});
    tf::Tensor y = x + x_attention_;
    return y + down_(up_(ln2_(y, training), training), training);
  }

 private:
  L::LayerNormalization ln1_;
  L::MultiHeadAttention attention_;
  L::LayerNormalization ln2_;
  L::Dense up_, down_;
  tf::Tensor x_attention_;
};

}  // namespace

TEST_CASE("a user-defined residual block: tracked sublayers' variables, checkpoints, gradients",
          "[layers_ext]") {
  L::clear_session();
  L::Layer block(std::make_shared<ResidualBlockImpl>(3));
  CHECK(block.trainable_variables().empty());  // built on the first call, as Keras
  auto x = det({2, 3}, 1.0, 1.0, tf::float64);
  tf::Tensor y = block(x);
  CHECK(y.shape() == tf::Shape{2, 3});
  CHECK(y.dtype() == tf::float64);
  CHECK(names(block.trainable_variables()) == std::vector<std::string>{"dense/kernel",
                                                                       "dense/bias",
                                                                       "dense_1/kernel",
                                                                       "dense_1/bias",
                                                                       "layer_normalization/gamma",
                                                                       "layer_normalization/beta"});
  CHECK(block.impl()->sublayers().size() == 3);

  // A checkpoint of the block restores into a fresh block of the same architecture.
  auto dir = std::filesystem::temp_directory_path() / "tapeflow_layers_ext_ckpt";
  std::filesystem::remove_all(dir);
  std::string path = tf::train::Checkpoint({}, {{"model", block}}).save((dir / "ckpt").string());
  L::Layer fresh(std::make_shared<ResidualBlockImpl>(3));
  fresh(x);
  CHECK(values(fresh(x)) != values(y));
  tf::train::Checkpoint({}, {{"model", fresh}}).restore(path);
  CHECK_THAT(values(fresh(x)), M::Approx(values(y)));
  std::filesystem::remove_all(dir);

  // Gradients flow through the tracked layers and the Add.
  tf::GradientTape tape;
  tf::Tensor loss = tf::reduce_sum(tf::square(block(x)));
  auto grads = tape.gradient(loss, block.trainable_variables());
  for (const tf::Tensor& g : grads) CHECK(g.defined());
  CHECK(tf::test::max_gradient_error([&](auto& in) { return block(in[0]); }, {x}) < 1e-6);
}

TEST_CASE("a user-defined transformer block: causal attention, MLP, its variables",
          "[layers_ext]") {
  L::clear_session();
  L::Layer block(std::make_shared<TransformerBlockImpl>(4, 2));
  auto x = det({2, 3, 4}, 2.0, 1.0, tf::float64);
  tf::Tensor y = block(x);
  CHECK(y.shape() == tf::Shape{2, 3, 4});
  CHECK(block.trainable_variables().size() == 2 + 8 + 2 + 4);
  CHECK(names(block.trainable_variables())[2] == "multi_head_attention/query/kernel");
  // Causality: changing the last step leaves the outputs of the earlier steps unchanged.
  tf::Tensor x2 =
      tf::concat({tf::slice(x, {0, 0, 0}, {2, 2, 4}), tf::ones({2, 1, 4}, tf::float64)}, 1);
  tf::Tensor y2 = block(x2);
  CHECK_THAT(values(tf::slice(y2, {0, 0, 0}, {2, 2, 4})),
             M::Approx(values(tf::slice(y, {0, 0, 0}, {2, 2, 4}))));
  CHECK(tf::test::max_gradient_error([&](auto& in) { return block(in[0]); }, {x}) < 1e-6);
}

namespace {
// docs/training.md's residual block, verbatim.
class ConvResidualBlockImpl : public L::Layer::Impl {
 public:
  explicit ConvResidualBlockImpl(int64_t filters)
      : Impl(L::unique_layer_name("residual_block")),
        conv1_(track(L::Conv2D({.filters = filters, .padding = "same", .use_bias = false}))),
        bn1_(track(L::BatchNormalization())),
        conv2_(track(L::Conv2D({.filters = filters, .padding = "same", .use_bias = false}))),
        bn2_(track(L::BatchNormalization())) {}

  tf::Tensor call(const tf::Tensor& x, bool training) override {
    tf::Tensor y = tf::nn::relu(bn1_(conv1_(x), training));
    y = bn2_(conv2_(y), training);
    return tf::nn::relu(L::Add()({x, y}));
  }

 private:
  L::Conv2D conv1_;
  L::BatchNormalization bn1_;
  L::Conv2D conv2_;
  L::BatchNormalization bn2_;
};
}  // namespace

TEST_CASE("a convolutional residual block inside a Sequential: variables in order",
          "[layers_ext]") {
  L::clear_session();
  L::Sequential net({L::Conv2D({.filters = 2, .kernel_size = 1}),
                     L::Layer(std::make_shared<ConvResidualBlockImpl>(2)),
                     L::GlobalAveragePooling2D(),
                     L::Dense(3)});
  tf::Tensor y = net(det({2, 4, 4, 1}, 1.0), true);
  CHECK(y.shape() == tf::Shape{2, 3});
  CHECK(names(net.trainable_variables()) == std::vector<std::string>{"conv2d/kernel",
                                                                     "conv2d/bias",
                                                                     "conv2d_1/kernel",
                                                                     "batch_normalization/gamma",
                                                                     "batch_normalization/beta",
                                                                     "conv2d_2/kernel",
                                                                     "batch_normalization_1/gamma",
                                                                     "batch_normalization_1/beta",
                                                                     "dense/kernel",
                                                                     "dense/bias"});
  CHECK(net.non_trainable_variables().size() == 4);
}

TEST_CASE("track rejects the layer itself and undefined layers", "[layers_ext]") {
  struct Bad : L::Layer::Impl {
    Bad() : Impl("bad") {}
    tf::Tensor call(const tf::Tensor& x, bool) override { return x; }
    void add_undefined() { track(L::Layer()); }
  };
  auto bad = std::make_shared<Bad>();
  CHECK_THROWS_AS(bad->add_undefined(), tf::InvalidArgumentError);
}

// ---- LayerNormalization, Embedding ---------------------------------------------------------

TEST_CASE("LayerNormalization matches PyTorch's layer_norm (epsilon 1e-3)", "[layers_ext]") {
  L::LayerNormalization ln;
  ln.build({2, 3, 4});
  CHECK(ln.gamma().shape() == tf::Shape{4});
  CHECK(values(ln.gamma()) == Vec{1, 1, 1, 1});
  CHECK(values(ln.beta()) == Vec{0, 0, 0, 0});
  ln.gamma().assign(det({4}, 2.0, 0.5));
  ln.beta().assign(det({4}, 3.0, 0.5));
  CHECK_THAT(values(ln(det({2, 3, 4}, 1.0))), near(kLayerNorm));

  L::LayerNormalization two({.axis = {1, 2}, .center = false});
  auto x = det({2, 3, 4}, 1.0, 1.0, tf::float64);
  tf::Tensor y = two(x);
  CHECK(two.gamma().shape() == tf::Shape{3, 4});
  CHECK_FALSE(two.beta().defined());
  CHECK(std::abs(tf::reduce_mean(y, {1, 2}).to_vector<double>()[0]) < 1e-12);
  L::LayerNormalization ln64;
  ln64.build(x.shape(), tf::float64);
  ln64.beta().assign(det({4}, 3.0, 0.5, tf::float64));
  CHECK(tf::test::max_gradient_error([&](auto& in) { return ln64(in[0]); }, {x}) < 1e-6);
  CHECK(tf::test::max_gradient_error([&](auto& in) { return two(in[0]); }, {x}) < 1e-6);
  CHECK_THROWS_AS(ln(tf::ones({2, 3, 5})), tf::InvalidArgumentError);
}

TEST_CASE("Embedding looks up rows; uniform(-0.05, 0.05) table; gradient scatters to rows",
          "[layers_ext]") {
  L::Embedding emb(5, 3);
  auto idx = tf::constant({{0, 4}, {4, 2}});
  tf::Tensor y = emb(idx);
  CHECK(y.shape() == tf::Shape{2, 2, 3});
  CHECK(emb.embeddings().shape() == tf::Shape{5, 3});
  CHECK(emb.embeddings().name() == emb.name() + "/embeddings");
  CHECK(tf::reduce_max(tf::abs(emb.embeddings().value())).item<float>() <= 0.05f);
  emb.embeddings().assign(tf::reshape(tf::range(0.f, 15.f), {5, 3}));
  CHECK(values(emb(idx)) == Vec{0, 1, 2, 12, 13, 14, 12, 13, 14, 6, 7, 8});
  tf::GradientTape tape;
  tf::Tensor loss = tf::reduce_sum(emb(idx));
  tf::Tensor g = tape.gradient(loss, std::vector<tf::Variable>{emb.embeddings()})[0];
  CHECK(values(g) == Vec{1, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0, 0, 2, 2, 2});
  CHECK_THROWS_AS(L::Embedding(0, 3), tf::InvalidArgumentError);
}

// ---- MultiHeadAttention ------------------------------------------------------------------

namespace {
L::MultiHeadAttention reference_mha() {
  L::MultiHeadAttention mha({.num_heads = 2, .key_dim = 3, .value_dim = 2});
  auto q = det({2, 3, 4}, 4.0), v = det({2, 5, 6}, 5.0), k = det({2, 5, 5}, 6.0);
  mha(q, v, k);
  auto vars = mha.trainable_variables();
  REQUIRE(vars.size() == 8);
  const double seeds[] = {7, 8, 9, 10, 11, 12, 13, 14};
  for (size_t i = 0; i < 8; ++i) vars[i].assign(det(vars[i].shape(), seeds[i], i % 2 ? 0.1 : 0.5));
  return mha;
}
}  // namespace

TEST_CASE("MultiHeadAttention: Keras' weight shapes and names, values as PyTorch", "[layers_ext]") {
  L::clear_session();
  L::MultiHeadAttention mha = reference_mha();
  auto vars = mha.trainable_variables();
  CHECK(names(vars) == std::vector<std::string>{"multi_head_attention/query/kernel",
                                                "multi_head_attention/query/bias",
                                                "multi_head_attention/key/kernel",
                                                "multi_head_attention/key/bias",
                                                "multi_head_attention/value/kernel",
                                                "multi_head_attention/value/bias",
                                                "multi_head_attention/attention_output/kernel",
                                                "multi_head_attention/attention_output/bias"});
  CHECK(vars[0].shape() == tf::Shape{4, 2, 3});
  CHECK(vars[2].shape() == tf::Shape{5, 2, 3});
  CHECK(vars[4].shape() == tf::Shape{6, 2, 2});
  CHECK(vars[6].shape() == tf::Shape{2, 2, 4});
  CHECK(vars[7].shape() == tf::Shape{4});
  auto q = det({2, 3, 4}, 4.0), v = det({2, 5, 6}, 5.0), k = det({2, 5, 5}, 6.0);
  auto [out, scores] = mha.call_with_scores(q, v, k);
  CHECK(out.shape() == tf::Shape{2, 3, 4});
  CHECK(scores.shape() == tf::Shape{2, 2, 3, 5});
  CHECK_THAT(values(out), near(kMha));
  CHECK_THAT(values(scores), near(kMhaScores));
  CHECK_THAT(values(mha({q, v, k})), near(kMha));

  // Causal mask and a padding mask [batch, target, source] (0/1), combined.
  std::vector<float> pad{1, 1, 1, 1, 0, 1, 1, 1, 0, 0};
  tf::Tensor m = tf::tile(tf::reshape(tf::constant(pad, tf::Shape{2, 5}), {2, 1, 5}), {1, 3, 1});
  tf::Tensor masked =
      mha(q, v, k, {.attention_mask = m, .use_causal_mask = true, .training = false});
  CHECK_THAT(values(masked), near(kMhaMasked));
}

TEST_CASE("MultiHeadAttention: defaults, self-attention, dropout only in training, errors",
          "[layers_ext]") {
  L::MultiHeadAttention mha(
      {.num_heads = 2, .key_dim = 4, .dropout = 0.5, .output_shape = 3, .seed = 1});
  auto x = det({2, 3, 5}, 1.0);
  tf::Tensor y = mha(x, x);
  CHECK(y.shape() == tf::Shape{2, 3, 3});
  auto vars = mha.trainable_variables();
  CHECK(vars[4].shape() == tf::Shape{5, 2, 4});  // value_dim defaults to key_dim
  // Glorot with Keras' fans for [5, 2, 4]: fan_in 2·5, fan_out 4·5.
  CHECK(tf::reduce_max(tf::abs(vars[0].value())).item<float>() <= float(std::sqrt(6.0 / 30.0)));
  CHECK(values(mha(x, x)) == values(y));
  CHECK(values(mha(x)) == values(y));
  CHECK(values(mha(x, x, x, {.attention_mask = {}, .use_causal_mask = false, .training = true})) !=
        values(y));
  CHECK_THROWS_AS(L::MultiHeadAttention({.num_heads = 0, .key_dim = 4}), tf::InvalidArgumentError);
  CHECK_THROWS_WITH(L::MultiHeadAttention({.num_heads = -1, .key_dim = 4}),
                    Catch::Contains("num_heads"));
  CHECK_THROWS_WITH(mha(x, det({3, 4, 5}, 0.0)), Catch::Contains("batch size"));
  CHECK_THROWS_WITH(mha(tf::ones({2, 5})), Catch::Contains("expected min_ndim=3"));
  CHECK_THROWS_WITH(
      mha(x,
          x,
          x,
          {.attention_mask = tf::ones({2, 3, 4}), .use_causal_mask = false, .training = false}),
      Catch::Contains("attention_mask"));
}

TEST_CASE("MultiHeadAttention gradients match float64 finite differences", "[layers_ext][grad]") {
  L::MultiHeadAttention mha({.num_heads = 2, .key_dim = 2});
  auto q = det({1, 3, 4}, 1.0, 1.0, tf::float64), v = det({1, 2, 4}, 2.0, 1.0, tf::float64);
  CHECK(tf::test::max_gradient_error([&](auto& in) { return mha(in[0], in[1]); }, {q, v}) < 1e-6);
  CHECK(tf::test::max_gradient_error(
            [&](auto& in) {
              return mha(in[0],
                         in[1],
                         in[1],
                         {.attention_mask = {}, .use_causal_mask = true, .training = false});
            },
            {q, det({1, 3, 4}, 3.0, 1.0, tf::float64)}) < 1e-6);
}

// ---- recurrent layers ----------------------------------------------------------------------

TEST_CASE("SimpleRNN, LSTM and GRU outputs match PyTorch with the same weights", "[layers_ext]") {
  auto x = det({2, 3, 4}, 15.0);
  L::SimpleRNN rnn({.units = 3, .return_sequences = true});
  rnn.build({2, 3, 4});
  rnn.kernel().assign(det({4, 3}, 16.0, 0.5));
  rnn.recurrent_kernel().assign(det({3, 3}, 17.0, 0.5));
  rnn.bias().assign(det({3}, 18.0, 0.1));
  CHECK_THAT(values(rnn(x)), near(kSimpleRnnSeq));

  L::LSTM lstm({.units = 3, .return_sequences = true});
  lstm.build({2, 3, 4});
  lstm.kernel().assign(det({4, 12}, 19.0, 0.5));
  lstm.recurrent_kernel().assign(det({3, 12}, 20.0, 0.5));
  lstm.bias().assign(det({12}, 21.0, 0.1));
  auto out = lstm.call_with_state(x);
  REQUIRE(out.size() == 3);
  CHECK_THAT(values(out[0]), near(kLstmSeq));
  CHECK_THAT(values(out[1]), near(values(tf::slice(out[0], {0, 2, 0}, {2, 1, 3}))));
  CHECK_THAT(values(out[2]), near(kLstmC));

  L::GRU gru({.units = 3, .return_sequences = true});
  gru.build({2, 3, 4});
  CHECK(gru.bias().shape() == tf::Shape{2, 9});
  gru.kernel().assign(det({4, 9}, 22.0, 0.5));
  gru.recurrent_kernel().assign(det({3, 9}, 23.0, 0.5));
  gru.bias().assign(det({2, 9}, 24.0, 0.1));
  CHECK_THAT(values(gru(x)), near(kGruSeq));

  L::GRU last({.units = 3});
  last.build({2, 3, 4});
  for (int i = 0; i < 3; ++i)
    last.trainable_variables()[i].assign(gru.trainable_variables()[i].value());
  CHECK_THAT(values(last(x)), near(values(tf::slice(gru(x), {0, 2, 0}, {2, 1, 3}))));
}

TEST_CASE("go_backwards reads the sequence last step first; Bidirectional merges both ways",
          "[layers_ext]") {
  auto x = det({2, 3, 4}, 15.0);
  L::LSTM back({.units = 3, .return_sequences = true, .go_backwards = true});
  back.build({2, 3, 4});
  back.kernel().assign(det({4, 12}, 19.0, 0.5));
  back.recurrent_kernel().assign(det({3, 12}, 20.0, 0.5));
  back.bias().assign(det({12}, 21.0, 0.1));
  CHECK_THAT(values(back(x)), near(kLstmBackwardSeq));

  L::clear_session();
  L::Bidirectional bi(L::LSTM({.units = 3, .return_sequences = true}));
  tf::Tensor y = bi(x);
  CHECK(y.shape() == tf::Shape{2, 3, 6});
  CHECK(bi.trainable_variables().size() == 6);
  CHECK(names(bi.trainable_variables())[0] == "forward_lstm/kernel");
  CHECK(names(bi.trainable_variables())[3] == "backward_lstm/kernel");
  tf::Tensor yf = bi.forward_layer()(x), yb = bi.backward_layer()(x);
  CHECK_THAT(values(y), near(values(tf::concat({yf, tf::reverse(yb, {1})}, -1)), 1e-6));
  L::Bidirectional sum(L::GRU({.units = 2}), {.merge_mode = "sum"});
  CHECK(sum(x).shape() == tf::Shape{2, 2});
  CHECK_THROWS_AS(L::Bidirectional(L::GRU({.units = 2}), {.merge_mode = "max"}),
                  tf::InvalidArgumentError);
}

TEST_CASE("recurrent initialisers: Glorot kernel, orthogonal recurrent kernel, forget bias 1",
          "[layers_ext]") {
  L::LSTM lstm({.units = 4});
  lstm.build({1, 2, 3});
  CHECK(lstm.kernel().shape() == tf::Shape{3, 16});
  CHECK(lstm.recurrent_kernel().shape() == tf::Shape{4, 16});
  tf::Tensor u = lstm.recurrent_kernel().value();
  CHECK_THAT(values(tf::matmul(u, u, false, true)), near(values(tf::eye(4)), 1e-5));
  CHECK(values(lstm.bias()) == Vec{0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0});
  L::LSTM plain({.units = 2, .unit_forget_bias = false});
  plain.build({1, 2, 3});
  CHECK(values(plain.bias()) == Vec(8, 0.0));
  L::GRU gru({.units = 2, .reset_after = false});
  gru.build({1, 2, 3});
  CHECK(gru.bias().shape() == tf::Shape{6});
  CHECK(tf::reduce_max(tf::abs(lstm.kernel().value())).item<float>() <= float(std::sqrt(6.0 / 19)));
  CHECK_THROWS_AS(L::LSTM({.units = 0}), tf::InvalidArgumentError);
  CHECK_THROWS_WITH(lstm(tf::ones({2, 3})), Catch::Contains("expected min_ndim=3"));
  CHECK_THROWS_WITH(lstm(tf::ones({2, 3, 5})), Catch::Contains("axis -1"));
}

TEST_CASE("recurrent gradients match float64 finite differences (inputs and initial state)",
          "[layers_ext][grad]") {
  auto x = det({2, 3, 2}, 1.0, 1.0, tf::float64);
  auto h0 = det({2, 2}, 2.0, 0.5, tf::float64), c0 = det({2, 2}, 3.0, 0.5, tf::float64);
  L::SimpleRNN rnn({.units = 2, .return_sequences = true});
  L::LSTM lstm({.units = 2, .return_sequences = true});
  L::GRU gru({.units = 2});
  L::GRU gru_before({.units = 2, .reset_after = false, .go_backwards = true});
  for (L::RecurrentLayer* l : std::vector<L::RecurrentLayer*>{&rnn, &lstm, &gru, &gru_before}) {
    l->build(x.shape(), tf::float64);
    l->bias().assign(det(l->bias().shape(), 4.0, 0.3, tf::float64));
  }
  CHECK(tf::test::max_gradient_error([&](auto& in) { return rnn(in[0]); }, {x}) < 1e-6);
  CHECK(tf::test::max_gradient_error(
            [&](auto& in) {
              return lstm.call_with_state(in[0], false, {in[1], in[2]})[0];
            },
            {x, h0, c0}) < 1e-6);
  CHECK(tf::test::max_gradient_error([&](auto& in) { return gru(in[0]); }, {x}) < 1e-6);
  CHECK(tf::test::max_gradient_error(
            [&](auto& in) { return gru_before.call_with_state(in[0], false, {in[1]})[1]; },
            {x, h0}) < 1e-6);
}

// ---- Conv1D and shape layers ---------------------------------------------------------------

TEST_CASE("Conv1D valid, causal and same/stride 2 match PyTorch's conv1d", "[layers_ext]") {
  auto x = det({2, 5, 3}, 25.0);
  for (const char* padding : {"valid", "causal", "same"}) {
    INFO(padding);
    const bool same = std::string(padding) == "same";
    L::Conv1D conv({.filters = 2, .kernel_size = 3, .strides = same ? 2 : 1, .padding = padding});
    conv.build({2, 5, 3});
    CHECK(conv.kernel().shape() == tf::Shape{3, 3, 2});
    conv.kernel().assign(det({3, 3, 2}, 26.0, 0.5));
    conv.bias().assign(det({2}, 27.0, 0.1));
    tf::Tensor y = conv(x);
    CHECK(y.shape() == conv.compute_output_shape(x.shape()));
    const Vec& expected = same                              ? kConv1dSame2
                          : std::string(padding) == "valid" ? kConv1dValid
                                                            : kConv1dCausal;
    CHECK_THAT(values(y), near(expected));
  }
  L::Conv1D conv({.filters = 2, .kernel_size = 2, .padding = "causal"});
  auto x64 = det({1, 4, 2}, 1.0, 1.0, tf::float64);
  CHECK(tf::test::max_gradient_error([&](auto& in) { return conv(in[0]); }, {x64}) < 1e-6);
  CHECK_THROWS_AS(L::Conv1D({.filters = 2, .padding = "full"}), tf::InvalidArgumentError);
}

TEST_CASE("Activation, Reshape and Permute", "[layers_ext]") {
  auto x = tf::reshape(tf::range(0.f, 12.f), {2, 3, 2});
  CHECK(values(L::Activation("relu")(tf::constant({-1.f, 2.f}))) == Vec{0, 2});
  CHECK_THROWS_AS(L::Activation("nope"), tf::InvalidArgumentError);
  tf::Tensor r = L::Reshape({2, -1})(x);
  CHECK(r.shape() == tf::Shape{2, 2, 3});
  CHECK_THROWS_WITH(L::Reshape({5})(x), Catch::Contains("total size"));
  tf::Tensor p = L::Permute({2, 1})(x);
  CHECK(p.shape() == tf::Shape{2, 2, 3});
  CHECK(values(p) == Vec{0, 2, 4, 1, 3, 5, 6, 8, 10, 7, 9, 11});
  CHECK_THROWS_AS(L::Permute({1, 3}), tf::InvalidArgumentError);
  CHECK_THROWS_WITH(L::Permute({2, 1})(tf::ones({2, 2})), Catch::Contains("ndim"));
}

TEST_CASE("global pooling, UpSampling2D and ZeroPadding2D", "[layers_ext]") {
  auto seq = tf::reshape(tf::range(0.f, 12.f), {2, 3, 2});
  CHECK(values(L::GlobalAveragePooling1D()(seq)) == Vec{2, 3, 8, 9});
  CHECK(values(L::GlobalMaxPooling1D()(seq)) == Vec{4, 5, 10, 11});
  CHECK(L::GlobalAveragePooling1D({.keepdims = true})(seq).shape() == tf::Shape{2, 1, 2});
  auto img = tf::reshape(tf::range(0.f, 8.f), {1, 2, 2, 2});
  CHECK(values(L::GlobalAveragePooling2D()(img)) == Vec{3, 4});
  CHECK(values(L::GlobalMaxPooling2D()(img)) == Vec{6, 7});
  CHECK_THROWS_AS(L::GlobalAveragePooling2D()(seq), tf::InvalidArgumentError);

  auto one = tf::reshape(tf::constant({1.f, 2.f, 3.f, 4.f}), {1, 2, 2, 1});
  tf::Tensor up = L::UpSampling2D()(one);
  CHECK(up.shape() == tf::Shape{1, 4, 4, 1});
  CHECK(values(up) == Vec{1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4});
  CHECK(L::UpSampling2D({.size = {1, 3}})(one).shape() == tf::Shape{1, 2, 6, 1});
  tf::Tensor padded = L::ZeroPadding2D()(one);
  CHECK(padded.shape() == tf::Shape{1, 4, 4, 1});
  CHECK(values(padded) == Vec{0, 0, 0, 0, 0, 1, 2, 0, 0, 3, 4, 0, 0, 0, 0, 0});
  CHECK(L::ZeroPadding2D({.top_bottom = {1, 0}, .left_right = {0, 2}})(one).shape() ==
        tf::Shape{1, 3, 4, 1});
  auto x64 = det({1, 2, 2, 2}, 1.0, 1.0, tf::float64);
  CHECK(tf::test::max_gradient_error([](auto& in) { return L::UpSampling2D()(in[0]); }, {x64}) <
        1e-7);
  CHECK(tf::test::max_gradient_error([](auto& in) { return L::GlobalAveragePooling2D()(in[0]); },
                                     {x64}) < 1e-7);
}

TEST_CASE("RandomFlip flips whole images only while training", "[layers_ext]") {
  auto img = tf::reshape(tf::range(0.f, 32.f), {8, 2, 2, 1});
  L::RandomFlip flip({.mode = "horizontal", .seed = 3});
  CHECK(values(flip(img)) == values(img));
  tf::Tensor y = flip(img, true);
  auto lr = tf::reverse(img, {2});
  int flipped = 0;
  for (int64_t i = 0; i < 8; ++i) {
    Vec yi = values(tf::slice(y, {i, 0, 0, 0}, {1, 2, 2, 1}));
    bool same = yi == values(tf::slice(img, {i, 0, 0, 0}, {1, 2, 2, 1}));
    bool mirrored = yi == values(tf::slice(lr, {i, 0, 0, 0}, {1, 2, 2, 1}));
    CHECK((same || mirrored));
    flipped += mirrored;
  }
  CHECK(flipped > 0);
  CHECK(flipped < 8);
  CHECK_THROWS_AS(L::RandomFlip({.mode = "diagonal"}), tf::InvalidArgumentError);
}

// tf::layers: exact outputs with assigned weights, Keras' initialisers and names, lazy building,
// variable order, BatchNormalization's statistics, and gradients through a small model.
#include <cmath>
#include <string>
#include <vector>

#include "test_util.hpp"

namespace tf = tapeflow;
namespace L = tapeflow::layers;
namespace M = Catch::Matchers;
using Vec = std::vector<double>;
using FVec = std::vector<float>;

namespace {

std::vector<std::string> names(const std::vector<tf::Variable>& vars) {
  std::vector<std::string> n;
  for (const tf::Variable& v : vars) n.push_back(v.name());
  return n;
}

Vec values(const tf::Tensor& t) { return t.to_vector<double>(); }

}  // namespace

// ---- Dense --------------------------------------------------------------------------------------

TEST_CASE("Dense computes x·kernel + bias, then the activation", "[layers]") {
  L::Dense dense(2);
  dense.build({1, 3});
  dense.kernel().assign(tf::constant({{1.f, 0.f}, {0.f, 1.f}, {1.f, 1.f}}));
  dense.bias().assign(tf::constant({0.5f, -1.f}));
  tf::Tensor y = dense(tf::constant({{1.f, 2.f, 3.f}, {-1.f, 0.f, 2.f}}));
  CHECK(y.shape() == tf::Shape{2, 2});
  CHECK(y.dtype() == tf::float32);
  CHECK(y.to_vector<float>() == FVec{4.5f, 4.f, 1.5f, 1.f});

  L::Dense relu({.units = 2, .activation = "relu"});
  relu.build({1, 3});
  relu.kernel().assign(dense.kernel().value());
  relu.bias().assign(tf::constant({-5.f, 0.f}));
  CHECK(relu(tf::constant({{1.f, 2.f, 3.f}})).to_vector<float>() == FVec{0.f, 5.f});

  L::Dense no_bias({.units = 1, .use_bias = false});
  no_bias(tf::ones({1, 4}));
  CHECK(no_bias.trainable_variables().size() == 1);
  CHECK_FALSE(no_bias.bias().defined());
}

TEST_CASE("Dense on rank-3 input multiplies on the last axis", "[layers]") {
  L::Dense dense(2, "");
  dense.build({2, 2, 3});
  dense.kernel().assign(tf::constant({{1.f, 0.f}, {0.f, 1.f}, {1.f, 1.f}}));
  tf::Tensor x = tf::reshape(tf::range(0.f, 12.f), {2, 2, 3});
  tf::Tensor y = dense(x);
  CHECK(y.shape() == tf::Shape{2, 2, 2});
  // Rows (0,1,2), (3,4,5), ... map to (x0 + x2, x1 + x2).
  CHECK(y.to_vector<float>() == FVec{2, 3, 8, 9, 14, 15, 20, 21});
  CHECK(dense.compute_output_shape({7, 5, 3}) == tf::Shape{7, 5, 2});
}

TEST_CASE("activations: sigmoid, tanh and softmax rows", "[layers]") {
  auto x = tf::constant({{0.0, 1.0}});
  L::Dense sig(2, "sigmoid"), th(2, "tanh"), sm(2, "softmax");
  for (L::Dense* d : {&sig, &th, &sm}) {
    d->build({1, 2}, tf::float64);
    d->kernel().assign(tf::eye(2, -1, tf::float64));
  }
  CHECK_THAT(values(sig(x)), M::Approx(Vec{0.5, 1 / (1 + std::exp(-1.0))}));
  CHECK_THAT(values(th(x)), M::Approx(Vec{0.0, std::tanh(1.0)}));
  double e = std::exp(1.0);
  CHECK_THAT(values(sm(x)), M::Approx(Vec{1 / (1 + e), e / (1 + e)}));
  CHECK_THROWS_AS(L::Dense(3, "swishy"), tf::InvalidArgumentError);
  CHECK_THROWS_WITH(L::Dense(3, "swishy"),
                    Catch::Contains("Unknown activation function: 'swishy'"));
  CHECK_THROWS_AS(L::Dense(0), tf::InvalidArgumentError);
}

TEST_CASE("Dense kernels are Glorot-uniform within sqrt(6/(fan_in+fan_out)), bias zeros",
          "[layers]") {
  tf::random::set_seed(1);
  L::Dense dense(64);
  dense(tf::zeros({1, 32}));
  const double limit = std::sqrt(6.0 / (32 + 64));  // 0.25
  Vec k = values(dense.kernel().value());
  REQUIRE(k.size() == 32 * 64);
  double lo = 1, hi = -1, mean = 0;
  for (double v : k) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
    mean += v / double(k.size());
  }
  CHECK(lo >= -limit);
  CHECK(hi <= limit);
  CHECK(lo < -0.95 * limit);  // spread over the whole interval
  CHECK(hi > 0.95 * limit);
  CHECK(std::abs(mean) < 0.02);
  CHECK(values(dense.bias().value()) == Vec(64, 0.0));
}

TEST_CASE("tf::random::set_seed makes model initialisation reproducible", "[layers]") {
  auto init = [](uint64_t seed) {
    tf::random::set_seed(seed);
    L::Sequential model({L::Dense(8, "relu"), L::Dense(3)});
    model(tf::zeros({2, 5}));
    Vec all;
    for (const tf::Variable& v : model.trainable_variables()) {
      Vec x = values(v.value());
      all.insert(all.end(), x.begin(), x.end());
    }
    return all;
  };
  Vec a = init(42), b = init(42), c = init(43);
  CHECK(a == b);
  CHECK(a != c);
}

TEST_CASE("layers build lazily on the first call, from the input's last axis", "[layers]") {
  L::Dense dense(4);
  CHECK_FALSE(dense.built());
  CHECK(dense.trainable_variables().empty());
  CHECK_FALSE(dense.kernel().defined());
  tf::Tensor y = dense(tf::ones({2, 3}));
  CHECK(dense.built());
  CHECK(y.shape() == tf::Shape{2, 4});
  CHECK(dense.kernel().shape() == tf::Shape{3, 4});
  CHECK(dense.bias().shape() == tf::Shape{4});
  // Another batch size is fine; another feature size is not.
  CHECK(dense(tf::ones({5, 3})).shape() == tf::Shape{5, 4});
  CHECK_THROWS_AS(dense(tf::ones({2, 5})), tf::InvalidArgumentError);
  CHECK_THROWS_WITH(dense(tf::ones({2, 5})),
                    Catch::Contains("expected axis -1 of input shape to have value 3") &&
                        Catch::Contains("(2, 5)"));
  L::Dense flat(2);
  CHECK_THROWS_WITH(flat(tf::ones({3})), Catch::Contains("expected min_ndim=2, found ndim=1"));
  CHECK_FALSE(flat.built());
}

TEST_CASE("weights take a floating input's dtype; later inputs are cast to it", "[layers]") {
  L::Dense dense(2);
  dense(tf::ones({1, 3}, tf::float64));
  CHECK(dense.kernel().dtype() == tf::float64);
  CHECK(dense(tf::ones({1, 3})).dtype() == tf::float64);
  L::Dense from_int(2);
  CHECK(from_int(tf::constant({{1, 2}})).dtype() == tf::float32);
}

TEST_CASE("layer and variable names follow Keras: dense, dense_1, dense/kernel", "[layers]") {
  L::clear_session();
  L::Dense a(1), b(1);
  L::Conv2D conv({.filters = 2});
  L::BatchNormalization bn;
  L::Dense named({.units = 1, .name = "head"});
  CHECK(a.name() == "dense");
  CHECK(b.name() == "dense_1");
  CHECK(conv.name() == "conv2d");
  CHECK(bn.name() == "batch_normalization");
  CHECK(named.name() == "head");
  CHECK(L::Flatten().name() == "flatten");
  CHECK(L::Dropout(0.5).name() == "dropout");
  CHECK(L::MaxPool2D().name() == "max_pooling2d");
  CHECK(L::AveragePooling2D().name() == "average_pooling2d");
  CHECK(L::Sequential().name() == "sequential");
  a(tf::ones({1, 2}));
  b(tf::ones({1, 2}));
  named(tf::ones({1, 2}));
  bn(tf::ones({2, 3}));
  CHECK(names(a.trainable_variables()) == std::vector<std::string>{"dense/kernel", "dense/bias"});
  CHECK(names(b.variables()) == std::vector<std::string>{"dense_1/kernel", "dense_1/bias"});
  CHECK(names(named.variables()) == std::vector<std::string>{"head/kernel", "head/bias"});
  CHECK(names(bn.variables()) == std::vector<std::string>{"batch_normalization/gamma",
                                                          "batch_normalization/beta",
                                                          "batch_normalization/moving_mean",
                                                          "batch_normalization/moving_variance"});
  L::clear_session();
  CHECK(L::Dense(1).name() == "dense");
}

// ---- Sequential ---------------------------------------------------------------------------------

TEST_CASE("Sequential chains its layers and shares their weights", "[layers]") {
  tf::random::set_seed(3);
  L::Dense first(4, "tanh"), second(2);
  L::Sequential model({first, second});
  auto x = tf::random::normal({3, 5});
  tf::Tensor y = model(x);
  CHECK(y.shape() == tf::Shape{3, 2});
  CHECK(first.built());  // the handles passed in are the layers inside
  CHECK(y.to_vector<float>() == second(first(x)).to_vector<float>());
  CHECK(model.layers().size() == 2);
  CHECK(model.compute_output_shape({9, 5}) == tf::Shape{9, 2});

  L::Sequential grown;
  grown.add(L::Dense(3));
  grown.add(L::Dense(1));
  CHECK(grown(tf::ones({2, 4})).shape() == tf::Shape{2, 1});
  CHECK(grown.layers().size() == 2);
  CHECK_THROWS_AS(grown.add(L::Layer()), tf::InvalidArgumentError);
}

TEST_CASE("trainable_variables are in layer order; variables() puts non-trainable last",
          "[layers]") {
  L::clear_session();
  L::Sequential model({L::Dense(4), L::BatchNormalization(), L::Dropout(0.2), L::Dense(2)});
  CHECK(model.trainable_variables().empty());
  model.build({1, 3});  // Keras' model.build(input_shape): shapes propagate through the layers
  CHECK(model.built());
  CHECK(names(model.trainable_variables()) == std::vector<std::string>{"dense/kernel",
                                                                       "dense/bias",
                                                                       "batch_normalization/gamma",
                                                                       "batch_normalization/beta",
                                                                       "dense_1/kernel",
                                                                       "dense_1/bias"});
  CHECK(names(model.non_trainable_variables()) ==
        std::vector<std::string>{"batch_normalization/moving_mean",
                                 "batch_normalization/moving_variance"});
  CHECK(model.variables().size() == 8);
  CHECK(names(model.variables())[6] == "batch_normalization/moving_mean");
  for (const tf::Variable& v : model.trainable_variables()) CHECK(v.trainable());
  CHECK(model.trainable_variables()[4].shape() == tf::Shape{4, 2});
}

// ---- Flatten, Dropout ---------------------------------------------------------------------------

TEST_CASE("Flatten keeps the batch axis and row-major order", "[layers]") {
  L::Flatten flatten;
  tf::Tensor x = tf::reshape(tf::range(0.f, 24.f), {2, 3, 4});
  tf::Tensor y = flatten(x);
  CHECK(y.shape() == tf::Shape{2, 12});
  CHECK(y.to_vector<float>() == x.to_vector<float>());
  CHECK(flatten(tf::ones({5})).shape() == tf::Shape{5, 1});
  CHECK(flatten(tf::ones({0, 3, 2})).shape() == tf::Shape{0, 6});
  CHECK(flatten.compute_output_shape({8, 7, 7, 16}) == tf::Shape{8, 784});
}

TEST_CASE("Dropout is the identity at inference and drops/rescales while training",
          "[layers][dropout]") {
  CHECK_THROWS_AS(L::Dropout(1.0), tf::InvalidArgumentError);
  CHECK_THROWS_AS(L::Dropout(-0.1), tf::InvalidArgumentError);
  L::Dropout dropout({.rate = 0.5, .seed = 7});
  tf::Tensor x = tf::ones({40, 50});
  CHECK(dropout(x).to_vector<float>() == x.to_vector<float>());
  CHECK(dropout(x, false).to_vector<float>() == x.to_vector<float>());
  FVec y = dropout(x, true).to_vector<float>();
  int64_t kept = 0, other = 0;
  for (float v : y) {
    kept += v == 2.f;  // kept values are scaled by 1/(1-rate)
    other += v != 0.f && v != 2.f;
  }
  CHECK(other == 0);
  CHECK(kept > 800);  // ~1000 of 2000
  CHECK(kept < 1200);
  CHECK(dropout(x, true).to_vector<float>() != y);  // a new mask each step

  L::Dropout same({.rate = 0.5, .seed = 7});  // the same seed replays the same masks
  CHECK(same(x, true).to_vector<float>() == y);
  CHECK(L::Dropout(0.0)(x, true).to_vector<float>() == x.to_vector<float>());
}

// ---- BatchNormalization -------------------------------------------------------------------------

TEST_CASE("BatchNormalization training: batch statistics, and moving stats by the formula",
          "[layers]") {
  L::BatchNormalization bn;  // momentum 0.99, epsilon 1e-3
  // Channel 0: {1, 3} mean 2, biased variance 1. Channel 1: {2, 6} mean 4, variance 4.
  auto x = tf::constant({{1.0, 2.0}, {3.0, 6.0}});
  tf::Tensor y = bn(x, true);
  CHECK(bn.gamma().dtype() == tf::float64);
  const double s0 = 1 / std::sqrt(1 + 1e-3), s1 = 2 / std::sqrt(4 + 1e-3);
  CHECK_THAT(values(y), M::Approx(Vec{-s0, -s1, s0, s1}).epsilon(1e-12));
  CHECK_THAT(values(bn.moving_mean().value()), M::Approx(Vec{0.01 * 2, 0.01 * 4}).epsilon(1e-12));
  CHECK_THAT(values(bn.moving_variance().value()),
             M::Approx(Vec{0.99 + 0.01 * 1, 0.99 + 0.01 * 4}).epsilon(1e-12));
  // A second step moves them again: m = 0.99 m + 0.01 batch.
  bn(x, true);
  CHECK_THAT(values(bn.moving_mean().value()),
             M::Approx(Vec{0.99 * 0.02 + 0.02, 0.99 * 0.04 + 0.04}).epsilon(1e-12));

  // Inference uses the moving statistics, not the batch's; no update.
  tf::Tensor z = bn(x, false);
  Vec mm = values(bn.moving_mean().value()), mv = values(bn.moving_variance().value());
  Vec xv = values(x), want;
  for (size_t i = 0; i < 4; ++i) want.push_back((xv[i] - mm[i % 2]) / std::sqrt(mv[i % 2] + 1e-3));
  CHECK_THAT(values(z), M::Approx(want).epsilon(1e-12));
  CHECK(values(bn.moving_mean().value()) == mm);
}

TEST_CASE("BatchNormalization over NHWC: ~zero mean, unit variance per channel", "[layers]") {
  tf::random::set_seed(11);
  L::BatchNormalization bn({.momentum = 0.9});
  tf::Tensor x = tf::random::normal({4, 3, 3, 2}, 5.0, 3.0);
  tf::Tensor y = bn(x, true);
  CHECK(y.shape() == x.shape());
  Vec mean = values(tf::reduce_mean(y, {0, 1, 2}));
  Vec var = values(tf::reduce_mean(tf::square(y), {0, 1, 2}));
  for (int c = 0; c < 2; ++c) {
    CHECK(std::abs(mean[c]) < 1e-5);
    CHECK(var[c] == Approx(1.0).epsilon(1e-3));  // var/(var + 1e-3)
  }
  Vec batch_mean = values(tf::reduce_mean(x, {0, 1, 2}));
  CHECK_THAT(values(bn.moving_mean().value()),
             M::Approx(Vec{0.1 * batch_mean[0], 0.1 * batch_mean[1]}).epsilon(1e-5));
  CHECK(bn.trainable_variables().size() == 2);
  CHECK(bn.non_trainable_variables().size() == 2);
}

TEST_CASE("BatchNormalization with gamma and beta, and without center/scale", "[layers]") {
  L::BatchNormalization bn;
  auto x = tf::constant({{1.0, 2.0}, {3.0, 6.0}});
  bn.build(x.shape(), tf::float64);
  bn.gamma().assign(tf::constant({2.0, 1.0}));
  bn.beta().assign(tf::constant({10.0, -1.0}));
  const double s0 = 1 / std::sqrt(1 + 1e-3), s1 = 2 / std::sqrt(4 + 1e-3);
  CHECK_THAT(values(bn(x, true)),
             M::Approx(Vec{10 - 2 * s0, -1 - s1, 10 + 2 * s0, -1 + s1}).epsilon(1e-12));
  L::BatchNormalization bare({.center = false, .scale = false});
  bare(x, true);
  CHECK(bare.trainable_variables().empty());
  CHECK(bare.variables().size() == 2);
}

// ---- gradients ----------------------------------------------------------------------------------

TEST_CASE("gradients through a Sequential MLP match float64 finite differences", "[layers][grad]") {
  tf::random::set_seed(5);
  L::Sequential model({L::Dense(6, "tanh"), L::Dense(4, "sigmoid"), L::Dense(3, "softmax")});
  tf::losses::SparseCategoricalCrossentropy loss;
  tf::Tensor x = tf::random::normal({5, 3}, 0.0, 1.0, tf::float64);
  tf::Tensor labels = tf::constant({0, 2, 1, 1, 0});
  model(x);
  CHECK(model.trainable_variables()[0].dtype() == tf::float64);
  CHECK(tf::test::max_gradient_error([&](auto& in) { return loss(labels, model(in[0])); }, {x}) <
        1e-7);

  tf::GradientTape tape;
  tf::Tensor value = loss(labels, model(x, true));
  std::vector<tf::Variable> vars = model.trainable_variables();
  std::vector<tf::Tensor> grads = tape.gradient(value, vars);
  REQUIRE(grads.size() == 6);
  for (size_t i = 0; i < grads.size(); ++i) {
    REQUIRE(grads[i].defined());
    CHECK(grads[i].shape() == vars[i].shape());
  }
}

TEST_CASE("Dense gradients: closed form for a one-unit linear layer under MSE", "[layers][grad]") {
  L::Dense dense(1);
  dense.build({1, 2});
  dense.kernel().assign(tf::constant({{0.5f}, {-1.f}}));
  tf::losses::MeanSquaredError mse;
  tf::GradientTape tape;
  // y = 1*0.5 + 2*(-1) = -1.5; error -2; loss 4; dL/dy = -4.
  tf::Tensor l = mse(tf::constant({{0.5f}}), dense(tf::constant({{1.f, 2.f}})));
  auto g = tape.gradient(l, {dense.kernel(), dense.bias()});
  CHECK(l.item<float>() == 4.f);
  CHECK(g[0].to_vector<float>() == FVec{-4.f, -8.f});
  CHECK(g[1].to_vector<float>() == FVec{-4.f});
}

TEST_CASE("BatchNormalization training gradient matches finite differences", "[layers][grad]") {
  tf::random::set_seed(9);
  L::BatchNormalization bn;
  tf::Tensor x = tf::random::normal({4, 3}, 1.0, 2.0, tf::float64);
  tf::Tensor w = tf::random::normal({4, 3}, 0.0, 1.0, tf::float64);
  CHECK(tf::test::max_gradient_error([&](auto& in) { return bn(in[0], true) * w; }, {x}) < 1e-7);
  CHECK(tf::test::max_gradient_error([&](auto& in) { return bn(in[0], false) * w; }, {x}) < 1e-7);
}

// ---- Conv2D and pooling -------------------------------------------------------------------------

TEST_CASE("Conv2D: output shapes and one exact value with an all-ones kernel", "[layers][conv]") {
  tf::Tensor x = tf::reshape(tf::range(0.f, 16.f), {1, 4, 4, 1});
  L::Conv2D conv({.filters = 2, .kernel_size = 2});
  conv.build(x.shape());
  CHECK(conv.kernel().shape() == tf::Shape{2, 2, 1, 2});
  conv.kernel().assign(tf::ones({2, 2, 1, 2}));
  conv.bias().assign(tf::constant({0.f, 1.f}));
  tf::Tensor y = conv(x);
  REQUIRE(y.shape() == tf::Shape{1, 3, 3, 2});
  FVec v = y.to_vector<float>();
  CHECK(v[0] == 10.f);   // 0 + 1 + 4 + 5
  CHECK(v[1] == 11.f);   // + bias 1
  CHECK(v[16] == 50.f);  // 10 + 11 + 14 + 15
  CHECK(conv.compute_output_shape(x.shape()) == y.shape());

  L::Conv2D same(
      {.filters = 3, .kernel_size = {3, 3}, .strides = 2, .padding = "same", .activation = "relu"});
  tf::Tensor s = same(tf::ones({2, 5, 5, 4}));
  CHECK(s.shape() == tf::Shape{2, 3, 3, 3});
  CHECK(same.compute_output_shape({2, 5, 5, 4}) == s.shape());
  CHECK(L::Conv2D(4, 3)(tf::ones({1, 6, 6, 2})).shape() == tf::Shape{1, 4, 4, 4});
  CHECK_THROWS_AS(L::Conv2D({.filters = 1, .padding = "full"}), tf::InvalidArgumentError);
  CHECK_THROWS_WITH(L::Conv2D(2, 3)(tf::ones({4, 4, 1})),
                    Catch::Contains("expected min_ndim=4, found ndim=3"));
}

TEST_CASE("Conv2D kernels are Glorot-uniform with fan_in = kh*kw*in, fan_out = kh*kw*filters",
          "[layers][conv]") {
  L::Conv2D conv({.filters = 8, .kernel_size = 3});
  conv.build({1, 5, 5, 4});
  const double limit = std::sqrt(6.0 / (9 * 4 + 9 * 8));
  Vec k = values(conv.kernel().value());
  double amax = 0;
  for (double v : k) amax = std::max(amax, std::abs(v));
  CHECK(amax <= limit);
  CHECK(amax > 0.9 * limit);
  CHECK(names(conv.variables())[0].ends_with("/kernel"));
}

TEST_CASE("MaxPool2D and AveragePooling2D: 2x2 windows, stride defaults to the pool size",
          "[layers][conv]") {
  tf::Tensor x = tf::reshape(tf::range(0.f, 16.f), {1, 4, 4, 1});
  CHECK(L::MaxPool2D()(x).to_vector<float>() == FVec{5, 7, 13, 15});
  CHECK(L::AveragePooling2D()(x).to_vector<float>() == FVec{2.5f, 4.5f, 10.5f, 12.5f});
  L::MaxPool2D strided({.pool_size = 2, .strides = 1});
  CHECK(strided(x).shape() == tf::Shape{1, 3, 3, 1});
  L::MaxPool2D same({.pool_size = 3, .strides = {2, 2}, .padding = "same"});
  CHECK(same(tf::ones({2, 5, 5, 3})).shape() == tf::Shape{2, 3, 3, 3});
  CHECK(same.compute_output_shape({2, 5, 5, 3}) == tf::Shape{2, 3, 3, 3});
  CHECK(L::MaxPool2D().trainable_variables().empty());
}

TEST_CASE("a small CNN: Conv2D, MaxPool2D, Flatten, Dense build and differentiate",
          "[layers][conv][grad]") {
  tf::random::set_seed(2);
  L::Sequential model({L::Conv2D({.filters = 2, .kernel_size = 3, .activation = "tanh"}),
                       L::MaxPool2D(),
                       L::Flatten(),
                       L::Dense(3)});
  tf::Tensor x = tf::random::normal({2, 6, 6, 1}, 0.0, 1.0, tf::float64);
  CHECK(model(x).shape() == tf::Shape{2, 3});
  CHECK(model.trainable_variables().size() == 4);
  CHECK(model.trainable_variables()[2].shape() == tf::Shape{8, 3});
  CHECK(tf::test::max_gradient_error([&](auto& in) { return model(in[0]); }, {x}) < 1e-6);
}

// Adam, AdamW, RMSprop, Adagrad, gradient clipping and learning-rate schedules against values
// computed by hand (Python double arithmetic with Keras' formulas, in Keras' operation order).
#include <cmath>
#include <numbers>
#include <string>
#include <utility>
#include <vector>

#include "test_util.hpp"

namespace tf = tapeflow;
namespace opt = tapeflow::optimizers;
namespace sched = tapeflow::optimizers::schedules;

namespace {

// The gradients of every golden run: three steps of a two-element variable starting at (1, -2).
const std::vector<std::vector<double>> kGrads{{0.5, -1.0}, {0.2, 0.3}, {-0.4, 1.5}};

void check_close(const std::vector<double>& actual,
                 const std::vector<double>& expected,
                 double tol) {
  REQUIRE(actual.size() == expected.size());
  for (size_t i = 0; i < actual.size(); ++i) {
    INFO("element " << i << ": " << actual[i] << " vs. " << expected[i]);
    CHECK(std::abs(actual[i] - expected[i]) <= tol * std::max(1.0, std::abs(expected[i])));
  }
}

// Runs the three kGrads steps on w = (1, -2) of `dtype`; checks w after each against `golden`.
void run_golden(opt::Optimizer& o,
                const std::vector<std::vector<double>>& golden,
                tf::DType dtype = tf::float64) {
  const double tol = dtype == tf::float64 ? 1e-12 : 2e-6;
  tf::Variable w(tf::cast(tf::constant({1.0, -2.0}), dtype), {.name = "w"});
  for (size_t step = 0; step < golden.size(); ++step) {
    INFO("step " << step + 1);
    o.apply_gradients({tf::cast(tf::constant(kGrads[step], tf::Shape{2}), dtype)}, {w});
    check_close(tf::cast(w.value(), tf::float64).to_vector<double>(), golden[step], tol);
  }
  CHECK(o.iterations() == int64_t(golden.size()));
}

}  // namespace

TEST_CASE("Adam, AdamW, RMSprop and Adagrad defaults are Keras'", "[optim]") {
  opt::Adam adam;
  CHECK(adam.learning_rate() == 0.001);
  CHECK(adam.beta_1() == 0.9);
  CHECK(adam.beta_2() == 0.999);
  CHECK(adam.epsilon() == 1e-7);
  CHECK_FALSE(adam.amsgrad());
  CHECK_FALSE(adam.weight_decay().has_value());
  CHECK_FALSE(adam.clipnorm().has_value());
  CHECK_FALSE(adam.clipvalue().has_value());
  CHECK_FALSE(adam.global_clipnorm().has_value());
  CHECK(adam.iterations() == 0);

  opt::AdamW adamw;
  CHECK(adamw.learning_rate() == 0.001);
  CHECK(adamw.weight_decay() == 0.004);
  CHECK(adamw.beta_1() == 0.9);
  CHECK(adamw.beta_2() == 0.999);
  CHECK(adamw.epsilon() == 1e-7);
  CHECK_FALSE(adamw.amsgrad());

  opt::RMSprop rms;
  CHECK(rms.learning_rate() == 0.001);
  CHECK(rms.rho() == 0.9);
  CHECK(rms.momentum() == 0.0);
  CHECK(rms.epsilon() == 1e-7);
  CHECK_FALSE(rms.centered());

  opt::Adagrad adagrad;
  CHECK(adagrad.learning_rate() == 0.001);
  CHECK(adagrad.initial_accumulator_value() == 0.1);
  CHECK(adagrad.epsilon() == 1e-7);
  CHECK_THROWS_AS(opt::Adagrad({.initial_accumulator_value = -1.0}), tf::InvalidArgumentError);
}

TEST_CASE("learning_rate accepts a float, a double, an int or a schedule", "[optim]") {
  CHECK(opt::Adam({.learning_rate = 0.5f}).learning_rate() == 0.5);
  CHECK(opt::Adam({.learning_rate = 0.25}).learning_rate() == 0.25);
  CHECK(opt::Adam({.learning_rate = 1}).learning_rate() == 1.0);
  CHECK(opt::Adam({.learning_rate = sched::ExponentialDecay(0.1, 10, 0.5)}).learning_rate() == 0.1);
  opt::SGD sgd({.learning_rate = 0.01f, .momentum = 0.f, .nesterov = false});  // API.md §7
  sgd.set_learning_rate(sched::PiecewiseConstantDecay({0}, {3.0, 2.0}));
  CHECK(sgd.learning_rate() == 3.0);
}

TEST_CASE("Adam matches Keras over three steps (float64 to 1e-12, float32, every device)",
          "[optim]") {
  const std::vector<std::vector<double>> golden{{0.9000006324515321, -1.900000316226766},
                                                {0.8101436398802739, -1.8572155867270155},
                                                {0.7925158368784964, -1.8907821793642718}};
  for (const std::string& device : test::devices()) {
    INFO("device " << device);
    tf::DeviceScope scope(device);
    opt::Adam adam({.learning_rate = 0.1});
    run_golden(adam, golden);
    opt::Adam adam32({.learning_rate = 0.1});
    run_golden(adam32, golden, tf::float32);
  }
}

TEST_CASE("Adam's fused in-place step gives the unfused ops' bits (float32, float64, every device)",
          "[optim]") {
  // float32 values widen to double exactly, so comparing doubles compares the bits' values.
  const auto values = [](const tf::Tensor& t) {
    return tf::cast(t, tf::float64).to_vector<double>();
  };
  for (const std::string& device : test::devices()) {
    INFO("device " << device);
    tf::DeviceScope scope(device);
    for (tf::DType dtype : {tf::float32, tf::float64}) {
      INFO("dtype " << tf::dtype_name(dtype));
      tf::random::set_seed(7);
      const tf::Tensor init = tf::cast(tf::random::normal({3, 70000}), dtype);
      tf::Variable fused(init), unfused(init);
      opt::Adam a({.learning_rate = 0.01}), b({.learning_rate = 0.01});
      for (int step = 0; step < 4; ++step) {
        const tf::Tensor g = tf::cast(tf::random::normal({3, 70000}), dtype);
        a.apply_gradients({g}, {fused});
        // A live handle on the value keeps the variable from being written in place, so this
        // optimizer takes the unfused path (new buffers for w, and element-wise ops throughout).
        const tf::Tensor held = unfused.peek();
        b.apply_gradients({g}, {unfused});
        CHECK(values(held) != values(unfused.peek()));
      }
      CHECK(values(fused.peek()) == values(unfused.peek()));
      const auto sa = a.slots(fused), sb = b.slots(unfused);
      REQUIRE(sa.size() == 2);
      REQUIRE(sb.size() == 2);
      for (size_t i = 0; i < sa.size(); ++i) {
        INFO("slot " << sa[i].first);
        CHECK(sa[i].first == sb[i].first);
        CHECK(values(sa[i].second.peek()) == values(sb[i].second.peek()));
      }
    }
  }
}

TEST_CASE("Adam's fused CPU step flushes subnormals as TF's CPU kernels do; the unfused keeps them",
          "[optim]") {
  // After one step with g = 1, m = 0.1; with g = 0 it then decays by beta_1 = 0.9 per step and
  // would reach the subnormal range (< 1.18e-38) after ~830 steps. Under flush-to-zero its
  // decrement vanishes first, so m stays a normal number near 1e-37.
  tf::DeviceScope scope("/cpu:0");
  tf::Variable fused(tf::zeros({4})), unfused(tf::zeros({4}));
  opt::Adam a({.learning_rate = 0.001}), b({.learning_rate = 0.001});
  for (int step = 0; step < 850; ++step) {
    const tf::Tensor g = step == 0 ? tf::ones({4}) : tf::zeros({4});
    a.apply_gradients({g}, {fused});
    const tf::Tensor held = unfused.peek();  // shared: the unfused ops run
    b.apply_gradients({g}, {unfused});
  }
  const auto m_fused = a.slots(fused)[0].second.peek().to_vector<float>();
  const auto m_unfused = b.slots(unfused)[0].second.peek().to_vector<float>();
  for (size_t i = 0; i < 4; ++i) {
    CHECK(std::fpclassify(m_fused[i]) == FP_NORMAL);
    CHECK(m_fused[i] < 2e-37f);
    CHECK(std::fpclassify(m_unfused[i]) == FP_SUBNORMAL);
  }
  // The weights agree to the last bit: the steps that differ are far below it.
  CHECK(fused.peek().to_vector<float>() == unfused.peek().to_vector<float>());
  // The caller's own arithmetic still produces subnormals.
  volatile float x = 1e-30f, y = 1e-10f;
  CHECK(std::fpclassify(x * y) == FP_SUBNORMAL);
}

TEST_CASE("Adam amsgrad keeps the largest second moment in the denominator", "[optim]") {
  // beta_2 = 0.5 and gradients 1, 0, 0: v falls (0.5, 0.25, 0.125), vhat stays 0.5.
  auto run = [](bool amsgrad) {
    tf::Variable w(tf::constant(std::vector<double>{1.0}, tf::Shape{1}), {.name = "w"});
    opt::Adam adam({.learning_rate = 0.1, .beta_2 = 0.5, .amsgrad = amsgrad});
    std::vector<double> out;
    for (double g : {1.0, 0.0, 0.0}) {
      adam.apply_gradients({tf::constant(std::vector<double>{g}, tf::Shape{1})}, {w});
      out.push_back(w.value().to_vector<double>()[0]);
    }
    if (amsgrad)
      CHECK(adam.get_slot(w, "vhat").value().to_vector<double>()[0] == 0.5);
    else
      CHECK_FALSE(adam.get_slot(w, "vhat").defined());
    return out;
  };
  check_close(run(false), {0.9000000141421336, 0.8179555186135595, 0.7388758892477295}, 1e-12);
  check_close(run(true), {0.9000000141421336, 0.8419857915964557, 0.8024459713217673}, 1e-12);
}

TEST_CASE("AdamW decays weights by w * weight_decay * lr before the Adam step", "[optim]") {
  opt::AdamW adamw({.learning_rate = 0.1});  // weight_decay 0.004
  run_golden(adamw,
             {{0.8996006324515321, -1.899200316226766},
              {0.8093837996272933, -1.855655906600525},
              {0.7914322431056648, -1.888480236875141}});
  opt::AdamW strong({.learning_rate = 0.1, .weight_decay = 0.1});
  run_golden(strong,
             {{0.890000632451532, -1.880000316226766},
              {0.7912436335557586, -1.8184155835647478},
              {0.7657033942184234, -1.8337980203663566}});
  // weight_decay is a base option (Keras ≥ 2.11): SGD with a zero gradient only decays.
  tf::Variable w(tf::constant(1.0), {.name = "w"});
  opt::SGD sgd({.learning_rate = 0.5f, .weight_decay = 0.1});
  sgd.apply_gradients({tf::constant(0.0)}, {w});
  CHECK(w.value().item<double>() == Approx(0.95).epsilon(1e-12));
  CHECK_THROWS_AS(opt::SGD({.weight_decay = -1.0}), tf::InvalidArgumentError);
}

TEST_CASE("RMSprop matches Keras: plain, centered, momentum, centered with momentum", "[optim]") {
  opt::RMSprop plain({.learning_rate = 0.1});
  run_golden(plain,
             {{0.6837728664367966, -1.6837723920969265},
              {0.5609140748788283, -1.779118602866846},
              {0.7612898814606804, -2.0467624240480697}});
  opt::RMSprop centered({.learning_rate = 0.1, .centered = true});
  run_golden(centered,
             {{0.6666674074049382, -1.6666668518516974},
              {0.5326626661663156, -1.7637953871814962},
              {0.7339045125140031, -2.035454245396487}});
  opt::RMSprop momentum({.learning_rate = 0.1, .momentum = 0.5});
  run_golden(momentum,
             {{0.6837728664367966, -1.6837723920969265},
              {0.4028005080972266, -1.6210047989153094},
              {0.46269013550929383, -1.8572648235057243}});
  opt::RMSprop both({.learning_rate = 0.1, .momentum = 0.5, .centered = true});
  run_golden(both,
             {{0.6666674074049382, -1.6666668518516974},
              {0.3659963698687847, -1.597128813107345},
              {0.4169026974483954, -1.8340186519501596}});
  opt::RMSprop plain32({.learning_rate = 0.1});
  run_golden(plain32,
             {{0.6837728664367966, -1.6837723920969265},
              {0.5609140748788283, -1.779118602866846},
              {0.7612898814606804, -2.0467624240480697}},
             tf::float32);
}

TEST_CASE("Adagrad matches Keras and starts its accumulator at initial_accumulator_value",
          "[optim]") {
  opt::Adagrad adagrad({.learning_rate = 0.1});
  run_golden(adagrad,
             {{0.9154845866007779, -1.9046537454093613},
              {0.8834589599456097, -1.9321546991647054},
              {0.937394944039398, -2.0130292778917815}});
  opt::Adagrad half({.learning_rate = 0.1, .initial_accumulator_value = 0.5});
  run_golden(half,
             {{0.9422649769300389, -1.9183503446288825},
              {0.9197632203356801, -1.942141891452265},
              {0.960802352259132, -2.0186884449175393}});

  tf::Variable w(tf::constant({1.f, 2.f, 3.f}), {.name = "w"});
  opt::Adagrad fresh;
  fresh.build({w});
  CHECK(fresh.get_slot(w, "accumulator").value().to_vector<float>() ==
        std::vector<float>{0.1f, 0.1f, 0.1f});
}

TEST_CASE("clipnorm rescales each gradient to norm <= clipnorm separately", "[optim]") {
  // g·clip / max(‖g‖, clip): (3, 4) has norm 5 → (0.6, 0.8); (0.3, 0.4) is left alone.
  tf::Variable a(tf::constant({0.0, 0.0}), {.name = "a"});
  tf::Variable b(tf::constant({0.0, 0.0}), {.name = "b"});
  opt::SGD sgd({.learning_rate = 1.f, .clipnorm = 1.0});
  sgd.apply_gradients({tf::constant({3.0, 4.0}), tf::constant({0.3, 0.4})}, {a, b});
  check_close(a.value().to_vector<double>(), {-0.6, -0.8}, 1e-15);
  check_close(b.value().to_vector<double>(), {-0.3, -0.4}, 1e-15);
}

TEST_CASE("global_clipnorm rescales all gradients by clip / max(global norm, clip)", "[optim]") {
  // Global norm of (3, 4) and (12) is 13; clip 1.3 scales both by 0.1.
  tf::Variable a(tf::constant({0.0, 0.0}), {.name = "a"});
  tf::Variable b(tf::constant(std::vector<double>{0.0}, tf::Shape{1}), {.name = "b"});
  opt::SGD sgd({.learning_rate = 1.f, .global_clipnorm = 1.3});
  sgd.apply_gradients(
      {tf::constant({3.0, 4.0}), tf::constant(std::vector<double>{12.0}, tf::Shape{1})}, {a, b});
  check_close(a.value().to_vector<double>(), {-0.3, -0.4}, 1e-14);
  check_close(b.value().to_vector<double>(), {-1.2}, 1e-14);
  // Under the bound nothing changes; an undefined gradient takes no part in the norm.
  opt::SGD loose({.learning_rate = 1.f, .global_clipnorm = 100.0});
  test::StderrCapture quiet;
  loose.apply_gradients({tf::constant({3.0, 4.0}), tf::Tensor()}, {a, b});
  CHECK_THAT(quiet.text(), Catch::Contains("'b'"));
  check_close(a.value().to_vector<double>(), {-3.3, -4.4}, 1e-14);
}

TEST_CASE("clipvalue clips each gradient element to [-clipvalue, clipvalue]", "[optim]") {
  tf::Variable w(tf::constant({0.f, 0.f, 0.f}), {.name = "w"});
  opt::SGD sgd({.learning_rate = 1.f, .clipvalue = 0.5});
  sgd.apply_gradients({tf::constant({-2.f, 0.25f, 3.f})}, {w});
  CHECK(w.value().to_vector<float>() == std::vector<float>{0.5f, -0.25f, -0.5f});
}

TEST_CASE("setting both clipnorm and global_clipnorm is an error; clipnorm beats clipvalue",
          "[optim][errors]") {
  CHECK_THROWS_AS(opt::Adam({.clipnorm = 1.0, .global_clipnorm = 1.0}), tf::InvalidArgumentError);
  CHECK_THROWS_WITH(opt::Adam({.clipnorm = 1.0, .global_clipnorm = 2.0}),
                    Catch::Contains("Only one of `clipnorm` and `global_clipnorm` can be set") &&
                        Catch::Contains("global_clipnorm=2"));
  CHECK_THROWS_AS(opt::SGD({.clipnorm = 1.0, .global_clipnorm = 1.0}), tf::InvalidArgumentError);
  CHECK_THROWS_AS(opt::RMSprop({.clipnorm = 1.0, .global_clipnorm = 1.0}),
                  tf::InvalidArgumentError);
  CHECK_THROWS_AS(opt::Adagrad({.clipnorm = 1.0, .global_clipnorm = 1.0}),
                  tf::InvalidArgumentError);
  CHECK_THROWS_AS(opt::AdamW({.clipnorm = 1.0, .global_clipnorm = 1.0}), tf::InvalidArgumentError);
  // Keras applies only the first of clipnorm, global_clipnorm, clipvalue that is set.
  tf::Variable w(tf::constant({0.0, 0.0}), {.name = "w"});
  opt::SGD sgd({.learning_rate = 1.f, .clipnorm = 1.0, .clipvalue = 0.1});
  sgd.apply_gradients({tf::constant({3.0, 4.0})}, {w});
  check_close(w.value().to_vector<double>(), {-0.6, -0.8}, 1e-15);
  tf::Variable v(tf::constant({0.0, 0.0}), {.name = "v"});
  opt::SGD global({.learning_rate = 1.f, .clipvalue = 0.1, .global_clipnorm = 1.0});
  global.apply_gradients({tf::constant({3.0, 4.0})}, {v});
  check_close(v.value().to_vector<double>(), {-0.6, -0.8}, 1e-15);
}

TEST_CASE("ExponentialDecay: lr0 * rate^(step / decay_steps), floored with staircase",
          "[optim][schedules]") {
  sched::ExponentialDecay smooth(0.1, 10, 0.5);
  CHECK(smooth(0) == 0.1);
  CHECK(smooth(5) == Approx(0.1 * std::sqrt(0.5)).epsilon(1e-14));
  CHECK(smooth(10) == Approx(0.05).epsilon(1e-14));
  CHECK(smooth(25) == Approx(0.1 * std::pow(0.5, 2.5)).epsilon(1e-14));
  sched::ExponentialDecay stairs(0.1, 10, 0.5, /*staircase=*/true);
  CHECK(stairs(0) == 0.1);
  CHECK(stairs(9) == 0.1);
  CHECK(stairs(10) == Approx(0.05).epsilon(1e-14));
  CHECK(stairs(19) == Approx(0.05).epsilon(1e-14));
  CHECK(stairs(25) == Approx(0.025).epsilon(1e-14));
  CHECK_THROWS_AS(sched::ExponentialDecay(0.1, 0, 0.5), tf::InvalidArgumentError);
}

TEST_CASE("PiecewiseConstantDecay: values[i] for boundaries[i-1] < step <= boundaries[i]",
          "[optim][schedules]") {
  sched::PiecewiseConstantDecay pw({10, 20}, {1.0, 0.5, 0.1});
  CHECK(pw(0) == 1.0);
  CHECK(pw(10) == 1.0);
  CHECK(pw(11) == 0.5);
  CHECK(pw(20) == 0.5);
  CHECK(pw(21) == 0.1);
  CHECK(pw(1000) == 0.1);
  CHECK_THROWS_AS(sched::PiecewiseConstantDecay({10, 20}, {1.0, 0.5}), tf::InvalidArgumentError);
  CHECK_THROWS_WITH(sched::PiecewiseConstantDecay({10}, {1.0}),
                    Catch::Contains("1 less than the length of values"));
  CHECK_THROWS_AS(sched::PiecewiseConstantDecay({20, 10}, {1.0, 0.5, 0.1}),
                  tf::InvalidArgumentError);
}

TEST_CASE("CosineDecay: lr0 * ((1 - alpha) * (1 + cos(pi * step / decay_steps)) / 2 + alpha)",
          "[optim][schedules]") {
  sched::CosineDecay cosine(1.0, 10);
  CHECK(cosine(0) == 1.0);
  CHECK(cosine(2) == Approx(0.5 * (1 + std::cos(std::numbers::pi * 0.2))).epsilon(1e-14));
  CHECK(cosine(5) == Approx(0.5).epsilon(1e-14));
  CHECK(cosine(10) == Approx(0.0).margin(1e-15));
  CHECK(cosine(20) == Approx(0.0).margin(1e-15));  // held after decay_steps
  sched::CosineDecay floor(2.0, 10, /*alpha=*/0.1);
  CHECK(floor(5) == Approx(2.0 * (0.9 * 0.5 + 0.1)).epsilon(1e-14));
  CHECK(floor(10) == Approx(0.2).epsilon(1e-14));
  CHECK(floor(99) == Approx(0.2).epsilon(1e-14));
  // Linear warm-up 0 → 1 over 5 steps, then cosine from 1 over 10 steps.
  sched::CosineDecay warm(0.0, 10, 0.0, /*warmup_target=*/1.0, /*warmup_steps=*/5);
  CHECK(warm(0) == 0.0);
  CHECK(warm(2) == Approx(0.4).epsilon(1e-14));
  CHECK(warm(5) == Approx(1.0).epsilon(1e-14));
  CHECK(warm(10) == Approx(0.5).epsilon(1e-14));
  CHECK(warm(15) == Approx(0.0).margin(1e-15));
  CHECK(warm(100) == Approx(0.0).margin(1e-15));
  CHECK_THROWS_AS(sched::CosineDecay(1.0, 0), tf::InvalidArgumentError);
}

TEST_CASE("a schedule is evaluated at iterations() before each update", "[optim][schedules]") {
  // lr 1 at steps 0 and 1 (step <= 1), then 0.5: w = 0 → -1 → -2 → -2.5 with g = 1.
  tf::Variable w(tf::constant(0.0), {.name = "w"});
  opt::SGD sgd({.learning_rate = sched::PiecewiseConstantDecay({1}, {1.0, 0.5})});
  const std::vector<double> golden{-1.0, -2.0, -2.5};
  for (double expected : golden) {
    sgd.apply_gradients({tf::constant(1.0)}, {w});
    CHECK(w.value().item<double>() == expected);
  }
  CHECK(sgd.learning_rate() == 0.5);

  // Adam with ExponentialDecay(0.1, 2, 0.5): lr 0.1, 0.1/√2, 0.05.
  opt::Adam adam({.learning_rate = sched::ExponentialDecay(0.1, 2, 0.5)});
  run_golden(adam,
             {{0.9000006324515321, -1.900000316226766},
              {0.8364621436673662, -1.8697469438662604},
              {0.8276482421664774, -1.8865302401848887}});
  CHECK(adam.learning_rate() == Approx(0.1 * std::pow(0.5, 1.5)).epsilon(1e-14));
}

TEST_CASE("optimizer state: slots named <variable>/<slot>, build(), set_iterations()",
          "[optim][checkpoint]") {
  tf::Variable w(tf::constant({1.0, -2.0}), {.name = "w"});
  tf::Variable b(tf::constant(0.5), {.name = "b"});
  opt::Adam adam({.learning_rate = 0.1});
  CHECK(adam.variables().empty());
  adam.build({w, b});
  CHECK(adam.iterations() == 0);
  auto vars = adam.variables();
  REQUIRE(vars.size() == 4);
  std::vector<std::string> names;
  for (const auto& [name, v] : vars) {
    names.push_back(name);
    CHECK(v.name() == name);
    CHECK_FALSE(v.trainable());
  }
  CHECK(names == std::vector<std::string>{"w/m", "w/v", "b/m", "b/v"});
  adam.build({w});  // idempotent
  CHECK(adam.variables().size() == 4);

  // The slots are the live state: after one step m = 0.1·g.
  adam.apply_gradients({tf::constant({0.5, -1.0}), tf::constant(2.0)}, {w, b});
  check_close(adam.get_slot(w, "m").value().to_vector<double>(), {0.05, -0.1}, 1e-15);
  CHECK(adam.get_slot(b, "v").value().item<double>() == Approx(0.004).epsilon(1e-12));
  CHECK_FALSE(adam.get_slot(w, "momentum").defined());
  CHECK(adam.variables().size() == 4);

  // Restoring the step count restores the bias correction: a copy of the state continues
  // exactly like the original.
  opt::Adam restored({.learning_rate = 0.1});
  tf::Variable w2(w.value(), {.name = "w"});
  restored.build({w2});
  restored.get_slot(w2, "m").assign(adam.get_slot(w, "m").value());
  restored.get_slot(w2, "v").assign(adam.get_slot(w, "v").value());
  restored.set_iterations(adam.iterations());
  adam.apply_gradients({tf::constant({0.2, 0.3})}, {w});
  restored.apply_gradients({tf::constant({0.2, 0.3})}, {w2});
  CHECK(w2.value().to_vector<double>() == w.value().to_vector<double>());
  CHECK_THROWS_AS(restored.set_iterations(-1), tf::InvalidArgumentError);

  // Variables sharing a name get distinct slot names.
  tf::Variable x1(tf::constant(1.f), {.name = "x"});
  tf::Variable x2(tf::constant(2.f), {.name = "x"});
  opt::RMSprop rms({.momentum = 0.9, .centered = true});
  rms.build({x1, x2});
  names.clear();
  for (const auto& [name, v] : rms.variables()) names.push_back(name);
  CHECK(names == std::vector<std::string>{"x/velocity",
                                          "x/momentum",
                                          "x/average_gradient",
                                          "x/velocity_1",
                                          "x/momentum_1",
                                          "x/average_gradient_1"});
}

TEST_CASE("minimize() with Adam converges on a quadratic", "[optim]") {
  auto target = tf::constant({3.f, -1.f, 0.5f});
  tf::Variable w(tf::zeros(tf::Shape{3}), {.name = "w"});
  opt::Adam adam({.learning_rate = 0.1f});
  auto loss = [&] { return tf::reduce_sum(tf::square(w - target)); };
  const float first = adam.minimize(loss, {w}).item<float>();
  CHECK(first == Approx(10.25f));
  // Adam's first step moves every coordinate by about lr toward the minimum.
  check_close(tf::cast(w.value(), tf::float64).to_vector<double>(), {0.1, -0.1, 0.1}, 1e-5);
  for (int i = 0; i < 500; ++i) adam.minimize(loss, {w});
  CHECK(loss().item<float>() < 1e-4f);
  CHECK(adam.iterations() == 501);
}

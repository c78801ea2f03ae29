// Writes checkpoints for scripts/read_safetensors.py, the reader that shares no code with ours:
//   tapeflow_checkpoint_fixture DIR
// trains a small model with Adam for 3 steps, saves it twice through a CheckpointManager in DIR
// along with variables of every dtype, and writes DIR/expected.json: every tensor's dtype,
// shape and values as this process holds them, for the reader to compare against the file;
// then the same for a whole model saved with Model::save (DIR/model.safetensors).
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <tapeflow/tapeflow.hpp>
#include <vector>

namespace tf = tapeflow;

namespace {

std::string number(double v, tf::DType dtype) {
  char buf[64];
  std::snprintf(buf, sizeof buf, dtype == tf::float32 ? "%.9g" : "%.17g", v);
  return buf;
}

std::string describe(const tf::Tensor& t) {
  std::string s = "{\"dtype\":\"" + std::string(tf::dtype_name(t.dtype())) + "\",\"shape\":[";
  for (int i = 0; i < t.rank(); ++i) s += (i ? "," : "") + std::to_string(t.shape()[i]);
  s += "],\"values\":[";
  if (t.dtype() == tf::boolean) {
    const auto v = t.to_vector<bool>();
    for (size_t i = 0; i < v.size(); ++i)
      s += std::string(i ? "," : "") + (v[i] ? "true" : "false");
  } else if (tf::is_integer(t.dtype())) {
    const auto v = t.to_vector<int64_t>();
    for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  } else {
    const auto v = t.to_vector<double>();
    for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + number(v[i], t.dtype());
  }
  return s + "]}";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: " << argv[0] << " DIR\n";
    return 2;
  }
  const std::string dir = argv[1];
  try {
    tf::random::set_seed(7);
    tf::layers::Sequential model({tf::layers::Dense(4, "relu"), tf::layers::Dense(3)});
    model.build({6, 5});
    tf::optimizers::Adam opt({.learning_rate = 0.01});
    tf::Variable f64(tf::constant({0.1, -2.5e-300, 3.0}), {.name = "f64"});
    tf::Variable i32(tf::constant(std::vector<int>{-7, 0, 2147483647}, {3}), {.name = "i32"});
    tf::Variable i64(tf::constant(int64_t(-1) << 50), {.name = "i64"});
    tf::Variable flags(tf::constant(std::vector<bool>{true, false, false, true}, {2, 2}),
                       {.name = "flags"});
    tf::Variable empty(tf::zeros({0, 3}), {.name = "empty"});
    tf::train::Checkpoint ckpt(
        {{"f64", f64}, {"i32", i32}, {"i64", i64}, {"flags", flags}, {"empty", empty}},
        {{"model", model}, {"optimizer", opt}});
    tf::train::CheckpointManager manager(ckpt, dir, {.max_to_keep = 2});

    const tf::Tensor x = tf::random::normal({6, 5});
    const tf::Tensor y = tf::constant(std::vector<int>{0, 1, 2, 2, 1, 0}, {6});
    tf::losses::SparseCategoricalCrossentropy loss({.from_logits = true});
    for (int step = 0; step < 3; ++step) {
      opt.minimize([&] { return loss(y, model(x, true)); }, model.trainable_variables());
      if (step >= 1) manager.save();
    }
    std::string json = "{";
    bool first = true;
    for (const auto& [key, t] : ckpt.tensors()) {
      json += (first ? "" : ",\n") + std::string("\"") + key + "\":" + describe(t);
      first = false;
    }
    std::ofstream(dir + "/expected.json") << json << "}\n";

    // A whole model (Model::save), compiled and trained two steps: model.safetensors and
    // model_expected.json, for the reader to check the same way.
    tf::Model whole(tf::layers::Sequential({tf::layers::Dense(4, "relu"), tf::layers::Dense(3)}));
    whole.compile({.optimizer = tf::optimizers::Adam({.learning_rate = 0.01}),
                   .loss = tf::losses::SparseCategoricalCrossentropy({.from_logits = true}),
                   .metrics = {"accuracy"}});
    for (int step = 0; step < 2; ++step) whole.train_on_batch(x, y);
    whole.save(dir + "/model.safetensors");
    json = "{";
    first = true;
    for (const auto& [key, t] :
         tf::train::Checkpoint(
             {}, {{"model", tf::layers::Layer(whole)}, {"optimizer", whole.optimizer()}})
             .tensors()) {
      json += (first ? "" : ",\n") + std::string("\"") + key + "\":" + describe(t);
      first = false;
    }
    std::ofstream(dir + "/model_expected.json") << json << "}\n";
    std::cout << "wrote " << manager.latest_checkpoint() << "\n";
  } catch (const std::exception& e) {
    std::cerr << "checkpoint_fixture: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

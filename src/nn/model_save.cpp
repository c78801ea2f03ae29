// Whole-model save and load (Keras' model.save / tf.keras.models.load_model). The file is a
// tf::train::Checkpoint of {"model": the layer, "optimizer": its optimizer} - so it restores as
// a checkpoint too - whose safetensors metadata also holds, as JSON strings:
//   model_format_version  "1", or "2" when a build_config has "input_shapes"
//   model_config          {"class_name", "name", "config": {options}, "layers": [sublayers],
//                          "build_config": {"input_shape": [...], "dtype": "float32"}}
//                          (a layer built from a list of inputs, as Add()({a, b}):
//                          "build_config": {"input_shapes": [[...], [...]], "dtype": ...})
//   compile_config        {"optimizer": {"class_name", "config"}, "loss": {...}, "metrics": [...]}
// load_model rebuilds the layers through the registry (layer_config.cpp), builds them with the
// saved input shapes, compiles, then restores every value with the checkpoint's
// validate-then-assign restore: a model is returned whole or not at all.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <utility>

#include "core/fail.hpp"
#include "io/checkpoint_state.hpp"
#include "io/safetensors.hpp"
#include "nn/model_state.hpp"
#include "tapeflow/checkpoint.hpp"
#include "tapeflow/model.hpp"

namespace tapeflow {

using detail::str_cat;
using nlohmann::json;

namespace {

constexpr const char* kVersionKey = "model_format_version";
constexpr const char* kConfigKey = "model_config";
constexpr const char* kCompileKey = "compile_config";
constexpr int kMaxDepth = 64;  // nesting of layers in a saved config

// ---- saving -------------------------------------------------------------------------------------

// The oldest format version that reads the file: 2 once a layer was built from a list of
// inputs (its build_config has "input_shapes"), else 1, so that files without such layers stay
// readable by a tapeflow that reads version 1 only.
json layer_json(const layers::Layer& layer, int& version) {
  const layers::Layer::Impl& impl = *layer.impl();
  json options = json::object();
  const layers::LayerConfig config = impl.get_config();
  for (const auto& [key, text] : config.values()) options[key] = json::parse(text);
  json node = {{"class_name", impl.class_name()}, {"name", impl.name()}, {"config", options}};
  const std::string dtype(dtype_name(impl.build_dtype()));
  if (impl.build_input_shape()) {
    node["build_config"] = {{"input_shape", impl.build_input_shape()->dims()}, {"dtype", dtype}};
  } else if (!impl.build_input_shapes().empty()) {
    json shapes = json::array();
    for (const Shape& s : impl.build_input_shapes()) shapes.push_back(s.dims());
    node["build_config"] = {{"input_shapes", shapes}, {"dtype", dtype}};
    version = std::max(version, 2);
  }
  json subs = json::array();
  for (const layers::Layer& sub : impl.sublayers()) subs.push_back(layer_json(sub, version));
  node["layers"] = std::move(subs);
  return node;
}

json optional_number(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }

// The optimizer's class and options; nullopt (with the reason in `why`) when it cannot be named.
std::optional<json> optimizer_json(const optimizers::Optimizer& o, std::string& why) {
  namespace opt = optimizers;
  if (o.learning_rate_setting().schedule()) {
    why = "its learning rate is a schedule";
    return std::nullopt;
  }
  json c = {{"learning_rate", o.learning_rate_setting()(0)},
            {"weight_decay", optional_number(o.weight_decay())},
            {"clipnorm", optional_number(o.clipnorm())},
            {"clipvalue", optional_number(o.clipvalue())},
            {"global_clipnorm", optional_number(o.global_clipnorm())}};
  std::string name;
  if (const auto* p = dynamic_cast<const opt::AdamW*>(&o)) {
    name = "AdamW";
    c.update({{"beta_1", p->beta_1()},
              {"beta_2", p->beta_2()},
              {"epsilon", p->epsilon()},
              {"amsgrad", p->amsgrad()}});
  } else if (const auto* p = dynamic_cast<const opt::Adam*>(&o)) {
    name = "Adam";
    c.update({{"beta_1", p->beta_1()},
              {"beta_2", p->beta_2()},
              {"epsilon", p->epsilon()},
              {"amsgrad", p->amsgrad()}});
  } else if (const auto* p = dynamic_cast<const opt::SGD*>(&o)) {
    name = "SGD";
    c.update({{"momentum", p->momentum()}, {"nesterov", p->nesterov()}});
  } else if (const auto* p = dynamic_cast<const opt::RMSprop*>(&o)) {
    name = "RMSprop";
    c.update({{"rho", p->rho()},
              {"momentum", p->momentum()},
              {"epsilon", p->epsilon()},
              {"centered", p->centered()}});
  } else if (const auto* p = dynamic_cast<const opt::Adagrad*>(&o)) {
    name = "Adagrad";
    c.update(
        {{"initial_accumulator_value", p->initial_accumulator_value()}, {"epsilon", p->epsilon()}});
  } else {
    why = "its optimizer is not one of tapeflow's";
    return std::nullopt;
  }
  return json{{"class_name", name}, {"config", c}};
}

const char* reduction_name(losses::Reduction r) {
  switch (r) {
    case losses::Reduction::sum:
      return "sum";
    case losses::Reduction::none:
      return "none";
    default:
      return "sum_over_batch_size";
  }
}

std::optional<json> loss_json(const losses::Loss* loss, std::string& why) {
  if (!loss) return json(nullptr);
  json c = {{"reduction", reduction_name(loss->reduction())}};
  std::string name;
  if (dynamic_cast<const losses::MeanSquaredError*>(loss)) {
    name = "MeanSquaredError";
  } else if (const auto* p = dynamic_cast<const losses::BinaryCrossentropy*>(loss)) {
    name = "BinaryCrossentropy";
    c["from_logits"] = p->from_logits();
  } else if (const auto* p = dynamic_cast<const losses::SparseCategoricalCrossentropy*>(loss)) {
    name = "SparseCategoricalCrossentropy";
    c["from_logits"] = p->from_logits();
  } else {
    why = "its loss is a function or a user-defined loss";
    return std::nullopt;
  }
  return json{{"class_name", name}, {"config", c}};
}

std::optional<json> compile_json(const Model::State& s, std::string& why) {
  auto optimizer = optimizer_json(*s.optimizer, why);
  if (!optimizer) return std::nullopt;
  auto loss = loss_json(s.loss.get(), why);
  if (!loss) return std::nullopt;
  json metrics = json::array();
  for (const std::string& name : s.metric_names) {
    if (name.empty()) {
      why = "a metric was given as an object or a function, not by name";
      return std::nullopt;
    }
    metrics.push_back(name);
  }
  return json{{"optimizer", *optimizer}, {"loss", *loss}, {"metrics", metrics}};
}

// ---- loading ------------------------------------------------------------------------------------

// A structural problem in a file whose checksum matched: written by something else, or by a
// tapeflow bug. Either way the file does not hold a model we can trust.
[[noreturn]] void bad_config(const std::string& path, const std::string& what) {
  throw DataLossError(str_cat("Model file '", path, "': bad model config: ", what));
}

const json& member(const json& node, const char* key, const std::string& path) {
  if (!node.is_object() || !node.contains(key)) bad_config(path, str_cat("no \"", key, "\""));
  return node.at(key);
}

layers::Layer layer_from_json(const json& node, const std::string& path, int depth) {
  if (depth > kMaxDepth) bad_config(path, str_cat("layers nested deeper than ", kMaxDepth));
  const json& class_name = member(node, "class_name", path);
  const json& name = member(node, "name", path);
  const json& options = member(node, "config", path);
  const json& subs = member(node, "layers", path);
  if (!class_name.is_string() || !name.is_string() || !options.is_object() || !subs.is_array())
    bad_config(path, "a layer entry has the wrong types");
  layers::LayerConfig config(name.get<std::string>());
  for (const auto& [key, value] : options.items()) config.set_json(key, value.dump());
  std::vector<layers::Layer> sublayers;
  for (const json& sub : subs) sublayers.push_back(layer_from_json(sub, path, depth + 1));
  return layers::layer_from_config(class_name.get<std::string>(), config, sublayers);
}

// A layer's saved build: one input shape, or the shapes of a list of inputs.
struct BuildConfig {
  std::optional<Shape> input_shape;
  std::vector<Shape> input_shapes;
  DType dtype = float32;
};

Shape shape_from_json(const json& dims, const std::string& path) {
  if (!dims.is_array()) bad_config(path, str_cat("bad input shape ", dims.dump()));
  std::vector<int64_t> d;
  for (const json& e : dims) {
    if (!e.is_number_integer() || e.get<int64_t>() < 0)
      bad_config(path, str_cat("bad input shape ", dims.dump()));
    d.push_back(e.get<int64_t>());
  }
  return Shape(d);
}

std::optional<BuildConfig> build_config(const json& node, const std::string& path) {
  if (!node.contains("build_config")) return std::nullopt;
  const json& b = node.at("build_config");
  if (!b.is_object()) bad_config(path, "a build_config is not an object");
  const json& dtype = member(b, "dtype", path);
  if (!dtype.is_string()) bad_config(path, "a build_config has the wrong types");
  BuildConfig out;
  if (b.contains("input_shapes")) {
    const json& shapes = b.at("input_shapes");
    if (!shapes.is_array() || shapes.empty() || b.contains("input_shape"))
      bad_config(path, str_cat("bad input_shapes ", shapes.dump()));
    for (const json& s : shapes) out.input_shapes.push_back(shape_from_json(s, path));
  } else {
    out.input_shape = shape_from_json(member(b, "input_shape", path), path);
  }
  for (DType t : {DType::float32, DType::float64, DType::int32, DType::int64, DType::boolean})
    if (dtype_name(t) == dtype.get<std::string>()) {
      out.dtype = t;
      return out;
    }
  bad_config(path, str_cat("unknown dtype ", dtype.dump()));
}

void build_from(const layers::Layer& layer, const BuildConfig& b) {
  if (b.input_shape)
    layer.build(*b.input_shape, b.dtype);
  else
    layer.build_inputs(b.input_shapes, b.dtype);
}

// Builds each layer that its parent's build left unbuilt (a custom layer stops Sequential's
// shape walk; a layer built from a list of inputs is built by its parent's call, not its build)
// with the shapes it was built with when saved.
void build_rest(const layers::Layer& layer, const json& node, const std::string& path) {
  if (!layer.built())
    if (auto b = build_config(node, path)) build_from(layer, *b);
  const std::vector<layers::Layer> subs = layer.impl()->sublayers();
  const json& saved = node.at("layers");
  if (subs.size() != saved.size())
    bad_config(path,
               str_cat("layer \"",
                       layer.name(),
                       "\" was rebuilt with ",
                       subs.size(),
                       " sublayers but the file lists ",
                       saved.size()));
  for (size_t i = 0; i < subs.size(); ++i) build_rest(subs[i], saved[i], path);
}

double number(const json& c, const char* key, const std::string& path) {
  const json& v = member(c, key, path);
  if (!v.is_number()) bad_config(path, str_cat("\"", key, "\" is not a number"));
  return v.get<double>();
}
bool boolean(const json& c, const char* key, const std::string& path) {
  const json& v = member(c, key, path);
  if (!v.is_boolean()) bad_config(path, str_cat("\"", key, "\" is not a boolean"));
  return v.get<bool>();
}
std::optional<double> optional(const json& c, const char* key, const std::string& path) {
  const json& v = member(c, key, path);
  if (v.is_null()) return std::nullopt;
  return number(c, key, path);
}

std::shared_ptr<optimizers::Optimizer> optimizer_from_json(const json& j, const std::string& path) {
  namespace opt = optimizers;
  const json& name_j = member(j, "class_name", path);
  const json& c = member(j, "config", path);
  if (!name_j.is_string()) bad_config(path, "optimizer class_name is not a string");
  const std::string name = name_j.get<std::string>();
  const double lr = number(c, "learning_rate", path);
  const auto wd = optional(c, "weight_decay", path), cn = optional(c, "clipnorm", path),
             cv = optional(c, "clipvalue", path), gcn = optional(c, "global_clipnorm", path);
  if (name == "Adam")
    return std::make_shared<opt::Adam>(opt::AdamOptions{.learning_rate = lr,
                                                        .beta_1 = number(c, "beta_1", path),
                                                        .beta_2 = number(c, "beta_2", path),
                                                        .epsilon = number(c, "epsilon", path),
                                                        .amsgrad = boolean(c, "amsgrad", path),
                                                        .weight_decay = wd,
                                                        .clipnorm = cn,
                                                        .clipvalue = cv,
                                                        .global_clipnorm = gcn});
  if (name == "AdamW") {
    if (!wd) bad_config(path, "AdamW without weight_decay");
    return std::make_shared<opt::AdamW>(opt::AdamWOptions{.learning_rate = lr,
                                                          .weight_decay = *wd,
                                                          .beta_1 = number(c, "beta_1", path),
                                                          .beta_2 = number(c, "beta_2", path),
                                                          .epsilon = number(c, "epsilon", path),
                                                          .amsgrad = boolean(c, "amsgrad", path),
                                                          .clipnorm = cn,
                                                          .clipvalue = cv,
                                                          .global_clipnorm = gcn});
  }
  if (name == "SGD")
    return std::make_shared<opt::SGD>(
        opt::SGDOptions{.learning_rate = lr,
                        .momentum = float(number(c, "momentum", path)),
                        .nesterov = boolean(c, "nesterov", path),
                        .weight_decay = wd,
                        .clipnorm = cn,
                        .clipvalue = cv,
                        .global_clipnorm = gcn});
  if (name == "RMSprop")
    return std::make_shared<opt::RMSprop>(
        opt::RMSpropOptions{.learning_rate = lr,
                            .rho = number(c, "rho", path),
                            .momentum = number(c, "momentum", path),
                            .epsilon = number(c, "epsilon", path),
                            .centered = boolean(c, "centered", path),
                            .weight_decay = wd,
                            .clipnorm = cn,
                            .clipvalue = cv,
                            .global_clipnorm = gcn});
  if (name == "Adagrad")
    return std::make_shared<opt::Adagrad>(opt::AdagradOptions{
        .learning_rate = lr,
        .initial_accumulator_value = number(c, "initial_accumulator_value", path),
        .epsilon = number(c, "epsilon", path),
        .weight_decay = wd,
        .clipnorm = cn,
        .clipvalue = cv,
        .global_clipnorm = gcn});
  bad_config(path, str_cat("unknown optimizer \"", name, "\""));
}

LossSpec loss_from_json(const json& j, const std::string& path) {
  if (j.is_null()) return {};
  const json& name_j = member(j, "class_name", path);
  const json& c = member(j, "config", path);
  const json& red = member(c, "reduction", path);
  if (!name_j.is_string() || !red.is_string()) bad_config(path, "bad loss entry");
  losses::Reduction reduction;
  if (red == "sum")
    reduction = losses::Reduction::sum;
  else if (red == "none")
    reduction = losses::Reduction::none;
  else if (red == "sum_over_batch_size")
    reduction = losses::Reduction::sum_over_batch_size;
  else
    bad_config(path, str_cat("unknown loss reduction ", red.dump()));
  const std::string name = name_j.get<std::string>();
  if (name == "MeanSquaredError") return losses::MeanSquaredError({.reduction = reduction});
  if (name == "BinaryCrossentropy")
    return losses::BinaryCrossentropy(
        {.from_logits = boolean(c, "from_logits", path), .reduction = reduction});
  if (name == "SparseCategoricalCrossentropy")
    return losses::SparseCategoricalCrossentropy(
        {.from_logits = boolean(c, "from_logits", path), .reduction = reduction});
  bad_config(path, str_cat("unknown loss \"", name, "\""));
}

json parse_metadata(const detail::SafetensorsFile& f, const char* key, const std::string& path) {
  try {
    return json::parse(f.metadata.at(key));
  } catch (const json::exception& e) {
    bad_config(path, str_cat(key, " is not valid JSON: ", e.what()));
  }
}

}  // namespace

void Model::save(const std::string& path, SaveOptions options) const {
  State& s = state();
  if (!built())
    throw FailedPreconditionError(str_cat("Model.save: model \"",
                                          name(),
                                          "\" is not built yet; call it on a batch, fit it or "
                                          "build(input_shape) first"));
  int version = 1;
  const std::string config = layer_json(*this, version).dump();
  std::map<std::string, std::string> metadata{{kVersionKey, std::to_string(version)},
                                              {kConfigKey, config}};
  std::vector<std::pair<std::string, train::Trackable>> objects{{"model", layers::Layer(*this)}};
  if (options.include_optimizer && s.compiled) {
    objects.emplace_back("optimizer", *s.optimizer);
    std::string why;
    if (auto c = compile_json(s, why))
      metadata[kCompileKey] = c->dump();
    else if (!std::exchange(s.warned_compile_config, true))
      std::fprintf(stderr,
                   "WARNING: Model.save: the compile config of \"%s\" is not saved (%s); "
                   "load_model will return it uncompiled.\n",
                   name().c_str(),
                   why.c_str());
  }
  const train::Checkpoint checkpoint({}, std::move(objects));
  const std::string bytes = train::detail::encode_checkpoint(*checkpoint.impl(), metadata);
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) train::detail::make_directories(parent);
  detail::write_file_atomically(path, bytes);
}

namespace models {

Model load_model(const std::string& path, LoadOptions options) {
  const detail::SafetensorsFile f = detail::decode_safetensors(detail::read_file(path), path);
  auto version = f.metadata.find(kVersionKey);
  if (version == f.metadata.end() || !f.metadata.count(kConfigKey))
    throw InvalidArgumentError(
        str_cat("File '",
                path,
                "' holds no model config (a checkpoint or weights only?): rebuild "
                "the model in code and restore it with tf::train::Checkpoint"));
  int v = 0;
  try {
    size_t used = 0;
    v = std::stoi(version->second, &used);
    if (used != version->second.size()) throw std::invalid_argument("trailing");
  } catch (const std::exception&) {
    bad_config(path, str_cat(kVersionKey, " is \"", version->second, "\", not a number"));
  }
  if (v > kModelFormatVersion)
    throw UnimplementedError(str_cat("Model file '",
                                     path,
                                     "' was saved in model format version ",
                                     v,
                                     ", newer than this tapeflow reads (",
                                     kModelFormatVersion,
                                     " or older); load it with a newer tapeflow"));
  if (v < 1) bad_config(path, str_cat("model format version ", v));

  const json config = parse_metadata(f, kConfigKey, path);
  const layers::Layer layer = layer_from_json(config, path, 0);
  Model model(layer);
  if (auto b = build_config(config, path)) {
    if (b->input_shape)
      model.build(*b->input_shape, b->dtype);  // also remembers the shape for summary()
    else
      build_from(model, *b);
  }
  build_rest(layer, config, path);

  std::vector<std::pair<std::string, train::Trackable>> objects{{"model", layer}};
  if (options.compile && f.metadata.count(kCompileKey)) {
    const json c = parse_metadata(f, kCompileKey, path);
    CompileOptions co{.optimizer = optimizer_from_json(member(c, "optimizer", path), path),
                      .loss = loss_from_json(member(c, "loss", path), path)};
    const json& metrics = member(c, "metrics", path);
    if (!metrics.is_array()) bad_config(path, "metrics is not a list");
    for (const json& m : metrics) {
      if (!m.is_string()) bad_config(path, "a metric name is not a string");
      co.metrics.emplace_back(m.get<std::string>());
    }
    model.compile(std::move(co));
    objects.emplace_back("optimizer", model.optimizer());
  }
  train::Checkpoint checkpoint({}, std::move(objects));
  train::detail::restore_checkpoint(*checkpoint.impl(), f, path);
  return model;
}

}  // namespace models

}  // namespace tapeflow

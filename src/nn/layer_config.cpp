// Layer configs and the registry of layer factories: what model.save writes for each layer and
// what tf::models::load_model calls to rebuild it (Keras' get_config / from_config and
// register_keras_serializable). Values are JSON texts handled with nlohmann-json.
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

#include "core/fail.hpp"
#include "nn/layer_util.hpp"
#include "tapeflow/layers.hpp"

namespace tapeflow::layers {

using detail::str_cat;
using nlohmann::json;

// ---- LayerConfig --------------------------------------------------------------------------------

namespace {

json parse_value(const std::string& layer, const std::string& key, const std::string& text) {
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    throw InvalidArgumentError(str_cat(
        "Config of layer \"", layer, "\": option '", key, "' is not valid JSON: ", e.what()));
  }
}

[[noreturn]] void wrong_type(const std::string& layer,
                             const std::string& key,
                             const char* expected,
                             const std::string& text) {
  throw InvalidArgumentError(str_cat("Config of layer \"",
                                     layer,
                                     "\": option '",
                                     key,
                                     "' should be ",
                                     expected,
                                     " but is ",
                                     text));
}

}  // namespace

LayerConfig& LayerConfig::set_bool(const std::string& key, bool value) {
  values_[key] = json(value).dump();
  return *this;
}
LayerConfig& LayerConfig::set_int(const std::string& key, int64_t value) {
  values_[key] = json(value).dump();
  return *this;
}
LayerConfig& LayerConfig::set_double(const std::string& key, double value) {
  values_[key] = json(value).dump();  // shortest text that reads back as the same double
  return *this;
}
LayerConfig& LayerConfig::set_string(const std::string& key, const std::string& value) {
  values_[key] = json(value).dump();
  return *this;
}
LayerConfig& LayerConfig::set_ints(const std::string& key, const std::vector<int64_t>& value) {
  values_[key] = json(value).dump();
  return *this;
}
LayerConfig& LayerConfig::set_json(const std::string& key, const std::string& text) {
  values_[key] = parse_value(name_, key, text).dump();
  return *this;
}

const std::string& LayerConfig::raw(const std::string& key) const {
  auto it = values_.find(key);
  if (it == values_.end())
    throw InvalidArgumentError(
        str_cat("Config of layer \"", name_, "\" has no option '", key, "'"));
  return it->second;
}

const std::string& LayerConfig::get_json(const std::string& key) const { return raw(key); }

bool LayerConfig::get_bool(const std::string& key) const {
  json j = parse_value(name_, key, raw(key));
  if (!j.is_boolean()) wrong_type(name_, key, "a boolean", raw(key));
  return j.get<bool>();
}

int64_t LayerConfig::get_int(const std::string& key) const {
  json j = parse_value(name_, key, raw(key));
  if (!j.is_number_integer()) wrong_type(name_, key, "an integer", raw(key));
  return j.get<int64_t>();
}

double LayerConfig::get_double(const std::string& key) const {
  json j = parse_value(name_, key, raw(key));
  if (!j.is_number()) wrong_type(name_, key, "a number", raw(key));
  return j.get<double>();
}

std::string LayerConfig::get_string(const std::string& key) const {
  json j = parse_value(name_, key, raw(key));
  if (!j.is_string()) wrong_type(name_, key, "a string", raw(key));
  return j.get<std::string>();
}

std::vector<int64_t> LayerConfig::get_ints(const std::string& key) const {
  json j = parse_value(name_, key, raw(key));
  if (!j.is_array()) wrong_type(name_, key, "a list of integers", raw(key));
  std::vector<int64_t> out;
  for (const json& e : j) {
    if (!e.is_number_integer()) wrong_type(name_, key, "a list of integers", raw(key));
    out.push_back(e.get<int64_t>());
  }
  return out;
}

// ---- the registry -------------------------------------------------------------------------------

namespace {

Size2 size2(const LayerConfig& c, const std::string& key) {
  std::vector<int64_t> v = c.get_ints(key);
  if (v.size() != 2)
    throw InvalidArgumentError(str_cat("Config of layer \"",
                                       c.name(),
                                       "\": option '",
                                       key,
                                       "' should hold 2 values, not ",
                                       v.size()));
  return {v[0], v[1]};
}

[[noreturn]] void bad_option(const LayerConfig& c, const std::string& key, const char* expected) {
  throw InvalidArgumentError(str_cat("Config of layer \"",
                                     c.name(),
                                     "\": option '",
                                     key,
                                     "' should be ",
                                     expected,
                                     " but is ",
                                     c.get_json(key)));
}

// An integer, or a list of one integer (Keras writes Conv1D's kernel_size as (3,)).
int64_t int_or_single(const LayerConfig& c, const std::string& key) {
  const json j = json::parse(c.get_json(key));
  if (j.is_number_integer()) return j.get<int64_t>();
  if (j.is_array() && j.size() == 1 && j[0].is_number_integer()) return j[0].get<int64_t>();
  bad_option(c, key, "an integer or a list of one integer");
}

// An integer or a list of integers, each fitting an int (axes, Permute's dims).
std::vector<int> small_ints(const LayerConfig& c, const std::string& key) {
  const json j = json::parse(c.get_json(key));
  std::vector<int64_t> v;
  if (j.is_number_integer())
    v.push_back(j.get<int64_t>());
  else
    v = c.get_ints(key);
  std::vector<int> out;
  for (int64_t e : v) {
    if (e < -(int64_t(1) << 30) || e > (int64_t(1) << 30))
      bad_option(c, key, "a list of small integers");
    out.push_back(int(e));
  }
  return out;
}

// An integer, or null for "unset" (0).
int64_t int_or_null(const LayerConfig& c, const std::string& key) {
  if (!c.has(key) || json::parse(c.get_json(key)).is_null()) return 0;
  return c.get_int(key);
}

// RandomTranslation's factor: a number f (the range [-f, f]) or a list [lower, upper].
TranslationFactor translation_factor(const LayerConfig& c, const std::string& key) {
  const json j = json::parse(c.get_json(key));
  if (j.is_number()) return TranslationFactor(j.get<double>());
  if (j.is_array() && j.size() == 2 && j[0].is_number() && j[1].is_number())
    return TranslationFactor(j[0].get<double>(), j[1].get<double>());
  bad_option(c, key, "a number or a list [lower, upper] of two numbers");
}

std::optional<uint64_t> optional_seed(const LayerConfig& c) {
  if (!c.has("seed") || json::parse(c.get_json("seed")).is_null()) return std::nullopt;
  const int64_t seed = c.get_int("seed");
  if (seed < 0) bad_option(c, "seed", "a non-negative integer");
  return uint64_t(seed);
}

// ZeroPadding2D's padding: n, (h, w) symmetric, or Keras' ((top, bottom), (left, right)).
ZeroPadding2DOptions zero_padding(const LayerConfig& c) {
  const json j = json::parse(c.get_json("padding"));
  ZeroPadding2DOptions o;
  o.name = c.name();
  auto is_pair = [](const json& p) {
    return p.is_array() && p.size() == 2 && p[0].is_number_integer() && p[1].is_number_integer();
  };
  if (j.is_number_integer()) {
    o.padding = Size2(j.get<int64_t>());
  } else if (is_pair(j)) {
    o.padding = Size2(j[0].get<int64_t>(), j[1].get<int64_t>());
  } else if (j.is_array() && j.size() == 2 && is_pair(j[0]) && is_pair(j[1])) {
    o.top_bottom = Size2(j[0][0].get<int64_t>(), j[0][1].get<int64_t>());
    o.left_right = Size2(j[1][0].get<int64_t>(), j[1][1].get<int64_t>());
    if (!(o.top_bottom.h || o.top_bottom.w || o.left_right.h || o.left_right.w)) o.padding = 0;
  } else {
    bad_option(c,
               "padding",
               "an integer, a list of 2 integers or a list of 2 lists of 2 integers "
               "((top, bottom), (left, right))");
  }
  return o;
}

void no_sublayers(const LayerConfig& c, const std::vector<Layer>& subs) {
  if (!subs.empty())
    throw InvalidArgumentError(str_cat(
        "Config of layer \"", c.name(), "\" lists ", subs.size(), " sublayers; it has none"));
}

// The layers of layers_ext.hpp (issue #12).
void add_ext_factories(std::map<std::string, LayerFactory>& f) {
  auto merge = [](auto make) {
    return [make](const LayerConfig& c, const std::vector<Layer>& subs) -> Layer {
      no_sublayers(c, subs);
      return make(c.name());
    };
  };
  f["Add"] = merge([](const std::string& n) -> Layer { return Add(n); });
  f["Subtract"] = merge([](const std::string& n) -> Layer { return Subtract(n); });
  f["Multiply"] = merge([](const std::string& n) -> Layer { return Multiply(n); });
  f["Average"] = merge([](const std::string& n) -> Layer { return Average(n); });
  f["Maximum"] = merge([](const std::string& n) -> Layer { return Maximum(n); });
  f["Minimum"] = merge([](const std::string& n) -> Layer { return Minimum(n); });
  f["Concatenate"] = [](const LayerConfig& c, const std::vector<Layer>& subs) -> Layer {
    no_sublayers(c, subs);
    const std::vector<int> axis = small_ints(c, "axis");
    if (axis.size() != 1) bad_option(c, "axis", "an integer");
    return Concatenate({.axis = axis[0], .name = c.name()});
  };
  f["Activation"] = [](const LayerConfig& c, const std::vector<Layer>& subs) -> Layer {
    no_sublayers(c, subs);
    return Activation(c.get_string("activation"), c.name());
  };
  f["Reshape"] = [](const LayerConfig& c, const std::vector<Layer>& subs) -> Layer {
    no_sublayers(c, subs);
    return Reshape(c.get_ints("target_shape"), c.name());
  };
  f["Permute"] = [](const LayerConfig& c, const std::vector<Layer>& subs) -> Layer {
    no_sublayers(c, subs);
    return Permute(small_ints(c, "dims"), c.name());
  };
  auto global_pool = [](auto make) {
    return [make](const LayerConfig& c, const std::vector<Layer>& subs) -> Layer {
      no_sublayers(c, subs);
      return make(GlobalPoolingOptions{.keepdims = c.get_bool("keepdims"), .name = c.name()});
    };
  };
  f["GlobalAveragePooling1D"] =
      global_pool([](GlobalPoolingOptions o) -> Layer { return GlobalAveragePooling1D(o); });
  f["GlobalMaxPooling1D"] =
      global_pool([](GlobalPoolingOptions o) -> Layer { return GlobalMaxPooling1D(o); });
  f["GlobalAveragePooling2D"] =
      global_pool([](GlobalPoolingOptions o) -> Layer { return GlobalAveragePooling2D(o); });
  f["GlobalMaxPooling2D"] =
      global_pool([](GlobalPoolingOptions o) -> Layer { return GlobalMaxPooling2D(o); });
  f["UpSampling2D"] = [](const LayerConfig& c, const std::vector<Layer>& subs) -> Layer {
    no_sublayers(c, subs);
    return UpSampling2D({.size = size2(c, "size"),
                         .interpolation = c.get_string("interpolation"),
                         .name = c.name()});
  };
  f["ZeroPadding2D"] = [](const LayerConfig& c, const std::vector<Layer>& subs) -> Layer {
    no_sublayers(c, subs);
    return ZeroPadding2D(zero_padding(c));
  };
  f["Embedding"] = [](const LayerConfig& c, const std::vector<Layer>& subs) -> Layer {
    no_sublayers(c, subs);
    return Embedding({.input_dim = c.get_int("input_dim"),
                      .output_dim = c.get_int("output_dim"),
                      .name = c.name()});
  };
  f["LayerNormalization"] = [](const LayerConfig& c, const std::vector<Layer>& subs) -> Layer {
    no_sublayers(c, subs);
    return LayerNormalization({.axis = small_ints(c, "axis"),
                               .epsilon = c.get_double("epsilon"),
                               .center = c.get_bool("center"),
                               .scale = c.get_bool("scale"),
                               .name = c.name()});
  };
  f["MultiHeadAttention"] = [](const LayerConfig& c, const std::vector<Layer>& subs) -> Layer {
    no_sublayers(c, subs);
    return MultiHeadAttention({.num_heads = c.get_int("num_heads"),
                               .key_dim = c.get_int("key_dim"),
                               .value_dim = int_or_null(c, "value_dim"),
                               .dropout = c.get_double("dropout"),
                               .use_bias = c.get_bool("use_bias"),
                               .output_shape = int_or_null(c, "output_shape"),
                               .seed = optional_seed(c),
                               .name = c.name()});
  };
  f["SimpleRNN"] = [](const LayerConfig& c, const std::vector<Layer>& subs) -> Layer {
    no_sublayers(c, subs);
    return SimpleRNN({.units = c.get_int("units"),
                      .activation = c.get_string("activation"),
                      .use_bias = c.get_bool("use_bias"),
                      .return_sequences = c.get_bool("return_sequences"),
                      .return_state = c.get_bool("return_state"),
                      .go_backwards = c.get_bool("go_backwards"),
                      .name = c.name()});
  };
  f["LSTM"] = [](const LayerConfig& c, const std::vector<Layer>& subs) -> Layer {
    no_sublayers(c, subs);
    return LSTM({.units = c.get_int("units"),
                 .activation = c.get_string("activation"),
                 .recurrent_activation = c.get_string("recurrent_activation"),
                 .use_bias = c.get_bool("use_bias"),
                 .unit_forget_bias = c.get_bool("unit_forget_bias"),
                 .return_sequences = c.get_bool("return_sequences"),
                 .return_state = c.get_bool("return_state"),
                 .go_backwards = c.get_bool("go_backwards"),
                 .name = c.name()});
  };
  f["GRU"] = [](const LayerConfig& c, const std::vector<Layer>& subs) -> Layer {
    no_sublayers(c, subs);
    return GRU({.units = c.get_int("units"),
                .activation = c.get_string("activation"),
                .recurrent_activation = c.get_string("recurrent_activation"),
                .use_bias = c.get_bool("use_bias"),
                .reset_after = c.get_bool("reset_after"),
                .return_sequences = c.get_bool("return_sequences"),
                .return_state = c.get_bool("return_state"),
                .go_backwards = c.get_bool("go_backwards"),
                .name = c.name()});
  };
  f["Bidirectional"] = [](const LayerConfig& c, const std::vector<Layer>& subs) -> Layer {
    return internal::bidirectional_from_layers(
        subs, {.merge_mode = c.get_string("merge_mode"), .name = c.name()});
  };
  f["Conv1D"] = [](const LayerConfig& c, const std::vector<Layer>& subs) -> Layer {
    no_sublayers(c, subs);
    return Conv1D({.filters = c.get_int("filters"),
                   .kernel_size = int_or_single(c, "kernel_size"),
                   .strides = int_or_single(c, "strides"),
                   .padding = c.get_string("padding"),
                   .activation = c.get_string("activation"),
                   .use_bias = c.get_bool("use_bias"),
                   .name = c.name()});
  };
  f["Conv2DTranspose"] = [](const LayerConfig& c, const std::vector<Layer>& subs) -> Layer {
    no_sublayers(c, subs);
    Conv2DTransposeOptions o{.filters = c.get_int("filters"),
                             .kernel_size = size2(c, "kernel_size"),
                             .strides = size2(c, "strides"),
                             .padding = c.get_string("padding"),
                             .output_padding = std::nullopt,
                             .activation = c.get_string("activation"),
                             .use_bias = c.get_bool("use_bias"),
                             .name = c.name()};
    if (c.has("output_padding") && !json::parse(c.get_json("output_padding")).is_null())
      o.output_padding = size2(c, "output_padding");
    return Conv2DTranspose(o);
  };
  f["DepthwiseConv2D"] = [](const LayerConfig& c, const std::vector<Layer>& subs) -> Layer {
    no_sublayers(c, subs);
    return DepthwiseConv2D({.kernel_size = size2(c, "kernel_size"),
                            .strides = size2(c, "strides"),
                            .padding = c.get_string("padding"),
                            .depth_multiplier = c.get_int("depth_multiplier"),
                            .activation = c.get_string("activation"),
                            .use_bias = c.get_bool("use_bias"),
                            .name = c.name()});
  };
  f["RandomTranslation"] = [](const LayerConfig& c, const std::vector<Layer>& subs) -> Layer {
    no_sublayers(c, subs);
    return RandomTranslation({.height_factor = translation_factor(c, "height_factor"),
                              .width_factor = translation_factor(c, "width_factor"),
                              .fill_mode = c.get_string("fill_mode"),
                              .interpolation = c.get_string("interpolation"),
                              .fill_value = c.get_double("fill_value"),
                              .seed = optional_seed(c),
                              .name = c.name()});
  };
  f["RandomFlip"] = [](const LayerConfig& c, const std::vector<Layer>& subs) -> Layer {
    no_sublayers(c, subs);
    return RandomFlip({.mode = c.get_string("mode"), .seed = optional_seed(c), .name = c.name()});
  };
}

std::map<std::string, LayerFactory> builtin_factories() {
  std::map<std::string, LayerFactory> f;
  f["Dense"] = [](const LayerConfig& c, const std::vector<Layer>& subs) -> Layer {
    no_sublayers(c, subs);
    return Dense(DenseOptions{.units = c.get_int("units"),
                              .activation = c.get_string("activation"),
                              .use_bias = c.get_bool("use_bias"),
                              .name = c.name()});
  };
  f["Conv2D"] = [](const LayerConfig& c, const std::vector<Layer>& subs) -> Layer {
    no_sublayers(c, subs);
    return Conv2D(Conv2DOptions{.filters = c.get_int("filters"),
                                .kernel_size = size2(c, "kernel_size"),
                                .strides = size2(c, "strides"),
                                .padding = c.get_string("padding"),
                                .activation = c.get_string("activation"),
                                .use_bias = c.get_bool("use_bias"),
                                .name = c.name()});
  };
  auto pool = [](bool max) {
    return [max](const LayerConfig& c, const std::vector<Layer>& subs) -> Layer {
      no_sublayers(c, subs);
      Pool2DOptions o{.pool_size = size2(c, "pool_size"),
                      .strides = size2(c, "strides"),
                      .padding = c.get_string("padding"),
                      .name = c.name()};
      if (max) return MaxPool2D(o);
      return AveragePooling2D(o);
    };
  };
  f["MaxPooling2D"] = pool(true);
  f["AveragePooling2D"] = pool(false);
  f["Flatten"] = [](const LayerConfig& c, const std::vector<Layer>& subs) -> Layer {
    no_sublayers(c, subs);
    return Flatten(c.name());
  };
  f["Dropout"] = [](const LayerConfig& c, const std::vector<Layer>& subs) -> Layer {
    no_sublayers(c, subs);
    DropoutOptions o{.rate = c.get_double("rate"), .seed = {}, .name = c.name()};
    if (c.has("seed")) o.seed = uint64_t(c.get_int("seed"));
    return Dropout(o);
  };
  f["BatchNormalization"] = [](const LayerConfig& c, const std::vector<Layer>& subs) -> Layer {
    no_sublayers(c, subs);
    return BatchNormalization(BatchNormalizationOptions{.momentum = c.get_double("momentum"),
                                                        .epsilon = c.get_double("epsilon"),
                                                        .center = c.get_bool("center"),
                                                        .scale = c.get_bool("scale"),
                                                        .name = c.name()});
  };
  f["Sequential"] = [](const LayerConfig& c, const std::vector<Layer>& subs) -> Layer {
    return Sequential(subs, c.name());
  };
  add_ext_factories(f);
  return f;
}

struct Registry {
  std::mutex mutex;
  std::map<std::string, LayerFactory> factories = builtin_factories();
};

Registry& registry() {
  static Registry r;
  return r;
}

}  // namespace

void register_layer(const std::string& class_name, LayerFactory factory) {
  if (class_name.empty()) throw InvalidArgumentError("register_layer: the class name is empty");
  if (!factory)
    throw InvalidArgumentError(
        str_cat("register_layer(\"", class_name, "\"): the factory is empty"));
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.factories[class_name] = std::move(factory);
}

bool is_layer_registered(const std::string& class_name) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  return r.factories.count(class_name) != 0;
}

Layer layer_from_config(const std::string& class_name,
                        const LayerConfig& config,
                        const std::vector<Layer>& sublayers) {
  LayerFactory factory;
  {
    Registry& r = registry();
    std::lock_guard<std::mutex> lock(r.mutex);
    auto it = r.factories.find(class_name);
    if (it == r.factories.end())
      throw NotFoundError(str_cat("Unknown layer: '",
                                  class_name,
                                  "' (layer \"",
                                  config.name(),
                                  "\"). Register it with tf::layers::register_layer(\"",
                                  class_name,
                                  "\", factory) before loading the model"));
    factory = it->second;
  }
  Layer layer = factory(config, sublayers);
  if (!layer.defined())
    throw InvalidArgumentError(
        str_cat("The factory registered for '", class_name, "' returned an undefined layer"));
  return layer;
}

}  // namespace tapeflow::layers

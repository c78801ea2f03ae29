// Layer configs and the registry of layer factories: what model.save writes for each layer and
// what tf::models::load_model calls to rebuild it (Keras' get_config / from_config and
// register_keras_serializable). Values are JSON texts handled with nlohmann-json.
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

#include "core/fail.hpp"
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

void no_sublayers(const LayerConfig& c, const std::vector<Layer>& subs) {
  if (!subs.empty())
    throw InvalidArgumentError(str_cat(
        "Config of layer \"", c.name(), "\" lists ", subs.size(), " sublayers; it has none"));
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

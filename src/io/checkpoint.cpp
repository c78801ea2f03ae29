// tf::train::Checkpoint: an object graph of variables, layers and
// optimizers flattened to keyed tensors, stored as one safetensors file per checkpoint.
//
// Keys: a variable passed by name is stored under that name; a layer's variables under
// "<object>/<local name>" for its own weights and "<object>/layer-<i>/..." for its i-th
// sublayer; an optimizer's step count under "<object>/iterations" and the slots of each tracked
// variable under "<variable key>/.OPTIMIZER_SLOT/<object>/<slot>" (TensorFlow's convention);
// nested checkpoints prefix their keys with "<object>/". The metadata holds the object graph
// (JSON) that ties them together, so restore knows which slots to create.
#include "tapeflow/checkpoint.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <unordered_map>

#include "core/fail.hpp"
#include "io/checkpoint_state.hpp"
#include "io/json.hpp"
#include "io/safetensors.hpp"
#include "tapeflow/device.hpp"

namespace tapeflow::train {

namespace fs = std::filesystem;
using tapeflow::detail::str_cat;
using namespace detail;  // checkpoint_state.hpp
using tapeflow::detail::decode_safetensors;
using tapeflow::detail::make_tensor;
using tapeflow::detail::read_file;

namespace {

constexpr const char* kSaveCounter = "save_counter";
constexpr const char* kFormat = "tapeflow.checkpoint";

// ---- the object graph, flattened -------------------------------------------------------------

struct LayerObject {
  std::string key;
  std::string layer_name;
  std::vector<std::string> variables;
};
struct OptimizerObject {
  std::string key;
  optimizers::Optimizer* optimizer;
};
struct SlotEntry {
  std::string variable;  // key of the variable the slot belongs to
  std::string slot;      // "m", "v", ...
  std::string tensor;    // its key in the file
  Variable value;
};

struct Graph {
  std::vector<std::pair<std::string, Variable>> variables;  // every tracked variable by key
  std::vector<std::string> direct;                          // keys of plainly named variables
  std::vector<LayerObject> layers;
  std::vector<OptimizerObject> optimizers;
  std::vector<std::string> checkpoints;  // keys of nested checkpoints
};

void collect_layer(const layers::Layer& layer, const std::string& key, LayerObject& obj, Graph& g) {
  const auto& impl = *layer.impl();
  const std::string own = impl.name() + "/";
  for (const Variable& v : impl.weights()) {
    const std::string& name = v.name();
    const std::string local = name.rfind(own, 0) == 0 ? name.substr(own.size()) : name;
    g.variables.emplace_back(key + "/" + local, v);
    obj.variables.push_back(key + "/" + local);
  }
  const std::vector<layers::Layer> subs = impl.sublayers();
  for (size_t i = 0; i < subs.size(); ++i)
    collect_layer(subs[i], str_cat(key, "/layer-", i), obj, g);
}

void collect(const detail::CheckpointImpl& c,
             const std::string& prefix,
             Graph& g,
             std::vector<const detail::CheckpointImpl*>& stack) {
  if (std::find(stack.begin(), stack.end(), &c) != stack.end())
    throw InvalidArgumentError(str_cat("Checkpoint: object '",
                                       prefix.substr(0, prefix.size() - 1),
                                       "' is a checkpoint that contains itself"));
  stack.push_back(&c);
  for (const auto& [name, v] : c.variables) {
    g.variables.emplace_back(prefix + name, v);
    g.direct.push_back(prefix + name);
  }
  for (const auto& [name, t] : c.objects) {
    const std::string key = prefix + name;
    switch (t.kind()) {
      case Trackable::Kind::variable:
        g.variables.emplace_back(key, t.variable());
        g.direct.push_back(key);
        break;
      case Trackable::Kind::layer: {
        LayerObject obj{key, t.layer().name(), {}};
        collect_layer(t.layer(), key, obj, g);
        g.layers.push_back(std::move(obj));
        break;
      }
      case Trackable::Kind::optimizer:
        g.optimizers.push_back({key, t.optimizer()});
        break;
      case Trackable::Kind::checkpoint:
        g.checkpoints.push_back(key);
        collect(*t.checkpoint(), key + "/", g, stack);
        break;
    }
  }
  stack.pop_back();
}

Graph flatten(const detail::CheckpointImpl& c) {
  Graph g;
  std::vector<const detail::CheckpointImpl*> stack;
  collect(c, "", g, stack);
  std::set<std::string> seen{kSaveCounter};
  for (const auto& [key, v] : g.variables)
    if (!seen.insert(key).second)
      throw InvalidArgumentError(str_cat("Checkpoint: two values would be saved under the key '",
                                         key,
                                         "' (two weights of a layer with the same name?)"));
  return g;
}

// The slots of the tracked variables, each variable (by handle) once, under its first key.
std::vector<SlotEntry> optimizer_slots(const Graph& g, const OptimizerObject& o) {
  std::vector<SlotEntry> out;
  std::set<uint64_t> done;
  for (const auto& [key, v] : g.variables) {
    if (!done.insert(v.handle_id()).second) continue;
    for (const auto& [slot, sv] : o.optimizer->slots(v))
      out.push_back({key, slot, key + "/.OPTIMIZER_SLOT/" + o.key + "/" + slot, sv});
  }
  return out;
}

fs::path directory_of(const std::string& path) {
  fs::path p(path);
  return p.has_parent_path() ? p.parent_path() : fs::path(".");
}

std::string shape_dtype(const Shape& s, DType d) {
  return str_cat("shape ", s, " and dtype ", dtype_name(d));
}

int64_t read_int64_scalar(const tapeflow::detail::SafetensorsFile& f,
                          const std::string& key,
                          const std::string& path) {
  auto it = f.tensors.find(key);
  if (it == f.tensors.end())
    throw NotFoundError(str_cat("Checkpoint '", path, "' has no value for '", key, "'"));
  if (it->second.dtype != DType::int64 || it->second.shape.rank() != 0)
    throw InvalidArgumentError(str_cat("Checkpoint '",
                                       path,
                                       "': '",
                                       key,
                                       "' should be an int64 scalar but has ",
                                       shape_dtype(it->second.shape, it->second.dtype)));
  int64_t v;
  std::memcpy(&v, f.data(it->second), sizeof v);
  return v;
}

void check_name(const std::string& name, std::set<std::string>& seen) {
  if (name.empty() || name.find('/') != std::string::npos || name == kSaveCounter)
    throw InvalidArgumentError(str_cat("Checkpoint: invalid name '",
                                       name,
                                       "' (names must be non-empty, without '/', and not '",
                                       kSaveCounter,
                                       "')"));
  if (!seen.insert(name).second)
    throw InvalidArgumentError(str_cat("Checkpoint: the name '", name, "' is used twice"));
}

// ---- restore's checks ---------------------------------------------------------------------------

using tapeflow::detail::Json;
using tapeflow::detail::SafetensorsFile;
using tapeflow::detail::SafetensorsTensor;

struct Assignment {
  Variable var;
  const SafetensorsTensor* tensor;
};

struct SavedSlot {
  std::string variable, slot, tensor;
};

// The object graph in a file's metadata; anything malformed in it is a DataLossError.
class SavedGraph {
 public:
  SavedGraph(const SafetensorsFile& f, const std::string& file) : file_(file) {
    auto format = f.metadata.find("format");
    auto graph = f.metadata.find("object_graph");
    if (format == f.metadata.end() || format->second != kFormat || graph == f.metadata.end())
      throw DataLossError(str_cat(
          "Checkpoint file '", file, "' is not a tapeflow checkpoint (no format or object graph)"));
    try {
      root_ = tapeflow::detail::parse_json(graph->second);
    } catch (const tapeflow::detail::JsonError& e) {
      bad(e.what());
    }
  }
  [[noreturn]] void bad(const std::string& what) const {
    throw DataLossError(str_cat("Checkpoint file '", file_, "': bad object graph: ", what));
  }
  /// The entry of `list` ("layers", "optimizers") whose "key" is `key`; nullptr if none.
  const Json* object(const char* list, const std::string& key) const {
    const Json* l = root_.find(list);
    if (!l || !l->is(Json::Kind::array)) bad(list);
    for (const Json& o : l->array) {
      const Json* k = o.find("key");
      if (k && k->is(Json::Kind::string) && k->string == key) return &o;
    }
    return nullptr;
  }
  std::vector<std::string> strings(const Json* j, const char* what) const {
    std::vector<std::string> out;
    if (!j || !j->is(Json::Kind::array)) bad(what);
    for (const Json& e : j->array) {
      if (!e.is(Json::Kind::string)) bad(what);
      out.push_back(e.string);
    }
    return out;
  }
  std::vector<SavedSlot> slots(const Json& optimizer) const {
    const Json* list = optimizer.find("slots");
    if (!list || !list->is(Json::Kind::array)) bad("slots");
    std::vector<SavedSlot> out;
    for (const Json& s : list->array) {
      const Json* fields[3] = {s.find("variable"), s.find("slot"), s.find("tensor")};
      for (const Json* field : fields)
        if (!field || !field->is(Json::Kind::string)) bad("slot entry");
      out.push_back({fields[0]->string, fields[1]->string, fields[2]->string});
    }
    return out;
  }

 private:
  std::string file_;
  Json root_;
};

NotFoundError missing_in_layer(const SafetensorsFile& f,
                               const std::string& path,
                               const std::string& key,
                               const LayerObject& l) {
  auto it = f.tensors.find(key);
  return NotFoundError(
      str_cat("Checkpoint '",
              path,
              "' has variable '",
              key,
              "'",
              it == f.tensors.end() ? std::string()
                                    : " of " + shape_dtype(it->second.shape, it->second.dtype),
              " which layer '",
              l.key,
              "' (",
              l.layer_name,
              ") lacks; build the same architecture (layer.build(input_shape)) before restoring"));
}

Assignment check_value(const SafetensorsFile& f,
                       const std::string& path,
                       const std::string& key,
                       const Variable& v) {
  auto it = f.tensors.find(key);
  if (it == f.tensors.end())
    throw NotFoundError(str_cat("Checkpoint '",
                                path,
                                "' has no value for '",
                                key,
                                "' (variable '",
                                v.name(),
                                "' of ",
                                shape_dtype(v.shape(), v.dtype()),
                                ")"));
  const SafetensorsTensor& t = it->second;
  if (!(t.shape == v.shape()) || t.dtype != v.dtype())
    throw InvalidArgumentError(str_cat("Cannot restore '",
                                       key,
                                       "' (variable '",
                                       v.name(),
                                       "') from checkpoint '",
                                       path,
                                       "': the checkpoint has ",
                                       shape_dtype(t.shape, t.dtype),
                                       ", the variable has ",
                                       shape_dtype(v.shape(), v.dtype())));
  return {v, &t};
}

// Optimizers create slots lazily; build them now (as the first apply would) so that they can be
// checked and filled. Building creates initial values only, none from the checkpoint.
Assignment check_slot(const SafetensorsFile& f,
                      const std::string& path,
                      optimizers::Optimizer& opt,
                      const Variable& var,
                      const SavedSlot& s) {
  auto t = f.tensors.find(s.tensor);
  if (t == f.tensors.end())
    throw DataLossError(str_cat(
        "Checkpoint '", path, "' lists optimizer slot '", s.tensor, "' but has no such tensor"));
  opt.build({var});
  Variable sv = opt.get_slot(var, s.slot);
  if (!sv.defined())
    throw InvalidArgumentError(str_cat("Cannot restore optimizer slot '",
                                       s.tensor,
                                       "' from checkpoint '",
                                       path,
                                       "': the optimizer has no slot '",
                                       s.slot,
                                       "' for variable '",
                                       var.name(),
                                       "' (saved with different optimizer options?)"));
  if (!(t->second.shape == sv.shape()) || t->second.dtype != sv.dtype())
    throw InvalidArgumentError(str_cat("Cannot restore optimizer slot '",
                                       s.tensor,
                                       "' from checkpoint '",
                                       path,
                                       "': the checkpoint has ",
                                       shape_dtype(t->second.shape, t->second.dtype),
                                       ", the slot has ",
                                       shape_dtype(sv.shape(), sv.dtype())));
  return {sv, &t->second};
}

/// Every tensor of `g` under its checkpoint key, sorted by key (Checkpoint::tensors()).
std::vector<std::pair<std::string, Tensor>> graph_tensors(const Graph& g, int64_t save_counter) {
  std::vector<std::pair<std::string, Tensor>> out;
  for (const auto& [key, v] : g.variables) out.emplace_back(key, v.peek());
  size_t untracked = 0;
  for (const OptimizerObject& o : g.optimizers) {
    std::vector<SlotEntry> slots = optimizer_slots(g, o);
    untracked += o.optimizer->variables().size() - slots.size();
    for (const SlotEntry& s : slots) out.emplace_back(s.tensor, s.value.peek());
    DeviceScope cpu("/cpu:0");
    out.emplace_back(o.key + "/iterations", constant(int64_t(o.optimizer->iterations())));
  }
  if (untracked) {
    std::fprintf(stderr,
                 "WARNING: Checkpoint: %zu optimizer slots belong to variables this checkpoint "
                 "does not track; they are not saved.\n",
                 untracked);
  }
  {
    DeviceScope cpu("/cpu:0");
    out.emplace_back(kSaveCounter, constant(save_counter));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return out;
}

}  // namespace

// ---- Trackable ---------------------------------------------------------------------------------

Trackable::Trackable(const Variable& variable) : kind_(Kind::variable), variable_(variable) {
  if (!variable.defined()) throw InvalidArgumentError("Checkpoint: the variable is undefined");
}
Trackable::Trackable(const layers::Layer& layer) : kind_(Kind::layer), layer_(layer) {
  if (!layer.defined()) throw InvalidArgumentError("Checkpoint: the layer is undefined");
}
Trackable::Trackable(optimizers::Optimizer& optimizer)
    : kind_(Kind::optimizer), optimizer_(&optimizer) {}
Trackable::Trackable(const Checkpoint& checkpoint)
    : kind_(Kind::checkpoint), checkpoint_(checkpoint.impl()) {}

// ---- Checkpoint --------------------------------------------------------------------------------

Checkpoint::Checkpoint(std::vector<std::pair<std::string, Variable>> variables,
                       std::vector<std::pair<std::string, Trackable>> objects)
    : impl_(std::make_shared<detail::CheckpointImpl>()) {
  std::set<std::string> seen;
  for (const auto& [name, v] : variables) {
    check_name(name, seen);
    if (!v.defined())
      throw InvalidArgumentError(str_cat("Checkpoint: variable '", name, "' is undefined"));
  }
  for (const auto& [name, t] : objects) check_name(name, seen);
  impl_->variables = std::move(variables);
  impl_->objects = std::move(objects);
}

int64_t Checkpoint::save_counter() const { return impl_->save_counter; }

std::vector<std::pair<std::string, Tensor>> Checkpoint::tensors() const {
  return graph_tensors(flatten(*impl_), impl_->save_counter);
}

namespace detail {

std::string encode_checkpoint(const CheckpointImpl& checkpoint,
                              const std::map<std::string, std::string>& extra_metadata) {
  const Graph g = flatten(checkpoint);
  std::vector<std::pair<std::string, Tensor>> values = graph_tensors(g, checkpoint.save_counter);
  std::vector<Tensor> host;  // keeps the CPU copies alive while the file is assembled
  std::vector<tapeflow::detail::SafetensorsEntry> entries;
  host.reserve(values.size());
  for (const auto& [key, t] : values) {
    host.push_back(t.cpu());
    entries.push_back(
        {key, t.dtype(), t.shape(), host.back().num_elements() ? host.back().data() : nullptr});
  }

  // The object graph: which keys belong to which object, and which slots to which variable.
  using Json = nlohmann::ordered_json;
  Json graph = {{"version", 1},
                {"save_counter", kSaveCounter},
                {"variables", g.direct},
                {"layers", Json::array()},
                {"optimizers", Json::array()}};
  for (const auto& layer : g.layers)
    graph["layers"].push_back(
        {{"key", layer.key}, {"name", layer.layer_name}, {"variables", layer.variables}});
  for (const OptimizerObject& o : g.optimizers) {
    Json slots = Json::array();
    for (const SlotEntry& s : optimizer_slots(g, o))
      slots.push_back({{"variable", s.variable}, {"slot", s.slot}, {"tensor", s.tensor}});
    graph["optimizers"].push_back(
        {{"key", o.key}, {"iterations", o.key + "/iterations"}, {"slots", std::move(slots)}});
  }
  graph["checkpoints"] = g.checkpoints;

  std::map<std::string, std::string> metadata{{"format", kFormat},
                                              {"object_graph", tapeflow::detail::dump_json(graph)}};
  for (const auto& [key, value] : extra_metadata)
    if (!metadata.emplace(key, value).second || key == "crc32c")
      throw InvalidArgumentError(
          str_cat("Checkpoint: the metadata key '", key, "' is taken by the checkpoint itself"));
  return tapeflow::detail::encode_safetensors(entries, metadata);
}

}  // namespace detail

std::string Checkpoint::write(const std::string& path) const {
  const std::string bytes = encode_checkpoint(*impl_, {});
  tapeflow::detail::write_file_atomically(file_of(path), bytes);
  return path;
}

std::string Checkpoint::save(const std::string& prefix) {
  const fs::path dir = directory_of(prefix);
  make_directories(dir);
  const std::string path = str_cat(prefix, "-", impl_->save_counter + 1);
  ++impl_->save_counter;  // saved as part of the checkpoint, as TensorFlow does
  try {
    write(path);
  } catch (...) {
    --impl_->save_counter;
    throw;
  }
  // As tf.train.Checkpoint.save: the state file now names this one as the latest.
  std::vector<std::string> all;
  try {
    if (auto s = read_state(dir)) all = s->all;
  } catch (const DataLossError&) {
    // A damaged state file is replaced rather than blocking every later save.
  }
  all.erase(std::remove(all.begin(), all.end(), path), all.end());
  all.push_back(path);
  write_state(dir, path, all);
  return path;
}

void Checkpoint::restore(const std::string& path) const {
  if (path.empty())
    throw NotFoundError(
        "Checkpoint.restore: empty checkpoint path (latest_checkpoint found no checkpoint?)");
  const std::string file = file_of(path);
  restore_checkpoint(*impl_, decode_safetensors(read_file(file), file), path);
}

namespace detail {

void restore_checkpoint(CheckpointImpl& checkpoint,
                        const SafetensorsFile& f,
                        const std::string& path) {
  const std::string file = file_of(path);
  const SavedGraph saved(f, file);
  const Graph g = flatten(checkpoint);

  // 1. Validate everything, collecting what to assign.
  std::vector<Assignment> plan;
  std::set<std::string> ours;
  for (const auto& [key, v] : g.variables) ours.insert(key);
  for (const LayerObject& l : g.layers) {
    const Json* o = saved.object("layers", l.key);
    if (!o) throw NotFoundError(str_cat("Checkpoint '", path, "' has no layer '", l.key, "'"));
    for (const std::string& key : saved.strings(o->find("variables"), "layer variables"))
      if (!ours.count(key)) throw missing_in_layer(f, path, key, l);
  }
  for (const auto& [key, v] : g.variables) plan.push_back(check_value(f, path, key, v));

  std::unordered_map<std::string, Variable> by_key(g.variables.begin(), g.variables.end());
  std::vector<std::pair<optimizers::Optimizer*, int64_t>> iterations;
  for (const OptimizerObject& o : g.optimizers) {
    const Json* saved_o = saved.object("optimizers", o.key);
    if (!saved_o)
      throw NotFoundError(str_cat("Checkpoint '", path, "' has no optimizer '", o.key, "'"));
    iterations.emplace_back(o.optimizer, read_int64_scalar(f, o.key + "/iterations", path));
    if (iterations.back().second < 0)
      throw DataLossError(str_cat("Checkpoint file '", file, "': negative iterations"));
    for (const SavedSlot& s : saved.slots(*saved_o)) {
      auto v = by_key.find(s.variable);
      if (v == by_key.end()) continue;  // a variable this checkpoint does not track
      plan.push_back(check_slot(f, path, *o.optimizer, v->second, s));
    }
  }
  const int64_t counter = read_int64_scalar(f, kSaveCounter, path);

  // 2. Assign. Nothing below can fail on the checkpoint's content.
  for (const Assignment& a : plan) {
    const auto& t = *a.tensor;
    DeviceScope scope(a.var.peek().device_info());
    a.var.assign(make_tensor(f.data(t), t.dtype, t.shape.num_elements(), t.shape, t.dtype));
  }
  for (const auto& [opt, it] : iterations) opt->set_iterations(it);
  checkpoint.save_counter = counter;
}

}  // namespace detail

}  // namespace tapeflow::train

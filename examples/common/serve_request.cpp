// The predict body parser of examples/common/serve_request.hpp.
#include "common/serve_request.hpp"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace example {

using json = nlohmann::json;

namespace {

/// Deepest nesting of lists and objects accepted in a body: {"instances": [28x28x1]} has 5.
constexpr size_t kMaxNesting = 32;

/// Lists and commas in the largest layout of one image, 28x28x1: 1 + 28 + 784 lists,
/// 28 * 27 + 27 commas inside, 1 after it.
constexpr uint64_t kValuesPerImage = 813 + 784 + 1;

/// "instances[3][27]" for the indices {3, 27}: where in the request a problem is.
std::string where(const std::vector<size_t>& path, const std::string& root = "instances") {
  std::string s = root;
  for (size_t i : path) s += "[" + std::to_string(i) + "]";
  return s;
}

std::string shape_string(const std::vector<int64_t>& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + "]";
}

const char* json_type(const json& v) {
  return v.is_number()    ? "a number"
         : v.is_string()  ? "a string"
         : v.is_boolean() ? "a boolean"
         : v.is_null()    ? "null"
         : v.is_object()  ? "an object"
                          : "a list";
}

/// Appends the numbers of `v`, a nested list of exactly `dims`, to `out` as float32. Throws
/// InvalidArgumentError naming the first element that is not a finite number or a list of the
/// wrong length.
void flatten(const json& v,
             const std::vector<int64_t>& dims,
             std::vector<size_t>& path,
             std::vector<float>& out,
             const std::string& root = "instances") {
  const size_t depth = path.size() - 1;  // path[0] is the instance
  if (depth == dims.size()) {
    if (!v.is_number())
      throw tf::InvalidArgumentError(where(path, root) + " is " + json_type(v) +
                                     "; expected a number");
    const double d = v.get<double>();
    const float f = float(d);
    if (!std::isfinite(f))
      throw tf::InvalidArgumentError(where(path, root) + " = " + v.dump() +
                                     " is not a finite float32 value");
    out.push_back(f);
    return;
  }
  if (!v.is_array())
    throw tf::InvalidArgumentError(where(path, root) + " is " + json_type(v) +
                                   "; expected a list of " + std::to_string(dims[depth]));
  if (int64_t(v.size()) != dims[depth])
    throw tf::InvalidArgumentError(where(path, root) + " has " + std::to_string(v.size()) +
                                   " elements; expected " + std::to_string(dims[depth]));
  path.push_back(0);
  for (const json& e : v) {
    flatten(e, dims, path, out, root);
    ++path.back();
  }
  path.pop_back();
}

/// `text` with every byte outside printable ASCII written as \xHH, cut to `max_bytes` (then
/// "..." follows), so a message quoting the client's bytes is always valid UTF-8 and short.
std::string printable(std::string_view text, size_t max_bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < text.size() && i < max_bytes; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += char(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  if (text.size() > max_bytes) out += "...";
  return out;
}

/// Throws InvalidArgumentError if lists and objects in `body` nest deeper than kMaxNesting, or
/// if it holds more lists, objects and elements than `max_instances` images in the largest
/// layout: nlohmann-json builds the whole tree first, 20-80 bytes per value (an 8 MB body of
/// '[' took 617 MB; of "[],", 208 MB), so no body may cost more than the largest valid one.
/// One pass over the bytes, skipping strings; the parser still validates everything else.
void check_structure(std::string_view body,
                     int64_t max_instances,
                     uint64_t values_per_instance = kValuesPerImage,
                     const char* noun = "images") {
  const uint64_t max_values =
      uint64_t(std::clamp<int64_t>(max_instances, 0, int64_t(1) << 40)) * values_per_instance + 64;
  uint64_t values = 0;  // '[', '{' and ',': at least the lists, objects and elements there are
  size_t depth = 0;
  bool in_string = false, escaped = false;
  for (size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    if ((c == '[' || c == '{' || c == ',') && ++values > max_values)
      throw tf::InvalidArgumentError("the body holds more than " + std::to_string(max_values) +
                                     " lists, objects and elements: more than " +
                                     std::to_string(max_instances) + " " + noun +
                                     " (--max_instances) need");
    if ((c == '[' || c == '{') && ++depth > kMaxNesting)
      throw tf::InvalidArgumentError("JSON nested deeper than " + std::to_string(kMaxNesting) +
                                     " levels of lists and objects at byte " + std::to_string(i) +
                                     " (the limit)");
    if ((c == ']' || c == '}') && depth > 0) --depth;
  }
}

/// The body parsed as JSON; malformed JSON is an InvalidArgumentError quoting it safely.
json parse_body(std::string_view body) {
  try {
    return json::parse(body);
  } catch (const json::exception& e) {
    // A parse_error (invalid UTF-8 included), or out_of_range for a number past double's range
    // ("1e999"). e.what() is "[json.exception.parse_error.101] parse error at line 1, column 5:
    // ... last read: '<the bytes>'", and those bytes are the client's: shown escaped and cut.
    std::string_view what = e.what();
    const size_t at = what.find("] ");
    if (at != std::string_view::npos) what.remove_prefix(at + 2);
    throw tf::InvalidArgumentError("malformed JSON: " + printable(what, 300));
  }
}

/// Read no deeper than this: one level past the deepest accepted layout (28x28x1).
constexpr size_t kMaxRank = 4;

/// The nested-list shape of `v` read along its first elements: [28, 28, 1] for a 28x28x1 image,
/// at most kMaxRank levels deep.
std::vector<int64_t> leading_shape(const json& v) {
  std::vector<int64_t> dims;
  for (const json* p = &v; p->is_array() && dims.size() < kMaxRank; p = &(*p)[0]) {
    dims.push_back(int64_t(p->size()));
    if (p->empty()) break;
  }
  return dims;
}

}  // namespace

tf::Tensor parse_predict_request(std::string_view body,
                                 const tf::Shape& input_shape,
                                 int64_t max_instances) {
  check_structure(body, max_instances);
  const json doc = parse_body(body);
  if (!doc.is_object())
    throw tf::InvalidArgumentError(std::string("the body is ") + json_type(doc) +
                                   "; expected an object {\"instances\": [...]}");
  auto it = doc.find("instances");
  if (it == doc.end()) {
    if (doc.contains("inputs"))
      throw tf::InvalidArgumentError(
          "the columnar \"inputs\" format is not supported; send {\"instances\": [...]}");
    throw tf::InvalidArgumentError("missing key \"instances\"");
  }
  const json& instances = *it;
  if (!instances.is_array())
    throw tf::InvalidArgumentError(std::string("\"instances\" is ") + json_type(instances) +
                                   "; expected a list of images");
  if (instances.empty()) throw tf::InvalidArgumentError("\"instances\" is empty");
  const int64_t n = int64_t(instances.size());
  if (n > max_instances)
    throw tf::InvalidArgumentError("too many instances: " + std::to_string(n) + " > " +
                                   std::to_string(max_instances) + " (--max_instances)");

  static const std::vector<std::vector<int64_t>> kAccepted = {{784}, {28, 28}, {28, 28, 1}};
  std::vector<float> values;
  values.reserve(size_t(n) * 784);
  std::vector<size_t> path{0};
  for (const json& inst : instances) {
    if (!inst.is_array())
      throw tf::InvalidArgumentError(where(path) + " is " + json_type(inst) +
                                     "; expected an image as a list of 784 numbers, 28x28 or "
                                     "28x28x1 nested lists");
    const std::vector<int64_t> dims = leading_shape(inst);
    if (dims.size() == kMaxRank)
      throw tf::InvalidArgumentError(where(path) +
                                     " has more than 3 levels of lists; expected "
                                     "[784], [28, 28] or [28, 28, 1]");
    if (std::find(kAccepted.begin(), kAccepted.end(), dims) == kAccepted.end())
      throw tf::InvalidArgumentError(where(path) + " has shape " + shape_string(dims) +
                                     "; expected [784], [28, 28] or [28, 28, 1]");
    flatten(inst, dims, path, values);
    ++path.back();
  }
  std::vector<int64_t> shape = input_shape.dims();
  shape[0] = n;
  return tf::constant(std::move(values), tf::Shape(shape));
}

PredictInput parse_predict_body(std::string_view body,
                                const std::vector<int64_t>& instance_dims,
                                int64_t max_instances) {
  if (instance_dims.size() + 3 > kMaxNesting)
    throw tf::InvalidArgumentError("the model's instances have rank " +
                                   std::to_string(instance_dims.size()) + "; at most " +
                                   std::to_string(kMaxNesting - 3) + " is served");
  // Lists, commas and numbers of one instance in its nested layout, with room to spare.
  uint64_t size = 1, lists = 1;
  for (int64_t d : instance_dims) {
    lists += size;
    size *= uint64_t(std::max<int64_t>(d, 1));
  }
  check_structure(body, max_instances, 2 * (size + lists) + 1, "instances");
  const json doc = parse_body(body);
  if (!doc.is_object())
    throw tf::InvalidArgumentError(std::string("the body is ") + json_type(doc) +
                                   "; expected an object {\"instances\": [...]} or "
                                   "{\"inputs\": [...]}");
  const bool has_instances = doc.contains("instances"), has_inputs = doc.contains("inputs");
  if (has_instances == has_inputs)
    throw tf::InvalidArgumentError(has_inputs ? "give \"instances\" or \"inputs\", not both"
                                              : "missing key \"instances\" (or \"inputs\")");
  const std::string root = has_inputs ? "inputs" : "instances";
  const json* rows = &doc.at(root);
  // The columnar form may name its one input: {"inputs": {"x": [...]}}.
  if (has_inputs && rows->is_object()) {
    if (rows->size() != 1)
      throw tf::InvalidArgumentError("\"inputs\" names " + std::to_string(rows->size()) +
                                     " inputs; the model takes one");
    rows = &rows->begin().value();
  }
  if (!rows->is_array())
    throw tf::InvalidArgumentError("\"" + root + "\" is " + json_type(*rows) +
                                   "; expected a list with one entry per instance");
  if (rows->empty()) throw tf::InvalidArgumentError("\"" + root + "\" is empty");
  const int64_t n = int64_t(rows->size());
  if (n > max_instances)
    throw tf::InvalidArgumentError("too many instances: " + std::to_string(n) + " > " +
                                   std::to_string(max_instances) + " (--max_instances)");
  const std::vector<int64_t> flat{int64_t(size)};
  std::vector<float> values;
  values.reserve(size_t(n) * size_t(size));
  std::vector<size_t> path{0};
  for (const json& row : *rows) {
    // Nested as the model's input, or (rank 2 and up) one flat list of all its numbers.
    const bool is_flat = instance_dims.size() > 1 && row.is_array() && !row.empty() &&
                         !row[0].is_array() && int64_t(row.size()) == int64_t(size);
    flatten(row, is_flat ? flat : instance_dims, path, values, root);
    ++path.back();
  }
  std::vector<int64_t> shape{n};
  shape.insert(shape.end(), instance_dims.begin(), instance_dims.end());
  return {tf::constant(std::move(values), tf::Shape(shape)), has_inputs};
}

std::string json_error_body(std::string_view message) {
  // replace: bytes that are not UTF-8 (a path like /v1/models/%ff) become U+FFFD instead of
  // dump() throwing type_error 316.
  return json{{"error", message}}.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace example

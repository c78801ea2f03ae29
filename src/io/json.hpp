#pragma once

// The strict JSON reader of safetensors headers and the checkpoint object graph, over
// nlohmann-json's SAX parser (grammar, UTF-8, escapes, nothing after the value), keeping this
// reader's own rules: integers exact in int64, no duplicate keys, at most 64 levels. Integers
// are kept exactly (int64); other numbers as double.

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tapeflow::detail {

/// Thrown by parse_json with the byte offset of the problem in the message.
class JsonError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Json {
  enum class Kind { null, boolean, integer, number, string, array, object };
  Kind kind = Kind::null;
  bool boolean = false;
  int64_t integer = 0;
  double number = 0;
  std::string string;
  std::vector<Json> array;
  std::vector<std::pair<std::string, Json>> object;  // in file order; keys are unique

  // Declared here, defined in json.cpp where Json is complete: clang with libstdc++ 12 rejects
  // the implicit ones, whose vector<pair<string, Json>> members need a complete pair.
  Json();
  Json(const Json&);
  Json(Json&&) noexcept;
  Json& operator=(const Json&);
  Json& operator=(Json&&) noexcept;
  ~Json();

  bool is(Kind k) const { return kind == k; }
  /// The member `key` of an object; nullptr if absent or not an object.
  const Json* find(std::string_view key) const;
};

/// Parses one JSON value filling all of `text` (whitespace around it allowed). Duplicate object
/// keys, nesting deeper than 64 and invalid UTF-16 escapes are JsonErrors.
Json parse_json(std::string_view text);

/// `v` as compact JSON text (nlohmann-json's writer, keys in insertion order). Strings that are
/// not UTF-8 are an InvalidArgumentError: a safetensors header must be UTF-8, and the reader
/// refuses anything else.
std::string dump_json(const nlohmann::ordered_json& v);

}  // namespace tapeflow::detail

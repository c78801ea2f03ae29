#include "io/json.hpp"

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "tapeflow/errors.hpp"

namespace tapeflow::detail {

Json::Json() = default;
Json::Json(const Json&) = default;
Json::Json(Json&&) noexcept = default;
Json& Json::operator=(const Json&) = default;
Json& Json::operator=(Json&&) noexcept = default;
Json::~Json() = default;

const Json* Json::find(std::string_view key) const {
  if (kind != Kind::object) return nullptr;
  for (const auto& [k, v] : object)
    if (k == key) return &v;
  return nullptr;
}

namespace {

using nlohmann::json;

// Builds a Json from nlohmann-json's SAX events, keeping the reader's rules: integers exact in
// int64 (one past its range is an error, not a double), no duplicate keys, at most 64 levels.
// nlohmann-json checks the grammar, UTF-8 and escapes, and refuses text after the value.
class Builder final : public nlohmann::json_sax<json> {
 public:
  Json result;

  bool null() override { return put(Json()); }
  bool boolean(bool b) override {
    Json v;
    v.kind = Json::Kind::boolean;
    v.boolean = b;
    return put(std::move(v));
  }
  bool number_integer(number_integer_t i) override { return integer(int64_t(i)); }
  bool number_unsigned(number_unsigned_t u) override {
    if (u > uint64_t(std::numeric_limits<int64_t>::max())) fail("integer out of range");
    return integer(int64_t(u));
  }
  bool number_float(number_float_t d, const string_t& text) override {
    // nlohmann-json reads an integer past uint64 as a double; the text says it was one.
    if (text.find_first_of(".eE") == string_t::npos) fail("integer out of range");
    Json v;
    v.kind = Json::Kind::number;
    v.number = d;
    return put(std::move(v));
  }
  bool string(string_t& s) override {
    Json v;
    v.kind = Json::Kind::string;
    v.string = std::move(s);
    return put(std::move(v));
  }
  bool binary(binary_t&) override { fail("binary values are not JSON"); }
  bool start_object(std::size_t) override { return open(Json::Kind::object); }
  bool key(string_t& k) override {
    Open& o = stack_.back();
    if (!o.keys.insert(k).second) fail("duplicate key \"" + k + "\"");
    o.key = std::move(k);
    return true;
  }
  bool end_object() override { return close(); }
  bool start_array(std::size_t) override { return open(Json::Kind::array); }
  bool end_array() override { return close(); }
  bool parse_error(std::size_t position,
                   const std::string&,
                   const nlohmann::detail::exception& e) override {
    // e.what(): "[json.exception.parse_error.101] parse error at line 1, column 5: ...".
    std::string_view what = e.what();
    if (const size_t at = what.find("] "); at != std::string_view::npos) what.remove_prefix(at + 2);
    // The file's own bytes ("; last read: '...'") stay out of the message: they may be binary.
    if (const size_t at = what.find("; last read:"); at != std::string_view::npos)
      what = what.substr(0, at);
    throw JsonError("invalid JSON at byte " + std::to_string(position == 0 ? 0 : position - 1) +
                    ": " + std::string(what));
  }

 private:
  struct Open {
    Json value;
    std::unordered_set<std::string> keys;
    std::string key;
  };

  [[noreturn]] void fail(const std::string& what) const {
    throw JsonError("invalid JSON: " + what);
  }
  bool integer(int64_t i) {
    Json v;
    v.kind = Json::Kind::integer;
    v.integer = i;
    v.number = double(i);
    return put(std::move(v));
  }
  bool open(Json::Kind kind) {
    if (stack_.size() >= 65) fail("nested too deeply");
    stack_.emplace_back();
    stack_.back().value.kind = kind;
    return true;
  }
  bool close() {
    Json v = std::move(stack_.back().value);
    stack_.pop_back();
    return put(std::move(v));
  }
  bool put(Json v) {
    if (stack_.empty()) {
      result = std::move(v);
    } else if (Open& o = stack_.back(); o.value.kind == Json::Kind::object) {
      o.value.object.emplace_back(std::move(o.key), std::move(v));
    } else {
      o.value.array.push_back(std::move(v));
    }
    return true;
  }

  std::vector<Open> stack_;
};

}  // namespace

Json parse_json(std::string_view text) {
  Builder b;
  json::sax_parse(text.begin(),
                  text.end(),
                  &b,
                  nlohmann::detail::input_format_t::json,
                  /*strict=*/true);
  return std::move(b.result);
}

std::string dump_json(const nlohmann::ordered_json& v) {
  try {
    return v.dump();
  } catch (const json::type_error& e) {
    throw InvalidArgumentError(std::string("a name or value to be saved is not valid UTF-8 (") +
                               e.what() + "); safetensors headers are UTF-8 JSON");
  }
}

}  // namespace tapeflow::detail

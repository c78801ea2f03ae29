#pragma once

#include <sstream>
#include <string>
#include <vector>

#include "tapeflow/dtype.hpp"
#include "tapeflow/errors.hpp"
#include "tapeflow/shape.hpp"

namespace tapeflow::detail {

template <class... Args>
std::string str_cat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}

/// Throws E with `<message> [Op:<op>]`, the form TensorFlow users search for.
template <class E, class... Args>
[[noreturn]] void fail(const char* op, const Args&... args) {
  throw E(str_cat(args..., " [Op:", op, "]"));
}

inline std::string vec_str(const std::vector<int>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}
inline std::string vec_str(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

}  // namespace tapeflow::detail

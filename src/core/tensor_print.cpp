// Printing: tensors as NumPy and TensorFlow show them (to_string, operator<<) and shapes. The
// format is part of the API's contract (test/core/test_tensor.cpp pins it).
#include <algorithm>
#include <charconv>
#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "core/dispatch.hpp"
#include "tapeflow/tensor.hpp"

namespace tapeflow {

namespace {

// The shortest round-trip digits written positionally, as NumPy's Dragon4 'unique' mode does:
// 123456792.f gives "123456790" (to_chars' fixed form would print the exact 123456792).
// No decimal point is added for whole numbers.
template <class T>
std::string positional(T x) {
  char buf[64];
  std::string t(buf, std::to_chars(buf, buf + sizeof(buf), x, std::chars_format::scientific).ptr);
  const size_t e = t.find('e'), lead = t[0] == '-' ? 1 : 0;
  std::string digits;
  for (size_t i = lead; i < e; ++i)
    if (t[i] != '.') digits += t[i];
  const int point = std::stoi(t.substr(e + 1)) + 1;  // digits before the decimal point
  std::string out;
  if (point <= 0)
    out = "0." + std::string(size_t(-point), '0') + digits;
  else if (point >= int(digits.size()))
    out = digits + std::string(size_t(point) - digits.size(), '0');
  else
    out = digits.substr(0, size_t(point)) + "." + digits.substr(size_t(point));
  return t.substr(0, lead) + out;
}

// One scalar as Python's repr would print it: 10.0, 0.1, 1e-05, inf, nan.
template <class T>
std::string scalar_repr(T v) {
  if constexpr (std::is_same_v<T, bool>) {
    return v ? "True" : "False";
  } else if constexpr (std::is_integral_v<T>) {
    return std::to_string(v);
  } else {
    if (std::isnan(v)) return "nan";
    if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
    double a = std::fabs(double(v));
    if (a != 0 && (a >= 1e16 || a < 1e-4)) {
      char buf[64];
      auto r = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::scientific);
      std::string s(buf, r.ptr);  // e.g. 1e-05 in Python; to_chars gives 1e-05 too
      return s;
    }
    // Positional explicitly: plain to_chars picks "1e+05" where Python prints 100000.0.
    std::string s = positional(v);
    if (s.find('.') == std::string::npos) s += ".0";
    return s;
  }
}

// Element texts for an array, padded to a common width as numpy does.
template <class T>
std::vector<std::string> format_elements(const std::vector<T>& v) {
  std::vector<std::string> out(v.size());
  if constexpr (std::is_same_v<T, bool>) {
    for (size_t i = 0; i < v.size(); ++i) out[i] = v[i] ? " True" : "False";
    return out;
  } else if constexpr (std::is_integral_v<T>) {
    size_t w = 0;
    for (size_t i = 0; i < v.size(); ++i) w = std::max(w, (out[i] = std::to_string(v[i])).size());
    for (auto& s : out) s.insert(0, w - s.size(), ' ');
    return out;
  } else {
    // NumPy's FloatingFormat ('maxprec', precision 8). Scientific when the non-zero finite
    // magnitudes reach 1e8, go below 1e-4 or span more than 1e3. Positional: each element keeps
    // its own shortest digits (at most 8 after the point), padded with spaces to a common
    // width. Scientific: all elements share the longest mantissa, padded with zeros.
    double maxabs = 0, minabs = INFINITY;
    bool neg_inf = false;
    for (T x : v) {
      if (std::isinf(x) && x < 0) neg_inf = true;
      if (std::isfinite(x) && x != 0) {
        maxabs = std::max(maxabs, std::fabs(double(x)));
        minabs = std::min(minabs, std::fabs(double(x)));
      }
    }
    const bool sci =
        maxabs >= 1e8 || minabs < 1e-4 || (minabs != INFINITY && maxabs / minabs > 1e3);
    char buf[400];
    // Element texts split as [int part, fraction digits, exponent digits] (finite values only).
    std::vector<std::string> ints(v.size()), fracs(v.size()), exps(v.size());
    size_t pad_left = 0, pad_right = 0, exp_size = 0;
    for (size_t i = 0; i < v.size(); ++i) {
      T x = v[i];
      if (!std::isfinite(x)) continue;
      std::string t;
      if (sci) {
        t.assign(buf, std::to_chars(buf, buf + sizeof(buf), x, std::chars_format::scientific).ptr);
        auto e = t.find('e'), dot = t.find('.');
        if (dot != std::string::npos && e - dot - 1 > 8) {  // round to 8 digits, drop trailing 0s
          t.assign(buf,
                   std::to_chars(buf, buf + sizeof(buf), x, std::chars_format::scientific, 8).ptr);
          e = t.find('e');
          while (t[e - 1] == '0') t.erase(--e, 1);
        }
        exps[i] = t.substr(e + 1);  // sign and digits, e.g. "-05"
        exp_size = std::max(exp_size, exps[i].size() - 1);
        t.resize(e);
      } else {
        t = positional(x);
        auto dot = t.find('.');
        if (dot != std::string::npos && t.size() - dot - 1 > 8) {
          t.assign(buf, std::to_chars(buf, buf + sizeof(buf), x, std::chars_format::fixed, 8).ptr);
          while (t.back() == '0') t.pop_back();
        }
      }
      auto dot = t.find('.');
      ints[i] = t.substr(0, dot);
      fracs[i] = dot == std::string::npos ? "" : t.substr(dot + 1);
      pad_left = std::max(pad_left, ints[i].size());
      pad_right = std::max(pad_right, fracs[i].size());
    }
    const size_t precision = pad_right;
    if (sci) pad_right = exp_size + 2 + precision;  // only sizes the non-finite entries
    // nan / inf / -inf are right-aligned in the same width, which they may widen.
    if (std::any_of(v.begin(), v.end(), [](T x) { return !std::isfinite(x); })) {
      const size_t widest = neg_inf ? 4 : 3, offset = pad_right + 1;
      pad_left = std::max(pad_left, widest > offset ? widest - offset : 0);
    }
    for (size_t i = 0; i < v.size(); ++i) {
      T x = v[i];
      std::string s;
      if (!std::isfinite(x)) {
        s = std::isnan(x) ? "nan" : x > 0 ? "inf" : "-inf";
        s.insert(0, pad_left + pad_right + 1 - std::min(s.size(), pad_left + pad_right + 1), ' ');
      } else if (sci) {
        std::string ex = exps[i].substr(1);
        ex.insert(0, exp_size - ex.size(), '0');
        s = std::string(pad_left - ints[i].size(), ' ') + ints[i] + "." + fracs[i] +
            std::string(precision - fracs[i].size(), '0') + "e" + exps[i][0] + ex;
      } else {
        s = std::string(pad_left - ints[i].size(), ' ') + ints[i] + "." + fracs[i] +
            std::string(pad_right - fracs[i].size(), ' ');
      }
      out[i] = s;
    }
    return out;
  }
}

// NumPy's _formatArray (linewidth 75, separator ' ', edgeitems 3): a row of scalars wraps
// before it would pass the line width, continuing under a hanging indent; higher axes put
// their rows on new lines (one blank line per extra axis); summarised axes show "...".
void extend_line(std::string& s,
                 std::string& line,
                 const std::string& word,
                 size_t width,
                 const std::string& indent) {
  if (line.size() + word.size() > width && line.size() > indent.size()) {
    while (!line.empty() && line.back() == ' ') line.pop_back();
    s += line + "\n";
    line = indent;
  }
  line += word;
}

std::string format_array(const Shape& s,
                         int dim,
                         int64_t offset,
                         const std::vector<std::string>& el,
                         bool summarize,
                         const std::string& hanging,
                         size_t width) {
  if (dim == s.rank()) return el[size_t(offset)];
  const int64_t n = s[dim];
  int64_t inner = 1;
  for (int d = dim + 1; d < s.rank(); ++d) inner *= s[d];
  const std::string next_hanging = hanging + " ";
  const size_t next_width = width - 1;
  const bool show_summary = summarize && n > 6;
  const int64_t lead = show_summary ? 3 : 0, trail = show_summary ? 3 : n;
  auto item = [&](int64_t i) {
    return format_array(s, dim + 1, offset + i * inner, el, summarize, next_hanging, next_width);
  };
  std::string out;
  if (dim + 1 == s.rank()) {
    const size_t elem_width = width - 1;  // room for the closing ']'
    std::string line = hanging;
    for (int64_t i = 0; i < lead; ++i) {
      extend_line(out, line, item(i), elem_width, hanging);
      line += ' ';
    }
    if (show_summary) {
      extend_line(out, line, "...", elem_width, hanging);
      line += ' ';
    }
    for (int64_t i = trail; i > 1; --i) {
      extend_line(out, line, item(n - i), elem_width, hanging);
      line += ' ';
    }
    extend_line(out, line, item(n - 1), elem_width, hanging);
    out += line;
  } else {
    const std::string line_sep(size_t(s.rank() - dim - 1), '\n');
    for (int64_t i = 0; i < lead; ++i) out += hanging + item(i) + line_sep;
    if (show_summary) out += hanging + "..." + line_sep;
    for (int64_t i = trail; i > 1; --i) out += hanging + item(n - i) + line_sep;
    out += hanging + item(n - 1);
  }
  return "[" + out.substr(hanging.size()) + "]";
}

}  // namespace

std::string to_string(const Tensor& t) {
  if (!t.defined()) return "<undefined>";
  std::ostringstream os;
  detail::dispatch_all(t.dtype(), [&]<class T>() {
    if (t.rank() == 0) {
      os << scalar_repr(t.item<T>());
      return;
    }
    if (t.num_elements() == 0) {  // NumPy prints every empty array as []
      os << "[]";
      return;
    }
    std::vector<T> v = t.to_vector<T>();
    bool summarize = t.num_elements() > 1000;
    std::vector<std::string> el;
    if (summarize) {
      // Format only the elements that will show, so the widths match what is printed.
      std::vector<T> shown;
      std::vector<int64_t> idx(v.size(), -1);
      const Shape& s = t.shape();
      for (int64_t flat = 0; flat < int64_t(v.size()); ++flat) {
        int64_t rem = flat;
        bool keep = true;
        for (int d = s.rank() - 1; d >= 0; --d) {
          int64_t i = rem % s[d];
          rem /= s[d];
          if (s[d] > 6 && i >= 3 && i < s[d] - 3) keep = false;
        }
        if (keep) {
          idx[size_t(flat)] = int64_t(shown.size());
          shown.push_back(v[size_t(flat)]);
        }
      }
      auto f = format_elements(shown);
      el.resize(v.size());
      for (size_t i = 0; i < v.size(); ++i)
        if (idx[i] >= 0) el[i] = f[size_t(idx[i])];
    } else {
      el = format_elements(v);
    }
    os << format_array(t.shape(), 0, 0, el, summarize, " ", 75);
  });
  return os.str();
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) {
  if (!t.defined()) return os << "tf.Tensor(<undefined>)";
  std::string text = to_string(t);
  // As TensorFlow: a value that spans several lines starts on a line of its own.
  if (text.find('\n') != std::string::npos) text.insert(0, "\n");
  return os << "tf.Tensor(" << text << ", shape=" << t.shape()
            << ", dtype=" << dtype_name(t.dtype()) << ")";
}

std::string Shape::to_string() const {
  std::string s = "(";
  for (size_t i = 0; i < rank_; ++i) {
    if (i) s += ", ";
    s += std::to_string(data()[i]);
  }
  if (rank_ == 1) s += ",";
  return s + ")";
}

}  // namespace tapeflow

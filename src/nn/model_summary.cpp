// Model::summary(): Keras' table for sequential-like models (keras/utils/layer_utils.py,
// print_summary, 65 columns at 45% / 85% / 100%), with output shapes from compute_output_shape.
#include <iostream>
#include <sstream>

#include "core/fail.hpp"
#include "nn/model_state.hpp"

namespace tapeflow {

using detail::str_cat;

namespace {

constexpr int kLineLength = 65;
constexpr int kPositions[3] = {29, 55, 65};  // int(65 * p) for p in (0.45, 0.85, 1.0)

// Keras' print_row: each field cut to its column (two spaces between columns), continued on the
// next lines when too long, breaking after "),", "},", "],", "',".
void print_row(std::ostream& out, std::vector<std::string> fields) {
  auto any_left = [&] {
    for (const auto& f : fields)
      if (!f.empty()) return true;
    return false;
  };
  while (any_left()) {
    std::string line;
    for (size_t col = 0; col < fields.size(); ++col) {
      const int start = col > 0 ? kPositions[col - 1] : 0;
      const int space = col != 2 ? 2 : 0;
      size_t cutoff = size_t(kPositions[col] - start - space);
      std::string fit = fields[col].substr(0, cutoff);
      size_t best = std::string::npos;
      for (const char* brk : {"),", "},", "],", "',"}) {
        size_t at = fit.find(brk);
        if (at != std::string::npos) best = std::min(best, at + 2);
      }
      if (best != std::string::npos) {
        cutoff = best;
        fit = fit.substr(0, cutoff);
      }
      if (col == 0) line += " ";
      line += fit;
      line += std::string(size_t(space), ' ');
      fields[col] = fields[col].size() > cutoff ? fields[col].substr(cutoff) : std::string();
      if (int(line.size()) < kPositions[col])
        line += std::string(size_t(kPositions[col]) - line.size(), ' ');
    }
    out << line << "\n";
  }
}

// Python's "{:,}".
std::string with_commas(int64_t n) {
  std::string digits = std::to_string(n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

// (None, 4): the batch axis is unknown to the model.
std::string shape_text(const Shape& s) {
  std::string t = "(None";
  for (int i = 1; i < s.rank(); ++i) t += str_cat(", ", s[i]);
  return t + (s.rank() == 1 ? ",)" : ")");
}

int64_t count(const std::vector<Variable>& vars) {
  int64_t n = 0;
  for (const Variable& v : vars) n += v.shape().num_elements();
  return n;
}

}  // namespace

void Model::summary() const { summary(std::cout); }

void Model::summary(std::ostream& out) const {
  const State& s = state();
  if (!built())
    throw FailedPreconditionError(str_cat(
        "Model \"",
        name(),
        "\" has not yet been built. Build the model first by calling `build()` or by calling "
        "the model on a batch of data."));
  const std::vector<layers::Layer> rows = layers();
  // Output shapes are known when the model is a chain (a Sequential, or one layer) of layers
  // that implement compute_output_shape and the model has seen its input shape; else "multiple",
  // as Keras prints for the layers of a subclassed model.
  std::vector<std::string> shapes(rows.size(), "multiple");
  const bool chain = class_name() == "Sequential" || checked_impl().sublayers().empty();
  if (chain && s.input_shape && s.input_shape->rank() >= 1) {
    std::vector<int64_t> d = s.input_shape->dims();
    d[0] = 1;
    Shape shape(d);
    for (size_t i = 0; i < rows.size(); ++i) {
      try {
        shape = rows[i].compute_output_shape(shape);
      } catch (const Error&) {
        break;
      }
      shapes[i] = shape_text(shape);
    }
  }

  out << "Model: \"" << name() << "\"\n";
  out << std::string(kLineLength, '_') << "\n";
  print_row(out, {"Layer (type)", "Output Shape", "Param #"});
  out << std::string(kLineLength, '=') << "\n";
  for (size_t i = 0; i < rows.size(); ++i) {
    const layers::Layer& l = rows[i];
    print_row(out,
              {str_cat(l.name(), " (", l.class_name(), ")"),
               shapes[i],
               std::to_string(count(l.variables()))});
    out << std::string(kLineLength, ' ') << "\n";
  }
  out << std::string(kLineLength, '=') << "\n";
  const int64_t trainable = count(trainable_variables());
  const int64_t non_trainable = count(non_trainable_variables());
  out << "Total params: " << with_commas(trainable + non_trainable) << "\n";
  out << "Trainable params: " << with_commas(trainable) << "\n";
  out << "Non-trainable params: " << with_commas(non_trainable) << "\n";
  out << std::string(kLineLength, '_') << "\n";
}

}  // namespace tapeflow

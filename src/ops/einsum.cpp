// tf::einsum: TF's equation language lowered to the ops it is made of.
//
// Each operand first loses its repeated labels (a diagonal, taken as a gather on the two axes
// flattened) and the labels that no other operand and not the output carry (a reduce_sum).
// Operands are then contracted left to right; a contraction of two is one batched matmul:
// labels in both operands and kept (output or a later operand) are the batch axes, labels in
// both and not kept are the contracted K axis, the rest are M (left) and N (right). Each
// operand is laid out [batch..., M, K] or [batch..., K, M] — whichever is its current order,
// then matmul's transpose flag does the rest and no copy is made — and only an operand in
// neither order is transposed. The result is transposed once to the output's order. Every step
// is a differentiable op, so einsum's gradient (of every order) follows from theirs.
#include <algorithm>
#include <map>
#include <numeric>
#include <string>
#include <vector>

#include "core/shape_check.hpp"
#include "ops/run_op.hpp"

namespace tapeflow {

using detail::fail;

namespace {

constexpr const char* kOp = "Einsum";
/// Labels: letters are their character code; the broadcast ("...") axes are kEllipsis + j,
/// j counted from the left of the broadcast shape of all operands' "..." parts.
constexpr int kEllipsis = 256;

struct Term {
  std::vector<int> letters_before, letters_after;  // around "..." (all in before if none)
  bool ellipsis = false;
};

std::string shapes_str(const std::vector<Tensor>& xs) {
  std::string s;
  for (size_t i = 0; i < xs.size(); ++i) s += (i ? ", " : "") + detail::str_cat(xs[i].shape());
  return s;
}

[[noreturn]] void bad(const std::string& eq,
                      const std::vector<Tensor>& xs,
                      const std::string& why) {
  fail<InvalidArgumentError>(
      kOp, why, " (equation \"", eq, "\", input shapes ", shapes_str(xs), ")");
}

Term parse_term(const std::string& t, const std::string& eq, const std::vector<Tensor>& xs) {
  Term term;
  for (size_t i = 0; i < t.size(); ++i) {
    const char c = t[i];
    if (c == '.') {
      if (term.ellipsis || t.compare(i, 3, "...") != 0)
        bad(eq, xs, "Invalid ellipsis in subscripts \"" + t + "\": expected at most one \"...\"");
      term.ellipsis = true;
      i += 2;
    } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
      (term.ellipsis ? term.letters_after : term.letters_before).push_back(int(c));
    } else {
      bad(eq,
          xs,
          detail::str_cat("Invalid character '",
                          c,
                          "' in subscripts \"",
                          t,
                          "\": expected letters, \"...\", ',' and \"->\""));
    }
  }
  return term;
}

/// An operand with one label per axis.
struct Labeled {
  Tensor t;
  std::vector<int> labels;
};

int64_t dim_of(const Labeled& x, int label) {
  for (size_t i = 0; i < x.labels.size(); ++i)
    if (x.labels[i] == label) return x.t.shape()[int(i)];
  return -1;
}

Tensor transpose_if_needed(const Tensor& t, const std::vector<int>& perm) {
  for (size_t i = 0; i < perm.size(); ++i)
    if (perm[i] != int(i)) return transpose(t, perm);
  return t;
}

/// Takes the diagonal of every label repeated within x: axes p < q of one label n become one.
void take_diagonals(Labeled& x) {
  for (;;) {
    int p = -1, q = -1;
    for (size_t i = 0; i < x.labels.size() && p < 0; ++i)
      for (size_t j = i + 1; j < x.labels.size(); ++j)
        if (x.labels[i] == x.labels[j]) {
          p = int(i);
          q = int(j);
          break;
        }
    if (p < 0) return;
    const int64_t n = x.t.shape()[p];
    std::vector<int> perm, labels;
    std::vector<int64_t> dims;
    for (int i = 0; i < x.t.rank(); ++i)
      if (i != p && i != q) {
        perm.push_back(i);
        labels.push_back(x.labels[size_t(i)]);
        dims.push_back(x.t.shape()[i]);
      }
    perm.push_back(p);
    perm.push_back(q);
    labels.push_back(x.labels[size_t(p)]);
    std::vector<int64_t> out_dims = dims;
    out_dims.push_back(n);
    if (x.t.num_elements() == 0) {
      x.t = zeros(Shape(out_dims), x.t.dtype());
    } else {
      // [rest..., n, n] → [rest..., n·n] (fits: it is at most the element count) → every
      // (n + 1)-th entry along the last axis is the diagonal.
      Tensor t = transpose_if_needed(x.t, perm);
      dims.push_back(n * n);
      t = reshape(t, Shape(dims));
      Tensor idx = range(0.0, double(n * n), double(n + 1), DType::int64);
      x.t = gather(t, idx, -1);
    }
    x.labels = labels;
  }
}

/// Sums x over its axes whose labels are not in `keep`.
void sum_unkept(Labeled& x, const std::vector<int>& keep) {
  std::vector<int> axes, labels;
  for (size_t i = 0; i < x.labels.size(); ++i) {
    if (std::find(keep.begin(), keep.end(), x.labels[i]) == keep.end())
      axes.push_back(int(i));
    else
      labels.push_back(x.labels[i]);
  }
  if (axes.empty()) return;
  x.t = reduce_sum(x.t, axes);
  x.labels = labels;
}

bool contains(const std::vector<int>& v, int l) {
  return std::find(v.begin(), v.end(), l) != v.end();
}

/// Drops a size-1 axis (a broadcast "..." axis) of x.
void drop_axis(Labeled& x, int label) {
  std::vector<int64_t> dims;
  std::vector<int> labels;
  for (size_t i = 0; i < x.labels.size(); ++i)
    if (x.labels[i] != label) {
      dims.push_back(x.t.shape()[int(i)]);
      labels.push_back(x.labels[i]);
    }
  x.t = reshape(x.t, Shape(dims));
  x.labels = labels;
}

/// a ⋅ b over their common labels not in `keep`, as one batched matmul. The result's labels
/// are [batch..., a's free..., b's free...].
Labeled contract(Labeled a, Labeled b, const std::vector<int>& keep) {
  // A contracted "..." axis of size 1 on one side only broadcasts: sum the other side instead.
  for (int l : std::vector<int>(a.labels)) {
    if (!contains(b.labels, l) || contains(keep, l)) continue;
    const int64_t da = dim_of(a, l), db = dim_of(b, l);
    if (da == db) continue;
    if (da == 1) {
      drop_axis(a, l);
      sum_unkept(b, [&] {
        std::vector<int> k = b.labels;
        k.erase(std::find(k.begin(), k.end(), l));
        return k;
      }());
    } else {
      drop_axis(b, l);
      sum_unkept(a, [&] {
        std::vector<int> k = a.labels;
        k.erase(std::find(k.begin(), k.end(), l));
        return k;
      }());
    }
  }
  std::vector<int> batch, contracted, free_a, free_b;
  for (int l : a.labels) {
    if (contains(b.labels, l))
      (contains(keep, l) ? batch : contracted).push_back(l);
    else
      free_a.push_back(l);
  }
  for (int l : b.labels)
    if (!contains(a.labels, l)) free_b.push_back(l);

  auto axis_of = [](const Labeled& x, int l) {
    return int(std::find(x.labels.begin(), x.labels.end(), l) - x.labels.begin());
  };
  auto perm_for = [&](const Labeled& x, std::initializer_list<const std::vector<int>*> groups) {
    std::vector<int> perm;
    for (const auto* g : groups)
      for (int l : *g) perm.push_back(axis_of(x, l));
    return perm;
  };
  auto is_identity = [](const std::vector<int>& p) {
    for (size_t i = 0; i < p.size(); ++i)
      if (p[i] != int(i)) return false;
    return true;
  };
  // a: [batch, M, K] (plain) or [batch, K, M] (transpose_a), whichever needs no copy.
  bool ta = false, tb = false;
  std::vector<int> pa = perm_for(a, {&batch, &free_a, &contracted});
  if (!is_identity(pa)) {
    std::vector<int> alt = perm_for(a, {&batch, &contracted, &free_a});
    if (is_identity(alt)) {
      pa = alt;
      ta = true;
    }
  }
  std::vector<int> pb = perm_for(b, {&batch, &contracted, &free_b});
  if (!is_identity(pb)) {
    std::vector<int> alt = perm_for(b, {&batch, &free_b, &contracted});
    if (is_identity(alt)) {
      pb = alt;
      tb = true;
    }
  }
  auto size_of = [](const Labeled& x, const std::vector<int>& g, int64_t& total) {
    total = 1;
    for (int l : g) total *= dim_of(x, l);  // within x's own element count unless it is empty
  };
  const bool empty = a.t.num_elements() == 0 || b.t.num_elements() == 0;
  int64_t m = 1, k = 1, n = 1;
  std::vector<int64_t> batch_a, batch_b;
  for (int l : batch) {
    batch_a.push_back(dim_of(a, l));
    batch_b.push_back(dim_of(b, l));
  }
  std::vector<int64_t> out_dims;
  Shape batch_shape = detail::broadcast_shapes(kOp, Shape(batch_a), Shape(batch_b));
  out_dims = batch_shape.dims();
  for (int l : free_a) out_dims.push_back(dim_of(a, l));
  for (int l : free_b) out_dims.push_back(dim_of(b, l));
  std::vector<int> labels = batch;
  labels.insert(labels.end(), free_a.begin(), free_a.end());
  labels.insert(labels.end(), free_b.begin(), free_b.end());
  if (empty) {
    detail::checked_num_elements(kOp, Shape(out_dims));
    return {zeros(Shape(out_dims), a.t.dtype()), labels};
  }
  size_of(a, free_a, m);
  size_of(a, contracted, k);
  size_of(b, free_b, n);
  std::vector<int64_t> sa = batch_a, sb = batch_b;
  if (ta) {
    sa.push_back(k);
    sa.push_back(m);
  } else {
    sa.push_back(m);
    sa.push_back(k);
  }
  if (tb) {
    sb.push_back(n);
    sb.push_back(k);
  } else {
    sb.push_back(k);
    sb.push_back(n);
  }
  Tensor ma = reshape(transpose_if_needed(a.t, pa), Shape(sa));
  Tensor mb = reshape(transpose_if_needed(b.t, pb), Shape(sb));
  Tensor y = matmul(ma, mb, ta, tb);
  return {reshape(y, Shape(out_dims)), labels};
}

}  // namespace

Tensor einsum(const std::string& equation, const std::vector<Tensor>& inputs) {
  const std::string& eq = equation;
  if (inputs.empty()) bad(eq, inputs, "einsum needs at least one input tensor");
  for (size_t i = 0; i < inputs.size(); ++i) detail::check_defined(kOp, inputs[i], int(i));
  detail::check_same_dtype(kOp, inputs);
  detail::check_dtype(kOp, inputs[0], detail::Require::numeric);

  std::string s;
  for (char c : eq)
    if (c != ' ') s += c;
  const size_t arrow = s.find("->");
  if (arrow != std::string::npos && s.find("->", arrow + 2) != std::string::npos)
    bad(eq, inputs, "Expected at most one \"->\"");
  const std::string lhs = arrow == std::string::npos ? s : s.substr(0, arrow);
  std::vector<Term> terms;
  for (size_t start = 0;;) {
    const size_t comma = lhs.find(',', start);
    terms.push_back(parse_term(lhs.substr(start, comma - start), eq, inputs));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (terms.size() != inputs.size())
    bad(eq,
        inputs,
        detail::str_cat("Expected ", terms.size(), " input tensors but got ", inputs.size()));

  // Each operand's axes get their labels; "..." covers the axes the letters leave.
  size_t ell_rank = 0;
  std::vector<size_t> ell_of(inputs.size(), 0);
  for (size_t i = 0; i < inputs.size(); ++i) {
    const size_t letters = terms[i].letters_before.size() + terms[i].letters_after.size();
    const size_t rank = size_t(inputs[i].rank());
    if (terms[i].ellipsis ? rank < letters : rank != letters)
      bad(eq,
          inputs,
          detail::str_cat("Input ",
                          i,
                          " has rank ",
                          rank,
                          " but its subscripts name ",
                          letters,
                          " axes",
                          terms[i].ellipsis ? " (plus \"...\")" : ""));
    ell_of[i] = terms[i].ellipsis ? rank - letters : 0;
    ell_rank = std::max(ell_rank, ell_of[i]);
  }
  std::vector<Labeled> ops(inputs.size());
  std::map<int, int> count;  // operands carrying each label
  std::map<int, int64_t> letter_dim;
  std::vector<int64_t> ell_dim(ell_rank, 1);
  for (size_t i = 0; i < inputs.size(); ++i) {
    Labeled& x = ops[i];
    x.t = inputs[i];
    x.labels = terms[i].letters_before;
    for (size_t j = 0; j < ell_of[i]; ++j)
      x.labels.push_back(kEllipsis + int(ell_rank - ell_of[i] + j));
    x.labels.insert(x.labels.end(), terms[i].letters_after.begin(), terms[i].letters_after.end());
    std::vector<int> seen;
    for (size_t a = 0; a < x.labels.size(); ++a) {
      const int l = x.labels[a];
      const int64_t d = x.t.shape()[int(a)];
      if (l >= kEllipsis) {
        int64_t& e = ell_dim[size_t(l - kEllipsis)];
        if (d != 1 && e != 1 && d != e)
          bad(eq,
              inputs,
              detail::str_cat("Operands could not be broadcast: \"...\" dimension ",
                              l - kEllipsis,
                              " is ",
                              e,
                              " vs. ",
                              d));
        if (d != 1) e = d;
      } else {
        auto [it, fresh] = letter_dim.emplace(l, d);
        if (!fresh && it->second != d)
          bad(eq,
              inputs,
              detail::str_cat("Expected dimension ",
                              it->second,
                              " at axis ",
                              a,
                              " of input ",
                              i,
                              " for label '",
                              char(l),
                              "', but got ",
                              d));
      }
      if (!contains(seen, l)) {
        seen.push_back(l);
        ++count[l];
      }
    }
  }

  // The output's labels: explicit, or "..." then the letters seen once, alphabetically.
  std::vector<int> out;
  if (arrow != std::string::npos) {
    const std::string rhs = s.substr(arrow + 2);
    if (rhs.find(',') != std::string::npos)
      bad(eq, inputs, "Expected one output term after \"->\"");
    Term t = parse_term(rhs, eq, inputs);
    out = t.letters_before;
    if (t.ellipsis)
      for (size_t j = 0; j < ell_rank; ++j) out.push_back(kEllipsis + int(j));
    out.insert(out.end(), t.letters_after.begin(), t.letters_after.end());
    for (size_t i = 0; i < out.size(); ++i) {
      if (out[i] < kEllipsis && !count.count(out[i]))
        bad(eq,
            inputs,
            detail::str_cat("Output label '", char(out[i]), "' does not appear in any input"));
      if (std::find(out.begin(), out.begin() + long(i), out[i]) != out.begin() + long(i))
        bad(eq,
            inputs,
            detail::str_cat("Output label '", char(out[i]), "' appears more than once"));
    }
  } else {
    for (size_t j = 0; j < ell_rank; ++j) out.push_back(kEllipsis + int(j));
    std::map<int, int> occurrences;  // counting repeats within one operand too
    for (const Term& t : terms) {
      for (int l : t.letters_before) ++occurrences[l];
      for (int l : t.letters_after) ++occurrences[l];
    }
    for (auto [l, c] : occurrences)
      if (c == 1) out.push_back(l);
  }

  // Diagonals, then the sums over labels private to one operand.
  for (Labeled& x : ops) {
    take_diagonals(x);
    std::vector<int> keep = out;
    for (int l : x.labels)
      if (count[l] > 1) keep.push_back(l);
    sum_unkept(x, keep);
  }
  Labeled acc = ops[0];
  for (size_t i = 1; i < ops.size(); ++i) {
    std::vector<int> keep = out;
    for (size_t j = i + 1; j < ops.size(); ++j)
      keep.insert(keep.end(), ops[j].labels.begin(), ops[j].labels.end());
    acc = contract(acc, ops[i], keep);
  }
  sum_unkept(acc, out);
  std::vector<int> perm;
  for (int l : out) {
    const auto it = std::find(acc.labels.begin(), acc.labels.end(), l);
    if (it == acc.labels.end()) bad(eq, inputs, "internal: output label lost");
    perm.push_back(int(it - acc.labels.begin()));
  }
  return transpose_if_needed(acc.t, perm);
}

}  // namespace tapeflow

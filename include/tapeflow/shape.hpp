#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <ostream>
#include <string>
#include <vector>

#include "tapeflow/export.hpp"

namespace tapeflow {

/// Dimensions of a tensor, printed `(2, 3)`; a scalar has the empty shape `()`.
/// Up to 6 dimensions live inline, so small shapes never allocate.
class TAPEFLOW_API Shape {
 public:
  Shape() = default;
  Shape(std::initializer_list<int64_t> dims) { assign(dims.begin(), dims.size()); }
  explicit Shape(const std::vector<int64_t>& dims) { assign(dims.data(), dims.size()); }
  Shape(const int64_t* dims, size_t rank) { assign(dims, rank); }
  Shape(const Shape& o) { assign(o.data(), o.rank_); }
  Shape(Shape&& o) noexcept { steal(o); }
  Shape& operator=(const Shape& o) {
    if (this != &o) assign(o.data(), o.rank_);
    return *this;
  }
  Shape& operator=(Shape&& o) noexcept {
    if (this != &o) {
      release();
      steal(o);
    }
    return *this;
  }
  ~Shape() { release(); }

  int rank() const { return static_cast<int>(rank_); }
  /// The product of the dims. Every tensor's shape has dims >= 0 and a product that fits in
  /// int64 (ops refuse others with InvalidArgumentError); for other shapes the product is taken
  /// modulo 2^64, never undefined behaviour.
  int64_t num_elements() const {
    uint64_t n = 1;
    for (size_t i = 0; i < rank_; ++i) n *= uint64_t(data()[i]);
    return int64_t(n);
  }
  int64_t operator[](int i) const { return data()[i]; }
  int64_t& operator[](int i) { return data()[i]; }
  const int64_t* data() const { return heap_ ? heap_ : inline_; }
  int64_t* data() { return heap_ ? heap_ : inline_; }
  const int64_t* begin() const { return data(); }
  const int64_t* end() const { return data() + rank_; }
  std::vector<int64_t> dims() const { return {begin(), end()}; }
  void push_back(int64_t d) {
    std::vector<int64_t> v = dims();
    v.push_back(d);
    assign(v.data(), v.size());
  }
  std::string to_string() const;

  friend bool operator==(const Shape& a, const Shape& b) {
    return a.rank_ == b.rank_ && std::equal(a.begin(), a.end(), b.begin());
  }
  friend std::ostream& operator<<(std::ostream& os, const Shape& s) { return os << s.to_string(); }

 private:
  static constexpr size_t kInline = 6;
  void assign(const int64_t* d, size_t n) {
    if (n > kInline) {
      auto* h = new int64_t[n];
      std::copy(d, d + n, h);
      release();
      heap_ = h;
    } else {
      // `d` may point into our own storage; memmove keeps that safe.
      if (heap_) {
        int64_t tmp[kInline];
        std::copy(d, d + n, tmp);
        release();
        std::copy(tmp, tmp + n, inline_);
      } else if (n) {
        std::memmove(inline_, d, n * sizeof(int64_t));
      }
    }
    rank_ = n;
  }
  void release() {
    delete[] heap_;
    heap_ = nullptr;
  }
  void steal(Shape& o) {
    rank_ = o.rank_;
    heap_ = o.heap_;
    std::copy(o.inline_, o.inline_ + kInline, inline_);
    o.heap_ = nullptr;
    o.rank_ = 0;
  }
  size_t rank_ = 0;
  int64_t* heap_ = nullptr;
  int64_t inline_[kInline] = {};
};

}  // namespace tapeflow

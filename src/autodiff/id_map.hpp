#pragma once

// Open-addressing hash containers keyed by tensor id (ids are never 0, so 0 marks an empty
// slot). The tape does several lookups per recorded op; node-based std::unordered_* would
// cost a malloc per insert.
#include <cstdint>
#include <vector>

namespace tapeflow::detail {

template <class V>
class IdMap {
 public:
  IdMap() { rehash(16); }
  V* find(uint64_t id) {
    for (size_t i = slot(id);; i = (i + 1) & mask_) {
      if (keys_[i] == id) return &vals_[i];
      if (keys_[i] == 0) return nullptr;
    }
  }
  bool contains(uint64_t id) const {
    for (size_t i = slot(id);; i = (i + 1) & mask_) {
      if (keys_[i] == id) return true;
      if (keys_[i] == 0) return false;
    }
  }
  /// The value for id, default-constructed on first use; `inserted` tells which.
  V& get(uint64_t id, bool* inserted = nullptr) {
    if ((size_ + 1) * 4 > keys_.size() * 3) rehash(keys_.size() * 2);
    for (size_t i = slot(id);; i = (i + 1) & mask_) {
      if (keys_[i] == id) {
        if (inserted) *inserted = false;
        return vals_[i];
      }
      if (keys_[i] == 0) {
        keys_[i] = id;
        ++size_;
        if (inserted) *inserted = true;
        return vals_[i];
      }
    }
  }
  size_t size() const { return size_; }
  void clear() {
    keys_.assign(16, 0);
    vals_.assign(16, V());
    mask_ = 15;
    size_ = 0;
  }

 private:
  size_t slot(uint64_t id) const { return size_t((id * 0x9E3779B97F4A7C15ull) >> 20) & mask_; }
  void rehash(size_t cap) {
    std::vector<uint64_t> old_keys = std::move(keys_);
    std::vector<V> old_vals = std::move(vals_);
    keys_.assign(cap, 0);
    vals_.assign(cap, V());
    mask_ = cap - 1;
    size_ = 0;
    for (size_t i = 0; i < old_keys.size(); ++i)
      if (old_keys[i]) get(old_keys[i]) = std::move(old_vals[i]);
  }
  std::vector<uint64_t> keys_;
  std::vector<V> vals_;
  size_t mask_ = 0;
  size_t size_ = 0;
};

/// A set of ids (values unused).
class IdSet {
 public:
  void insert(uint64_t id) { map_.get(id); }
  bool contains(uint64_t id) const { return map_.contains(id); }
  size_t size() const { return map_.size(); }
  void clear() { map_.clear(); }

 private:
  struct Empty {};
  IdMap<Empty> map_;
};

}  // namespace tapeflow::detail

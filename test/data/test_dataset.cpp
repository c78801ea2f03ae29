#include <algorithm>
#include <numeric>
#include <set>
#include <string>
#include <vector>

#include "test_util.hpp"

namespace tf = tapeflow;

namespace {

/// x = [[0, 1], [2, 3], ...] float32 [n, 2] and y = [0, 1, ..., n-1] int32.
std::vector<tf::Tensor> pairs(int n) {
  std::vector<float> xs(size_t(2 * n));
  std::iota(xs.begin(), xs.end(), 0.f);
  std::vector<int> ys(static_cast<size_t>(n));
  std::iota(ys.begin(), ys.end(), 0);
  return {tf::constant(xs, tf::Shape{n, 2}), tf::constant(ys, tf::Shape{n})};
}

/// The labels of each element, epoch by epoch (unbatched or batched: flattened).
std::vector<int> labels(const tf::data::Dataset& ds) {
  std::vector<int> out;
  for (const std::vector<tf::Tensor>& e : ds) {
    std::vector<int> v = e[1].to_vector<int>();
    out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}

bool is_permutation_of_range(std::vector<int> v, int n) {
  std::sort(v.begin(), v.end());
  std::vector<int> r(static_cast<size_t>(n));
  std::iota(r.begin(), r.end(), 0);
  return v == r;
}

}  // namespace

TEST_CASE("from_tensor_slices yields one element per row, components in order", "[data]") {
  auto ds = tf::data::Dataset::from_tensor_slices(pairs(3));
  CHECK(ds.cardinality() == 3);
  int i = 0;
  for (const std::vector<tf::Tensor>& e : ds) {
    REQUIRE(e.size() == 2);
    CHECK(e[0].shape() == tf::Shape{2});
    CHECK(e[0].dtype() == tf::float32);
    CHECK(e[0].to_vector<float>() == std::vector<float>{float(2 * i), float(2 * i + 1)});
    CHECK(e[1].shape() == tf::Shape{});
    CHECK(e[1].dtype() == tf::int32);
    CHECK(e[1].item<int>() == i);
    CHECK(e[0].device_info().type == tf::DeviceType::CPU);
    ++i;
  }
  CHECK(i == 3);
  // A single tensor is a one-component dataset.
  int n = 0;
  for (const auto& e : tf::data::Dataset::from_tensor_slices(tf::constant({5.f, 6.f}))) {
    CHECK(e.size() == 1);
    CHECK(e[0].item<float>() == 5.f + float(n++));
  }
  CHECK(n == 2);
}

TEST_CASE("from_tensor_slices rejects mismatched first dims, scalars and no components", "[data]") {
  auto x = tf::zeros(tf::Shape{3, 2});
  auto y = tf::zeros(tf::Shape{4}, tf::int32);
  CHECK_THROWS_AS(tf::data::Dataset::from_tensor_slices({x, y}), tf::InvalidArgumentError);
  CHECK_THROWS_WITH(tf::data::Dataset::from_tensor_slices({x, y}),
                    Catch::Contains("(3, 2)") && Catch::Contains("(4,)") &&
                        Catch::Contains("0th dimension") &&
                        Catch::Contains("[Op:TensorSliceDataset]"));
  CHECK_THROWS_AS(tf::data::Dataset::from_tensor_slices({tf::constant(1.f)}),
                  tf::InvalidArgumentError);
  CHECK_THROWS_AS(tf::data::Dataset::from_tensor_slices(std::vector<tf::Tensor>{}),
                  tf::InvalidArgumentError);
  auto ds = tf::data::Dataset::from_tensor_slices({x});
  CHECK_THROWS_AS(ds.batch(0), tf::InvalidArgumentError);
  CHECK_THROWS_AS(ds.shuffle(0, 1), tf::InvalidArgumentError);
  CHECK_THROWS_AS(ds.prefetch(0), tf::InvalidArgumentError);
}

TEST_CASE("batch stacks rows; the last batch is short unless drop_remainder", "[data]") {
  auto ds = tf::data::Dataset::from_tensor_slices(pairs(5));
  auto b = ds.batch(2);
  CHECK(b.cardinality() == 3);
  std::vector<std::vector<tf::Tensor>> got;
  for (const auto& e : b) got.push_back(e);
  REQUIRE(got.size() == 3);
  CHECK(got[0][0].shape() == tf::Shape{2, 2});
  CHECK(got[0][1].shape() == tf::Shape{2});
  CHECK(got[0][0].to_vector<float>() == std::vector<float>{0, 1, 2, 3});
  CHECK(got[1][0].to_vector<float>() == std::vector<float>{4, 5, 6, 7});
  CHECK(got[1][1].to_vector<int>() == std::vector<int>{2, 3});
  CHECK(got[2][0].shape() == tf::Shape{1, 2});
  CHECK(got[2][0].to_vector<float>() == std::vector<float>{8, 9});
  CHECK(got[2][1].to_vector<int>() == std::vector<int>{4});

  auto d = ds.batch(2, /*drop_remainder=*/true);
  CHECK(d.cardinality() == 2);
  int n = 0;
  for (const auto& e : d) {
    CHECK(e[0].shape() == tf::Shape{2, 2});
    ++n;
  }
  CHECK(n == 2);
  // A batch larger than the dataset is one short batch, or nothing when dropping remainders.
  CHECK(labels(ds.batch(8)) == std::vector<int>{0, 1, 2, 3, 4});
  CHECK(labels(ds.batch(8, true)).empty());
}

TEST_CASE("batch of batches adds a dimension; unequal shapes are an error", "[data]") {
  auto ds = tf::data::Dataset::from_tensor_slices(pairs(8)).batch(2).batch(2);
  int n = 0;
  for (const auto& e : ds) {
    CHECK(e[0].shape() == tf::Shape{2, 2, 2});
    CHECK(e[1].shape() == tf::Shape{2, 2});
    ++n;
  }
  CHECK(n == 2);
  CHECK(labels(ds) == std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7});
  // 3 rows: batches of 2 and 1 cannot be stacked.
  auto bad = tf::data::Dataset::from_tensor_slices(pairs(3)).batch(2).batch(2);
  CHECK_THROWS_AS(labels(bad), tf::InvalidArgumentError);
  CHECK_THROWS_WITH(labels(bad),
                    Catch::Contains("Cannot batch tensors with different shapes") &&
                        Catch::Contains("(2, 2)") && Catch::Contains("(1, 2)"));
  // Through a prefetch thread the error reaches the consumer.
  CHECK_THROWS_WITH(labels(bad.prefetch(2)), Catch::Contains("Cannot batch tensors"));
}

TEST_CASE("shuffle: each epoch a permutation, reproducible per seed, reshuffled per epoch",
          "[data]") {
  const int n = 100;
  auto base = tf::data::Dataset::from_tensor_slices(pairs(n));
  auto a = base.shuffle(n, 42);
  auto b = base.shuffle(n, 42);
  std::vector<int> a1 = labels(a), a2 = labels(a), a3 = labels(a);
  CHECK(is_permutation_of_range(a1, n));
  CHECK(is_permutation_of_range(a2, n));
  CHECK(is_permutation_of_range(a3, n));
  CHECK(a1 != a2);  // different epochs differ (odds of a repeat: 1/100!)
  CHECK(a2 != a3);
  std::vector<int> identity(static_cast<size_t>(n));
  std::iota(identity.begin(), identity.end(), 0);
  CHECK(a1 != identity);
  // Same seed: the same sequence of epochs.
  CHECK(labels(b) == a1);
  CHECK(labels(b) == a2);
  CHECK(labels(base.shuffle(n, 43)) != a1);
  // Copies share the epoch counter, as in TF (one pipeline).
  auto c = base.shuffle(n, 7);
  auto c_copy = c;
  std::vector<int> c1 = labels(c);
  CHECK(labels(c_copy) != c1);
  CHECK(labels(base.shuffle(n, 7)) == c1);
}

TEST_CASE("shuffle with a small buffer is still a permutation; buffer 1 keeps the order",
          "[data]") {
  auto base = tf::data::Dataset::from_tensor_slices(pairs(50));
  std::vector<int> s = labels(base.shuffle(8, 3));
  CHECK(is_permutation_of_range(s, 50));
  // TF buffer semantics: element i cannot come out before position i - (buffer - 1).
  for (size_t pos = 0; pos < s.size(); ++pos) CHECK(s[pos] <= int(pos) + 7);
  std::vector<int> ordered(50);
  std::iota(ordered.begin(), ordered.end(), 0);
  CHECK(labels(base.shuffle(1, 3)) == ordered);
  // Shuffled then batched: every row once, batch shapes as usual.
  auto sb = base.shuffle(1000, 9).batch(16);
  CHECK(is_permutation_of_range(labels(sb), 50));
  for (const auto& e : sb) {
    // x rows move with their labels.
    std::vector<float> x = e[0].to_vector<float>();
    std::vector<int> y = e[1].to_vector<int>();
    for (size_t i = 0; i < y.size(); ++i) CHECK(x[2 * i] == float(2 * y[i]));
  }
}

TEST_CASE("iterating a dataset twice gives two full epochs", "[data]") {
  auto ds = tf::data::Dataset::from_tensor_slices(pairs(10)).batch(3);
  CHECK(labels(ds) == labels(ds));
  CHECK(labels(ds).size() == 10);
}

TEST_CASE("take stops after n elements", "[data]") {
  auto ds = tf::data::Dataset::from_tensor_slices(pairs(10));
  CHECK(labels(ds.take(3)) == std::vector<int>{0, 1, 2});
  CHECK(ds.take(3).cardinality() == 3);
  CHECK(labels(ds.take(20)).size() == 10);
  CHECK(labels(ds.take(-1)).size() == 10);
  CHECK(labels(ds.take(0)).empty());
  CHECK(labels(ds.batch(4).take(2)) == std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7});
}

TEST_CASE("prefetch gives the same elements as no prefetch", "[data]") {
  auto base = tf::data::Dataset::from_tensor_slices(pairs(103));
  for (int k : {1, 2, 8}) {
    INFO("prefetch " << k);
    auto plain = base.shuffle(103, 5).batch(10);
    auto pre = base.shuffle(103, 5).batch(10).prefetch(k);
    CHECK(pre.cardinality() == plain.cardinality());
    for (int epoch = 0; epoch < 2; ++epoch) {
      std::vector<std::vector<float>> xp, xq;
      for (const auto& e : plain) xp.push_back(e[0].to_vector<float>());
      for (const auto& e : pre) xq.push_back(e[0].to_vector<float>());
      CHECK(xp == xq);
      CHECK(xq.size() == 11);
    }
    // Unbatched elements through a prefetch thread too.
    CHECK(labels(base.shuffle(10, 1).prefetch(k)) == labels(base.shuffle(10, 1)));
  }
}

TEST_CASE("destroying a prefetching iterator mid-epoch stops its thread", "[data]") {
  auto ds =
      tf::data::Dataset::from_tensor_slices(pairs(10000)).shuffle(10000, 1).batch(4).prefetch(3);
  for (int trial = 0; trial < 50; ++trial) {
    int steps = 0;
    for (const auto& e : ds) {
      CHECK(e[0].shape() == tf::Shape{4, 2});
      if (++steps == trial % 5 + 1) break;  // leave with the producer blocked on a full queue
    }
  }
  {
    auto it = ds.begin();  // never advanced past the first element
    CHECK(it != ds.end());
  }
  {
    // The iterator outlives every Dataset handle: it keeps the pipeline alive.
    auto tmp = tf::data::Dataset::from_tensor_slices(pairs(64)).batch(8).prefetch(2);
    auto it = tmp.begin();
    tmp = tf::data::Dataset::from_tensor_slices(pairs(1));
    int n = 0;
    for (; it != std::default_sentinel; ++it) ++n;
    CHECK(n == 8);
  }
}

TEST_CASE("tensors made on the prefetch thread can be kept and freed on the main thread",
          "[data]") {
  // Many batches in flight and held across epochs: the allocator and handle pool see blocks
  // allocated on one thread and freed on another, under load.
  const int n = 4096;
  auto ds = tf::data::Dataset::from_tensor_slices(pairs(n)).shuffle(n, 11).batch(32).prefetch(4);
  std::vector<tf::Tensor> kept;
  for (int epoch = 0; epoch < 5; ++epoch) {
    double sum = 0;
    int64_t rows = 0;
    for (const auto& e : ds) {
      tf::Tensor s = tf::reduce_sum(e[0] * 2.f);  // ops on the main thread, on producer tensors
      sum += s.item<float>() / 2;
      rows += e[1].num_elements();
      if (rows % 3 == 0) kept.push_back(e[0]);
      if (kept.size() > 40) kept.erase(kept.begin(), kept.begin() + 20);
    }
    CHECK(rows == n);
    CHECK(sum == double(2 * n - 1) * double(2 * n) / 2);  // 0 + 1 + ... + (2n - 1)
  }
  kept.clear();
}

TEST_CASE("shard keeps every num_shards-th element from index; shards partition the input",
          "[data][distribute]") {
  auto ds = tf::data::Dataset::from_tensor_slices(pairs(10));
  CHECK(labels(ds.shard(3, 0)) == std::vector<int>{0, 3, 6, 9});
  CHECK(labels(ds.shard(3, 1)) == std::vector<int>{1, 4, 7});
  CHECK(labels(ds.shard(3, 2)) == std::vector<int>{2, 5, 8});
  CHECK(ds.shard(3, 0).cardinality() == 4);
  CHECK(ds.shard(3, 2).cardinality() == 3);
  CHECK(labels(ds.shard(1, 0)) == labels(ds));
  CHECK(labels(ds.shard(20, 12)).empty());
  CHECK(ds.shard(20, 12).cardinality() == 0);
  // Rows stay rows: the x component of shard (2, 1) is rows 1, 3, 5, ...
  auto first = *ds.shard(2, 1).begin();
  CHECK(first[0].to_vector<float>() == std::vector<float>{2.f, 3.f});
  // Before shuffle and batch, as a distributed input pipeline: disjoint shards, same seed.
  std::vector<int> all;
  for (int r = 0; r < 4; ++r) {
    std::vector<int> part = labels(ds.shard(4, r).shuffle(10, 7).batch(2));
    all.insert(all.end(), part.begin(), part.end());
  }
  CHECK(is_permutation_of_range(all, 10));
  // Sharding a batched dataset shards batches.
  CHECK(labels(ds.batch(4).shard(2, 1)) == std::vector<int>{4, 5, 6, 7});
}

TEST_CASE("shard rejects a non-positive shard count and an index not below num_shards",
          "[data][distribute]") {
  auto ds = tf::data::Dataset::from_tensor_slices(pairs(4));
  CHECK_THROWS_AS(ds.shard(0, 0), tf::InvalidArgumentError);
  CHECK_THROWS_WITH(
      ds.shard(0, 0),
      Catch::Contains("greater than zero, got 0") && Catch::Contains("[Op:ShardDataset]"));
  CHECK_THROWS_WITH(ds.shard(2, 2),
                    Catch::Contains("Index must be between 0 and 1 (inclusive), got 2"));
  CHECK_THROWS_AS(ds.shard(2, -1), tf::InvalidArgumentError);
}

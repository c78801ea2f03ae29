// The CUDA backend's caching allocator (cuda/caching_allocator.hpp), run over a fake device
// memory so that its logic is checked on every machine, GPU or not: buckets, reuse, the
// free-and-retry on out-of-memory and the ResourceExhaustedError after it.
#include <cstdlib>
#include <set>
#include <string>

#include "../../cuda/caching_allocator.hpp"
#include "test_util.hpp"

namespace tf = tapeflow;
using Catch::Matchers::Contains;

namespace {

/// A device with `capacity` bytes: malloc-backed, counting calls; fails when full.
struct FakeMemory {
  size_t capacity = 0, used = 0;
  int mallocs = 0, frees = 0, syncs = 0;
  std::set<void*> live;
  std::unordered_map<void*, size_t> sizes;

  explicit FakeMemory(size_t cap) : capacity(cap) {}
  ~FakeMemory() {
    for (void* p : live) std::free(p);
  }
  bool allocate(void** p, size_t bytes) {
    if (used + bytes > capacity) return false;
    *p = std::malloc(bytes);
    live.insert(*p);
    sizes[*p] = bytes;
    used += bytes;
    ++mallocs;
    return true;
  }
  void free(void* p) {
    REQUIRE(live.count(p) == 1);  // only blocks it handed out, each once
    live.erase(p);
    used -= sizes[p];
    std::free(p);
    ++frees;
  }
  void synchronize() { ++syncs; }
  std::string usage() { return std::to_string(capacity - used) + " bytes free"; }
};

using Allocator = tf::cuda::CachingAllocator<FakeMemory>;

}  // namespace

TEST_CASE("caching allocator buckets: 512-byte steps to 1 MiB, then at most 12.5% waste",
          "[gpu][allocator]") {
  CHECK(Allocator::bucket(0) == 512);
  CHECK(Allocator::bucket(1) == 512);
  CHECK(Allocator::bucket(512) == 512);
  CHECK(Allocator::bucket(513) == 1024);
  CHECK(Allocator::bucket(size_t(1) << 20) == size_t(1) << 20);
  CHECK(Allocator::bucket((size_t(1) << 20) + 1) == (size_t(9) << 17));  // 1.125 MiB
  CHECK(Allocator::bucket(size_t(3) << 30) == (size_t(3) << 30));        // 3 GiB, a step of 256 MiB
  CHECK(Allocator::bucket((size_t(3) << 30) + 1) == (size_t(13) << 28));  // 3.25 GiB
  for (size_t b = 1; b < (size_t(1) << 34); b = b * 3 + 7) {
    const size_t got = Allocator::bucket(b);
    INFO("bytes " << b << " -> " << got);
    CHECK(got >= b);
    if (b > 4096) CHECK(double(got - b) <= 0.125 * double(b));
  }
}

TEST_CASE("caching allocator reuses a freed block of the same bucket without a new malloc",
          "[gpu][allocator]") {
  Allocator a("/job:localhost/replica:0/task:0/device:GPU:0", size_t(1) << 20);
  void* p = a.allocate(1000);
  CHECK(a.memory().mallocs == 1);
  CHECK(a.bytes_in_use() == 1024);
  a.deallocate(p, 1000);
  CHECK(a.bytes_in_use() == 0);
  CHECK(a.bytes_cached() == 1024);
  void* q = a.allocate(900);  // same 1024-byte bucket
  CHECK(q == p);
  CHECK(a.memory().mallocs == 1);
  CHECK(a.bytes_cached() == 0);
  void* r = a.allocate(2000);  // another bucket: a new block
  CHECK(r != q);
  CHECK(a.memory().mallocs == 2);
  a.deallocate(q, 900);
  a.deallocate(r, 2000);
  CHECK(a.bytes_cached() == 1024 + 2048);
  a.release_cached();
  CHECK(a.memory().frees == 2);
  CHECK(a.memory().live.empty());
  CHECK(a.bytes_cached() == 0);
}

TEST_CASE(
    "caching allocator on out-of-memory returns its cache, waits for the device and "
    "retries",
    "[gpu][allocator]") {
  Allocator a("/job:localhost/replica:0/task:0/device:GPU:0", 8192);
  void* small = a.allocate(4096);
  a.deallocate(small, 4096);     // cached: the fake device now has 4096 bytes left
  void* big = a.allocate(6000);  // 6144 does not fit beside the cached block
  CHECK(big != nullptr);
  CHECK(a.memory().syncs == 1);  // waited before freeing
  CHECK(a.memory().frees == 1);  // the cached block went back
  CHECK(a.memory().mallocs == 2);
  CHECK(a.bytes_in_use() == 6144);
  CHECK(a.bytes_cached() == 0);
  a.deallocate(big, 6000);
}

TEST_CASE(
    "caching allocator throws ResourceExhaustedError naming the size and device when "
    "nothing frees enough",
    "[gpu][allocator]") {
  Allocator a("/job:localhost/replica:0/task:0/device:GPU:1", size_t(1) << 20);
  void* held = a.allocate(size_t(1) << 19);
  CHECK_THROWS_AS(a.allocate(size_t(3) << 20), tf::ResourceExhaustedError);
  CHECK_THROWS_WITH(a.allocate(size_t(3) << 20),
                    Contains("OOM when allocating 3.0 MiB") && Contains("device:GPU:1") &&
                        Contains("out of memory") && Contains("0.5 MiB held by tensors"));
  // Still usable afterwards, and the held block was never given back.
  CHECK(a.memory().live.count(held) == 1);
  void* p = a.allocate(1024);
  CHECK(p != nullptr);
  a.deallocate(p, 1024);
  a.deallocate(held, size_t(1) << 19);
}

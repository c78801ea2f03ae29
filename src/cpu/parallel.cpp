#include "cpu/parallel.hpp"

#include <strings.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tapeflow/device.hpp"
#include "tapeflow/errors.hpp"

extern "C" void openblas_set_num_threads(int);
extern "C" char* openblas_get_corename(void);

namespace tapeflow::cpu {
namespace {

class Pool {
 public:
  explicit Pool(int threads) : size_(threads) {
    for (int i = 1; i < threads; ++i) workers_.emplace_back([this] { work(); });
  }
  ~Pool() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    wake_.notify_all();
    for (auto& t : workers_) t.join();
  }
  int size() const { return size_; }

  void run(int parts, const std::function<void(int)>& part) {
    // One job at a time; a job started from inside a worker runs inline instead.
    std::unique_lock<std::mutex> job_lock(job_mu_, std::try_to_lock);
    if (!job_lock.owns_lock() || in_worker_) {
      for (int p = 0; p < parts; ++p) part(p);
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      job_ = &part;
      parts_ = parts;
      next_.store(1);  // part 0 is the caller's
      remaining_ = parts;
      ++generation_;
    }
    wake_.notify_all();
    part(0);
    finish_one();
    for (int p; (p = next_.fetch_add(1)) < parts;) {
      part(p);
      finish_one();
    }
    // Wait for every part, and for every worker that joined this job to leave it: a worker
    // still inside its loop reads next_, which must not be reset by the next job meanwhile.
    spin_until([&] { return remaining_.load() == 0 && active_.load() == 0; });
    std::unique_lock<std::mutex> lock(mu_);
    job_ = nullptr;
    done_.wait(lock, [&] { return remaining_ == 0 && active_ == 0; });
  }

 private:
  /// Waits up to kSpin for `ready` without sleeping. The ops of a training step follow each
  /// other within microseconds, while a futex wake-up costs tens of microseconds on a VM (a
  /// quarter of W6's time when every job slept); the spin is bounded, so an idle pool sleeps.
  template <class Ready>
  static void spin_until(Ready ready) {
    constexpr auto kSpin = std::chrono::microseconds(50);
    const auto deadline = std::chrono::steady_clock::now() + kSpin;
    for (int i = 0; !ready(); ++i) {
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
      if ((i & 63) == 63 && std::chrono::steady_clock::now() >= deadline) return;
    }
  }

  void finish_one() {
    std::lock_guard<std::mutex> lock(mu_);
    if (--remaining_ == 0) done_.notify_all();
  }
  void work() {
    in_worker_ = true;
    uint64_t seen = 0;
    for (;;) {
      const std::function<void(int)>* job;
      int parts;
      spin_until([&] { return generation_.load() != seen || stop_.load(); });
      {
        std::unique_lock<std::mutex> lock(mu_);
        wake_.wait(lock, [&] { return stop_ || (generation_ != seen && job_); });
        if (stop_) return;
        seen = generation_.load();
        job = job_;
        parts = parts_;
        ++active_;
      }
      for (int p; (p = next_.fetch_add(1)) < parts;) {
        (*job)(p);
        finish_one();
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (--active_ == 0) done_.notify_all();
      }
    }
  }

  int size_;
  std::vector<std::thread> workers_;
  std::mutex job_mu_, mu_;
  std::condition_variable wake_, done_;
  const std::function<void(int)>* job_ = nullptr;
  int parts_ = 0;
  // remaining_, active_, generation_ and stop_ are written under mu_ (the condition variables'
  // protocol) and read without it while spinning.
  std::atomic<int> remaining_{0}, active_{0};
  std::atomic<int> next_{0};
  std::atomic<uint64_t> generation_{0};
  std::atomic<bool> stop_{false};
  static thread_local bool in_worker_;
};
thread_local bool Pool::in_worker_ = false;

std::atomic<int> g_requested_threads{0};  // set_num_threads, before the pool exists
std::atomic<bool> g_pool_created{false};

int configured_threads() {
  if (int n = g_requested_threads.load()) return n;
  if (const char* env = std::getenv("TAPEFLOW_NUM_THREADS")) {
    int n = std::atoi(env);
    if (n >= 1) return std::min(n, 256);
  }
  return std::max(1u, std::thread::hardware_concurrency());
}

Pool& pool() {
  static Pool* p = [] {
    g_pool_created = true;
    // OpenBLAS runs single-threaded inside the pool's parts (cpu/linalg.cpp): its own workers
    // spin in sched_yield for ~0.1 s after each call, taking a core from the element-wise
    // kernels that follow (a fifth of W7's samples before).
    openblas_set_num_threads(1);
    if (std::string hint = config::openblas_coretype_hint(); !hint.empty())
      std::fprintf(stderr,
                   "tapeflow: OpenBLAS chose its '%s' kernels on a CPU that runs %s ones, so "
                   "matmul is several times slower than it could be; start the program with "
                   "OPENBLAS_CORETYPE=%s\n",
                   openblas_get_corename(),
                   hint.c_str(),
                   hint.c_str());
    return new Pool(configured_threads());  // never destroyed: workers may outlive main
  }();
  return *p;
}

}  // namespace

int num_threads() { return pool().size(); }

}  // namespace tapeflow::cpu

namespace tapeflow::config {

void set_num_threads(int n) {
  if (n < 1 || n > 256)
    throw InvalidArgumentError("set_num_threads: need 1..256 threads, got " + std::to_string(n));
  if (cpu::g_pool_created && n != cpu::num_threads())
    throw RuntimeError("set_num_threads: the CPU thread pool is already running with " +
                       std::to_string(cpu::num_threads()) +
                       " threads; call it before the first large op");
  cpu::g_requested_threads = n;
}

int num_threads() { return cpu::g_pool_created ? cpu::num_threads() : cpu::configured_threads(); }

std::string openblas_coretype_hint() {
#if defined(__x86_64__)
  if (std::getenv("OPENBLAS_CORETYPE")) return "";
  // OpenBLAS's fallbacks for CPUs it does not recognise, and the cores older than Haswell.
  static const char* const kLegacy[] = {"Katmai",
                                        "Coppermine",
                                        "Northwood",
                                        "Prescott",
                                        "Banias",
                                        "Core2",
                                        "Penryn",
                                        "Dunnington",
                                        "Nehalem",
                                        "Sandybridge",
                                        "Atom",
                                        "Barcelona",
                                        "Opteron",
                                        "Bobcat",
                                        "Bulldozer",
                                        "Piledriver",
                                        "Steamroller",
                                        "Excavator",
                                        "Unknown"};
  const std::string core = openblas_get_corename();
  bool legacy = false;
  for (const char* name : kLegacy) legacy = legacy || strcasecmp(core.c_str(), name) == 0;
  if (!legacy) return "";
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
    return "SkylakeX";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
#endif
  return "";
}

}  // namespace tapeflow::config

namespace tapeflow::cpu {

void parallel_for_pool(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  const int threads = num_threads();
  int64_t parts = std::min<int64_t>(threads, n / std::max<int64_t>(grain, 1));
  if (parts <= 1) {
    if (n > 0) fn(0, n);
    return;
  }
  // Chunk boundaries rounded to 16 elements keep SIMD loops aligned within each part.
  int64_t chunk = (n + parts - 1) / parts;
  if (chunk >= 64) chunk = (chunk + 15) & ~int64_t(15);
  pool().run(int(parts), [&](int p) {
    int64_t b = p * chunk, e = std::min(n, b + chunk);
    if (b < e) fn(b, e);
  });
}

}  // namespace tapeflow::cpu

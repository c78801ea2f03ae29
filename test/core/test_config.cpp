#include <cstdlib>
#include <string>

#include "test_util.hpp"

namespace tf = tapeflow;

TEST_CASE("set_num_threads validates its argument and keeps a running pool's size", "[config]") {
  CHECK_THROWS_AS(tf::config::set_num_threads(0), tf::InvalidArgumentError);
  CHECK_THROWS_AS(tf::config::set_num_threads(257), tf::InvalidArgumentError);
  const int n = tf::config::num_threads();
  CHECK(n >= 1);
  CHECK_NOTHROW(tf::config::set_num_threads(n));  // the current size is always accepted
  // Start the pool with a large op, then a different size is refused (as TF's threading API).
  CHECK(tf::reduce_sum(tf::ones({1 << 18})).item<float>() == float(1 << 18));
  CHECK_THROWS_AS(tf::config::set_num_threads(n + 1), tf::RuntimeError);
  CHECK(tf::config::num_threads() == n);
}

TEST_CASE("openblas_coretype_hint names a kernel set only when OpenBLAS fell back and none is set",
          "[config]") {
  const char* before = std::getenv("OPENBLAS_CORETYPE");
  const std::string saved = before ? before : "";
  ::setenv("OPENBLAS_CORETYPE", "Haswell", 1);
  CHECK(tf::config::openblas_coretype_hint().empty());  // the user chose: nothing to say
  ::unsetenv("OPENBLAS_CORETYPE");
  const std::string hint = tf::config::openblas_coretype_hint();
  // Which one depends on the machine (and on OpenBLAS's detection, made when it was loaded).
  INFO("hint '" << hint << "'");
  CHECK((hint.empty() || hint == "SkylakeX" || hint == "Haswell"));
#if defined(__x86_64__)
  if (hint == "SkylakeX") CHECK(__builtin_cpu_supports("avx512f"));
  if (hint == "Haswell") CHECK(__builtin_cpu_supports("avx2"));
#endif
  if (before) ::setenv("OPENBLAS_CORETYPE", saved.c_str(), 1);
}

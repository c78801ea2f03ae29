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

#include <catch2/catch.hpp>
#include <tapeflow/tapeflow.hpp>
#include <tapeflow/xtensor.hpp>
#include <xtensor/xview.hpp>

namespace tf = tapeflow;

TEST_CASE("from_xtensor copies values, shape and dtype; to_xarray round-trips", "[interop]") {
  xt::xarray<double> a = {{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}};
  tf::Tensor t = tf::from_xtensor(a);
  CHECK(t.shape() == tf::Shape{2, 3});
  CHECK(t.dtype() == tf::float64);
  CHECK(t.to_vector<double>() == std::vector<double>{1, 2, 3, 4, 5, 6});
  xt::xarray<double> back = (t * 2.0).to_xarray<double>();
  REQUIRE(back.shape().size() == 2);
  CHECK(back(1, 2) == 12.0);
  CHECK(back(0, 0) == 2.0);
}

TEST_CASE("from_xtensor takes a column-major array in logical (row-major) order", "[interop]") {
  xt::xarray<float, xt::layout_type::column_major> a = {{1.f, 2.f}, {3.f, 4.f}};
  xt::xarray<float> row = a;
  tf::Tensor t = tf::from_xtensor(row);
  CHECK(t.to_vector<float>() == std::vector<float>{1, 2, 3, 4});
}

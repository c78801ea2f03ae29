// Run by mpirun -np N (test/CMakeLists.txt): every collective gives exact values on every
// replica, and bad input is an InvalidArgumentError on every replica (after which collectives
// still work). Exit status 0 on success.
#include <numeric>
#include <tapeflow/tapeflow.hpp>

#include "mpi_check.hpp"

namespace tf = tapeflow;
using tf::distribute::ReduceOp;

namespace {

template <class T>
std::vector<T> iota(int64_t n, T start) {
  std::vector<T> v(static_cast<size_t>(n));
  std::iota(v.begin(), v.end(), start);
  return v;
}

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const tf::InvalidArgumentError& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("wrong error class: ") + e.what();
  }
  return "no error";
}

}  // namespace

int main() {
  // Small buckets, so that a few tensors already make several buckets and one goes alone.
  tf::distribute::MultiWorkerMirroredStrategy strategy({.fusion_bytes = 256});
  const int n = strategy.num_replicas_in_sync();
  const int r = strategy.worker_index();
  mpi_test::rank_for_messages() = r;
  MPI_CHECK(strategy.backend() == "mpi");
  MPI_CHECK(strategy.is_chief() == (r == 0));
  const double sum_ranks = n * (n - 1) / 2.0;  // 0 + 1 + ... + n-1

  {  // SUM and MEAN of several dtypes, fused and alone.
    std::vector<tf::Tensor> in;
    for (int i = 0; i < 40; ++i)
      in.push_back(tf::constant(std::vector<float>{float(r), float(i)}, tf::Shape{2}));
    in.push_back(tf::constant(iota<float>(100, float(r)), tf::Shape{10, 10}));  // 400 bytes: alone
    in.push_back(tf::constant(std::vector<double>{0.5 * r, 1.0}, tf::Shape{2}));
    in.push_back(tf::constant(std::vector<int32_t>{r, 7}, tf::Shape{2}));
    in.push_back(tf::constant(std::vector<int64_t>{int64_t(r) << 40, 1}, tf::Shape{1, 2}));
    std::vector<tf::Tensor> out = strategy.all_reduce(in, ReduceOp::SUM);
    MPI_CHECK(out.size() == in.size());
    for (int i = 0; i < 40; ++i)
      MPI_CHECK(out[size_t(i)].to_vector<float>() ==
                (std::vector<float>{float(sum_ranks), float(n * i)}));
    std::vector<float> big(100);
    for (int k = 0; k < 100; ++k) big[size_t(k)] = float(n * k + sum_ranks);
    MPI_CHECK(out[40].to_vector<float>() == big);
    MPI_CHECK(out[40].shape() == (tf::Shape{10, 10}));
    MPI_CHECK(out[41].to_vector<double>() == (std::vector<double>{0.5 * sum_ranks, double(n)}));
    MPI_CHECK(out[42].to_vector<int32_t>() == (std::vector<int32_t>{int32_t(sum_ranks), 7 * n}));
    MPI_CHECK(out[43].to_vector<int64_t>() == (std::vector<int64_t>{int64_t(sum_ranks) << 40, n}));
    MPI_CHECK(out[43].dtype() == tf::int64);
    // The inputs are untouched (reduced into new buffers).
    MPI_CHECK(in[0].to_vector<float>() == (std::vector<float>{float(r), 0.f}));

    tf::Tensor mean = strategy.all_reduce(
        tf::constant(std::vector<float>{float(2 * r), 1.f}, tf::Shape{2}), ReduceOp::MEAN);
    MPI_CHECK(mean.to_vector<float>() == (std::vector<float>{float(2 * sum_ranks / n), 1.f}));
    std::vector<tf::Tensor> with_undefined =
        strategy.all_reduce({tf::Tensor(), tf::constant(1.f)}, ReduceOp::SUM);
    MPI_CHECK(!with_undefined[0].defined());
    MPI_CHECK(with_undefined[1].item<float>() == float(n));
  }

  {  // broadcast from the chief and from the last replica; all_gather with unequal first dims.
    std::vector<tf::Tensor> b =
        strategy.broadcast({tf::constant(std::vector<float>{float(r), 2.f}, tf::Shape{2}),
                            tf::constant(int64_t(10 + r))},
                           0);
    MPI_CHECK(b[0].to_vector<float>() == (std::vector<float>{0.f, 2.f}));
    MPI_CHECK(b[1].item<int64_t>() == 10);
    MPI_CHECK(strategy.broadcast(tf::constant(float(r)), n - 1).item<float>() == float(n - 1));

    tf::Tensor mine = tf::fill(tf::Shape{r + 1, 2}, tf::constant(float(r)));
    tf::Tensor all = strategy.all_gather(mine);
    MPI_CHECK(all.shape() == (tf::Shape{n * (n + 1) / 2, 2}));
    std::vector<float> expect;
    for (int q = 0; q < n; ++q)
      for (int k = 0; k < 2 * (q + 1); ++k) expect.push_back(float(q));
    MPI_CHECK(all.to_vector<float>() == expect);
  }

  {  // broadcast_variables: weights, then optimizer slots and step.
    tf::Variable w(tf::constant(std::vector<float>{float(r), float(r)}, tf::Shape{2}),
                   {.name = "w"});
    tf::Variable b(tf::constant(float(100 + r)), {.name = "b"});
    tf::optimizers::Adam opt;
    opt.build({w, b});
    opt.get_slot(w, "m").assign(tf::constant(std::vector<float>{float(r), 1.f}, tf::Shape{2}));
    opt.set_iterations(5 + r);
    strategy.broadcast_variables({w, b}, opt);
    MPI_CHECK(w.value().to_vector<float>() == (std::vector<float>{0.f, 0.f}));
    MPI_CHECK(b.value().item<float>() == 100.f);
    MPI_CHECK(opt.get_slot(w, "m").value().to_vector<float>() == (std::vector<float>{0.f, 1.f}));
    MPI_CHECK(opt.iterations() == 5);
  }

  {  // Bad input: the same clear error on every replica, and collectives still work afterwards.
    const std::string mismatch = error_of(
        [&] { strategy.all_reduce({tf::zeros(tf::Shape{r == 1 ? 3 : 2})}, ReduceOp::SUM); });
    MPI_CHECK(mismatch.find("replicas passed different tensors") != std::string::npos);
    MPI_CHECK(mismatch.find("replica 0: [SUM: (2,) float32]") != std::string::npos);
    MPI_CHECK(mismatch.find("replica 1: [SUM: (3,) float32]") != std::string::npos);
    MPI_CHECK(mismatch.find("[Op:CollectiveReduceV2]") != std::string::npos);
    if (mismatch.find("replica 1") == std::string::npos)
      std::fprintf(stderr, "got: %s\n", mismatch.c_str());
    const std::string unknown =
        error_of([&] { strategy.all_reduce({tf::zeros(tf::Shape{2})}, ReduceOp(7)); });
    MPI_CHECK(unknown.find("Unknown reduce op 7") != std::string::npos);
    const std::string int_mean =
        error_of([&] { strategy.all_reduce(tf::constant(int32_t(1)), ReduceOp::MEAN); });
    MPI_CHECK(int_mean.find("MEAN needs floating tensors") != std::string::npos);
    const std::string dtype = error_of([&] {
      strategy.all_reduce(r == 0 ? tf::zeros(tf::Shape{2}) : tf::zeros(tf::Shape{2}, tf::float64),
                          ReduceOp::SUM);
    });
    MPI_CHECK(dtype.find("(2,) float64") != std::string::npos);
    MPI_CHECK(strategy.all_reduce(tf::constant(1.f), ReduceOp::SUM).item<float>() == float(n));
  }

  {  // gradient(): overlapped, not overlapped, and all_reduce after tape.gradient agree.
    tf::random::set_seed(3);
    std::vector<tf::Variable> vars;
    for (int i = 0; i < 6; ++i)
      vars.emplace_back(tf::random::normal(tf::Shape{4, 4}), tf::VariableOptions{.name = "w"});
    tf::Variable unused(tf::ones(tf::Shape{3}), {.name = "unused"});
    vars.push_back(unused);
    strategy.broadcast_variables(vars);
    tf::Tensor x = tf::fill(tf::Shape{2, 4}, tf::constant(float(r + 1)));
    auto loss_of = [&] {
      tf::Tensor h = x;
      for (int i = 0; i < 6; ++i) h = tf::nn::relu(tf::matmul(h, vars[size_t(i)]));
      return tf::reduce_mean(tf::square(h));
    };
    std::vector<tf::Tensor> overlapped, plain, manual;
    {
      tf::GradientTape tape;
      overlapped = strategy.gradient(tape, loss_of(), vars);
      // 256-byte buckets, last variable first: [unused, w5, w4, w3] and [w2, w1, w0]; both are
      // sent from inside the walk, the first as soon as w3's gradient is final.
      MPI_CHECK(strategy.last_gradient_stats().buckets == 2);
      MPI_CHECK(strategy.last_gradient_stats().sent_during_walk == 2);
    }
    {
      tf::distribute::MultiWorkerMirroredStrategy no_overlap(
          {.fusion_bytes = 256, .overlap_backward = false});
      tf::GradientTape tape;
      plain = no_overlap.gradient(tape, loss_of(), vars);
      MPI_CHECK(no_overlap.last_gradient_stats().sent_during_walk == 0);
    }
    {
      tf::GradientTape tape;
      manual = strategy.all_reduce(tape.gradient(loss_of(), vars), ReduceOp::MEAN);
    }
    for (size_t i = 0; i < 6; ++i) {
      MPI_CHECK(overlapped[i].to_vector<float>() == plain[i].to_vector<float>());
      MPI_CHECK(
          mpi_test::close(overlapped[i].to_vector<float>(), manual[i].to_vector<float>(), 1e-6));
    }
    MPI_CHECK(!overlapped[6].defined());  // no replica had a gradient for it
    MPI_CHECK(!manual[6].defined());
  }

  strategy.barrier();
  if (mpi_test::failures() == 0 && strategy.is_chief())
    std::printf("mpi_collectives: all checks passed on %d replicas\n", n);
  return mpi_test::failures() == 0 ? 0 : 1;
}

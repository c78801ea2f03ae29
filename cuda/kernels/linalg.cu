// Matmul: cuBLAS strided-batched GEMM for float32/float64 (a stride of 0 repeats one matrix
// for every batch), the plain kernel of linalg.cuh for integers.
#include "launch.cuh"
#include "linalg.cuh"

namespace tapeflow::cuda {

namespace {

template <class T>
struct ZeroFill {
  T* p;
  TF_HD void operator()(int64_t i) const { p[i] = T(0); }
};

}  // namespace

void matmul(const detail::KernelArgs& k) {
  const auto& a = k.attr<detail::MatMulAttrs>();
  const int64_t total = a.batch * a.m * a.n;
  if (total == 0) return;
  detail::dispatch_numeric(k.in(0).dtype, [&]<class T>() {
    if constexpr (std::is_floating_point_v<T>) {
      if (a.k == 0) {  // an empty sum: zeros (not left to cuBLAS)
        kern::DeviceExec{}.for_each(total, ZeroFill<T>{k.out().as<T>()});
        return;
      }
      const kern::GemmArgs g = kern::gemm_args(a);
      const cublasOperation_t op1 = g.trans_first ? CUBLAS_OP_T : CUBLAS_OP_N;
      const cublasOperation_t op2 = g.trans_second ? CUBLAS_OP_T : CUBLAS_OP_N;
      const T one = 1, zero = 0;
      const T* A = k.in(0).as<const T>();
      const T* B = k.in(1).as<const T>();
      T* C = k.out().as<T>();
      cublasHandle_t h = cublas_handle();
      if constexpr (std::is_same_v<T, float>) {
        check(cublasSgemmStridedBatched(h,
                                        op1,
                                        op2,
                                        g.rows,
                                        g.cols,
                                        g.depth,
                                        &one,
                                        B,
                                        g.ld_first,
                                        g.stride_first,
                                        A,
                                        g.ld_second,
                                        g.stride_second,
                                        &zero,
                                        C,
                                        g.ldc,
                                        g.stride_c,
                                        int(a.batch)),
              "cublasSgemmStridedBatched");
      } else {
        check(cublasDgemmStridedBatched(h,
                                        op1,
                                        op2,
                                        g.rows,
                                        g.cols,
                                        g.depth,
                                        &one,
                                        B,
                                        g.ld_first,
                                        g.stride_first,
                                        A,
                                        g.ld_second,
                                        g.stride_second,
                                        &zero,
                                        C,
                                        g.ldc,
                                        g.stride_c,
                                        int(a.batch)),
              "cublasDgemmStridedBatched");
      }
    } else {
      kern::matmul_plain<T>(k, kern::DeviceExec{});
    }
  });
}

}  // namespace tapeflow::cuda

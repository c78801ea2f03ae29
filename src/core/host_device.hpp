#pragma once

// TAPEFLOW_HD marks a function that CUDA code also calls on the device (__host__ __device__
// under nvcc, nothing for the C++ compiler), so one plain C++ definition serves both backends.
#ifdef __CUDACC__
#define TAPEFLOW_HD __host__ __device__
#else
#define TAPEFLOW_HD
#endif

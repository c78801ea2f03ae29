#pragma once

// A few lines of checking for the programs mpirun launches (Catch2 does not know about ranks):
// each failure prints the replica and the line; main returns failures() != 0.
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

namespace mpi_test {

inline int& rank_for_messages() {
  static int r = 0;
  return r;
}
inline int& failures() {
  static int n = 0;
  return n;
}

inline void check(bool ok, const char* what, const char* file, int line) {
  if (ok) return;
  ++failures();
  std::fprintf(stderr, "FAILED on replica %d: %s (%s:%d)\n", rank_for_messages(), what, file, line);
}

template <class T>
bool same(const std::vector<T>& a, const std::vector<T>& b) {
  return a == b;
}

inline bool close(const std::vector<float>& a, const std::vector<float>& b, double rel) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::abs(double(a[i]) - double(b[i])) > rel * (1.0 + std::abs(double(b[i])))) return false;
  return true;
}

}  // namespace mpi_test

#define MPI_CHECK(cond) ::mpi_test::check((cond), #cond, __FILE__, __LINE__)

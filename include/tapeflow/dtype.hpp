#pragma once

#include <cstdint>
#include <ostream>
#include <string_view>
#include <type_traits>

#include "tapeflow/export.hpp"

namespace tapeflow {

/// Element type of a tensor. Printed as TensorFlow does (`float32`, `bool`, ...).
enum class DType : uint8_t { float32, float64, int32, int64, boolean };

inline constexpr DType float32 = DType::float32;
inline constexpr DType float64 = DType::float64;
inline constexpr DType int32 = DType::int32;
inline constexpr DType int64 = DType::int64;
inline constexpr DType boolean = DType::boolean;

/// TensorFlow's name of the dtype: "float32", "float64", "int32", "int64", "bool".
TAPEFLOW_API std::string_view dtype_name(DType t);
/// Bytes per element.
constexpr int dtype_size(DType t) {
  return t == DType::boolean ? 1 : (t == DType::float64 || t == DType::int64) ? 8 : 4;
}
inline bool is_floating(DType t) { return t == DType::float32 || t == DType::float64; }
inline bool is_integer(DType t) { return t == DType::int32 || t == DType::int64; }

inline std::ostream& operator<<(std::ostream& os, DType t) { return os << dtype_name(t); }

/// The dtype a C++ element type maps to: float→float32, double→float64, int→int32,
/// int64_t→int64, bool→bool.
template <class T>
struct dtype_of;
template <>
struct dtype_of<float> : std::integral_constant<DType, DType::float32> {};
template <>
struct dtype_of<double> : std::integral_constant<DType, DType::float64> {};
template <>
struct dtype_of<int32_t> : std::integral_constant<DType, DType::int32> {};
template <>
struct dtype_of<long>
    : std::integral_constant<DType, sizeof(long) == 8 ? DType::int64 : DType::int32> {};
template <>
struct dtype_of<long long> : std::integral_constant<DType, DType::int64> {};
template <>
struct dtype_of<bool> : std::integral_constant<DType, DType::boolean> {};
template <class T>
inline constexpr DType dtype_of_v = dtype_of<std::remove_cvref_t<T>>::value;

template <class T>
concept Element = requires {
  dtype_of<std::remove_cvref_t<T>>::value;
};

}  // namespace tapeflow

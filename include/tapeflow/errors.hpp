#pragma once

#include <stdexcept>
#include <string>

#include "tapeflow/export.hpp"

namespace tapeflow {

/// Base of every error tapeflow throws (TensorFlow's OpError family).
class TAPEFLOW_API Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

#define TAPEFLOW_DECLARE_ERROR(Name)       \
  class TAPEFLOW_API Name : public Error { \
   public:                                 \
    using Error::Error;                    \
  }

TAPEFLOW_DECLARE_ERROR(InvalidArgumentError);
TAPEFLOW_DECLARE_ERROR(NotFoundError);
TAPEFLOW_DECLARE_ERROR(FailedPreconditionError);
TAPEFLOW_DECLARE_ERROR(OutOfRangeError);
TAPEFLOW_DECLARE_ERROR(ResourceExhaustedError);
TAPEFLOW_DECLARE_ERROR(DataLossError);
TAPEFLOW_DECLARE_ERROR(UnimplementedError);
TAPEFLOW_DECLARE_ERROR(InternalError);
TAPEFLOW_DECLARE_ERROR(RuntimeError);

#undef TAPEFLOW_DECLARE_ERROR

}  // namespace tapeflow

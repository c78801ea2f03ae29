#pragma once

// The whole public API of tapeflow. Users write:
//   #include <tapeflow/tapeflow.hpp>
//   namespace tf = tapeflow;

#include "tapeflow/callbacks.hpp"
#include "tapeflow/checkpoint.hpp"
#include "tapeflow/data.hpp"
#include "tapeflow/datasets.hpp"
#include "tapeflow/debugging.hpp"
#include "tapeflow/device.hpp"
#include "tapeflow/distribute.hpp"
#include "tapeflow/dtype.hpp"
#include "tapeflow/errors.hpp"
#include "tapeflow/layers.hpp"
#include "tapeflow/losses.hpp"
#include "tapeflow/metrics.hpp"
#include "tapeflow/model.hpp"
#include "tapeflow/ops.hpp"
#include "tapeflow/optimizers.hpp"
#include "tapeflow/shape.hpp"
#include "tapeflow/summary.hpp"
#include "tapeflow/tape.hpp"
#include "tapeflow/tensor.hpp"
#include "tapeflow/testing.hpp"
#include "tapeflow/variable.hpp"

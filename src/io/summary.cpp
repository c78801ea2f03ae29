// tf::summary: each summary is one Event { wall_time = 1, step = 2, summary = 5 } whose Summary
// holds one Value { tag = 1, metadata = 9, tensor = 8 }, written as TensorFlow 2 does
// (tensorboard/plugins/*/summary_v2.py): the tensor carries the data and
// SummaryMetadata.plugin_data.plugin_name picks the dashboard. Field numbers are those of
// tensorflow/core/framework/{summary,tensor,tensor_shape,types}.proto and core/util/event.proto.

#include "tapeflow/summary.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <vector>

#include "core/fail.hpp"
#include "io/event_file.hpp"
#include "io/png.hpp"
#include "io/proto_encoder.hpp"

namespace tapeflow {

namespace detail {
namespace {

// types.proto
constexpr int kDtFloat = 1;
constexpr int kDtDouble = 2;
constexpr int kDtString = 7;
// summary.proto's DataClass.
constexpr int kDataClassScalar = 1;
constexpr int kDataClassTensor = 2;
constexpr int kDataClassBlobSequence = 3;

ProtoEncoder shape_proto(const std::vector<int64_t>& dims) {
  ProtoEncoder shape;
  for (int64_t d : dims) {
    ProtoEncoder dim;
    if (d != 0) dim.varint(1, uint64_t(d));  // proto3 leaves zero out
    shape.message(2, dim);
  }
  return shape;
}

/// A numeric TensorProto with its values in tensor_content (field 4), as TF's writer does.
ProtoEncoder tensor_proto(int dtype, const std::vector<int64_t>& dims, const std::string& content) {
  ProtoEncoder t;
  t.varint(1, uint64_t(dtype)).message(2, shape_proto(dims));
  if (!content.empty()) t.bytes(4, content);
  return t;
}

/// A DT_STRING TensorProto: one string_val (field 8) per element.
ProtoEncoder string_tensor_proto(const std::vector<int64_t>& dims,
                                 const std::vector<std::string>& values) {
  ProtoEncoder t;
  t.varint(1, kDtString).message(2, shape_proto(dims));
  for (const std::string& v : values) t.bytes(8, v);
  return t;
}

void write_summary(const summary::SummaryWriter& writer,
                   const std::string& tag,
                   int64_t step,
                   const char* plugin,
                   int data_class,
                   const ProtoEncoder& tensor) {
  ProtoEncoder plugin_data;
  plugin_data.bytes(1, plugin);  // content (field 2) left empty: every plugin reads it as version 0
  ProtoEncoder metadata;
  metadata.message(1, plugin_data).varint(4, uint64_t(data_class));
  ProtoEncoder value;
  value.bytes(1, tag).message(9, metadata).message(8, tensor);
  ProtoEncoder summary;
  summary.message(1, value);
  ProtoEncoder event;
  event.fixed64(1, wall_time_now());
  if (step != 0) event.varint(2, uint64_t(step));  // negative steps: 10-byte two's complement
  event.message(5, summary);
  writer.impl()->write_event(event.str());
}

std::string float32_le(float v) {
  std::string s;
  ProtoEncoder::append_le(s, std::bit_cast<uint32_t>(v), 4);
  return s;
}

/// Rows of (left edge, right edge, count) as TensorBoard's histogram summary_v2 buckets them.
std::vector<double> histogram_buckets(const std::vector<double>& all, int buckets) {
  std::vector<double> x;
  x.reserve(all.size());
  for (double v : all)
    if (std::isfinite(v)) x.push_back(v);
  std::vector<double> rows(size_t(buckets) * 3, 0.0);
  if (x.empty()) return rows;
  const auto [lo_it, hi_it] = std::minmax_element(x.begin(), x.end());
  const double lo = *lo_it, hi = *hi_it, range = hi - lo;
  if (range == 0) {
    // One value: every bucket is [v, v] and the first one holds all the counts.
    for (int i = 0; i < buckets; ++i) rows[3 * i] = rows[3 * i + 1] = lo;
    rows[2] = double(x.size());
    return rows;
  }
  const double width = range / buckets;
  for (double v : x) {
    int64_t i = std::min<int64_t>(int64_t(std::floor((v - lo) / width)), buckets - 1);
    rows[3 * size_t(i) + 2] += 1;
  }
  for (int i = 0; i < buckets; ++i) {
    rows[3 * i] = lo + i * range / buckets;
    rows[3 * i + 1] = i + 1 == buckets ? hi : lo + (i + 1) * range / buckets;
  }
  return rows;
}

}  // namespace
}  // namespace detail

namespace summary {

using detail::fail;

namespace {
/// This thread's writers from as_default(), innermost last (TF keeps the default per thread too).
std::vector<std::shared_ptr<detail::SummaryWriterImpl>>& default_writer_stack() {
  thread_local std::vector<std::shared_ptr<detail::SummaryWriterImpl>> stack;
  return stack;
}
}  // namespace

DefaultWriterScope::DefaultWriterScope(std::shared_ptr<detail::SummaryWriterImpl> impl) {
  default_writer_stack().push_back(std::move(impl));
}
DefaultWriterScope::~DefaultWriterScope() { default_writer_stack().pop_back(); }

void SummaryWriter::flush() const {
  if (impl_) impl_->flush();
}
void SummaryWriter::close() const {
  if (impl_) impl_->close();
}
std::string SummaryWriter::logdir() const { return impl_ ? impl_->logdir : std::string(); }
std::string SummaryWriter::path() const { return impl_ ? impl_->path : std::string(); }

SummaryWriter create_file_writer(const std::string& logdir, const FileWriterOptions& options) {
  return SummaryWriter(std::make_shared<detail::SummaryWriterImpl>(logdir, options));
}

SummaryWriter default_writer() {
  auto& stack = default_writer_stack();
  return stack.empty() ? SummaryWriter() : SummaryWriter(stack.back());
}

bool scalar(const std::string& name, double data, int64_t step, const SummaryWriter& writer) {
  if (!writer.defined()) return false;
  detail::write_summary(
      writer,
      name,
      step,
      "scalars",
      detail::kDataClassScalar,
      detail::tensor_proto(detail::kDtFloat, {}, detail::float32_le(float(data))));
  return true;
}

bool scalar(const std::string& name,
            const Tensor& data,
            int64_t step,
            const SummaryWriter& writer) {
  if (!writer.defined()) return false;
  if (!data.defined() || data.rank() != 0)
    fail<InvalidArgumentError>("WriteScalarSummary",
                               "scalar summary '",
                               name,
                               "' needs a 0-d tensor, got ",
                               data.defined() ? data.shape().to_string() : "an undefined tensor");
  return scalar(name, data.item<double>(), step, writer);
}

bool histogram(const std::string& name,
               const Tensor& data,
               int64_t step,
               const SummaryWriter& writer,
               int buckets) {
  if (!writer.defined()) return false;
  if (!data.defined())
    fail<InvalidArgumentError>(
        "WriteHistogramSummary", "histogram summary '", name, "' got an undefined tensor");
  if (buckets < 1)
    fail<InvalidArgumentError>("WriteHistogramSummary",
                               "histogram summary '",
                               name,
                               "' needs at least 1 bucket, got ",
                               buckets);
  std::vector<double> rows = detail::histogram_buckets(data.to_vector<double>(), buckets);
  std::string content;
  content.reserve(rows.size() * 8);
  for (double v : rows) detail::ProtoEncoder::append_le(content, std::bit_cast<uint64_t>(v), 8);
  detail::write_summary(writer,
                        name,
                        step,
                        "histograms",
                        detail::kDataClassTensor,
                        detail::tensor_proto(detail::kDtDouble, {buckets, 3}, content));
  return true;
}

bool image(const std::string& name,
           const Tensor& data,
           int64_t step,
           const SummaryWriter& writer,
           int max_outputs) {
  if (!writer.defined()) return false;
  if (!data.defined() || data.rank() != 4 || data.shape()[1] < 1 || data.shape()[2] < 1 ||
      data.shape()[3] < 1 || data.shape()[3] > 4)
    fail<InvalidArgumentError>(
        "WriteImageSummary",
        "image summary '",
        name,
        "' needs a [k, h, w, c] tensor with h, w >= 1 and c in 1..4, got shape ",
        data.defined() ? data.shape().to_string() : "<undefined>");
  if (max_outputs < 1)
    fail<InvalidArgumentError>("WriteImageSummary",
                               "image summary '",
                               name,
                               "' needs max_outputs >= 1, got ",
                               max_outputs);
  const int64_t h = data.shape()[1], w = data.shape()[2];
  const int c = int(data.shape()[3]);
  const int64_t n = std::min<int64_t>(data.shape()[0], max_outputs);
  const int64_t per_image = h * w * c;
  const std::vector<double> v = data.to_vector<double>();
  // tf.image.convert_image_dtype(saturate=True): floats in [0, 1] scale by 255.5 and truncate.
  const double scale = is_floating(data.dtype()) ? 255.5 : 1.0;
  std::vector<std::string> strings{std::to_string(w), std::to_string(h)};
  std::vector<uint8_t> pixels(static_cast<size_t>(per_image));
  for (int64_t k = 0; k < n; ++k) {
    for (int64_t i = 0; i < per_image; ++i) {
      double x = v[size_t(k * per_image + i)] * scale;
      pixels[size_t(i)] = std::isnan(x) ? 0 : uint8_t(std::clamp(x, 0.0, 255.0));
    }
    strings.push_back(detail::encode_png(pixels.data(), h, w, c));
  }
  detail::write_summary(writer,
                        name,
                        step,
                        "images",
                        detail::kDataClassBlobSequence,
                        detail::string_tensor_proto({int64_t(strings.size())}, strings));
  return true;
}

bool text(const std::string& name,
          const std::string& data,
          int64_t step,
          const SummaryWriter& writer) {
  if (!writer.defined()) return false;
  detail::write_summary(writer,
                        name,
                        step,
                        "text",
                        detail::kDataClassTensor,
                        detail::string_tensor_proto({}, {data}));
  return true;
}

bool scalar(const std::string& name, double data, int64_t step) {
  return scalar(name, data, step, default_writer());
}
bool scalar(const std::string& name, const Tensor& data, int64_t step) {
  return scalar(name, data, step, default_writer());
}
bool histogram(const std::string& name, const Tensor& data, int64_t step, int buckets) {
  return histogram(name, data, step, default_writer(), buckets);
}
bool image(const std::string& name, const Tensor& data, int64_t step, int max_outputs) {
  return image(name, data, step, default_writer(), max_outputs);
}
bool text(const std::string& name, const std::string& data, int64_t step) {
  return text(name, data, step, default_writer());
}

}  // namespace summary
}  // namespace tapeflow

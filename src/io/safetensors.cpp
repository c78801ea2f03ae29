#include "io/safetensors.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/fail.hpp"
#include "io/crc32c.hpp"
#include "io/json.hpp"
#include "tapeflow/errors.hpp"

namespace tapeflow::detail {

static_assert(std::endian::native == std::endian::little,
              "safetensors stores little-endian data; a big-endian host would need byte swaps");

namespace {

constexpr std::string_view kCrcKey = "crc32c";
constexpr uint64_t kMaxHeader = 100'000'000;  // the limit the reference implementation uses

struct DTypeCode {
  DType dtype;
  std::string_view code;
};
constexpr DTypeCode kCodes[] = {{DType::float32, "F32"},
                                {DType::float64, "F64"},
                                {DType::int32, "I32"},
                                {DType::int64, "I64"},
                                {DType::boolean, "BOOL"}};

std::string hex8(uint32_t v) {
  static const char* digits = "0123456789abcdef";
  std::string s(8, '0');
  for (int i = 7; i >= 0; --i, v >>= 4) s[size_t(i)] = digits[v & 0xF];
  return s;
}

// The tf::Error a failed system call on `path` maps to, as TensorFlow maps errno.
[[noreturn]] void fail_errno(const std::string& what, const std::string& path, int err) {
  std::string msg = str_cat(what, " '", path, "': ", std::strerror(err));
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      throw NotFoundError(msg);
    case ENOSPC:
    case EDQUOT:
      throw ResourceExhaustedError(msg);
    case EACCES:
    case EPERM:
    case EROFS:
      throw FailedPreconditionError(msg);
    default:
      throw InternalError(msg);
  }
}

void write_all(int fd, const char* p, size_t n, const std::string& path) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      fail_errno("Cannot write", path, errno);
    }
    p += w;
    n -= size_t(w);
  }
}

void fsync_directory(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) fail_errno("Cannot open directory", dir, errno);
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  // Some file systems cannot fsync a directory (EINVAL); the rename is then as durable as it gets.
  if (rc != 0 && err != EINVAL) fail_errno("Cannot fsync directory", dir, err);
}

}  // namespace

std::string_view safetensors_dtype(DType dtype) {
  for (const auto& c : kCodes)
    if (c.dtype == dtype) return c.code;
  throw InternalError(str_cat("no safetensors code for dtype ", dtype_name(dtype)));
}

std::string encode_safetensors(const std::vector<SafetensorsEntry>& entries,
                               const std::map<std::string, std::string>& metadata) {
  std::vector<const SafetensorsEntry*> sorted;
  for (const auto& e : entries) sorted.push_back(&e);
  // As the reference writer: largest dtype first, then by name, so that every tensor starts at
  // an offset that is a multiple of its element size (typed-array readers require it).
  std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) {
    const int sa = dtype_size(a->dtype), sb = dtype_size(b->dtype);
    return sa != sb ? sa > sb : a->name < b->name;
  });

  // The header is an ordered JSON object: __metadata__ first, with the checksum as its first
  // key (written as zeros until the file is complete), then the tensors in file order.
  nlohmann::ordered_json head = nlohmann::ordered_json::object();
  nlohmann::ordered_json& meta = head["__metadata__"];
  meta[std::string(kCrcKey)] = "00000000";
  for (const auto& [k, v] : metadata)
    if (k != kCrcKey) meta[k] = v;
  size_t offset = 0;
  for (const SafetensorsEntry* e : sorted) {
    if (e->name == "__metadata__")
      throw InvalidArgumentError("a checkpoint tensor cannot be named \"__metadata__\"");
    if (head.contains(e->name))
      throw InvalidArgumentError(str_cat("two checkpoint tensors are named \"", e->name, "\""));
    const size_t nbytes = size_t(e->shape.num_elements()) * size_t(dtype_size(e->dtype));
    nlohmann::ordered_json& t = head[e->name];
    t["dtype"] = safetensors_dtype(e->dtype);
    t["shape"] = e->shape.dims();
    t["data_offsets"] = {offset, offset + nbytes};
    offset += nbytes;
  }
  std::string header = dump_json(head);
  header.append((8 - header.size() % 8) % 8, ' ');

  std::string file(8 + header.size() + offset, '\0');
  uint64_t n = header.size();
  std::memcpy(file.data(), &n, 8);  // little-endian (static_assert above)
  std::memcpy(file.data() + 8, header.data(), header.size());
  size_t pos = 8 + header.size();
  for (const SafetensorsEntry* e : sorted) {
    const size_t nbytes = size_t(e->shape.num_elements()) * size_t(dtype_size(e->dtype));
    if (nbytes) std::memcpy(file.data() + pos, e->data, nbytes);
    pos += nbytes;
  }
  const size_t digits = 8 + header.find("\"crc32c\":\"") + 10;
  const std::string crc = hex8(crc32c(file.data(), file.size()));
  std::memcpy(file.data() + digits, crc.data(), 8);
  return file;
}

SafetensorsFile decode_safetensors(std::string bytes, const std::string& path) {
  auto damaged = [&](const auto&... what) -> DataLossError {
    return DataLossError(
        str_cat("Checkpoint file '", path, "' is damaged or truncated: ", what...));
  };
  SafetensorsFile f;
  if (bytes.size() < 8) throw damaged("only ", bytes.size(), " bytes");
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  if (n > kMaxHeader || n > bytes.size() - 8)
    throw damaged("header length ", n, " but the file has ", bytes.size(), " bytes");
  const std::string_view header(bytes.data() + 8, size_t(n));
  Json root;
  try {
    root = parse_json(header);
  } catch (const JsonError& e) {
    throw damaged("header: ", e.what());
  }
  if (!root.is(Json::Kind::object)) throw damaged("header is not a JSON object");

  // Integrity first: nothing in the header is trusted until the checksum matches.
  const Json* meta = root.find("__metadata__");
  if (!meta || !meta->is(Json::Kind::object)) throw damaged("no __metadata__ in the header");
  for (const auto& [k, v] : meta->object) {
    if (!v.is(Json::Kind::string)) throw damaged("metadata value \"", k, "\" is not a string");
    f.metadata[k] = v.string;
  }
  auto crc_it = f.metadata.find(std::string(kCrcKey));
  if (crc_it == f.metadata.end() || crc_it->second.size() != 8)
    throw damaged("no crc32c checksum in the metadata");
  const std::string field = "\"crc32c\":\"" + crc_it->second + "\"";
  const size_t at = header.find(field);
  if (at == std::string_view::npos || header.find(field, at + 1) != std::string_view::npos)
    throw damaged("the crc32c field is not where it belongs");
  const size_t digits = 8 + at + 10;
  std::string stored = bytes.substr(digits, 8);
  std::memset(bytes.data() + digits, '0', 8);
  const std::string actual = hex8(crc32c(bytes.data(), bytes.size()));
  std::memcpy(bytes.data() + digits, stored.data(), 8);
  if (actual != stored)
    throw damaged("checksum mismatch (crc32c ", actual, ", expected ", stored, ")");

  // Then the structure: known dtypes, sane shapes, offsets that tile the data exactly.
  const size_t data_start = 8 + size_t(n);
  const size_t data_size = bytes.size() - data_start;
  std::vector<std::pair<size_t, size_t>> ranges;
  for (const auto& [name, t] : root.object) {
    if (name == "__metadata__") continue;
    const Json* dtype = t.find("dtype");
    const Json* shape = t.find("shape");
    const Json* offsets = t.find("data_offsets");
    if (!dtype || !dtype->is(Json::Kind::string) || !shape || !shape->is(Json::Kind::array) ||
        !offsets || !offsets->is(Json::Kind::array) || offsets->array.size() != 2)
      throw damaged("tensor \"", name, "\" lacks dtype, shape or data_offsets");
    SafetensorsTensor st{};
    bool known = false;
    for (const auto& c : kCodes)
      if (c.code == dtype->string) {
        st.dtype = c.dtype;
        known = true;
      }
    if (!known) throw damaged("tensor \"", name, "\" has unsupported dtype ", dtype->string);
    std::vector<int64_t> dims;
    uint64_t count = 1;
    for (const Json& d : shape->array) {
      if (!d.is(Json::Kind::integer) || d.integer < 0 || d.integer > (int64_t(1) << 48))
        throw damaged("tensor \"", name, "\" has a bad shape");
      dims.push_back(d.integer);
      if (d.integer != 0 && count > (uint64_t(1) << 48) / uint64_t(d.integer))
        throw damaged("tensor \"", name, "\" is impossibly large");
      count *= uint64_t(d.integer);
    }
    st.shape = Shape(dims);
    st.nbytes = size_t(count) * size_t(dtype_size(st.dtype));
    const Json& b = offsets->array[0];
    const Json& e = offsets->array[1];
    if (!b.is(Json::Kind::integer) || !e.is(Json::Kind::integer) || b.integer < 0 ||
        e.integer < b.integer || uint64_t(e.integer) > data_size ||
        size_t(e.integer - b.integer) != st.nbytes)
      throw damaged("tensor \"", name, "\" has data_offsets that do not fit its shape and dtype");
    st.offset = data_start + size_t(b.integer);
    ranges.emplace_back(size_t(b.integer), size_t(e.integer));
    f.tensors.emplace(name, st);
  }
  std::sort(ranges.begin(), ranges.end());
  size_t expect = 0;
  for (const auto& [b, e] : ranges) {
    if (b != expect) throw damaged("tensor data overlaps or leaves a gap at byte ", expect);
    expect = e;
  }
  if (expect != data_size) throw damaged("tensor data ends at byte ", expect, " of ", data_size);
  f.bytes = std::move(bytes);
  return f;
}

std::string read_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) throw NotFoundError(str_cat("Checkpoint file '", path, "' not found"));
    fail_errno("Cannot open", path, errno);
  }
  std::string out;
  char buf[1 << 16];
  for (;;) {
    ssize_t r = ::read(fd, buf, sizeof buf);
    if (r < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      fail_errno("Cannot read", path, err);
    }
    if (r == 0) break;
    out.append(buf, size_t(r));
  }
  ::close(fd);
  return out;
}

void write_file_atomically(const std::string& path, std::string_view bytes) {
  namespace fs = std::filesystem;
  static std::atomic<uint64_t> counter{0};
  const fs::path target(path);
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  // Dot-prefixed and unique per process and call, so concurrent writers never share one.
  const std::string tmp =
      (dir / str_cat(".", target.filename().string(), ".tmp-", ::getpid(), "-", counter++))
          .string();
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) fail_errno("Cannot create", tmp, errno);
  try {
    write_all(fd, bytes.data(), bytes.size(), tmp);
    if (::fsync(fd) != 0) fail_errno("Cannot fsync", tmp, errno);
    const int rc = ::close(fd);
    fd = -1;
    if (rc != 0) fail_errno("Cannot close", tmp, errno);
    if (::rename(tmp.c_str(), path.c_str()) != 0) fail_errno("Cannot rename onto", path, errno);
  } catch (...) {
    if (fd >= 0) ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  fsync_directory(dir.string());
}

}  // namespace tapeflow::detail

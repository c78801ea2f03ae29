// The connection handling of examples/common/bounded_server.hpp.
#include "common/bounded_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "common/serve_request.hpp"

namespace example {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

/// What process_and_close_socket does with the connection it is given; set per thread by
/// ConnectionQueue, which is the only caller (through httplib's listener).
enum class ConnectionMode { serve, reject, close };
thread_local ConnectionMode t_mode = ConnectionMode::serve;
thread_local const DeadlineStream* t_stream = nullptr;

const char* reason_phrase(int status) {
  return status == 408 ? "Request Timeout" : status == 503 ? "Service Unavailable" : "Error";
}

/// Writes a whole `status` answer with a JSON error straight to the socket, best effort and
/// without blocking: for connections httplib never reads a request from.
void send_error(socket_t sock, int status, const std::string& message, bool retry_after) {
  const std::string body = json_error_body(message);
  std::string head =
      "HTTP/1.1 " + std::to_string(status) + " " + reason_phrase(status) +
      "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
      "\r\nConnection: close\r\n";
  if (retry_after) head += "Retry-After: 1\r\n";
  const std::string all = head + "\r\n" + body;
  [[maybe_unused]] ssize_t n = ::send(sock, all.data(), all.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
}

/// Reads and drops what the client sent, for at most `budget`, so that closing the socket does
/// not reset the connection (and discard the answer just sent) over unread request bytes.
void drain(socket_t sock, milliseconds budget) {
  ::shutdown(sock, SHUT_WR);
  const auto deadline = Clock::now() + budget;
  char junk[4096];
  for (;;) {
    const auto left = std::chrono::ceil<milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return;
    pollfd p{sock, POLLIN, 0};
    if (::poll(&p, 1, int(left.count())) <= 0) return;
    if (::recv(sock, junk, sizeof junk, MSG_DONTWAIT) <= 0) return;
  }
}

void socket_address(socket_t sock, bool peer, std::string& ip, int& port) {
  sockaddr_storage a{};
  socklen_t len = sizeof a;
  auto* sa = reinterpret_cast<sockaddr*>(&a);
  if ((peer ? ::getpeername(sock, sa, &len) : ::getsockname(sock, sa, &len)) != 0) return;
  char host[INET6_ADDRSTRLEN] = "";
  if (a.ss_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&a);
    ::inet_ntop(AF_INET, &v4->sin_addr, host, sizeof host);
    port = ntohs(v4->sin_port);
  } else if (a.ss_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&a);
    ::inet_ntop(AF_INET6, &v6->sin6_addr, host, sizeof host);
    port = ntohs(v6->sin6_port);
  }
  ip = host;
}

}  // namespace

/// One connection's socket as an httplib::Stream, buffered like httplib's own (its header
/// reader asks for one byte at a time), with the deadlines of ConnectionLimits.
class DeadlineStream final : public httplib::Stream {
 public:
  DeadlineStream(socket_t sock, const ConnectionLimits& limits) : sock_(sock), limits_(limits) {}

  /// Starts the next request on the connection: reading it gets request_timeout from now.
  void start_request() {
    read_deadline_ = Clock::now() + limits_.request_timeout;
    write_deadline_.reset();
    timed_out_ = false;
    wrote_ = false;
  }
  bool timed_out() const { return timed_out_; }
  bool wrote() const { return wrote_; }
  size_t buffered() const { return len_ - off_; }

  bool is_readable() const override { return buffered() > 0 || wait(POLLIN, read_deadline_); }
  bool is_writable() const override {
    return wait(POLLOUT, write_deadline_.value_or(Clock::now() + limits_.request_timeout));
  }
  ssize_t read(char* ptr, size_t size) override {
    if (buffered() == 0) {
      if (!wait(POLLIN, read_deadline_)) return -1;
      ssize_t n;
      do n = ::recv(sock_, buf_, sizeof buf_, 0);
      while (n < 0 && errno == EINTR);
      if (n <= 0) return n;
      off_ = 0;
      len_ = size_t(n);
    }
    const size_t n = std::min(size, buffered());
    std::memcpy(ptr, buf_ + off_, n);
    off_ += n;
    return ssize_t(n);
  }
  ssize_t write(const char* ptr, size_t size) override {
    if (!write_deadline_) write_deadline_ = Clock::now() + limits_.request_timeout;
    wrote_ = true;
    if (!wait(POLLOUT, *write_deadline_)) return -1;
    ssize_t n;
    do n = ::send(sock_, ptr, size, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    return n;
  }
  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    socket_address(sock_, true, ip, port);
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    socket_address(sock_, false, ip, port);
  }
  socket_t socket() const override { return sock_; }

 private:
  /// Waits for `events` at most io_timeout, and not past `deadline` (then timed_out()).
  bool wait(short events, Clock::time_point deadline) const {
    for (;;) {
      const auto left = std::chrono::ceil<milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) {
        timed_out_ = true;
        return false;
      }
      pollfd p{sock_, events, 0};
      const int r = ::poll(&p, 1, int(std::min(left, limits_.io_timeout).count()));
      if (r > 0) return true;  // POLLHUP and POLLERR too: the recv or send then says what
      if (r == 0) {
        if (Clock::now() >= deadline) timed_out_ = true;
        return false;
      }
      if (errno != EINTR) return false;
    }
  }

  socket_t sock_;
  const ConnectionLimits& limits_;
  Clock::time_point read_deadline_ = Clock::now();
  std::optional<Clock::time_point> write_deadline_;
  mutable bool timed_out_ = false;
  bool wrote_ = false;
  char buf_[16384];
  size_t off_ = 0, len_ = 0;
};

/// httplib's task queue, bounded: `threads` workers take accepted connections in order, at most
/// `max_waiting` wait, and one more thread answers those past that with 503.
class ConnectionQueue final : public httplib::TaskQueue {
 public:
  ConnectionQueue(size_t threads, size_t max_waiting) : max_waiting_(max_waiting) {
    for (size_t i = 0; i < threads; ++i) workers_.emplace_back([this] { run(waiting_, false); });
    workers_.emplace_back([this] { run(rejected_, true); });
  }
  ~ConnectionQueue() override = default;

  void enqueue(std::function<void()> fn) override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      std::deque<std::function<void()>>& q = waiting_.size() < max_waiting_ ? waiting_ : rejected_;
      if (&q == &waiting_ || rejected_.size() < kMaxRejected) {
        q.push_back(std::move(fn));
        cond_.notify_all();
        return;
      }
    }
    // Even the rejecting thread is behind: close this one unanswered, on the listener thread.
    t_mode = ConnectionMode::close;
    fn();
    t_mode = ConnectionMode::serve;
  }

  void shutdown() override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      shutdown_ = true;
    }
    cond_.notify_all();
    for (auto& t : workers_) t.join();
  }

  /// Whether accepted connections wait that no idle worker is about to take.
  bool backlogged() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return waiting_.size() > idle_;
  }

 private:
  static constexpr size_t kMaxRejected = 64;

  void run(std::deque<std::function<void()>>& jobs, bool reject) {
    t_mode = reject ? ConnectionMode::reject : ConnectionMode::serve;
    for (;;) {
      std::function<void()> fn;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        if (!reject) ++idle_;
        cond_.wait(lock, [&] { return !jobs.empty() || shutdown_; });
        if (!reject) --idle_;
        if (jobs.empty()) return;  // shut down, and nothing left to serve
        fn = std::move(jobs.front());
        jobs.pop_front();
      }
      fn();  // process_and_close_socket, which lets no exception out
    }
  }

  const size_t max_waiting_;
  mutable std::mutex mutex_;
  std::condition_variable cond_;
  std::deque<std::function<void()>> waiting_, rejected_;
  size_t idle_ = 0;  // workers waiting for a connection
  bool shutdown_ = false;
  std::vector<std::thread> workers_;
};

BoundedServer::BoundedServer(const ConnectionLimits& limits) : limits_(limits) {
  limits_.max_connections = std::max(limits_.max_connections, limits_.threads);
  new_task_queue = [this] {
    queue_ = new ConnectionQueue(limits_.threads, limits_.max_connections - limits_.threads);
    return queue_;
  };
  // Connections take turns (see wait_for_request's caller), so the count only caps how long
  // one connection may keep its worker while none wait.
  set_keep_alive_max_count(1000);
  set_tcp_nodelay(true);  // the listening socket; each accepted one gets it too, below
}

bool BoundedServer::widen_listen_backlog() { return ::listen(svr_sock_, SOMAXCONN) == 0; }

bool BoundedServer::current_request_timed_out() {
  return t_stream != nullptr && t_stream->timed_out();
}

std::string BoundedServer::request_timeout_message() const {
  return "the request did not arrive within " + std::to_string(limits_.request_timeout.count()) +
         " ms (--request_timeout_s)";
}

bool BoundedServer::process_and_close_socket(socket_t sock) {
  try {
    if (t_mode == ConnectionMode::serve) {
      serve_connection(sock);
    } else if (t_mode == ConnectionMode::reject) {
      send_error(sock,
                 503,
                 "server busy: " + std::to_string(limits_.max_connections) +
                     " connections are open or waiting (--max_connections); retry later",
                 /*retry_after=*/true);
      drain(sock, milliseconds(200));
    }
  } catch (...) {
    // Nothing may leave a worker thread: std::terminate would end the whole server.
  }
  t_stream = nullptr;
  ::shutdown(sock, SHUT_RDWR);
  ::close(sock);
  return true;
}

void BoundedServer::serve_connection(socket_t sock) {
  // Without it a response written in two parts (httplib sends headers and body separately)
  // waits for the client's delayed ACK: about 40 ms per request on Linux loopback.
  const int one = 1;
  ::setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  DeadlineStream stream(sock, limits_);
  t_stream = &stream;
  for (size_t left = keep_alive_max_count_; left > 0 && wait_for_request(sock, stream); --left) {
    stream.start_request();
    // Connections waiting for a worker: answer this one with Connection: close, so its client
    // reconnects behind them instead of keeping this worker.
    const bool close = left == 1 || (queue_ != nullptr && queue_->backlogged());
    bool closed = false;
    const bool ok = process_request(stream, close, closed, nullptr);
    if (stream.timed_out() && !stream.wrote())
      send_error(sock, 408, request_timeout_message(), /*retry_after=*/false);
    if (!ok || closed || stream.timed_out()) break;
  }
}

/// Waits for the first byte of the next request, at most the keep-alive timeout, and returns
/// early (false) once the server stops.
bool BoundedServer::wait_for_request(socket_t sock, const DeadlineStream& stream) const {
  if (stream.buffered() > 0) return true;
  const auto deadline = Clock::now() + std::chrono::seconds(keep_alive_timeout_sec_);
  while (svr_sock_ != INVALID_SOCKET) {
    const auto left = std::chrono::ceil<milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd p{sock, POLLIN, 0};
    const int r = ::poll(&p, 1, int(std::min<int64_t>(left.count(), 100)));
    if (r > 0) return true;
    if (r < 0 && errno != EINTR) return false;
  }
  return false;
}

}  // namespace example

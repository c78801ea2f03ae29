// An httplib::Server whose connections are bounded in number and in time, for the prediction
// server (examples/serve.cpp, docs/serving.md "Limits"). Debian's cpp-httplib 0.11.4 queues
// accepted connections without bound, bounds only each recv/send (a client trickling one byte
// every few seconds holds a worker thread as long as it likes), listens with a backlog of 5 and
// leaves Nagle's algorithm on. This class replaces its per-connection loop, through the
// virtual process_and_close_socket, and its task queue:
//
//  - `threads` workers serve connections; at most `max_connections - threads` more wait for
//    one. A connection past that gets `503` with Retry-After and a JSON error, and is closed.
//  - Reading a request (headers and body) must finish within `request_timeout` of its first
//    byte, and writing its answer within `request_timeout` of the first write; a connection
//    silent for `io_timeout` mid-request is dropped. A request line or headers cut off by the
//    deadline get `408` with a JSON error.
//  - TCP_NODELAY on every connection; a listen backlog of SOMAXCONN.
//  - While connections wait for a worker, each answer closes its keep-alive connection
//    (Connection: close), so connections take turns instead of waiting for one to go idle.
#pragma once

#include <httplib.h>

#include <chrono>
#include <cstddef>
#include <string>

namespace example {

/// The limits of a BoundedServer; docs/serving.md lists the serve flags that set them.
struct ConnectionLimits {
  size_t threads = 8;
  size_t max_connections = 256;  // served + waiting; must be >= threads
  std::chrono::milliseconds request_timeout{10000};
  std::chrono::milliseconds io_timeout{5000};
};

class DeadlineStream;
class ConnectionQueue;

class BoundedServer final : public httplib::Server {
 public:
  explicit BoundedServer(const ConnectionLimits& limits);

  /// Raises the listen backlog to SOMAXCONN; call after bind_to_port or bind_to_any_port.
  /// httplib's is 5, compiled into the library: 64 clients connecting at once lost SYNs
  /// and retried after 1 s.
  bool widen_listen_backlog();

  /// True on a worker thread whose current request has run past a deadline: a handler tells a
  /// timed-out body read (408) from a cut-off one (400) with it.
  static bool current_request_timed_out();

  /// The message of a 408 answer: "the request did not arrive within 10000 ms (...)".
  std::string request_timeout_message() const;

 private:
  bool process_and_close_socket(socket_t sock) override;
  void serve_connection(socket_t sock);
  bool wait_for_request(socket_t sock, const DeadlineStream& stream) const;

  ConnectionLimits limits_;
  ConnectionQueue* queue_ = nullptr;  // owned by httplib once listening
};

}  // namespace example

// The serve binary as a child process, for the tests of examples/serve.cpp (serve_test.cpp,
// serve_saved_test.cpp): started with posix_spawn, stdout on a pipe, stderr in a file.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace serve_test {

inline std::string g_serve;  // path of the serve binary (--serve)
inline constexpr double kStartTimeoutS = 60;

using Clock = std::chrono::steady_clock;

/// A serve child process with stdout on a pipe and stderr in a file. The constructor waits
/// (at most timeout_s) for its first stdout line, `listening on http://HOST:PORT`.
class ServeProcess {
 public:
  ServeProcess(const std::vector<std::string>& args,
               const std::string& stderr_path,
               double timeout_s = kStartTimeoutS)
      : stderr_path_(stderr_path) {
    int out[2];
    REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_addopen(
        &actions, 2, stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    std::vector<std::string> argv_s{g_serve};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    const int rc = posix_spawn(&pid_, g_serve.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    out_ = out[0];
    REQUIRE(rc == 0);
    read_first_line(timeout_s);
  }
  ~ServeProcess() {
    if (pid_ > 0 && !exited_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (out_ >= 0) ::close(out_);
  }
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  /// The port from the first line, or -1 when the server did not come up.
  int port() const { return port_; }
  const std::string& first_line() const { return line_; }
  std::string stderr_text() const {
    std::ifstream f(stderr_path_);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
  }
  /// The exit code once the process has ended (at most timeout_s), -1 if it is still running
  /// (then it is killed), -2 - signal if a signal ended it.
  int wait_exit(double timeout_s) {
    const auto deadline = Clock::now() + std::chrono::duration<double>(timeout_s);
    int status = 0;
    for (;;) {
      pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) break;
      if (Clock::now() > deadline) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
        exited_ = true;
        return -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    exited_ = true;
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    return -2 - WTERMSIG(status);
  }
  int terminate(double timeout_s) {
    ::kill(pid_, SIGTERM);
    return wait_exit(timeout_s);
  }
  /// The process's peak resident memory so far (VmHWM), in kB; 0 if unreadable.
  long peak_rss_kb() const {
    std::ifstream f("/proc/" + std::to_string(pid_) + "/status");
    for (std::string line; std::getline(f, line);)
      if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
    return 0;
  }
  /// Everything the process wrote to stdout after the first line (it should be nothing).
  std::string rest_of_stdout() {
    std::string s;
    char buf[256];
    for (ssize_t n; (n = ::read(out_, buf, sizeof buf)) > 0;) s.append(buf, size_t(n));
    return s;
  }

 private:
  void read_first_line(double timeout_s) {
    const auto deadline = Clock::now() + std::chrono::duration<double>(timeout_s);
    while (line_.find('\n') == std::string::npos) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) return;  // did not come up in time: port() stays -1
      pollfd p{out_, POLLIN, 0};
      if (::poll(&p, 1, int(left.count())) <= 0) continue;
      char c;
      const ssize_t n = ::read(out_, &c, 1);
      if (n <= 0) return;  // it exited (or closed stdout) without the line
      line_ += c;
    }
    const std::string prefix = "listening on http://127.0.0.1:";
    if (line_.rfind(prefix, 0) == 0) port_ = std::stoi(line_.substr(prefix.size()));
  }

  pid_t pid_ = -1;
  int out_ = -1;
  bool exited_ = false;
  int port_ = -1;
  std::string line_;
  std::string stderr_path_;
};

}  // namespace serve_test

// Shared test helpers: the corpus location, temp dirs, child processes, loopback sockets,
// a tiny HTTP GET, and polling with a deadline. Hermetic: port 0 or free ports found by
// binding, temp dirs under $TMPDIR, no global state.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace klaxon::test {

// $KLAXON_CORPUS, else the build's default (../shared/corpus beside the checkout).
std::string corpus_dir();
std::string binary_dir();
std::vector<std::string> read_lines(const std::string& path);
std::string read_file(const std::string& path);
void write_file(const std::string& path, const std::string& text);

// A fresh directory, removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A child process with stdout/stderr sent to files in a directory.
class Process {
 public:
  Process(const std::vector<std::string>& argv, const std::string& log_prefix);
  ~Process();
  pid_t pid() const { return pid_; }
  bool running();
  void signal(int sig);
  // Waits for exit; returns the exit code, 128+signal when killed, -1 on timeout.
  int wait(std::chrono::milliseconds timeout);
  std::string stderr_text() const;

 private:
  pid_t pid_ = -1;
  int status_ = -1;
  bool exited_ = false;
  std::string log_prefix_;
};

// Runs a command to completion through /bin/sh; returns its exit code, output in *out.
int run_shell(const std::string& command, std::string* out = nullptr);

uint16_t free_tcp_port();
uint16_t free_udp_port();
// Connects to 127.0.0.1:port (TCP); -1 on failure.
int connect_tcp(uint16_t port);
bool send_all(int fd, const std::string& data);
bool send_udp(uint16_t port, const std::string& datagram);
// GET http://127.0.0.1:port/path; returns the body, status in *status (0 on failure).
std::string http_get(uint16_t port, const std::string& path, int* status = nullptr);
// One POST on a fresh connection; returns the response body. `headers` are extra header lines
// ("Authorization: Bearer x\r\n"); `response_headers` receives the status line and headers.
std::string http_post(uint16_t port, const std::string& path, const std::string& body,
                      int* status = nullptr, const std::string& headers = "",
                      std::string* response_headers = nullptr);
// Any method on a fresh connection (the incident API: GET, POST, DELETE).
std::string http_request(uint16_t port, const std::string& method, const std::string& path,
                         const std::string& body = "", int* status = nullptr,
                         const std::string& headers = "");
// Value of an unlabelled (or exactly labelled) series in Prometheus text, -1 when absent.
double metric_value(const std::string& metrics_text, const std::string& series);

bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout);

}  // namespace klaxon::test

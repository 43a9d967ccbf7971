// The native truth server's command line: truth_server.py's flags, plus --send-stamps.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>

namespace truth_server {

struct Settings {
  std::string host = "127.0.0.1";
  int port = 8000;
  std::string log;
  double ttft_ms = 0.0;
  double itl_ms = 0.0;
  int64_t output_tokens = 16;
  int64_t max_output_tokens = int64_t{1} << 20;
  bool honor_max_tokens = true;
  int64_t eos_at = 0;
  bool role_chunk = false;
  bool always_usage = false;
  std::string model = "truth-model";
  int backlog = 4096;
  std::string ready_file;
  bool kernel_send_stamps = true;  // --send-stamps kernel|user
  int64_t ttft_ns = 0;
  int64_t itl_ns = 0;
};

inline constexpr char kUsage[] =
    "usage: truth_server --log FILE [--host H] [--port P] [--ttft-ms X] [--itl-ms X]\n"
    "  [--output-tokens N] [--max-output-tokens N] [--no-honor-max-tokens] [--eos-at N]\n"
    "  [--role-chunk] [--always-usage] [--model M] [--backlog N] [--ready-file F]\n"
    "  [--send-stamps kernel|user]\n"
    "The flags, endpoints and log of bench/net/truth_server.py, with kernel arrival stamps,\n"
    "send stamps from the kernel's TX software stamps (default) or, like truth_server.py,\n"
    "from user space after send() (--send-stamps user).\n";

inline bool ParseSettings(int argc, char** argv, Settings& s) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::optional<std::string> inline_value;
    if (const auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      inline_value = arg.substr(eq + 1);
      arg.resize(eq);
    }
    auto value = [&]() -> std::string {
      if (inline_value) return *inline_value;
      if (i + 1 >= argc) throw std::invalid_argument(arg + " needs a value");
      return argv[++i];
    };
    try {
      if (arg == "--host") {
        s.host = value();
      } else if (arg == "--port") {
        s.port = std::stoi(value());
      } else if (arg == "--log") {
        s.log = value();
      } else if (arg == "--ttft-ms") {
        s.ttft_ms = std::stod(value());
      } else if (arg == "--itl-ms") {
        s.itl_ms = std::stod(value());
      } else if (arg == "--output-tokens") {
        s.output_tokens = std::stoll(value());
      } else if (arg == "--max-output-tokens") {
        s.max_output_tokens = std::stoll(value());
      } else if (arg == "--no-honor-max-tokens") {
        s.honor_max_tokens = false;
      } else if (arg == "--eos-at") {
        s.eos_at = std::stoll(value());
      } else if (arg == "--role-chunk") {
        s.role_chunk = true;
      } else if (arg == "--always-usage") {
        s.always_usage = true;
      } else if (arg == "--model") {
        s.model = value();
      } else if (arg == "--backlog") {
        s.backlog = std::stoi(value());
      } else if (arg == "--ready-file") {
        s.ready_file = value();
      } else if (arg == "--send-stamps") {
        const std::string v = value();
        if (v != "kernel" && v != "user") throw std::invalid_argument("--send-stamps kernel|user");
        s.kernel_send_stamps = v == "kernel";
      } else if (arg == "-h" || arg == "--help") {
        std::fputs(kUsage, stdout);
        std::exit(0);
      } else {
        throw std::invalid_argument("unknown argument " + arg);
      }
    } catch (const std::exception& e) {
      std::fprintf(stderr, "truth_server: %s\n%s", e.what(), kUsage);
      return false;
    }
  }
  if (s.log.empty()) {
    std::fprintf(stderr, "truth_server: --log is required\n%s", kUsage);
    return false;
  }
  s.ttft_ns = static_cast<int64_t>(s.ttft_ms * 1e6);
  s.itl_ns = static_cast<int64_t>(s.itl_ms * 1e6);
  return true;
}

}  // namespace truth_server

// A server on a loopback port for the network client's tests: accepts connections on a thread
// of its own and serves each on another with the test's `serve` (which returns when it is done
// with the connection). Stopped, and every thread joined, when it goes out of scope.
#ifndef LOADGEN_TESTS_CPP_NET_LOOPBACK_SERVER_H_
#define LOADGEN_TESTS_CPP_NET_LOOPBACK_SERVER_H_

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <functional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace loadgen::net {

class LoopbackServer {
 public:
  using Serve = std::function<void(boost::asio::ip::tcp::socket&)>;

  explicit LoopbackServer(Serve serve)
      : acceptor_(io_,
                  boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0)),
        serve_(std::move(serve)) {
    thread_ = std::thread([this] { Accept(); });
  }
  ~LoopbackServer() {
    stop_ = true;
    boost::system::error_code ignored;
    boost::asio::ip::tcp::socket poke(io_);  // wakes the accepting thread
    poke.connect(acceptor_.local_endpoint(), ignored);
    thread_.join();
    for (auto& t : connections_) t.join();
  }
  LoopbackServer(const LoopbackServer&) = delete;
  LoopbackServer& operator=(const LoopbackServer&) = delete;

  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port());
  }
  int accepted() const { return accepted_; }

 private:
  void Accept() {
    while (true) {
      boost::asio::ip::tcp::socket socket(io_);
      boost::system::error_code ec;
      acceptor_.accept(socket, ec);
      if (stop_ || ec) return;
      ++accepted_;
      connections_.emplace_back([this, s = std::move(socket)]() mutable { serve_(s); });
    }
  }

  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  Serve serve_;
  std::thread thread_;
  std::vector<std::thread> connections_;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
};

}  // namespace loadgen::net

#endif  // LOADGEN_TESTS_CPP_NET_LOOPBACK_SERVER_H_

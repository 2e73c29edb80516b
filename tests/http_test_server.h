// An HttpServer over a FakeModel on a free loopback port, served from a
// background thread for the duration of a test; plus a raw-socket client for
// what httplib's client cannot do (hang up mid-answer).
#pragma once
#include "fake_served_model.h"
#include "http_server.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <httplib.h>
#include <thread>

namespace lightllm::testing {

struct TestServer {
    FakeModel model;
    std::unique_ptr<HttpServer> server;
    std::thread thread;
    int port = 0;

    explicit TestServer(ServerOptions opts = {}, int step_ms = 2) {
        model.step_ms = step_ms;
        opts.host = "127.0.0.1";
        opts.port = 0;
        opts.access_log = false;
        if (opts.limits.max_context == 0) opts.limits.max_context = model.max_context;
        opts.limits.n_vocab = 28;
        server = std::make_unique<HttpServer>(model.served(), opts);
        port = server->bind();
        thread = std::thread([this] { server->run(); });
    }
    ~TestServer() { stop(std::chrono::milliseconds(0)); }

    void stop(std::chrono::milliseconds grace) {
        if (!thread.joinable()) return;
        server->shutdown(grace);
        thread.join();
    }

    httplib::Client client() const {
        httplib::Client c("127.0.0.1", port);
        c.set_read_timeout(20, 0);
        return c;
    }
};

// Sends raw bytes, reads until `until` appears in the answer (or EOF), and
// returns what it read; the socket is closed on return.
inline std::string raw_exchange(int port, const std::string& request, const std::string& until) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    std::string got;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
        ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
        char buf[4096];
        while (got.find(until) == std::string::npos) {
            ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
            if (n <= 0) break;
            got.append(buf, static_cast<size_t>(n));
        }
    }
    ::close(fd);
    return got;
}

inline std::string http_post(const std::string& path, const std::string& body) {
    return "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
}

// The request limits the parser tests use: the scripted model's 64-token
// context and 28-token vocabulary.
inline RequestLimits scripted_limits() {
    RequestLimits l;
    l.max_context = 64;
    l.n_vocab = 28;
    return l;
}

// Polls `cond` for up to `ms` milliseconds.
template <typename F>
bool eventually(F cond, int ms = 5000) {
    for (int i = 0; i < ms / 10; ++i) {
        if (cond()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return cond();
}

}  // namespace lightllm::testing

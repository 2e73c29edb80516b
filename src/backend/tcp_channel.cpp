#include "tcp_channel.h"
#include "check.h"
#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

namespace lightllm {

namespace {

using Clock = std::chrono::steady_clock;

Clock::time_point deadline_after(double s) {
    return Clock::now() + std::chrono::microseconds(int64_t(s * 1e6));
}

int ms_left(Clock::time_point deadline) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    return int(std::max<int64_t>(0, std::min<int64_t>(ms, 1 << 30)));
}

sockaddr_in resolve(const std::string& host, int port) {
    addrinfo hints{};
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    const int rc = getaddrinfo(host.c_str(), nullptr, &hints, &res);
    if (rc != 0 || !res) fail("tensor parallel: cannot resolve master address '{}': {}", host, gai_strerror(rc));
    sockaddr_in addr = *reinterpret_cast<sockaddr_in*>(res->ai_addr);
    freeaddrinfo(res);
    addr.sin_port = htons(uint16_t(port));
    return addr;
}

void set_nodelay(int fd) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

}  // namespace

TcpChannel::~TcpChannel() {
    if (fd_ >= 0) ::close(fd_);
}

TcpChannel& TcpChannel::operator=(TcpChannel&& o) noexcept {
    if (this != &o) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = o.fd_;
        o.fd_ = -1;
    }
    return *this;
}

void TcpChannel::send(MsgKind kind, const void* data, size_t bytes) {
    uint8_t header[12];
    const uint32_t k = uint32_t(kind);
    const uint64_t n = bytes;
    std::memcpy(header, &k, 4);
    std::memcpy(header + 4, &n, 8);
    auto write_all = [&](const void* p, size_t len) {
        const char* c = static_cast<const char*>(p);
        while (len > 0) {
            const ssize_t w = ::send(fd_, c, len, MSG_NOSIGNAL);
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) throw ChannelError(std::string("connection lost (") + std::strerror(errno) + ")");
            c += w;
            len -= size_t(w);
        }
    };
    write_all(header, sizeof header);
    if (bytes) write_all(data, bytes);
}

void TcpChannel::recv_exact(void* dst, size_t bytes, Clock::time_point deadline, bool forever) {
    char* c = static_cast<char*>(dst);
    while (bytes > 0) {
        pollfd p{fd_, POLLIN, 0};
        const int r = ::poll(&p, 1, forever ? -1 : ms_left(deadline));
        if (r < 0 && errno == EINTR) continue;
        if (r == 0) throw ChannelError("no answer (timed out)");
        const ssize_t got = ::recv(fd_, c, bytes, 0);
        if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (got <= 0) throw ChannelError("connection closed (the process exited?)");
        c += got;
        bytes -= size_t(got);
    }
}

std::pair<uint32_t, uint64_t> TcpChannel::recv_header(std::chrono::steady_clock::time_point deadline, bool forever) {
    uint8_t header[12];
    recv_exact(header, sizeof header, deadline, forever);
    uint32_t k = 0;
    uint64_t n = 0;
    std::memcpy(&k, header, 4);
    std::memcpy(&n, header + 4, 8);
    return {k, n};
}

MsgKind TcpChannel::recv(std::vector<uint8_t>& payload, double timeout_s) {
    const bool forever = timeout_s <= 0;
    const auto deadline = deadline_after(forever ? 0 : timeout_s);
    const auto [k, n] = recv_header(deadline, forever);
    if (n > (uint64_t(1) << 40)) throw ChannelError("corrupt frame");
    payload.resize(size_t(n));
    if (n) recv_exact(payload.data(), size_t(n), deadline, forever);
    if (MsgKind(k) == MsgKind::Refuse) throw ChannelError(std::string(payload.begin(), payload.end()));
    return MsgKind(k);
}

void TcpChannel::recv_into(MsgKind kind, void* dst, size_t bytes, double timeout_s) {
    const bool forever = timeout_s <= 0;
    const auto deadline = deadline_after(forever ? 0 : timeout_s);
    const auto [k, n] = recv_header(deadline, forever);
    if (MsgKind(k) == MsgKind::Refuse) {
        std::string msg(size_t(std::min<uint64_t>(n, 1 << 16)), '\0');
        recv_exact(msg.data(), msg.size(), deadline, forever);
        throw ChannelError(msg);
    }
    if (MsgKind(k) != kind || n != bytes)
        throw ChannelError("protocol mismatch (got message kind " + std::to_string(k) + " of " + std::to_string(n) +
                           " bytes, expected kind " + std::to_string(uint32_t(kind)) + " of " +
                           std::to_string(bytes) + ")");
    recv_exact(dst, bytes, deadline, forever);
}

TcpChannel TcpChannel::connect(const std::string& host, int port, double timeout_s) {
    const sockaddr_in addr = resolve(host, port);
    const auto deadline = deadline_after(timeout_s);
    for (;;) {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) fail("tensor parallel: socket(): {}", std::strerror(errno));
        if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) {
            set_nodelay(fd);
            return TcpChannel(fd);
        }
        const int err = errno;
        ::close(fd);
        if (Clock::now() >= deadline)
            fail("tensor parallel: cannot reach rank 0 at {}:{} within {} s ({})", host, port, timeout_s,
                 std::strerror(err));
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
}

TcpListener::TcpListener(const std::string& host, int port) {
    sockaddr_in addr = resolve(host, port);
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) fail("tensor parallel: socket(): {}", std::strerror(errno));
    int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0)
        fail("tensor parallel: cannot listen on {}:{} (--master-addr/--master-port): {}", host, port,
             std::strerror(errno));
    if (::listen(fd_, 1024) != 0) fail("tensor parallel: listen(): {}", std::strerror(errno));
    socklen_t len = sizeof addr;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
}

TcpListener::~TcpListener() {
    if (fd_ >= 0) ::close(fd_);
}

TcpChannel TcpListener::accept(double timeout_s) {
    const auto deadline = deadline_after(timeout_s);
    for (;;) {
        pollfd p{fd_, POLLIN, 0};
        const int r = ::poll(&p, 1, ms_left(deadline));
        if (r < 0 && errno == EINTR) continue;
        if (r == 0) return TcpChannel();
        const int fd = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == EAGAIN || errno == ECONNABORTED) continue;
            fail("tensor parallel: accept(): {}", std::strerror(errno));
        }
        set_nodelay(fd);
        return TcpChannel(fd);
    }
}

}  // namespace lightllm

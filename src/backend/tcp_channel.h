// TcpChannel: one framed, blocking TCP connection between two ranks of a
// tensor-parallel group (the control plane: start-up handshake, each step's
// plan, and the CPU communicator's data). Every receive has a deadline, so a
// peer that hangs is an error after a bounded time, and a peer that dies is an
// error at once (the socket closes).
//
// Frame: u32 kind, u64 payload bytes, payload.
#pragma once
#include <chrono>
#include <utility>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace lightllm {

enum class MsgKind : uint32_t {
    Hello = 1,   // worker -> rank 0: rank, world size, start-up fingerprint
    Accept = 2,  // rank 0 -> worker: the group is formed
    Refuse = 3,  // either way: a fatal error, payload is the message
    Ready = 4,   // worker -> rank 0: weights loaded
    Step = 5,    // rank 0 -> worker: one step's plan
    Stop = 6,    // rank 0 -> worker: exit cleanly
    Data = 7,    // tensor bytes (CPU communicator)
};

// Thrown when the peer closes the connection, times out or refuses.
struct ChannelError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class TcpChannel {
public:
    TcpChannel() = default;
    explicit TcpChannel(int fd) : fd_(fd) {}
    ~TcpChannel();
    TcpChannel(TcpChannel&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
    TcpChannel& operator=(TcpChannel&& o) noexcept;
    TcpChannel(const TcpChannel&) = delete;
    TcpChannel& operator=(const TcpChannel&) = delete;

    bool open() const { return fd_ >= 0; }
    int fd() const { return fd_; }
    void send(MsgKind kind, const void* data, size_t bytes);
    void send(MsgKind kind, const std::string& s) { send(kind, s.data(), s.size()); }
    // Receives one frame; timeout_s <= 0 waits forever.
    MsgKind recv(std::vector<uint8_t>& payload, double timeout_s);
    // Receives exactly `bytes` of payload of a frame of kind `kind` into dst.
    void recv_into(MsgKind kind, void* dst, size_t bytes, double timeout_s);

    // Connects to host:port, retrying until timeout_s (the listener may start later).
    static TcpChannel connect(const std::string& host, int port, double timeout_s);

private:
    void recv_exact(void* dst, size_t bytes, std::chrono::steady_clock::time_point deadline, bool forever);
    // Reads a frame's 12-byte header: its kind and payload size.
    std::pair<uint32_t, uint64_t> recv_header(std::chrono::steady_clock::time_point deadline, bool forever);
    int fd_ = -1;
};

class TcpListener {
public:
    // Listens on host:port (port 0: any free port; port() tells which).
    TcpListener(const std::string& host, int port);
    ~TcpListener();
    TcpListener(const TcpListener&) = delete;
    TcpListener& operator=(const TcpListener&) = delete;
    int port() const { return port_; }
    // Waits up to timeout_s for one connection; returns a closed channel on timeout.
    TcpChannel accept(double timeout_s);

private:
    int fd_ = -1;
    int port_ = 0;
};

}  // namespace lightllm

#include "http_connection.h"
#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>
#include <cerrno>
#include <chrono>
#include <cstring>

namespace lightllm {

namespace {

constexpr size_t kMaxRequestLine = 8192;
constexpr size_t kMaxChunkLine = 1024;

bool poll_socket(int sock, short events, int ms) {
    pollfd p{sock, events, 0};
    int n;
    do n = ::poll(&p, 1, ms); while (n < 0 && errno == EINTR);
    return n > 0;
}

// False once the peer has closed (or reset) the connection.
bool socket_alive(int sock) {
    char c;
    ssize_t n = ::recv(sock, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n > 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR));
}

bool send_all(int sock, const char* p, size_t n, int timeout_ms) {
    while (n > 0) {
        if (!poll_socket(sock, POLLOUT, timeout_ms)) return false;
        ssize_t k = ::send(sock, p, n, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return false;
        p += k;
        n -= static_cast<size_t>(k);
    }
    return true;
}

std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

std::string trim(const std::string& s) {
    size_t b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t");
    return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

// A request refused before httplib sees it.
struct Refusal : std::exception {
    int status;
    std::string message, allow;
    Refusal(int s, std::string m, std::string a = "") : status(s), message(std::move(m)), allow(std::move(a)) {}
};
struct Closed {};

Refusal body_too_large(size_t max) {
    return Refusal(413, fmt::format("the request body is larger than the limit of {} bytes (--max-body-bytes)", max));
}  // the client went away (or stalled) mid-request

// One connection's bytes, buffered across requests (pipelining).
class SocketReader {
public:
    SocketReader(int sock, int timeout_ms) : sock_(sock), timeout_ms_(timeout_ms) {}
    bool has_buffered() const { return pos_ < buf_.size(); }
    size_t buffered() const { return buf_.size() - pos_; }

    // A line without its CR LF; Refusal(status) once it passes `max` bytes.
    std::string line(size_t max, int status, const std::string& what) {
        for (size_t scanned = 0;;) {  // bytes after pos_ known to hold no newline
            size_t nl = buf_.find('\n', pos_ + scanned);
            if (nl != std::string::npos) {
                size_t end = nl > pos_ && buf_[nl - 1] == '\r' ? nl - 1 : nl;
                if (end - pos_ > max) throw Refusal(status, what);
                std::string s = buf_.substr(pos_, end - pos_);
                pos_ = nl + 1;
                return s;
            }
            if (buffered() > max) throw Refusal(status, what);
            scanned = buffered();
            fill();
        }
    }
    // Up to n bytes (at least one).
    std::string take(size_t n) {
        if (!has_buffered()) fill();
        size_t k = std::min(n, buffered());
        std::string s = buf_.substr(pos_, k);
        pos_ += k;
        return s;
    }

private:
    void fill() {
        if (pos_ == buf_.size()) {
            buf_.clear();
            pos_ = 0;
        } else if (pos_ > (64u << 10)) {
            buf_.erase(0, pos_);
            pos_ = 0;
        }
        if (!poll_socket(sock_, POLLIN, timeout_ms_)) throw Closed{};
        char tmp[16384];
        ssize_t n;
        do n = ::recv(sock_, tmp, sizeof tmp, 0); while (n < 0 && errno == EINTR);
        if (n <= 0) throw Closed{};
        buf_.append(tmp, static_cast<size_t>(n));
    }

    int sock_;
    int timeout_ms_;
    std::string buf_;
    size_t pos_ = 0;
};

struct Head {
    std::string method, target, path, version;
    std::vector<std::pair<std::string, std::string>> headers;  // names as sent
    std::string get(const std::string& name) const {
        for (const auto& [k, v] : headers)
            if (lower(k) == name) return v;
        return "";
    }
    bool has(const std::string& name) const {
        for (const auto& kv : headers)
            if (lower(kv.first) == name) return true;
        return false;
    }
};

void read_head(SocketReader& in, const ConnectionLimits& lim, Head& h) {
    std::string line;
    for (int i = 0; line.empty() && i < 4; ++i) line = in.line(kMaxRequestLine, 414, fmt::format("the request line is longer than {} bytes", kMaxRequestLine));
    size_t a = line.find(' '), b = line.rfind(' ');
    if (a == std::string::npos || a == b) throw Refusal(400, "malformed request line");
    h.method = line.substr(0, a);
    h.target = line.substr(a + 1, b - a - 1);
    h.version = line.substr(b + 1);
    if (h.version != "HTTP/1.1" && h.version != "HTTP/1.0") {
        bool http = h.version.rfind("HTTP/", 0) == 0;
        h.version = "HTTP/1.1";
        throw Refusal(http ? 505 : 400, http ? "only HTTP/1.0 and HTTP/1.1 are supported" : "malformed request line");
    }
    if (h.target.empty() || h.target[0] != '/' || h.target.find(' ') != std::string::npos) throw Refusal(400, "malformed request target");
    h.path = h.target.substr(0, h.target.find('?'));
    size_t bytes = line.size() + 2;
    std::string too_large = fmt::format("the request headers are larger than {} bytes", lim.max_header_bytes);
    for (;;) {
        if (bytes > lim.max_header_bytes) throw Refusal(431, too_large);
        line = in.line(lim.max_header_bytes - bytes, 431, too_large);
        bytes += line.size() + 2;
        if (line.empty()) break;
        if (static_cast<int>(h.headers.size()) >= lim.max_headers) throw Refusal(431, fmt::format("more than {} request headers", lim.max_headers));
        size_t colon = line.find(':');
        if (colon == 0 || colon == std::string::npos || line[0] == ' ' || line[0] == '\t' ||
            line.find_first_of(" \t") < colon)
            throw Refusal(400, "malformed request header");
        h.headers.emplace_back(line.substr(0, colon), trim(line.substr(colon + 1)));
    }
}

// Collects a body's decoded bytes, inflating gzip/deflate; 413 past the limit.
class BodySink {
public:
    BodySink(size_t max, bool inflate) : max_(max), inflate_(inflate) {
        if (inflate_ && inflateInit2(&zs_, 15 + 32) != Z_OK) throw Refusal(500, "cannot start the gzip decoder");
    }
    ~BodySink() {
        if (inflate_) inflateEnd(&zs_);
    }
    void add(const std::string& raw) {
        raw_ += raw.size();
        if (raw_ > max_) throw too_large();
        if (!inflate_) {
            body_ += raw;
            return;
        }
        if (ended_) return;  // bytes after the gzip stream are ignored
        zs_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(raw.data()));
        zs_.avail_in = static_cast<uInt>(raw.size());
        char out[16384];
        while (zs_.avail_in > 0 && !ended_) {
            zs_.next_out = reinterpret_cast<Bytef*>(out);
            zs_.avail_out = sizeof out;
            int rc = inflate(&zs_, Z_NO_FLUSH);
            if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) throw Refusal(400, "the request body is not valid gzip/deflate data");
            size_t n = sizeof out - zs_.avail_out;
            if (body_.size() + n > max_) throw too_large();
            body_.append(out, n);
            ended_ = rc == Z_STREAM_END;
            if (rc == Z_BUF_ERROR && n == 0) break;
        }
    }
    std::string finish() {
        if (inflate_ && !ended_ && raw_ > 0) throw Refusal(400, "the request body's gzip/deflate data is truncated");
        return std::move(body_);
    }

private:
    Refusal too_large() const { return body_too_large(max_); }
    size_t max_;
    bool inflate_;
    bool ended_ = false;
    size_t raw_ = 0;
    z_stream zs_{};
    std::string body_;
};

size_t parse_size(const std::string& s, int base, const std::string& what) {
    if (s.empty() || s.size() > 16) throw Refusal(400, fmt::format("invalid {}", what));
    size_t v = 0;
    for (char c : s) {
        int d = std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
              : base == 16 && std::isxdigit(static_cast<unsigned char>(c)) ? std::tolower(c) - 'a' + 10 : -1;
        if (d < 0) throw Refusal(400, fmt::format("invalid {}", what));
        v = v * static_cast<size_t>(base) + static_cast<size_t>(d);
    }
    return v;
}

std::string read_body(SocketReader& in, int sock, const ConnectionLimits& lim, const Head& h) {
    std::string te = lower(h.get("transfer-encoding")), ce = lower(h.get("content-encoding"));
    bool chunked = h.has("transfer-encoding");
    if (chunked && te != "chunked") throw Refusal(501, fmt::format("Transfer-Encoding \"{}\" is not supported", te));
    if (chunked && h.has("content-length")) throw Refusal(400, "both Transfer-Encoding and Content-Length are set");
    size_t length = h.has("content-length") ? parse_size(h.get("content-length"), 10, "Content-Length") : 0;
    if (!ce.empty() && ce != "identity" && ce != "gzip" && ce != "x-gzip" && ce != "deflate")
        throw Refusal(415, fmt::format("Content-Encoding \"{}\" is not supported (gzip, deflate)", ce));
    BodySink sink(lim.max_body_bytes, !ce.empty() && ce != "identity");
    if (length > lim.max_body_bytes) throw body_too_large(lim.max_body_bytes);
    if ((chunked || length > 0) && h.version == "HTTP/1.1" && lower(h.get("expect")) == "100-continue") {
        static const char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
        if (!send_all(sock, kContinue, sizeof kContinue - 1, lim.io_timeout_ms)) throw Closed{};
    }
    if (!chunked) {
        while (length > 0) {
            std::string part = in.take(length);
            length -= part.size();
            sink.add(part);
        }
        return sink.finish();
    }
    for (;;) {
        std::string line = in.line(kMaxChunkLine, 400, "a chunk-size line is too long");
        size_t n = parse_size(trim(line.substr(0, line.find(';'))), 16, "chunk size");
        if (n == 0) break;
        if (n > lim.max_body_bytes) throw body_too_large(lim.max_body_bytes);
        while (n > 0) {
            std::string part = in.take(n);
            n -= part.size();
            sink.add(part);
        }
        if (!in.line(2, 400, "a chunk is longer than its size").empty()) throw Refusal(400, "a chunk is longer than its size");
    }
    for (size_t bytes = 0;;) {  // trailers, ignored
        std::string line = in.line(lim.max_header_bytes, 431, "the request trailers are too large");
        bytes += line.size() + 2;
        if (line.empty()) break;
        if (bytes > lim.max_header_bytes) throw Refusal(431, "the request trailers are too large");
    }
    return sink.finish();
}

// The request as httplib reads it: HTTP/1.1, Content-Length, JSON.
std::string normalized_head(const Head& h, size_t body_bytes, bool has_body) {
    std::string s = fmt::format("{} {} HTTP/1.1\r\n", h.method, h.target);
    for (const auto& [k, v] : h.headers) {
        std::string n = lower(k);
        if (n == "transfer-encoding" || n == "content-length" || n == "content-encoding" || n == "expect" ||
            (n == "connection" && h.version == "HTTP/1.0") || (n == "content-type" && has_body))
            continue;
        s += k + ": " + v + "\r\n";
    }
    if (h.version == "HTTP/1.0") s += "Connection: close\r\n";
    if (has_body) s += fmt::format("Content-Type: application/json\r\nContent-Length: {}\r\n", body_bytes);
    return s + "\r\n";
}

// httplib's view of one request: reads come from the normalized request,
// writes go to the socket (or are collected for an HTTP/1.0 answer).
class ConnectionStream : public httplib::Stream {
public:
    ConnectionStream(int sock, int timeout_ms, std::string head, std::string body, bool collect)
        : sock_(sock), timeout_ms_(timeout_ms), in_(std::move(head)), body_(std::move(body)), collect_(collect) {}

    bool is_readable() const override { return pos_ < in_.size() + body_.size(); }
    bool is_writable() const override { return poll_socket(sock_, POLLOUT, timeout_ms_) && socket_alive(sock_); }
    ssize_t read(char* ptr, size_t size) override {
        size_t n = 0;
        while (n < size && pos_ < in_.size() + body_.size()) {
            const std::string& src = pos_ < in_.size() ? in_ : body_;
            size_t off = pos_ < in_.size() ? pos_ : pos_ - in_.size();
            size_t k = std::min(size - n, src.size() - off);
            std::memcpy(ptr + n, src.data() + off, k);
            n += k;
            pos_ += k;
        }
        return static_cast<ssize_t>(n);
    }
    ssize_t write(const char* ptr, size_t size) override {
        if (collect_) {
            if (!socket_alive(sock_)) return -1;
            collected_.append(ptr, size);
            return static_cast<ssize_t>(size);
        }
        return send_all(sock_, ptr, size, timeout_ms_) ? static_cast<ssize_t>(size) : -1;
    }
    void get_remote_ip_and_port(std::string& ip, int& port) const override { address(::getpeername, ip, port); }
    void get_local_ip_and_port(std::string& ip, int& port) const override { address(::getsockname, ip, port); }
    socket_t socket() const override { return sock_; }
    const std::string& collected() const { return collected_; }

private:
    void address(int (*get)(int, sockaddr*, socklen_t*), std::string& ip, int& port) const {
        sockaddr_storage a{};
        socklen_t len = sizeof a;
        ip.clear();
        port = 0;
        if (get(sock_, reinterpret_cast<sockaddr*>(&a), &len) != 0) return;
        char buf[INET6_ADDRSTRLEN] = {};
        if (a.ss_family == AF_INET) {
            auto* v4 = reinterpret_cast<sockaddr_in*>(&a);
            inet_ntop(AF_INET, &v4->sin_addr, buf, sizeof buf);
            port = ntohs(v4->sin_port);
        } else if (a.ss_family == AF_INET6) {
            auto* v6 = reinterpret_cast<sockaddr_in6*>(&a);
            inet_ntop(AF_INET6, &v6->sin6_addr, buf, sizeof buf);
            port = ntohs(v6->sin6_port);
        }
        ip = buf;
    }

    int sock_;
    int timeout_ms_;
    std::string in_, body_;
    size_t pos_ = 0;
    bool collect_;
    std::string collected_;
};

// An answer httplib wrote for HTTP/1.1, as HTTP/1.0: de-chunked, with a length, closing.
std::string as_http10(const std::string& raw) {
    size_t end = raw.find("\r\n\r\n");
    if (end == std::string::npos) return raw;
    std::string head = raw.substr(0, end + 2), body = raw.substr(end + 4), out;
    bool chunked = false;
    for (size_t p = 0, i = 0; p < head.size(); ++i) {
        size_t nl = head.find("\r\n", p);
        std::string line = head.substr(p, nl - p);
        p = nl + 2;
        if (i == 0) {
            out = "HTTP/1.0" + line.substr(line.find(' ')) + "\r\n";
            continue;
        }
        std::string name = lower(line.substr(0, line.find(':')));
        if (name == "transfer-encoding") chunked = true;
        if (name == "transfer-encoding" || name == "connection" || name == "keep-alive" || name == "content-length") continue;
        out += line + "\r\n";
    }
    if (chunked) {
        std::string plain;
        for (size_t p = 0; p < body.size();) {
            size_t nl = body.find("\r\n", p);
            if (nl == std::string::npos) break;
            size_t n = std::strtoull(body.c_str() + p, nullptr, 16);
            if (n == 0) break;
            plain += body.substr(nl + 2, n);
            p = nl + 2 + n + 2;
        }
        body = std::move(plain);
    }
    return out + fmt::format("Content-Length: {}\r\nConnection: close\r\n\r\n", body.size()) + body;
}

const char* reason(int status) {
    switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 405: return "Method Not Allowed";
    case 413: return "Payload Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 431: return "Request Header Fields Too Large";
    case 501: return "Not Implemented";
    case 505: return "HTTP Version Not Supported";
    default: return "Error";
    }
}

void refuse(int sock, const ConnectionLimits& lim, const ConnectionPolicy& policy, const Head& h, const Refusal& r) {
    std::string body = policy.error_body(h.path, r.status, r.message);
    std::string res = fmt::format("{} {} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
                                  h.version.empty() ? "HTTP/1.1" : h.version, r.status, reason(r.status), body.size());
    if (r.status == 401) res += "WWW-Authenticate: Bearer\r\n";
    if (!r.allow.empty()) res += "Allow: " + r.allow + "\r\n";
    res += "\r\n" + body;
    send_all(sock, res.data(), res.size(), lim.io_timeout_ms);
    if (!policy.refused) return;
    std::string ip;
    int port = 0;
    ConnectionStream(sock, 0, "", "", false).get_remote_ip_and_port(ip, port);
    policy.refused(ip, h.method, h.path, r.status);
}

}  // namespace

bool client_connected(int sock) { return socket_alive(sock); }

bool same_secret(const std::string& given, const std::string& expected) {
    volatile unsigned char diff = given.size() == expected.size() ? 0 : 1;
    for (size_t i = 0; i < expected.size(); ++i) {
        unsigned char g = i < given.size() ? static_cast<unsigned char>(given[i]) : 0;
        diff = static_cast<unsigned char>(diff | (g ^ static_cast<unsigned char>(expected[i])));
    }
    return diff == 0;
}

void serve_connection(int sock, const ConnectionLimits& lim, const ConnectionPolicy& policy, const std::function<bool()>& stopping,
                      const ProcessRequest& process) {
    SocketReader in(sock, lim.io_timeout_ms);
    std::string peer;
    if (policy.tracked) {
        int port = 0;
        ConnectionStream(sock, 0, "", "", false).get_remote_ip_and_port(peer, port);
        peer += ":" + std::to_string(port);
        policy.tracked(sock, peer, true);
    }
    for (size_t n = 0; n < lim.max_requests && !stopping(); ++n) {
        if (!in.has_buffered() && !poll_socket(sock, POLLIN, lim.keep_alive_timeout_ms)) break;
        Head h;
        std::string body;
        try {
            read_head(in, lim, h);
            std::string allowed = policy.allowed_methods(h.path);
            bool get_like = h.method == "HEAD" && allowed.find("GET") != std::string::npos;
            if (!allowed.empty() && !get_like && (", " + allowed + ",").find(", " + h.method + ",") == std::string::npos)
                throw Refusal(405, fmt::format("method {} is not allowed on {} (allowed: {})", h.method, h.path, allowed), allowed);
            if (!policy.authorized(h.path, h.get("authorization")))
                throw Refusal(401, h.has("authorization") ? "the API key is wrong" : "an API key is required: send \"Authorization: Bearer KEY\"");
            body = read_body(in, sock, lim, h);
        } catch (const Refusal& r) {
            refuse(sock, lim, policy, h, r);
            break;
        } catch (const Closed&) {
            break;
        }
        bool http10 = h.version == "HTTP/1.0";
        bool has_body = !body.empty() || h.has("content-length") || h.has("transfer-encoding");
        std::string head = normalized_head(h, body.size(), has_body);
        ConnectionStream strm(sock, lim.io_timeout_ms, std::move(head), std::move(body), http10);
        bool closed = false;
        bool ok = process(strm, http10 || n + 1 == lim.max_requests, closed);
        if (http10) {
            std::string res = as_http10(strm.collected());
            send_all(sock, res.data(), res.size(), lim.io_timeout_ms);
            break;
        }
        if (!ok || closed) break;
    }
    if (policy.tracked) policy.tracked(sock, peer, false);
    // Let the client read the answer before the close resets the connection.
    ::shutdown(sock, SHUT_WR);
    auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
    char sink[16384];
    while (std::chrono::steady_clock::now() < until && poll_socket(sock, POLLIN, 100) && ::recv(sock, sink, sizeof sink, 0) > 0) {}
    ::close(sock);
}

}  // namespace lightllm

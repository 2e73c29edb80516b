// HttpConnection: the server's own reader of the requests on one connection,
// in front of cpp-httplib's routing and answer writing.
// Debian's cpp-httplib (0.11) reads each request with a fresh socket buffer
// (so pipelined requests after the first are lost), reads every header before
// any handler runs, and decodes chunked and gzip bodies without a limit. So
// each request is read here first:
//  - one buffered reader per connection: pipelined requests are answered one
//    after another, in order;
//  - the request line and headers are limited in count and total size (431);
//  - the method is checked against the route (405 with Allow) and the API key
//    is checked before the body is read (401); the connection then closes, so
//    a rejected client costs no more than its headers;
//  - the body's size is checked as it arrives (Content-Length at once; a
//    chunked body chunk by chunk; a gzip/deflate body on its decoded bytes):
//    past the limit 413 at once and the connection closes;
//  - the request is then handed to httplib rewritten with Content-Length, no
//    transfer or content encoding and Content-Type application/json (every
//    route with a body parses JSON, whatever the client's content type);
//  - an HTTP/1.0 client's answer is collected and sent as HTTP/1.0 with a
//    Content-Length, and the connection closes.
#pragma once
#include <httplib.h>
#include <functional>
#include <string>

namespace lightllm {

struct ConnectionLimits {
    size_t max_body_bytes = 8u << 20;
    size_t max_header_bytes = 64u << 10;  // request line and headers together
    int max_headers = 100;
    size_t max_requests = 1000;           // per keep-alive connection
    int keep_alive_timeout_ms = 5000;     // idle wait for the next request
    int io_timeout_ms = 5000;             // one read or write
};

// What the server decides about a request from its head alone.
struct ConnectionPolicy {
    // The methods a path accepts ("GET", "POST", "GET, POST"); "" for a path with no route.
    std::function<std::string(const std::string& path)> allowed_methods;
    // Whether the request may go on (the API key check).
    std::function<bool(const std::string& path, const std::string& authorization)> authorized;
    // The JSON error body for a path (OpenAI or LightLLM style).
    std::function<std::string(const std::string& path, int status, const std::string& message)> error_body;
    // Called for each request refused here (for the access log and metrics).
    std::function<void(const std::string& remote, const std::string& method, const std::string& path, int status)> refused;
    // Called when a connection starts (open) and ends (!open), with its peer "ip:port".
    std::function<void(int sock, const std::string& peer, bool open)> tracked;
};

// Serves the requests on `sock` until the client closes, an error, the
// keep-alive limits or `stopping()`; then shuts the socket down and closes it.
// `process` hands one normalized request to httplib (Server::process_request).
using ProcessRequest = std::function<bool(httplib::Stream& strm, bool close_connection, bool& connection_closed)>;
void serve_connection(int sock, const ConnectionLimits& limits, const ConnectionPolicy& policy,
                      const std::function<bool()>& stopping, const ProcessRequest& process);

// False once the client at the other end has closed or reset the connection.
bool client_connected(int sock);

// Equal strings, compared in time that depends only on `expected`'s length.
bool same_secret(const std::string& given, const std::string& expected);

}  // namespace lightllm

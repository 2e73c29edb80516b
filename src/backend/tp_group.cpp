#include "tp_group.h"
#include "check.h"
#include <chrono>
#include <cstring>

namespace lightllm {

namespace {

std::vector<uint8_t> hello_payload(int rank, int world, const std::string& fingerprint) {
    std::vector<uint8_t> p(8 + fingerprint.size());
    const int32_t r = rank, w = world;
    std::memcpy(p.data(), &r, 4);
    std::memcpy(p.data() + 4, &w, 4);
    std::memcpy(p.data() + 8, fingerprint.data(), fingerprint.size());
    return p;
}

// The first line where two fingerprints ("key=value" lines) differ.
std::string first_difference(const std::string& a, const std::string& b) {
    size_t i = 0;
    while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
    const size_t line_a = a.rfind('\n', i == 0 ? 0 : i - 1);
    const size_t start = line_a == std::string::npos ? 0 : line_a + 1;
    auto line_of = [&](const std::string& s) {
        const size_t end = s.find('\n', start);
        return s.substr(start, end == std::string::npos ? std::string::npos : end - start);
    };
    return "rank 0 has '" + line_of(a) + "', it has '" + line_of(b) + "'";
}

}  // namespace

std::unique_ptr<TpGroup> TpGroup::form(const TpPlace& place, const std::string& fingerprint,
                                       std::unique_ptr<TcpListener> listener) {
    if (place.world_size < 1) fail("tensor parallel: world size {} must be at least 1", place.world_size);
    if (place.rank < 0 || place.rank >= place.world_size)
        fail("tensor parallel: rank {} is outside the world of {} ranks", place.rank, place.world_size);
    if (!(place.timeout_s > 0)) fail("--tp-timeout must be positive (got {})", place.timeout_s);
    std::unique_ptr<TpGroup> g(new TpGroup());
    g->place_ = place;
    if (place.world_size == 1) return g;
    if (place.rank == 0) {
        if (!listener) listener = std::make_unique<TcpListener>(place.master_addr, place.master_port);
        g->peers_.resize(size_t(place.world_size));
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(int64_t(place.timeout_s * 1e6));
        std::string refusal;
        for (int joined = 1; joined < place.world_size;) {
            const double left = std::chrono::duration<double>(deadline - std::chrono::steady_clock::now()).count();
            TcpChannel c = left > 0 ? listener->accept(left) : TcpChannel();
            if (!c.open()) {
                std::string missing;
                for (int r = 1; r < place.world_size; ++r)
                    if (!g->peers_[size_t(r)].open()) missing += (missing.empty() ? "" : ", ") + std::to_string(r);
                refusal = fmt::format("tensor parallel: rank(s) {} did not join within --tp-timeout {} s", missing,
                                      place.timeout_s);
                break;
            }
            std::vector<uint8_t> p;
            try {
                if (c.recv(p, place.timeout_s) != MsgKind::Hello || p.size() < 8) continue;
            } catch (const ChannelError&) {
                continue;  // not one of ours
            }
            int32_t r = 0, w = 0;
            std::memcpy(&r, p.data(), 4);
            std::memcpy(&w, p.data() + 4, 4);
            const std::string fp(p.begin() + 8, p.end());
            if (w != place.world_size) {
                refusal = fmt::format("tensor parallel: rank {} was started with world size {}, rank 0 with {}", r, w,
                                      place.world_size);
            } else if (r <= 0 || r >= place.world_size || g->peers_[size_t(r)].open()) {
                refusal = fmt::format("tensor parallel: two processes claim rank {}", r);
            } else if (fp != fingerprint) {
                refusal = fmt::format("tensor parallel: rank {} was started with a different model or flags than rank 0 "
                                      "({})", r, first_difference(fingerprint, fp));
            }
            if (!refusal.empty()) {
                c.send(MsgKind::Refuse, refusal);
                break;
            }
            g->peers_[size_t(r)] = std::move(c);
            ++joined;
        }
        if (!refusal.empty()) {
            for (TcpChannel& c : g->peers_)
                if (c.open()) c.send(MsgKind::Refuse, refusal);
            fail("{}", refusal);
        }
        for (int r = 1; r < place.world_size; ++r) g->peers_[size_t(r)].send(MsgKind::Accept, nullptr, 0);
        return g;
    }
    g->peers_.push_back(TcpChannel::connect(place.master_addr, place.master_port, place.timeout_s));
    const std::vector<uint8_t> hello = hello_payload(place.rank, place.world_size, fingerprint);
    g->peers_[0].send(MsgKind::Hello, hello.data(), hello.size());
    std::vector<uint8_t> p;
    try {
        // Rank 0 answers once every rank has joined, so allow twice the timeout.
        if (g->peers_[0].recv(p, 2 * place.timeout_s) != MsgKind::Accept) fail("tensor parallel: bad answer from rank 0");
    } catch (const ChannelError& e) {
        fail("tensor parallel: rank {}: rank 0 did not accept this process: {}", place.rank, e.what());
    }
    return g;
}

TpGroup::~TpGroup() {
    if (place_.rank == 0 && !stopped_) {
        try {
            stop();
        } catch (...) {
        }
    }
}

void TpGroup::failed(const std::string& message) {
    if (on_failure_) on_failure_(message);
    throw Error(message);
}

void TpGroup::peer_failed(int peer, const ChannelError& e) {
    const std::string what = e.what();
    if (place_.rank == 0)
        failed(fmt::format("tensor parallel: rank {}: {}", peer,
                           what == "no answer (timed out)" ? fmt::format("no answer within --tp-timeout {} s (hung?)",
                                                                         place_.timeout_s)
                                                           : what));
    failed(fmt::format("tensor parallel: rank {} lost rank 0: {}", place_.rank, what));
}

void TpGroup::report_ready(const std::string& error) {
    if (place_.rank == 0 || place_.world_size == 1) return;
    try {
        if (error.empty())
            peers_[0].send(MsgKind::Ready, nullptr, 0);
        else
            peers_[0].send(MsgKind::Refuse, error);
    } catch (const ChannelError& e) {
        peer_failed(0, e);
    }
}

void TpGroup::wait_ready() {
    if (place_.rank != 0) return;
    std::vector<uint8_t> p;
    for (int r = 1; r < place_.world_size; ++r) {
        try {
            if (peers_[size_t(r)].recv(p, place_.timeout_s) != MsgKind::Ready)
                throw ChannelError("unexpected message at start-up");
        } catch (const ChannelError& e) {
            peer_failed(r, e);
        }
    }
}

void TpGroup::send_step(const std::vector<uint8_t>& plan) {
    for (int r = 1; r < place_.world_size; ++r) {
        try {
            peers_[size_t(r)].send(MsgKind::Step, plan.data(), plan.size());
        } catch (const ChannelError& e) {
            peer_failed(r, e);
        }
    }
}

bool TpGroup::recv_step(std::vector<uint8_t>& plan) {
    try {
        const MsgKind k = peers_[0].recv(plan, 0);
        if (k == MsgKind::Stop) return false;
        if (k != MsgKind::Step) throw ChannelError("unexpected message instead of a step");
        return true;
    } catch (const ChannelError& e) {
        peer_failed(0, e);
    }
}

void TpGroup::stop() {
    if (place_.rank != 0 || stopped_) return;
    stopped_ = true;
    for (int r = 1; r < place_.world_size; ++r) {
        try {
            if (peers_[size_t(r)].open()) peers_[size_t(r)].send(MsgKind::Stop, nullptr, 0);
        } catch (const ChannelError&) {
        }
    }
}

std::vector<int64_t> TpGroup::all_gather_i64(int64_t v) {
    std::vector<uint8_t> all;
    gather(&v, sizeof v, all);
    std::vector<int64_t> out(size_t(place_.world_size));
    if (place_.rank == 0) std::memcpy(out.data(), all.data(), all.size());
    broadcast(out.data(), out.size() * sizeof(int64_t));
    return out;
}

void TpGroup::broadcast(void* data, size_t bytes) {
    if (place_.world_size == 1) return;
    if (place_.rank == 0) {
        for (int r = 1; r < place_.world_size; ++r) {
            try {
                peers_[size_t(r)].send(MsgKind::Data, data, bytes);
            } catch (const ChannelError& e) {
                peer_failed(r, e);
            }
        }
        return;
    }
    try {
        peers_[0].recv_into(MsgKind::Data, data, bytes, place_.timeout_s);
    } catch (const ChannelError& e) {
        peer_failed(0, e);
    }
}

void TpGroup::gather(const void* local, size_t bytes, std::vector<uint8_t>& all) {
    if (place_.rank != 0) {
        try {
            peers_[0].send(MsgKind::Data, local, bytes);
        } catch (const ChannelError& e) {
            peer_failed(0, e);
        }
        return;
    }
    all.resize(bytes * size_t(place_.world_size));
    if (bytes) std::memcpy(all.data(), local, bytes);
    for (int r = 1; r < place_.world_size; ++r) {
        try {
            peers_[size_t(r)].recv_into(MsgKind::Data, all.data() + size_t(r) * bytes, bytes, place_.timeout_s);
        } catch (const ChannelError& e) {
            peer_failed(r, e);
        }
    }
}

void TpGroup::all_reduce_sum(float* data, size_t n) {
    if (place_.world_size == 1) return;
    const size_t bytes = n * sizeof(float);
    if (place_.rank == 0) {
        std::vector<float> part(n);
        for (int r = 1; r < place_.world_size; ++r) {
            try {
                peers_[size_t(r)].recv_into(MsgKind::Data, part.data(), bytes, place_.timeout_s);
            } catch (const ChannelError& e) {
                peer_failed(r, e);
            }
            for (size_t i = 0; i < n; ++i) data[i] += part[i];
        }
    } else {
        try {
            peers_[0].send(MsgKind::Data, data, bytes);
        } catch (const ChannelError& e) {
            peer_failed(0, e);
        }
    }
    broadcast(data, bytes);
}

}  // namespace lightllm

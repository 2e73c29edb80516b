// The LLaMA loader on an in-memory TensorSource: Baichuan2's NormHead
// (lm_head rows divided by their L2 norm) and clear errors for missing or
// misshapen tensors; the debug dump of intermediates, checked layer by layer
// against transformers' hidden states.
#include "counter_rng.h"
#include "cpu_backend.h"
#include "model.h"
#include "token_kv_pool.h"
#include "model_files.h"
#include "test_util.h"
#include <fstream>
#include <nlohmann/json.hpp>
#include "req_to_token_table.h"
#include <cmath>
#include <doctest/doctest.h>
#include <map>

using namespace lightllm;

namespace {

class MemorySource : public TensorSource {
public:
    void add(const std::string& name, std::vector<int64_t> shape, std::vector<float> data) {
        data_[name] = std::move(data);
        TensorInfo& t = infos_[name];
        t.name = name;
        t.dtype = FileDType::F32;
        t.shape = std::move(shape);
        t.data = reinterpret_cast<const uint8_t*>(data_[name].data());
        t.nbytes = data_[name].size() * 4;
        t.file = "memory";
    }
    const TensorInfo* find(const std::string& name) const override {
        auto it = infos_.find(name);
        return it == infos_.end() ? nullptr : &it->second;
    }
    std::vector<std::string> names() const override {
        std::vector<std::string> n;
        for (const auto& [k, v] : infos_) n.push_back(k);
        return n;
    }
    std::vector<float>& data(const std::string& name) { return data_[name]; }

private:
    std::map<std::string, std::vector<float>> data_;
    std::map<std::string, TensorInfo> infos_;
};

ModelConfig tiny_config(const std::string& model_type, int n_vocab) {
    ModelConfig c;
    c.model_type = model_type;
    c.n_vocab = n_vocab;
    c.n_embd = 8;
    c.n_layer = 1;
    c.n_head = c.n_kv_head = 2;
    c.head_dim = c.rope_dim = 4;
    c.n_ff = 8;
    c.max_position = 16;
    return c;
}

void fill(MemorySource& src, const ModelConfig& c) {
    uint64_t seed = 1;
    auto rnd = [&](const std::string& name, std::vector<int64_t> shape) {
        int64_t n = 1;
        for (int64_t d : shape) n *= d;
        std::vector<float> v(static_cast<size_t>(n));
        for (size_t i = 0; i < v.size(); ++i) v[i] = 0.5f * normal01(seed, i);
        ++seed;
        src.add(name, shape, v);
    };
    rnd("model.embed_tokens.weight", {c.n_vocab, c.n_embd});
    rnd("model.layers.0.input_layernorm.weight", {c.n_embd});
    rnd("model.layers.0.self_attn.q_proj.weight", {8, c.n_embd});
    rnd("model.layers.0.self_attn.k_proj.weight", {8, c.n_embd});
    rnd("model.layers.0.self_attn.v_proj.weight", {8, c.n_embd});
    rnd("model.layers.0.self_attn.o_proj.weight", {c.n_embd, 8});
    rnd("model.layers.0.post_attention_layernorm.weight", {c.n_embd});
    rnd("model.layers.0.mlp.gate_proj.weight", {c.n_ff, c.n_embd});
    rnd("model.layers.0.mlp.up_proj.weight", {c.n_ff, c.n_embd});
    rnd("model.layers.0.mlp.down_proj.weight", {c.n_embd, c.n_ff});
    rnd("model.norm.weight", {c.n_embd});
    rnd("lm_head.weight", {c.n_vocab, c.n_embd});
}

// Logits of the last of `tokens` (a prefill at positions 0..n-1).
std::vector<float> prefill_logits(const ModelConfig& c, const TensorSource& src, const std::vector<int32_t>& tokens,
                                  TensorDumpFn dump = {}) {
    CpuBackend be;
    const int n = int(tokens.size());
    auto model = load_model(c, src, be, 16);
    model->set_dump(std::move(dump));
    model->reserve(n, 1);
    TokenKvPool kv(be, {c.n_layer, c.n_kv_head, c.head_dim}, DType::F32, 32);
    ReqToTokenTable table(be, 1, 16);
    std::vector<Tensor> owned;
    auto i32 = [&](std::vector<int32_t> v) {
        owned.push_back(be.alloc(DType::I32, {int64_t(v.size())}));
        be.upload(owned.back(), v.data(), DType::I32);
        return owned.back();
    };
    std::vector<int32_t> pos(tokens.size()), slots(tokens.size()), rows(tokens.size(), 0);
    for (int i = 0; i < n; ++i) {
        pos[size_t(i)] = i;
        slots[size_t(i)] = 2 * i + 1;
    }
    Batch b;
    b.ids = i32(tokens);
    b.positions = i32(pos);
    b.slots = i32(slots);
    b.logit_rows = i32({n - 1});
    b.attn.q_start = i32({0, n});
    b.attn.kv_len = i32({n});
    b.attn.req_rows = i32({0});
    b.attn.table = table.table();
    b.attn.n_reqs = 1;
    b.attn.n_tokens = b.attn.max_q_len = b.attn.max_kv_len = n;
    b.n_tokens = n;
    b.n_logits = 1;
    be.set_token_slots(table.table(), i32(rows), b.positions, b.slots);
    const Tensor logits = model->forward(b, kv.layers());
    std::vector<float> out(size_t(c.n_vocab));
    be.download(logits, out.data());
    for (Tensor& t : owned) be.free(t);
    return out;
}

std::vector<float> one_token_logits(const ModelConfig& c, const TensorSource& src, TensorDumpFn dump = {}) {
    return prefill_logits(c, src, {3}, std::move(dump));
}

}  // namespace

TEST_CASE("llama loader: Baichuan2's NormHead normalizes lm_head rows") {
    const int V = 125696;
    const ModelConfig bc2 = tiny_config("baichuan", V), llama = tiny_config("llama", V);
    MemorySource raw;
    fill(raw, bc2);
    MemorySource normalized;
    fill(normalized, bc2);
    std::vector<float>& w = normalized.data("lm_head.weight");
    for (int r = 0; r < V; ++r) {
        double ss = 0.0;
        for (int j = 0; j < 8; ++j) ss += double(w[size_t(r * 8 + j)]) * w[size_t(r * 8 + j)];
        for (int j = 0; j < 8; ++j) w[size_t(r * 8 + j)] = float(w[size_t(r * 8 + j)] / std::sqrt(ss));
    }
    const std::vector<float> a = one_token_logits(bc2, raw);          // normalized at load
    const std::vector<float> b = one_token_logits(llama, normalized);  // normalized in the file
    const std::vector<float> c = one_token_logits(llama, raw);         // plain head
    double ab = 0.0, ac = 0.0;
    for (int i = 0; i < V; ++i) {
        ab = std::max(ab, double(std::fabs(a[size_t(i)] - b[size_t(i)])));
        ac = std::max(ac, double(std::fabs(a[size_t(i)] - c[size_t(i)])));
    }
    CHECK(ab < 1e-5);
    CHECK(ac > 0.1);
}

TEST_CASE("llama loader: a missing or misshapen tensor is an Error naming it") {
    const ModelConfig c = tiny_config("llama", 32);
    CpuBackend be;
    MemorySource src;
    fill(src, c);
    MemorySource missing;
    for (const std::string& n : src.names())
        if (n != "model.layers.0.mlp.up_proj.weight") {
            const TensorInfo* t = src.find(n);
            missing.add(n, t->shape, src.data(n));
        }
    CHECK_THROWS_WITH_AS(load_model(c, missing, be, 16), doctest::Contains("model.layers.0.mlp.up_proj.weight"), Error);
    ModelConfig wrong = c;
    wrong.n_ff = 16;
    CHECK_THROWS_WITH_AS(load_model(wrong, src, be, 16), doctest::Contains("gate_proj"), Error);
    CHECK_NOTHROW(load_model(c, src, be, 16));
}

TEST_CASE("llama forward: every intermediate can be dumped by name and layer") {
    const ModelConfig c = tiny_config("llama", 32);
    MemorySource src;
    fill(src, c);
    std::vector<std::string> seen;
    std::vector<float> dumped_logits;
    const std::vector<float> logits = one_token_logits(c, src, [&](const char* name, int il, const Tensor& t) {
        seen.push_back(std::string(name) + "/" + std::to_string(il));
        if (std::string(name) == "logits") dumped_logits.assign(t.ptr<float>(), t.ptr<float>() + t.numel());
    });
    const std::vector<std::string> want = {"tok_embd/-1", "attn_norm/0", "qkv/0",     "q_rope/0",       "attn/0",
                                           "attn_out/0",  "ffn_norm/0",  "ffn_act/0", "ffn_out/0",      "output_norm/-1",
                                           "logits/-1"};
    CHECK(seen == want);
    CHECK(dumped_logits == logits);
}

TEST_CASE("llama forward: dumped residual stream matches transformers' hidden states layer by layer") {
    const ModelFiles files = open_model_files(test_data("tiny-llama-gqa"));
    std::ifstream in(test_data("tiny-llama-gqa/reference.json"));
    REQUIRE(in);
    const nlohmann::json ref = nlohmann::json::parse(in);
    const auto hs = ref["hidden_states_prompt0"].get<std::vector<std::vector<std::vector<float>>>>();
    const std::vector<int32_t> prompt = ref["cases"][0]["prompt"].get<std::vector<int32_t>>();
    REQUIRE(hs.size() == size_t(files.config.n_layer) + 1);
    // hidden_states[i] enters layer i: ours is "tok_embd" (i = 0) and
    // "layer_in" (i >= 1); the last is after the final norm ("output_norm").
    std::vector<std::vector<float>> ours(hs.size());
    prefill_logits(files.config, *files.tensors, prompt, [&](const char* name, int il, const Tensor& t) {
        const std::string n = name;
        size_t k = hs.size();
        if (n == "tok_embd") k = 0;
        if (n == "layer_in") k = size_t(il);
        if (n == "output_norm") k = hs.size() - 1;
        if (k < hs.size()) ours[k].assign(t.ptr<float>(), t.ptr<float>() + t.numel());
    });
    for (size_t k = 0; k < hs.size(); ++k) {
        CAPTURE(k);
        double diff = 0.0, scale = 0.0;
        size_t i = 0;
        for (const auto& row : hs[k])
            for (float v : row) {
                REQUIRE(i < ours[k].size());
                diff = std::max(diff, double(std::fabs(ours[k][i++] - v)));
                scale = std::max(scale, double(std::fabs(v)));
            }
        CHECK(i == ours[k].size());
        CHECK(diff <= 1e-5 * scale);
    }
}

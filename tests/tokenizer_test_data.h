// Tokenizer reference data for tests: the vocabulary-only GGUF files and their
// .inp/.out cases in shared/data/tokenizers (see its README).
// The conformance tests load the GGUFs straight from there (byte-exact
// copies of llama.cpp's models/ggml-vocab-*.gguf).
#pragma once
#include "test_util.h"
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

inline std::string read_whole_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

inline bool file_exists(const std::string& path) { return std::ifstream(path).good(); }

inline std::string vocab_file(const std::string& name) { return shared_data("tokenizers/" + name); }

struct VocabCase {
    std::string text;
    std::vector<int32_t> ids;  // no BOS
};

// .inp: texts each followed by "\n__ggml_vocab_test__\n"; .out: one line of
// space-separated ids per text.
inline std::vector<VocabCase> load_vocab_cases(const std::string& inp_path, const std::string& out_path) {
    std::string inp = read_whole_file(inp_path);
    std::string out = read_whole_file(out_path);
    const std::string sep = "\n__ggml_vocab_test__\n";
    std::vector<VocabCase> cases;
    size_t pos = 0;
    while (true) {
        size_t q = inp.find(sep, pos);
        if (q == std::string::npos) break;
        cases.push_back({inp.substr(pos, q - pos), {}});
        pos = q + sep.size();
    }
    std::istringstream lines(out);
    std::string line;
    size_t i = 0;
    while (std::getline(lines, line) && i < cases.size()) {
        std::istringstream ls(line);
        int32_t id;
        while (ls >> id) cases[i].ids.push_back(id);
        ++i;
    }
    if (i != cases.size()) cases.clear();  // malformed pair: the caller's CHECK on size fails
    return cases;
}

// The SmolLM2 demo model (byte-level BPE vocabulary "smollm", ChatML
// template), fetched by third_party/fetch_demo_model.sh; LIGHTLLM_DEMO_MODEL overrides.
inline std::string demo_gguf_path() { return demo_model_path(); }

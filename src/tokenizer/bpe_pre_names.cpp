// GGUF tokenizer.ggml.pre names (llama.cpp's, src/llama-vocab.cpp) -> the
// pre-tokenizer kinds of bpe_pretokenizer.h. Names llama.cpp maps to one
// regex list share a kind.
#include "bpe_pretokenizer.h"
#include "check.h"

namespace lightllm {

bool bpe_pre_kind_is_regex(BpePreKind kind) { return kind >= BpePreKind::Chameleon; }

BpePreKind bpe_pre_kind_from_name(const std::string& name, const std::string& what) {
    struct Alias {
        const char* name;
        BpePreKind kind;
    };
    using K = BpePreKind;
    static const Alias kNames[] = {
        {"gpt-2", K::Gpt2}, {"gpt2", K::Gpt2}, {"mpt", K::Gpt2}, {"olmo", K::Gpt2}, {"phi-2", K::Gpt2},
        {"roberta-bpe", K::Gpt2}, {"jais", K::Gpt2}, {"gpt-neox", K::Gpt2}, {"trillion", K::Gpt2},
        {"granite-docling", K::Gpt2}, {"exaone4", K::Gpt2}, {"jina-es", K::Gpt2}, {"jina-de", K::Gpt2},
        {"jina-v1-en", K::Gpt2}, {"jina-v2-es", K::Gpt2}, {"jina-v2-de", K::Gpt2}, {"jina-v2-code", K::Gpt2},
        {"gigachat", K::Gpt2}, {"a.x-4.0", K::Gpt2}, {"mellum", K::Gpt2}, {"modern-bert", K::Gpt2},
        {"llama-bpe", K::Llama3}, {"llama3", K::Llama3}, {"llama-v3", K::Llama3}, {"falcon3", K::Llama3},
        {"falcon-h1", K::Llama3}, {"pixtral", K::Llama3}, {"midm-2.0", K::Llama3}, {"lfm2", K::Llama3},
        {"jina-v5-nano", K::Llama3}, {"dbrx", K::Llama3}, {"smaug-bpe", K::Llama3}, {"chatglm-bpe", K::Llama3},
        {"glm4", K::Llama3},
        {"qwen2", K::Qwen2}, {"deepseek-r1-qwen", K::Qwen2}, {"stablelm2", K::Qwen2}, {"megrez", K::Qwen2},
        {"kormo", K::Qwen2}, {"f2llmv2", K::Qwen2}, {"hunyuan", K::Qwen2}, {"grok-2", K::Qwen2},
        {"solar-open", K::Qwen2},
        {"starcoder", K::Starcoder}, {"smollm", K::Starcoder}, {"refact", K::Starcoder}, {"command-r", K::Starcoder},
        {"codeshell", K::Starcoder}, {"exaone", K::Starcoder}, {"minerva-7b", K::Starcoder}, {"mellum2", K::Starcoder},
        {"deepseek-coder", K::DeepseekCoder}, {"deepseek-llm", K::DeepseekLlm},
        {"deepseek-v3", K::Deepseek3}, {"hunyuan-dense", K::Deepseek3}, {"joyai-llm", K::Deepseek3},
        {"hy_v4", K::Deepseek3},
        {"falcon", K::Falcon}, {"bloom", K::Bloom}, {"poro-chat", K::Bloom}, {"gpt3-finnish", K::Bloom},
        {"viking", K::Viking}, {"tekken", K::Tekken},
        {"gpt-4o", K::Gpt4o}, {"llama4", K::Gpt4o}, {"minimax-m2", K::Gpt4o}, {"kanana2", K::Gpt4o},
        {"talkie", K::Gpt4o},
        {"chameleon", K::Chameleon}, {"superbpe", K::Superbpe}, {"seed-coder", K::SeedCoder}, {"kimi-k2", K::KimiK2},
        {"bailingmoe", K::Bailingmoe}, {"bailingmoe2", K::Bailingmoe}, {"llada-moe", K::Bailingmoe},
        {"afmoe", K::Afmoe}, {"default", K::Default}, {"qwen35", K::Qwen35}, {"jais-2", K::Jais2},
        {"spark2_5", K::Spark25}, {"youtu", K::Youtu}, {"granite-embed-multi-97m", K::GraniteEmbMulti},
        {"tiny_aya", K::TinyAya}, {"cohere2moe", K::TinyAya}, {"ufakzeka", K::Ufakzeka}, {"laguna", K::Laguna},
        {"exaone-moe", K::ExaoneMoe}, {"minicpm5", K::Minicpm5}, {"gemma4", K::Newlines}, {"sarvam-moe", K::Newlines},
        {"granite-embed-multi-311m", K::Newlines}};
    for (const Alias& a : kNames)
        if (name == a.name) return a.kind;
    // llama.cpp's whitespace splitter drops the whitespace and does not byte-encode.
    if (name == "whitespace")
        fail("{}: BPE pre-tokenizer 'whitespace' (llama.cpp's whitespace splitter, without GPT-2 byte encoding) is not "
             "supported",
             what);
    fail("{}: unsupported BPE pre-tokenizer '{}' (supported: default, gpt-2, llama-bpe, qwen2, qwen35, starcoder, "
         "smollm, deepseek-coder, deepseek-llm, deepseek-v3, falcon, bloom, poro-chat, gpt3-finnish, viking, tekken, "
         "gpt-4o, llama4, chameleon, superbpe, seed-coder, kimi-k2, bailingmoe, afmoe, hunyuan, hunyuan-dense, grok-2, "
         "trillion, minimax-m2, jais-2, spark2_5, youtu, granite-embed-multi-97m, tiny_aya, ufakzeka, laguna, "
         "exaone-moe, minicpm5, gemma4, sarvam-moe, solar-open, kanana2, talkie, joyai-llm, hy_v4, mellum2 and aliases)",
         what, name);
}

}  // namespace lightllm

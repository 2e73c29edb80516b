// Pre-tokenizers of byte-level BPE vocabularies: split text into the pieces
// that BPE merges never cross. Each known split regex is implemented by hand
// as a scanner over code points (Unicode categories from unicode.h), with the
// regex's leftmost-first alternation order and backtracking reproduced:
//
//   Gpt2:      's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//   Llama3:    (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}
//              | ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//   Qwen2:     as Llama3 with \p{N} (single digits)
//   Starcoder: digits isolated one by one (\p{N}), then Gpt2 (also SmolLM)
//   DeepseekCoder: successive isolated splits [\r\n], \s?\p{L}+, \s?\p{P}+,
//              [\x{4E00}-\x{9FA5}\x{0800}-\x{4E00}\x{AC00}-\x{D7FF}]+, \p{N}
//   DeepseekLlm: [\r\n], \s?[cased letters]+, \s?[!-/:-~！-／：-～‘-‟　-。]+, \s+$,
//              [一-龥ࠀ-一가-퟿]+, \p{N}+ (deepseek-llm)
//   Deepseek3: \p{N}{1,3}, [一-龥぀-ゟ゠-ヿ]+, then punctuation+ASCII word, letters and
//              marks, punctuation/symbols, newlines, spaces (deepseek-v3)
//   Falcon:    [\p{P}\$\+<=>\^~\|`]+, then Gpt2, then [0-9][0-9][0-9]
//   Bloom:     ' ?[^(\s|.,!?…。，、।۔،)]+' (bloom, poro-chat, gpt3-finnish)
//   Viking:    Bloom, then \p{N}
//   Tekken, Gpt4o: case-aware words ([^\r\n\p{L}\p{N}]?U*L+ | ...U+L*, with U/L the
//              upper/lower letter classes of their tokenizer.json; gpt-4o also
//              contractions and \p{N}{1,3}) (tekken; gpt-4o, llama4)
//   Chameleon, Superbpe, SeedCoder, KimiK2, Bailingmoe, Afmoe: llama.cpp's
//              regexes for chameleon, superbpe, seed-coder, bailingmoe (its
//              tokenizer.json pattern with the possessive quantifiers), kimi-k2
//              (Kimi's tiktoken pattern with \p{Han} and class intersections)
//              and afmoe (its digit grouping written as the regex
//              (?<=\p{N})(?=(?:\p{N}{3})*(?!\p{N})): a split after each digit
//              that leaves a multiple of three in its run), run by the
//              split-regex engine (regex_pretokenizer.h)
//   Default, Qwen35, Jais2, Spark25, Youtu, GraniteEmbMulti, TinyAya, Ufakzeka,
//              Laguna, ExaoneMoe, Minicpm5: llama.cpp's regex lists for default
//              (also a GGUF without tokenizer.ggml.pre), qwen35, jais-2,
//              spark2_5, youtu, granite-embed-multi-97m, tiny_aya (its
//              tokenizer.json digit grouping \d{1,3}(?=(?:\d{3})*\b), which
//              llama.cpp replaces by afmoe's), ufakzeka, laguna, exaone-moe and
//              minicpm5, also run by the split-regex engine
//   Newlines:  [^\n]+|[\n]+ (gemma4, sarvam-moe, granite-embed-multi-311m: the
//              SentencePiece-style vocabularies, TokenizerVocab::byte_level false)
// (the multi-step kinds split each piece of the previous step, as llama.cpp does)
//
// Names accepted from GGUF (tokenizer.ggml.pre, llama.cpp's names) are listed
// in bpe_pre_kind_from_name; tokenizer.json pre_tokenizer configurations map
// to the same kinds in tokenizer_vocab.cpp.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace lightllm {

enum class BpePreKind {
    Gpt2, Llama3, Qwen2, Starcoder, DeepseekCoder, DeepseekLlm, Deepseek3, Falcon, Bloom, Viking, Tekken, Gpt4o,
    Chameleon, Superbpe, SeedCoder, KimiK2, Bailingmoe, Afmoe, Default, Qwen35, Jais2, Spark25, Youtu, GraniteEmbMulti,
    TinyAya, Ufakzeka, Laguna, ExaoneMoe, Minicpm5, Newlines
};

// Whether the kind runs through the split-regex engine (its regexes from
// bpe_pre_regexes) rather than a hand-written scanner.
bool bpe_pre_kind_is_regex(BpePreKind kind);

// Throws Error (mentioning `what`, e.g. the file) for names it does not know
// and for llama.cpp's non-byte-level ones (gemma4, sarvam-moe, ...).
// (bpe_pre_names.cpp)
BpePreKind bpe_pre_kind_from_name(const std::string& name, const std::string& what);

// The split regexes of the kinds added after llama.cpp's list (deepseek-llm,
// deepseek-v3, falcon, bloom, viking, tekken, gpt-4o and the regex kinds), one
// per step, as a tokenizer.json Split pattern writes them; empty for the
// kinds exported otherwise.
std::vector<std::string> bpe_pre_regexes(BpePreKind kind);

// Pieces of `text` (views into it), in order; their concatenation is `text`.
// (Regex kinds compile their regexes on each call: BpeTokenizer keeps them
// compiled and calls regex_pre_tokenize instead.)
std::vector<std::string_view> bpe_pre_tokenize(BpePreKind kind, std::string_view text);

}  // namespace lightllm

// Chat templates without a Jinja engine: the template text of a model
// (tokenizer_config.json chat_template / GGUF tokenizer.chat_template) is
// recognised as one of the known families and the conversation is formatted
// in C++ exactly as the Jinja template renders it for plain
// system/user/assistant messages (no tools):
//   ChatML      <|im_start|>role\ncontent<|im_end|>\n   (SmolLM2, Qwen2, Hermes...;
//               a default system message written in the template is kept)
//   Llama2      <s>[INST] <<SYS>>\nsys\n<</SYS>>\n\nuser [/INST] answer </s>
//   Llama3      <|begin_of_text|><|start_header_id|>role<|end_header_id|>\n\ncontent<|eot_id|>
//               (3.1+: system header with "Cutting Knowledge Date" / "Today Date")
//   Mistral     [INST] user [/INST]answer</s> in its v0.2 / v1 / v3 / v3-tekken spellings
//   Phi3        <|user|>\ncontent<|end|>\n<|assistant|>\n
//   Zephyr      <|user|>\ncontent</s>\n<|assistant|>\n
// The result contains the special tokens as text: encode it with
// add_bos = false and parse_special = true (what transformers does).
#pragma once
#include "chat_message.h"
#include "tokenizer.h"
#include <string>
#include <vector>

namespace lightllm {

enum class ChatFormat { ChatML, Llama2, Llama3, Mistral, Phi3, Zephyr };

struct ChatTemplate {
    ChatFormat format = ChatFormat::ChatML;
    std::string variant;         // spelling within the family ("v1", "3.1", ...), for diagnostics
    std::string default_system;  // system message the template adds when the conversation has none ("" = none)
    std::string date;            // Llama3 3.1+: "Today Date" (from the template's default or today's date)
    bool strip_content = false;  // the template trims message contents
    // Details some families vary in (read from the template text):
    bool bos_prefix = false;         // the template starts with bos_token (ChatML, Phi-3)
    bool gen_always = false;         // the generation prompt is written whatever add_generation_prompt says
    bool eos_if_no_gen = false;      // Phi-3: eos_token ends the text when there is no generation prompt
    bool skip_empty_system = false;  // Phi-3.5: an empty system message is left out
};

const char* chat_format_name(ChatFormat f);

// Recognises the family of a Jinja chat template. Throws Error for an empty
// or unrecognised template (the message says which families are known).
ChatTemplate parse_chat_template(const std::string& jinja);

// Formats `msgs` as the template would. Throws Error for conversations the
// template rejects (e.g. roles that do not alternate, a system message where
// none is supported, unknown roles).
std::string apply_chat_template(const ChatTemplate& tmpl, const std::vector<ChatMessage>& msgs, bool add_generation_prompt,
                                const std::string& bos, const std::string& eos);
std::string apply_chat_template(const std::string& jinja_template, const std::vector<ChatMessage>& msgs,
                                bool add_generation_prompt, const std::string& bos, const std::string& eos);

// With the tokenizer's template and BOS/EOS texts. When the model has no
// template or an unknown one, ChatML is used if the vocabulary has
// <|im_start|>; otherwise Error.
std::string apply_chat_template(const Tokenizer& tok, const std::vector<ChatMessage>& msgs, bool add_generation_prompt);

}  // namespace lightllm

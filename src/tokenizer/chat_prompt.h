// The prompt text of a chat request, as transformers' apply_chat_template
// builds it:
//   1. the template: --chat-template (a file, or the name of one of the
//      model's named templates) if given; else the model's "tool_use"
//      template when the request has tools and the model names one; else the
//      model's default template (tokenizer_config.json chat_template / GGUF
//      tokenizer.chat_template);
//   2. rendered by the Jinja interpreter (jinja_template.h) with messages,
//      add_generation_prompt, bos_token, eos_token, tools and documents (None
//      when not given) and the request's chat_template_kwargs;
//   3. only when the model has no template at all: the family formatters of
//      chat_template.h (ChatML when the vocabulary has <|im_start|>).
// The text holds the special tokens as text: encode it with add_bos = false
// and parse_special = true. Template errors are Error "chat template line N:
// ..." (a CLI error, an HTTP 400).
#pragma once
#include "chat_message.h"
#include "tokenizer.h"
#include <string>
#include <vector>

namespace lightllm {

// The template source `--chat-template VALUE` stands for: the contents of the
// file VALUE, or the model's template named VALUE. Throws Error naming the
// flag and the model's template names otherwise.
std::string resolve_chat_template_option(const std::string& value, const Tokenizer& tok);

// `template_override`: a resolved --chat-template ("" = the model's own).
std::string build_chat_prompt(const Tokenizer& tok, const std::vector<ChatMessage>& messages, const ChatTemplateArgs& args,
                              bool add_generation_prompt, const std::string& template_override = "");

// Renders a template source with transformers' variables (for tests and
// callers that hold the template themselves).
std::string render_chat_template(const std::string& source, const std::vector<ChatMessage>& messages,
                                 const ChatTemplateArgs& args, bool add_generation_prompt, const std::string& bos,
                                 const std::string& eos);

}  // namespace lightllm

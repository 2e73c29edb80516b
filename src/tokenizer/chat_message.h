// One message of a chat conversation, as callers submit it and chat templates
// format it, and the other inputs a chat template sees.
#pragma once
#include <string>

namespace lightllm {

struct ChatMessage {
    std::string role;     // system | user | assistant | tool (whatever the chat template accepts)
    std::string content;
    std::string fields_json = {};  // the message's other fields (tool_calls, name, ...) as a JSON object; "" = none
};

// What a chat template sees besides the messages (transformers'
// apply_chat_template arguments), each as JSON text; "" = not given.
struct ChatTemplateArgs {
    std::string tools_json;      // a list of tool schemas
    std::string documents_json;  // a list of documents (RAG templates)
    std::string kwargs_json;     // chat_template_kwargs: an object of extra variables
};

}  // namespace lightllm

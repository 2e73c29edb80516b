// One message of a chat conversation, as callers submit it and chat templates
// format it.
#pragma once
#include <string>

namespace lightllm {

struct ChatMessage {
    std::string role;     // system | user | assistant
    std::string content;
};

}  // namespace lightllm

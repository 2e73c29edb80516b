// StopMatcher: finds stop strings in a growing text and says how much of it
// is safe to stream. Text that could be the start of a stop string is held
// back until the next tokens show whether it is one; a stop string itself is
// never part of the output.
#pragma once
#include <string>
#include <vector>

namespace lightllm {

class StopMatcher {
public:
    explicit StopMatcher(std::vector<std::string> stops);

    struct Scan {
        size_t end = 0;        // text[..end) may be emitted (the final text when stopped)
        bool stopped = false;  // a stop string starts at `end`
    };
    // `text`: everything generated so far; a stop string may start at `from`
    // or later (text before it was emitted already or came before
    // min_new_tokens).
    Scan scan(const std::string& text, size_t from) const;
    bool empty() const { return stops_.empty(); }

private:
    std::vector<std::string> stops_;
};

}  // namespace lightllm

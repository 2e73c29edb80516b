#include "stop_matcher.h"
#include <algorithm>

namespace lightllm {

StopMatcher::StopMatcher(std::vector<std::string> stops) {
    for (auto& s : stops)
        if (!s.empty()) stops_.push_back(std::move(s));
}

StopMatcher::Scan StopMatcher::scan(const std::string& text, size_t from) const {
    Scan r{text.size(), false};
    for (const std::string& s : stops_) {
        size_t pos = text.find(s, from);
        if (pos != std::string::npos && (!r.stopped || pos < r.end)) r = {pos, true};
    }
    if (r.stopped) return r;
    // Hold back the longest tail that is a proper prefix of some stop string.
    size_t hold = 0;
    for (const std::string& s : stops_) {
        size_t k = std::min(s.size() - 1, text.size() - std::min(text.size(), from));
        for (; k > hold; --k)
            if (text.compare(text.size() - k, k, s, 0, k) == 0) break;
        hold = std::max(hold, k);
    }
    r.end = text.size() - hold;
    return r;
}

}  // namespace lightllm

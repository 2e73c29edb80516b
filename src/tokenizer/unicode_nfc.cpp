// NFC and NFKC normalization, as Hugging Face tokenizers' normalizers apply
// them: map each code point by its own NFC (singletons, exclusions) or by its
// full compatibility decomposition (NFKC; unicode_nfkc.h), order combining
// marks canonically, then compose starter + mark pairs that are not blocked
// (UAX #15).
#include "unicode.h"
#include "unicode_nfc.h"
#include "unicode_nfkc.h"
#include <algorithm>
#include <vector>

namespace lightllm {

namespace {

constexpr uint32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr uint32_t kLCount = 19, kVCount = 21, kTCount = 28, kNCount = kVCount * kTCount, kSCount = kLCount * kNCount;

uint8_t ccc(uint32_t cp) {
    if (cp < 0x300) return 0;
    auto it = std::lower_bound(std::begin(kNfcCcc), std::end(kNfcCcc), cp, [](const NfcCcc& e, uint32_t c) { return e.cp < c; });
    return (it != std::end(kNfcCcc) && it->cp == cp) ? it->ccc : 0;
}

// Composite of (a, b), or 0.
uint32_t compose(uint32_t a, uint32_t b) {
    if (a >= kLBase && a < kLBase + kLCount && b >= kVBase && b < kVBase + kVCount)
        return kSBase + ((a - kLBase) * kVCount + (b - kVBase)) * kTCount;
    if (a >= kSBase && a < kSBase + kSCount && (a - kSBase) % kTCount == 0 && b > kTBase && b < kTBase + kTCount)
        return a + (b - kTBase);
    auto it = std::lower_bound(std::begin(kNfcCompose), std::end(kNfcCompose), std::make_pair(a, b),
                               [](const NfcPair& e, const std::pair<uint32_t, uint32_t>& k) {
                                   return e.first != k.first ? e.first < k.first : e.second < k.second;
                               });
    return (it != std::end(kNfcCompose) && it->first == a && it->second == b) ? it->composite : 0;
}

// Canonical ordering and composition of cps (each code point already mapped).
std::string order_and_compose(std::vector<uint32_t>& cps) {
    // Canonical ordering: stable sort of each run of non-starters by class.
    for (size_t i = 0; i < cps.size();) {
        if (ccc(cps[i]) == 0) {
            ++i;
            continue;
        }
        size_t j = i;
        while (j < cps.size() && ccc(cps[j]) != 0) ++j;
        std::stable_sort(cps.begin() + i, cps.begin() + j, [](uint32_t a, uint32_t b) { return ccc(a) < ccc(b); });
        i = j;
    }
    std::vector<uint32_t> out;
    out.reserve(cps.size());
    long starter = -1;
    int last_class = 0;
    for (uint32_t c : cps) {
        int cls = ccc(c);
        if (starter >= 0) {
            uint32_t comp = compose(out[starter], c);
            bool blocked = !(last_class == 0 ? long(out.size()) - 1 == starter : last_class < cls);
            if (comp && !blocked) {
                out[starter] = comp;
                continue;
            }
        }
        if (cls == 0) starter = long(out.size());
        last_class = cls;
        out.push_back(c);
    }
    std::string s;
    s.reserve(out.size());
    for (uint32_t c : out) utf8_append(s, c);
    return s;
}

}  // namespace

std::string unicode_nfc(std::string_view text) {
    // Below U+0300 (lead bytes < 0xCC) nothing changes or composes.
    bool simple = true;
    for (char c : text)
        if (static_cast<unsigned char>(c) >= 0xCC) {
            simple = false;
            break;
        }
    if (simple) return std::string(text);

    std::vector<uint32_t> cps;
    for (size_t i = 0; i < text.size();) {
        size_t len;
        uint32_t cp = utf8_decode(text.data() + i, text.size() - i, &len);
        i += len;
        auto it = std::lower_bound(std::begin(kNfcSingle), std::end(kNfcSingle), cp,
                                   [](const NfcSingle& e, uint32_t c) { return e.cp < c; });
        if (it != std::end(kNfcSingle) && it->cp == cp) {
            for (uint32_t x : it->nfc)
                if (x) cps.push_back(x);
        } else {
            cps.push_back(cp);
        }
    }
    return order_and_compose(cps);
}

std::string unicode_nfkc(std::string_view text) {
    // ASCII is its own NFKC.
    bool ascii = true;
    for (char c : text)
        if (static_cast<unsigned char>(c) >= 0x80) {
            ascii = false;
            break;
        }
    if (ascii) return std::string(text);

    std::vector<uint32_t> cps;
    for (size_t i = 0; i < text.size();) {
        size_t len;
        uint32_t cp = utf8_decode(text.data() + i, text.size() - i, &len);
        i += len;
        auto it = std::lower_bound(std::begin(kNfkdIndex), std::end(kNfkdIndex), cp,
                                   [](const NfkdEntry& e, uint32_t c) { return e.cp < c; });
        if (it != std::end(kNfkdIndex) && it->cp == cp) cps.insert(cps.end(), kNfkdData + it->offset, kNfkdData + it->offset + it->length);
        else cps.push_back(cp);
    }
    return order_and_compose(cps);
}

}  // namespace lightllm

// Unicode helpers of the tokenizers: categories, lossy UTF-8, NFC (expected
// values from Python's unicodedata).
#include "unicode.h"
#include <doctest/doctest.h>

using namespace lightllm;

TEST_CASE("tokenizer unicode: categories and whitespace") {
    CHECK(unicode_is_letter('a'));
    CHECK(unicode_is_letter(0x4F60));   // 你
    CHECK(unicode_is_letter(0x1780));   // Khmer letter
    CHECK_FALSE(unicode_is_letter(0x301));
    CHECK(unicode_category(0x301) == UnicodeCategory::Mark);
    CHECK(unicode_is_number('7'));
    CHECK(unicode_is_number(0x0663));   // Arabic-Indic three
    CHECK(unicode_is_number(0x00BD));   // ½ (No)
    CHECK(unicode_is_punctuation(','));
    CHECK(unicode_is_punctuation(0x3002));  // 。
    CHECK(unicode_category('$') == UnicodeCategory::Symbol);
    CHECK(unicode_category(0x1F999) == UnicodeCategory::Symbol);  // 🦙
    CHECK(unicode_is_whitespace(0x3000));
    CHECK(unicode_is_whitespace(0xA0));
    CHECK(unicode_is_whitespace('\n'));
    CHECK_FALSE(unicode_is_whitespace(0x200B));  // zero width space is not White_Space
}

TEST_CASE("tokenizer unicode: lossy UTF-8") {
    CHECK(utf8_lossy("ok \xE4\xBD\xA0") == "ok \xE4\xBD\xA0");
    CHECK(utf8_lossy("\xFF") == "\xEF\xBF\xBD");
    CHECK(utf8_lossy("\xE4\xBD") == "\xEF\xBF\xBD");          // truncated: one replacement
    CHECK(utf8_lossy("\xE4\xBD" "A") == "\xEF\xBF\xBD" "A");  // maximal subpart
    CHECK(utf8_lossy("\xED\xA0\x80") == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate: 3 (as Python)
    std::string out;
    CHECK(utf8_append_lossy(out, "a\xF0\x9F", false) == 1);  // incomplete tail held back
    CHECK(out == "a");
}

TEST_CASE("tokenizer unicode: NFC") {
    CHECK(unicode_nfc("e\xCC\x81") == "\xC3\xA9");
    CHECK(unicode_nfc("\xE2\x84\xAB") == "\xC3\x85");              // U+212B -> U+00C5
    CHECK(unicode_nfc("\xE1\x84\x80\xE1\x85\xA1\xE1\x86\xA8") == "\xEA\xB0\x81");  // jamo -> 각
    CHECK(unicode_nfc("a\xCC\x82\xCC\xA3") == "\xE1\xBA\xAD");     // reordered then composed
    CHECK(unicode_nfc("a\xCC\xA3\xCC\x82") == "\xE1\xBA\xAD");
    CHECK(unicode_nfc("\xCD\x84") == "\xCC\x88\xCC\x81");          // U+0344 decomposes
    CHECK(unicode_nfc("x\xCC\x81\xCC\x81") == "x\xCC\x81\xCC\x81");
    CHECK(unicode_nfc("caf\xC3\xA9") == "caf\xC3\xA9");
    CHECK(unicode_nfc("\xEF\xA4\x80") == "\xE8\xB1\x88");          // CJK compatibility ideograph
    CHECK(unicode_nfc("plain ascii") == "plain ascii");
}

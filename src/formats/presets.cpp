// Preset lookup (see presets.h).
#include "presets.h"
#include "hf_config.h"
#include <nlohmann/json.hpp>
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace lightllm {

namespace fs = std::filesystem;

namespace {

std::vector<fs::path> search_dirs() {
    std::vector<fs::path> dirs;
    if (const char* env = std::getenv("LIGHTLLM_PRESETS"); env && *env) dirs.emplace_back(env);
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) {
        dirs.push_back(exe.parent_path() / "presets");
        dirs.push_back(exe.parent_path() / ".." / "share" / "lightllm" / "presets");
    }
#ifdef LIGHTLLM_SOURCE_DIR
    dirs.push_back(fs::path(LIGHTLLM_SOURCE_DIR) / "models" / "presets");
#endif
    return dirs;
}

ModelConfig parse_file(const fs::path& p) {
    std::ifstream f(p);
    if (!f) fail("{}: cannot read the preset", p.string());
    std::stringstream ss;
    ss << f.rdbuf();
    return parse_hf_config(ss.str(), p.string());
}

// The preset's file, or an empty path when nothing matches.
fs::path find_preset(const std::string& name_or_path) {
    std::error_code ec;
    const fs::path given(name_or_path);
    if (fs::is_regular_file(given, ec)) return given;
    if (fs::is_directory(given, ec) && fs::is_regular_file(given / "config.json", ec)) return given / "config.json";
    for (const fs::path& d : search_dirs()) {
        const fs::path p = d / (name_or_path + ".json");
        if (fs::is_regular_file(p, ec)) return p;
    }
    return {};
}

}  // namespace

std::vector<std::string> preset_names() {
    std::vector<std::string> names;
    for (const fs::path& d : search_dirs()) {
        std::error_code ec;
        for (const auto& e : fs::directory_iterator(d, ec))
            if (e.path().extension() == ".json") names.push_back(e.path().stem().string());
    }
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    return names;
}

std::string preset_tokenizer_dir(const std::string& name_or_path, const std::string& cache_root) {
    const fs::path file = find_preset(name_or_path);
    if (file.empty() || cache_root.empty()) return "";
    std::ifstream f(file);
    nlohmann::json j = nlohmann::json::parse(f, nullptr, false);
    if (!j.is_object() || !j.contains("lightllm_tokenizer") || !j["lightllm_tokenizer"].is_string()) return "";
    const fs::path dir = fs::path(cache_root) / j["lightllm_tokenizer"].get<std::string>();
    std::error_code ec;
    return fs::is_regular_file(dir / "tokenizer.json", ec) ? dir.string() : "";
}

ModelConfig load_preset_config(const std::string& name_or_path) {
    const fs::path file = find_preset(name_or_path);
    if (!file.empty()) return parse_file(file);
    std::string known;
    for (const std::string& n : preset_names()) known += (known.empty() ? "" : ", ") + n;
    fail("unknown model preset '{}' for --load-format dummy (known presets: {}; or give a config.json path)",
         name_or_path, known.empty() ? "none found" : known);
}

}  // namespace lightllm

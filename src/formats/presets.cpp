// Preset lookup (see presets.h).
#include "presets.h"
#include "hf_config.h"
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

ModelConfig load_preset_config(const std::string& name_or_path) {
    std::error_code ec;
    const fs::path given(name_or_path);
    if (fs::is_regular_file(given, ec)) return parse_file(given);
    if (fs::is_directory(given, ec) && fs::is_regular_file(given / "config.json", ec))
        return parse_file(given / "config.json");
    for (const fs::path& d : search_dirs()) {
        const fs::path p = d / (name_or_path + ".json");
        if (fs::is_regular_file(p, ec)) return parse_file(p);
    }
    std::string known;
    for (const std::string& n : preset_names()) known += (known.empty() ? "" : ", ") + n;
    fail("unknown model preset '{}' for --load-format dummy (known presets: {}; or give a config.json path)",
         name_or_path, known.empty() ? "none found" : known);
}

}  // namespace lightllm

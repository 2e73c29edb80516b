// TempDir: a fresh directory under /tmp, removed with everything in it when
// the object goes out of scope. For tests that write model files.
#pragma once
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/lightllm_test_XXXXXX";
        const char* p = mkdtemp(tmpl);
        path = p ? p : "";
    }
    ~TempDir() {
        std::error_code ec;
        if (!path.empty()) std::filesystem::remove_all(path, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    std::string file(const std::string& name) const { return path + "/" + name; }
    // Writes `bytes` to `name` (relative to the directory); returns the full path.
    std::string write(const std::string& name, const std::string& bytes) const {
        std::string full = file(name);
        std::filesystem::create_directories(std::filesystem::path(full).parent_path());
        std::ofstream out(full, std::ios::binary);
        out.write(bytes.data(), std::streamsize(bytes.size()));
        return full;
    }
};

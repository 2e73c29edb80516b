#include "model_files.h"
#include "check.h"
#include "gguf_model.h"
#include "hf_config.h"
#include "safetensors_reader.h"
#include <cstring>
#include <filesystem>
#include <fstream>

namespace lightllm {
namespace fs = std::filesystem;

bool is_gguf_file(const std::string& path) {
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) return false;
    std::ifstream in(path, std::ios::binary);
    char magic[4] = {};
    in.read(magic, 4);
    return in.gcount() == 4 && std::memcmp(magic, "GGUF", 4) == 0;
}

ModelFiles open_model_files(const std::string& path) {
    std::error_code ec;
    ModelFiles mf;
    mf.path = path;
    if (!fs::exists(path, ec)) fail("{}: no such file or directory", path);
    if (fs::is_directory(path, ec)) {
        mf.config = load_hf_config(path);
        if (!dir_has_safetensors(path))
            fail("{}: no *.safetensors weights in the model directory (PyTorch .bin files are not supported; "
                 "convert them to safetensors)", path);
        mf.tensors = SafetensorsSource::open(path);
        return mf;
    }
    if (is_gguf_file(path)) {
        GgufModel g = open_gguf_model(path);
        mf.config = std::move(g.config);
        mf.tensors = std::move(g.tensors);
        mf.is_gguf = true;
        return mf;
    }
    const std::string name = fs::path(path).filename().string();
    if (name == "config.json") return open_model_files(fs::path(path).parent_path().string());
    fail("{}: not a model directory (config.json + *.safetensors) or a GGUF file", path);
}

}  // namespace lightllm

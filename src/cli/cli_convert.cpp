// `lightllm convert IN -o OUT_DIR [--dtype f16|bf16|f32] [--force]`: a GGUF
// model -> a Hugging Face directory; `lightllm convert --info IN`: a summary
// of a GGUF file or a Hugging Face directory. The work is in model_convert.h.
#include "check.h"
#include "cli.h"
#include "model_convert.h"
#include <cstdio>
#include <memory>

namespace lightllm {

namespace {

struct ConvertArgs {
    std::string input;
    std::string output;
    std::string dtype;
    bool force = false;
    bool info = false;
    bool quiet = false;
};

int run_convert(const ConvertArgs& a) {
    try {
        if (a.info) {
            std::fputs(model_info(a.input).c_str(), stdout);
            return 0;
        }
        if (a.output.empty()) {
            std::fprintf(stderr, "lightllm convert: an output directory is required (-o OUT_DIR), or --info\n");
            return 2;
        }
        ConvertOptions opt;
        opt.force = a.force;
        opt.progress = !a.quiet;
        if (a.dtype == "f16") opt.dtype = FileDType::F16;
        else if (a.dtype == "bf16") opt.dtype = FileDType::BF16;
        else if (a.dtype == "f32") opt.dtype = FileDType::F32;
        convert_gguf_to_hf(a.input, a.output, opt);
        std::fprintf(stderr, "lightllm convert: wrote %s\n", a.output.c_str());
        return 0;
    } catch (const Error& e) {
        std::fprintf(stderr, "lightllm convert: error: %s\n", e.what());
        return 1;
    }
}

}  // namespace

void add_convert_command(CLI::App& root, int& exit_code) {
    CLI::App* cmd = root.add_subcommand("convert", "Convert a GGUF model into a Hugging Face directory");
    auto args = std::make_shared<ConvertArgs>();
    cmd->add_option("input", args->input, "GGUF file (or, with --info, a Hugging Face directory)")->required();
    cmd->add_option("-o,--output", args->output, "Output directory");
    cmd->add_option("--dtype", args->dtype, "Weight dtype of the output (default: the model's, bf16 for quantized files)")
        ->check(CLI::IsMember({"f16", "bf16", "f32"}));
    cmd->add_flag("--force", args->force, "Write into an existing, non-empty output directory");
    cmd->add_flag("--info", args->info, "Print the model's architecture, sizes, tensors and tokenizer, and exit");
    cmd->add_flag("-q,--quiet", args->quiet, "No progress bar");
    cmd->callback([args, &exit_code] { exit_code = run_convert(*args); });
}

}  // namespace lightllm

#include "engine_options.h"
#include "check.h"

namespace lightllm {

DeviceChoice parse_device(const std::string& s) {
    if (s == "auto") return DeviceChoice::Auto;
    if (s == "cpu") return DeviceChoice::Cpu;
    if (s == "cuda") return DeviceChoice::Cuda;
    fail("--device '{}': expected cpu, cuda or auto", s);
}

DTypeChoice parse_compute_dtype(const std::string& s) {
    if (s == "auto") return DTypeChoice::Auto;
    if (s == "f16") return DTypeChoice::F16;
    if (s == "bf16") return DTypeChoice::BF16;
    if (s == "f32") return DTypeChoice::F32;
    fail("--dtype '{}': expected auto, f16, bf16 or f32", s);
}

DTypeChoice parse_kv_cache_dtype(const std::string& s) {
    if (s == "int8") return DTypeChoice::I8;
    if (s == "auto" || s == "f16" || s == "bf16" || s == "f32") return parse_compute_dtype(s);
    fail("--kv-cache-dtype '{}': expected auto, f16, bf16, f32 or int8", s);
}

const char* device_choice_name(DeviceChoice d) {
    switch (d) {
        case DeviceChoice::Auto: return "auto";
        case DeviceChoice::Cpu: return "cpu";
        case DeviceChoice::Cuda: return "cuda";
    }
    return "?";
}

const char* dtype_choice_name(DTypeChoice d) {
    switch (d) {
        case DTypeChoice::Auto: return "auto";
        case DTypeChoice::F16: return "f16";
        case DTypeChoice::BF16: return "bf16";
        case DTypeChoice::F32: return "f32";
        case DTypeChoice::I8: return "int8";
    }
    return "?";
}

}  // namespace lightllm

// The checkout's paths, compiled into the test binary (test_util.h reads them).
#include "test_util.h"

const char* const kCompiledTestData = LIGHTLLM_TEST_DATA;
const char* const kCompiledSharedData = LIGHTLLM_SHARED_DATA;
const char* const kCompiledBinary = LIGHTLLM_BINARY;

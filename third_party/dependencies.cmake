# How each dependency is found. All come from Debian packages (see
# third_party/install_deps.sh); header-only ones are just include paths.
#   CLI11, cpp-httplib, nlohmann-json, doctest: header-only
#   fmt: static/shared from libfmt-dev
#   sentencepiece: shared, loaded at run time (make dist ships it)
find_package(Threads REQUIRED)
find_package(fmt REQUIRED)
find_package(doctest REQUIRED)
find_package(nlohmann_json REQUIRED)
find_package(CLI11 QUIET CONFIG)

find_path(HTTPLIB_INCLUDE_DIR httplib.h REQUIRED)
find_path(SENTENCEPIECE_INCLUDE_DIR sentencepiece_processor.h REQUIRED)
find_library(SENTENCEPIECE_LIBRARY sentencepiece REQUIRED)

add_library(lightllm_deps INTERFACE)
target_include_directories(lightllm_deps INTERFACE ${HTTPLIB_INCLUDE_DIR} ${SENTENCEPIECE_INCLUDE_DIR})
target_link_libraries(lightllm_deps INTERFACE fmt::fmt nlohmann_json::nlohmann_json ${SENTENCEPIECE_LIBRARY})
if(TARGET CLI11::CLI11)
  target_link_libraries(lightllm_deps INTERFACE CLI11::CLI11)
endif()

if(LIGHTLLM_CUDA)
  find_package(CUDAToolkit REQUIRED)
endif()
# Debian's cpp-httplib is a compiled library; its header must see the same
# features the library was built with (cpp-httplib.pc), or class layouts differ.
find_library(HTTPLIB_LIBRARY cpp-httplib REQUIRED)
find_package(ZLIB REQUIRED)  # the server inflates gzip request bodies itself (http_connection.cpp)
target_link_libraries(lightllm_deps INTERFACE ${HTTPLIB_LIBRARY} ZLIB::ZLIB)
target_compile_definitions(lightllm_deps INTERFACE CPPHTTPLIB_OPENSSL_SUPPORT CPPHTTPLIB_ZLIB_SUPPORT CPPHTTPLIB_BROTLI_SUPPORT)

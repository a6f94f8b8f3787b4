//===- replay_main.cpp - run a fuzz target's corpus without libFuzzer -----===//
//
// The regular (GCC, uninstrumented) build links each fuzz target with this
// main instead of libFuzzer and ctest replays its seed corpus through it
// (`fuzz-replay/<target>`): every harness keeps compiling and linking
// against today's code, and every seed still runs cleanly, in every CI run.
// Fuzzing itself needs the clang build (scripts/fuzz.sh).
//
// usage: fuzz-replay-<target> FILE_OR_DIR...   (each file is one input)
//
//===----------------------------------------------------------------------===//

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv) {
  std::vector<std::filesystem::path> inputs;
  for (int i = 1; i < argc; ++i) {
    std::filesystem::path p(argv[i]);
    if (std::filesystem::is_directory(p)) {
      for (const auto &e : std::filesystem::recursive_directory_iterator(p))
        if (e.is_regular_file()) inputs.push_back(e.path());
    } else {
      inputs.push_back(p);
    }
  }
  if (inputs.empty()) {
    std::fprintf(stderr, "fuzz replay: no inputs in the given paths\n");
    return 1;
  }
  for (const auto &p : inputs) {
    std::ifstream f(p, std::ios::binary);
    std::vector<uint8_t> data((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    LLVMFuzzerTestOneInput(data.data(), data.size());
  }
  std::printf("fuzz replay: %zu inputs ran\n", inputs.size());
  return 0;
}

//===- runtime-cli.cpp - fuzz a compiled binary's command line and prompt -===//
//
// Input: NUL-separated arguments, then (after an empty argument, "\0\0") the
// contents of the file that -f/--perplexity read. Runs the runtime's main()
// (runtime/main.cpp, built with LITHE_CLI_FUZZ so leaving throws instead of
// exiting) against a stand-in model: the generated symbols below describe a
// model over a byte-level GPT-2-style tokenizer (256 byte tokens, a few
// merges, <|endoftext|>; written at start-up so each run loads it fast)
// whose forward step is cheap arithmetic. The full GPT-2 vocabulary is
// fuzzed by fuzz/tokenizer.cpp. Flags, values, prompts, beams, sampling, perplexity,
// bench and --ids are exercised; every bad input must be one `error:` line.
// Paths given on the command line are replaced by the scratch files (the
// fuzzer must not read /dev/zero or write where it likes).
//
//===----------------------------------------------------------------------===//

#include "FuzzUtil.h"

#include "lithe/Weights.h"
#include "lithe/runtime/model.h"

#include <cmath>
#include <cstring>
#include <string>
#include <vector>


struct LitheCliExit {
  int code;
};
int lithe_cli_main(int argc, char **argv);

namespace {
constexpr int64_t kVocab = 262, kWidth = 8, kCap = 48, kHeads = 2, kHeadDim = 4;

std::string weightsPath() { return lithe_fuzz::scratchDir() + "/model.lwt"; }

/// GPT-2's byte-to-character table (bytes_to_unicode), as UTF-8.
std::string byteChar(int b) {
  int cp = b;
  if (!((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255))) {
    int n = 0;
    for (int x = 0; x < b; ++x)
      if (!((x >= 33 && x <= 126) || (x >= 161 && x <= 172) || (x >= 174 && x <= 255))) ++n;
    cp = 256 + n;
  }
  std::string s;
  if (cp < 0x80) s += static_cast<char>(cp);
  else {
    s += static_cast<char>(0xC0 | (cp >> 6));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return s;
}

/// A small byte-level tokenizer: 256 byte tokens, 5 merges, <|endoftext|>.
const std::string &tokenizerDir() {
  static std::string dir = [] {
    std::string d = lithe_fuzz::scratchDir() + "/tokenizer";
    std::string mk = "mkdir -p '" + d + "'";
    if (std::system(mk.c_str()) != 0) std::abort();
    std::string vocab = "{";
    for (int b = 0; b < 256; ++b) {
      std::string c = byteChar(b);
      if (c == "\"" || c == "\\") c = "\\" + c;
      vocab += "\"" + c + "\": " + std::to_string(b) + ", ";
    }
    const char *merges[] = {"h e", "l l", "o n", "\u0120 t", "he ll"};
    const char *merged[] = {"he", "ll", "on", "\u0120t", "hell"};
    for (int i = 0; i < 5; ++i) vocab += "\"" + std::string(merged[i]) + "\": " + std::to_string(256 + i) + ", ";
    vocab += "\"<|endoftext|>\": 261}";
    std::string m = "#version: 0.2\n";
    for (const char *x : merges) m += std::string(x) + "\n";
    lithe_fuzz::writeScratch("tokenizer/vocab.json", reinterpret_cast<const uint8_t *>(vocab.data()), vocab.size());
    lithe_fuzz::writeScratch("tokenizer/merges.txt", reinterpret_cast<const uint8_t *>(m.data()), m.size());
    return d;
  }();
  return dir;
}

uint64_t makeWeights() {
  lithe::WeightsWriter w;
  std::string error;
  float x[4] = {1, 2, 3, 4};
  if (!w.add("w", lithe::DType::F32, {4}, x, sizeof x, error) || !w.write(weightsPath(), error)) std::abort();
  auto f = lithe::WeightsFile::open(weightsPath(), error);
  if (!f) std::abort();
  return f->checksum();
}
} // namespace

namespace {
// The stand-in model behind the runtime ABI (runtime/include/lithe/runtime/abi.h).
const int64_t kConfig[] = {lithe::rt::kAbiVersion, kVocab, kWidth, 1, kCap, 256, 2, kWidth, 4, lithe::rt::kTargetCpu};
const int64_t kCacheShapes[] = {kHeads, kHeadDim};
const uint64_t kWeightsChecksum = makeWeights();

int32_t forward(const uint8_t *, uint8_t *arena, void **kp, void **vp, const int64_t *ids, int64_t rows,
                int64_t past, float *hidden) {
  float **k = reinterpret_cast<float **>(kp), **v = reinterpret_cast<float **>(vp); // f32 caches (config[8] = 4)
  if (rows <= 0 || past < 0 || past + rows > kCap) __builtin_trap(); // the runtime's promise
  std::memset(arena, 0, 256);
  for (int64_t r = 0; r < rows; ++r) {
    if (ids[r] < 0 || ids[r] >= kVocab) __builtin_trap();
    for (int64_t h = 0; h < kHeads; ++h)
      for (int64_t d = 0; d < kHeadDim; ++d) {
        size_t at = static_cast<size_t>((h * kCap + past + r) * kHeadDim + d);
        k[0][at] = static_cast<float>(ids[r] % 97);
        v[0][at] = static_cast<float>(d);
      }
    for (int64_t j = 0; j < kWidth; ++j) hidden[r * kWidth + j] = static_cast<float>((ids[r] * 31 + j + past) % 101);
  }
  return 0;
}

void head(const uint8_t *, const float *hidden, int64_t rows, float *logits) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = 0; i < kVocab; ++i)
      logits[r * kVocab + i] = std::sin(0.001f * static_cast<float>(i) * (1.0f + hidden[r * kWidth]));
}
} // namespace

extern "C" {
void lithe_main_query(LitheModelDescriptor *d) {
  d->abiVersion = lithe::rt::kAbiVersion;
  d->config = kConfig;
  d->cacheShapes = kCacheShapes;
  d->weightsChecksum = kWeightsChecksum;
  d->forward = forward;
  d->head = head;
}

// The thread pool is not under test (and -t 1024 per input would be slow).
int lithe_threads_init(int n) { return n > 0 ? n : 1; }
int lithe_threads_count(void) { return 1; }
// Nor are int8 caches (the stand-in's are float: config[kCfgCacheElementBytes] = 4).
size_t lithe_kv_q8_plane_bytes(int64_t heads, int64_t headDim, int64_t capacity) {
  return static_cast<size_t>(heads * capacity * (headDim + 4));
}
// Nor are the kernels' workspaces (the stand-in forward needs none).
struct LitheWorkspace {};
LitheWorkspace *lithe_workspace_new(const LitheWorkspaceShape *, int) { return new LitheWorkspace(); }
void lithe_workspace_free(LitheWorkspace *ws) { delete ws; }
size_t lithe_workspace_bytes(const LitheWorkspace *) { return 0; }
LitheWorkspace *lithe_workspace_bind(LitheWorkspace *) { return nullptr; }
int64_t lithe_workspace_misses(void) { return 0; }
// Nor is the code path --bench reports.
int lithe_kernels_isa(void) { return LITHE_ISA_SCALAR; }
const char *lithe_kernels_isa_name(int) { return "scalar"; }
const char *lithe_kernels_q8_route(void) { return "scalar"; }
int lithe_kernels_bf16_dot(int) { return 0; }
int lithe_kernels_amx(int) { return 0; }
const char *lithe_kernels_amx_status(void) { return "off: not the AVX-512 path"; }
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  (void)kWeightsChecksum; // the weights file exists before the first run
  std::string in(reinterpret_cast<const char *>(data), size);
  std::string file;
  if (size_t at = in.find(std::string("\0\0", 2)); at != std::string::npos) {
    file = in.substr(at + 2);
    in.resize(at);
  }
  std::string filePath = lithe_fuzz::writeScratch("input.txt", reinterpret_cast<const uint8_t *>(file.data()),
                                                  file.size());
  std::vector<std::string> args = {"model", "-m", weightsPath(), "--tokenizer", tokenizerDir()};
  size_t start = 0;
  for (size_t i = 0; i <= in.size() && args.size() < 64; ++i)
    if (i == in.size() || in[i] == '\0') {
      args.push_back(in.substr(start, i - start));
      start = i + 1;
    }
  // Paths: files the fuzzer supplies, never its own choice.
  for (size_t i = 5; i + 1 < args.size(); ++i) {
    const std::string &a = args[i];
    if (a == "-f" || a == "--file" || a == "--perplexity") args[++i] = filePath;
    else if (a == "-m" || a == "--weights") args[++i] = weightsPath();
    else if (a == "--tokenizer") args[++i] = tokenizerDir();
    else if (a == "--dump-logits") args[++i] = lithe_fuzz::scratchDir() + "/logits.bin";
  }
  std::vector<char *> argv;
  for (std::string &a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  FILE *devnull = std::fopen("/dev/null", "w");
  FILE *saved = stdout;
  stdout = devnull; // generated text is not under test; keep the log readable
  try {
    lithe_cli_main(static_cast<int>(argv.size()) - 1, argv.data());
  } catch (const LitheCliExit &) {
  }
  stdout = saved;
  std::fclose(devnull);
  return 0;
}

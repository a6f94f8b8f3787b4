// decode_step_bench.cu - GPT-2 small built from the runtime's CUDA kernels
// (runtime/cuda, cuda_kernels.h) with random fp16 weights, timed on a GPU:
//
//   decode:  one full autoregressive step (embedding, 12 x [LayerNorm, qkv GEMV,
//            KV append, FlashDecoding attention, proj GEMV + residual, LayerNorm,
//            fc GEMV + GELU, proj GEMV + residual], final LayerNorm, LM head +
//            argmax, length + 1) captured once as a CUDA graph; the argmax feeds
//            the next step's embedding, so replays are real greedy decoding.
//            Median per token over 100 steps from two context lengths.
//   prefill: 896 tokens through the same layers with cuBLASLt GEMMs and the
//            causal prefill attention, then the LM head on the last row; timed
//            as a graph replay and as stream launches (which include the host's
//            per-call work).
//
// This is the issue 13 bar (decode <= 0.25 ms/token, prefill 896 <= 1.6-2.9 ms,
// docs/benchmarks.md) measured on the kernels as they are, before any
// compiler lowering: what lithe-lower-cuda can reach at best with them.
//
// Build (repository root): nvcc -O3 -std=c++17 -arch=sm_90 -Iruntime/include \
//   -o decode_step_bench bench/cuda/decode_step_bench.cu runtime/cuda/*.cu -lcublasLt
// Run: ./decode_step_bench [out.json]
#include "lithe/runtime/cuda_kernels.h"

#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#define CUDA_CHECK(call)                                                                       \
  do {                                                                                         \
    cudaError_t e_ = (call);                                                                   \
    if (e_ != cudaSuccess) {                                                                   \
      fprintf(stderr, "CUDA error %s at %s:%d: %s\n", cudaGetErrorString(e_), __FILE__, __LINE__, #call); \
      exit(1);                                                                                 \
    }                                                                                          \
  } while (0)
// the lithe_cuda_* calls return a cudaError_t (or -cublasStatus_t for the GEMM)
#define LITHE_CHECK(call)                                                                      \
  do {                                                                                         \
    int r_ = (call);                                                                           \
    if (r_ != 0) {                                                                             \
      fprintf(stderr, "%s failed with %d at %s:%d\n", #call, r_, __FILE__, __LINE__);          \
      exit(1);                                                                                 \
    }                                                                                          \
  } while (0)

namespace {

constexpr int64_t L = 12, D = 768, H = 12, HD = 64, F = 3072, V = 50257, P = 1024, CAP = 1024, PREFILL = 896;
constexpr float kEps = 1e-5f;

std::mt19937 rng(7);

// A device buffer of n random values (fp16 bits or fp32) with standard deviation sd.
template <typename T> T *randomDevice(size_t n, float sd) {
  std::normal_distribution<float> d(0.0f, sd);
  std::vector<T> h(n);
  for (T &v : h) {
    const float f = d(rng);
    if constexpr (sizeof(T) == 2) v = __half_as_ushort(__float2half(f));
    else v = f;
  }
  T *p;
  CUDA_CHECK(cudaMalloc(&p, n * sizeof(T)));
  CUDA_CHECK(cudaMemcpy(p, h.data(), n * sizeof(T), cudaMemcpyHostToDevice));
  return p;
}
template <typename T> T *zeroDevice(size_t n) {
  T *p;
  CUDA_CHECK(cudaMalloc(&p, n * sizeof(T)));
  CUDA_CHECK(cudaMemset(p, 0, n * sizeof(T)));
  return p;
}

struct Layer {
  uint16_t *wqkv, *wproj, *wfc, *wfc2;      // fp16 [N][K]
  float *bqkv, *bproj, *bfc, *bfc2;         // fp32 biases (the GEMV's, and the fp32-output GEMMs')
  uint16_t *bfcHalf;                        // fc bias in fp16: the prefill fc GEMM writes fp16
  float *ln1g, *ln1b, *ln2g, *ln2b;
  uint16_t *kCache, *vCache;                // [H][CAP][HD]
};

float median(std::vector<float> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

} // namespace

int main(int argc, char **argv) {
  const char *jsonPath = argc > 1 ? argv[1] : nullptr;
  cudaDeviceProp prop;
  CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  printf("device: %s, %d SMs\n", prop.name, prop.multiProcessorCount);

  // --- weights: GPT-2 small's shapes, random, fp16 ---
  const float wsd = 0.02f; // GPT-2's initializer scale keeps activations tame
  uint16_t *wte = randomDevice<uint16_t>(V * D, wsd), *wpe = randomDevice<uint16_t>(P * D, 0.01f);
  std::vector<Layer> layers(L);
  for (Layer &l : layers) {
    l.wqkv = randomDevice<uint16_t>(3 * D * D, wsd);
    l.wproj = randomDevice<uint16_t>(D * D, wsd);
    l.wfc = randomDevice<uint16_t>(F * D, wsd);
    l.wfc2 = randomDevice<uint16_t>(D * F, wsd);
    l.bqkv = randomDevice<float>(3 * D, wsd);
    l.bproj = randomDevice<float>(D, wsd);
    l.bfc = randomDevice<float>(F, wsd);
    l.bfcHalf = randomDevice<uint16_t>(F, wsd);
    l.bfc2 = randomDevice<float>(D, wsd);
    l.ln1g = randomDevice<float>(D, 0.1f);
    l.ln1b = randomDevice<float>(D, 0.1f);
    l.ln2g = randomDevice<float>(D, 0.1f);
    l.ln2b = randomDevice<float>(D, 0.1f);
    l.kCache = zeroDevice<uint16_t>(H * CAP * HD);
    l.vCache = zeroDevice<uint16_t>(H * CAP * HD);
  }
  float *lnfg = randomDevice<float>(D, 0.1f), *lnfb = randomDevice<float>(D, 0.1f);

  // --- activations ---
  float *x = zeroDevice<float>(PREFILL * D), *ln = zeroDevice<float>(D), *qkv = zeroDevice<float>(PREFILL * 3 * D),
        *att = zeroDevice<float>(D), *fc = zeroDevice<float>(F), *logits = zeroDevice<float>(V);
  uint16_t *lnHalf = zeroDevice<uint16_t>(PREFILL * D), *attHalf = zeroDevice<uint16_t>(PREFILL * D),
           *fcHalf = zeroDevice<uint16_t>(PREFILL * F);
  int64_t *token = zeroDevice<int64_t>(1), *past = zeroDevice<int64_t>(1), *prompt = zeroDevice<int64_t>(PREFILL);
  float *attWs = zeroDevice<float>(lithe_cuda_decode_attention_workspace_floats(H, HD, CAP));
  void *headWs = zeroDevice<uint8_t>(lithe_cuda_lm_head_workspace_bytes(V));
  LitheCudaGemm *gemm = lithe_cuda_gemm_create(32u << 20);
  if (!gemm) return fprintf(stderr, "lithe_cuda_gemm_create failed\n"), 1;
  cudaStream_t s;
  CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  cudaEvent_t e0, e1;
  CUDA_CHECK(cudaEventCreate(&e0));
  CUDA_CHECK(cudaEventCreate(&e1));
  const float scale = 1.0f / std::sqrt(float(HD));

  // --- decode: one step, captured ---
  auto decodeStep = [&]() {
    LITHE_CHECK(lithe_cuda_embedding_f16(token, 1, past, wte, wpe, D, x, s));
    for (Layer &l : layers) {
      LITHE_CHECK(lithe_cuda_residual_layer_norm(x, nullptr, 1, D, l.ln1g, l.ln1b, kEps, ln, LITHE_CUDA_F32, s));
      LITHE_CHECK(lithe_cuda_gemv_f16(l.wqkv, ln, LITHE_CUDA_F32, 1, 3 * D, D, l.bqkv, LITHE_CUDA_EPILOGUE_NONE, 0, qkv, s));
      LITHE_CHECK(lithe_cuda_kv_append_f16(qkv + D, qkv + 2 * D, 3 * D, 1, H, HD, past, CAP, l.kCache, l.vCache, s));
      LITHE_CHECK(lithe_cuda_decode_attention_f16(qkv, H, HD, past, CAP, l.kCache, l.vCache, scale, attWs, att, s));
      LITHE_CHECK(lithe_cuda_gemv_f16(l.wproj, att, LITHE_CUDA_F32, 1, D, D, l.bproj, LITHE_CUDA_EPILOGUE_NONE, 1, x, s));
      LITHE_CHECK(lithe_cuda_residual_layer_norm(x, nullptr, 1, D, l.ln2g, l.ln2b, kEps, ln, LITHE_CUDA_F32, s));
      LITHE_CHECK(lithe_cuda_gemv_f16(l.wfc, ln, LITHE_CUDA_F32, 1, F, D, l.bfc, LITHE_CUDA_EPILOGUE_GELU_TANH, 0, fc, s));
      LITHE_CHECK(lithe_cuda_gemv_f16(l.wfc2, fc, LITHE_CUDA_F32, 1, D, F, l.bfc2, LITHE_CUDA_EPILOGUE_NONE, 1, x, s));
    }
    LITHE_CHECK(lithe_cuda_residual_layer_norm(x, nullptr, 1, D, lnfg, lnfb, kEps, ln, LITHE_CUDA_F32, s));
    LITHE_CHECK(lithe_cuda_lm_head_argmax_f16(wte, ln, LITHE_CUDA_F32, V, D, nullptr, headWs, token, s));
    LITHE_CHECK(lithe_cuda_advance_length(past, 1, s));
  };
  cudaGraph_t graph;
  cudaGraphExec_t exec;
  CUDA_CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal));
  decodeStep();
  CUDA_CHECK(cudaStreamEndCapture(s, &graph));
  CUDA_CHECK(cudaGraphInstantiate(&exec, graph, 0));
  size_t nodes = 0;
  CUDA_CHECK(cudaGraphGetNodes(graph, nullptr, &nodes));

  struct DecodeResult {
    int64_t from;
    float graphUs, streamUs;
    int64_t lastToken;
  };
  std::vector<DecodeResult> decode;
  bool tokensOk = true;
  for (int64_t from : {int64_t(128), int64_t(896)}) {
    DecodeResult r{from, 0, 0, 0};
    for (int graphMode = 1; graphMode >= 0; --graphMode) {
      CUDA_CHECK(cudaMemcpy(past, &from, sizeof(from), cudaMemcpyHostToDevice));
      std::vector<float> us;
      for (int step = 0; step < 110; ++step) { // 10 warm-up steps, then 100 timed
        CUDA_CHECK(cudaEventRecord(e0, s));
        if (graphMode) CUDA_CHECK(cudaGraphLaunch(exec, s));
        else decodeStep();
        CUDA_CHECK(cudaEventRecord(e1, s));
        CUDA_CHECK(cudaEventSynchronize(e1));
        float ms = 0;
        CUDA_CHECK(cudaEventElapsedTime(&ms, e0, e1));
        if (step >= 10) us.push_back(ms * 1000);
      }
      (graphMode ? r.graphUs : r.streamUs) = median(us);
    }
    CUDA_CHECK(cudaMemcpy(&r.lastToken, token, sizeof(int64_t), cudaMemcpyDeviceToHost));
    tokensOk = tokensOk && r.lastToken >= 0 && r.lastToken < V;
    decode.push_back(r);
    printf("decode from %4lld: graph %7.1f us/token, stream %7.1f us/token (%zu graph nodes), last token %lld\n",
           (long long)from, r.graphUs, r.streamUs, nodes, (long long)r.lastToken);
  }

  // --- prefill: 896 tokens ---
  auto prefill = [&]() {
    LITHE_CHECK(lithe_cuda_embedding_f16(prompt, PREFILL, past, wte, wpe, D, x, s));
    for (Layer &l : layers) {
      LITHE_CHECK(lithe_cuda_residual_layer_norm(x, nullptr, PREFILL, D, l.ln1g, l.ln1b, kEps, lnHalf, LITHE_CUDA_F16, s));
      LITHE_CHECK(lithe_cuda_gemm_f16(gemm, lnHalf, l.wqkv, PREFILL, 3 * D, D, l.bqkv, LITHE_CUDA_EPILOGUE_NONE, 0, qkv, LITHE_CUDA_F32, s));
      LITHE_CHECK(lithe_cuda_kv_append_f16(qkv + D, qkv + 2 * D, 3 * D, PREFILL, H, HD, past, CAP, l.kCache, l.vCache, s));
      LITHE_CHECK(lithe_cuda_prefill_attention_f16(qkv, 3 * D, PREFILL, H, HD, past, CAP, l.kCache, l.vCache, scale,
                                                   attHalf, LITHE_CUDA_F16, D, s));
      LITHE_CHECK(lithe_cuda_gemm_f16(gemm, attHalf, l.wproj, PREFILL, D, D, l.bproj, LITHE_CUDA_EPILOGUE_NONE, 1, x, LITHE_CUDA_F32, s));
      LITHE_CHECK(lithe_cuda_residual_layer_norm(x, nullptr, PREFILL, D, l.ln2g, l.ln2b, kEps, lnHalf, LITHE_CUDA_F16, s));
      LITHE_CHECK(lithe_cuda_gemm_f16(gemm, lnHalf, l.wfc, PREFILL, F, D, l.bfcHalf, LITHE_CUDA_EPILOGUE_GELU_TANH, 0, fcHalf, LITHE_CUDA_F16, s));
      LITHE_CHECK(lithe_cuda_gemm_f16(gemm, fcHalf, l.wfc2, PREFILL, D, F, l.bfc2, LITHE_CUDA_EPILOGUE_NONE, 1, x, LITHE_CUDA_F32, s));
    }
    LITHE_CHECK(lithe_cuda_residual_layer_norm(x + (PREFILL - 1) * D, nullptr, 1, D, lnfg, lnfb, kEps, ln, LITHE_CUDA_F32, s));
    LITHE_CHECK(lithe_cuda_lm_head_argmax_f16(wte, ln, LITHE_CUDA_F32, V, D, logits, headWs, token, s));
  };
  const int64_t zero = 0;
  CUDA_CHECK(cudaMemcpy(past, &zero, sizeof(zero), cudaMemcpyHostToDevice));
  // on the stream, the host's per-call work (launches, cuBLASLt's plan
  // lookup) is in the time; replayed as a graph, only the device's
  cudaGraph_t prefillGraph = nullptr;
  cudaGraphExec_t prefillExec = nullptr;
  CUDA_CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal));
  prefill();
  const bool prefillCaptured = cudaStreamEndCapture(s, &prefillGraph) == cudaSuccess &&
                               cudaGraphInstantiate(&prefillExec, prefillGraph, 0) == cudaSuccess;
  if (!prefillCaptured) cudaGetLastError(); // time the stream only
  float prefillMedian = 0, prefillGraphMedian = -1;
  for (int graphMode = prefillCaptured ? 1 : 0; graphMode >= 0; --graphMode) {
    std::vector<float> us;
    for (int rep = 0; rep < 13; ++rep) { // 3 warm-up, 10 timed
      CUDA_CHECK(cudaEventRecord(e0, s));
      if (graphMode) CUDA_CHECK(cudaGraphLaunch(prefillExec, s));
      else prefill();
      CUDA_CHECK(cudaEventRecord(e1, s));
      CUDA_CHECK(cudaEventSynchronize(e1));
      float ms = 0;
      CUDA_CHECK(cudaEventElapsedTime(&ms, e0, e1));
      if (rep >= 3) us.push_back(ms * 1000);
    }
    (graphMode ? prefillGraphMedian : prefillMedian) = median(us);
  }
  int64_t prefillToken = -1;
  CUDA_CHECK(cudaMemcpy(&prefillToken, token, sizeof(int64_t), cudaMemcpyDeviceToHost));
  tokensOk = tokensOk && prefillToken >= 0 && prefillToken < V;
  const long long separate = lithe_cuda_gemm_separate_epilogues(gemm);
  printf("prefill %lld: graph %.1f us, stream %.1f us (medians of 10; graph -1: capture failed), token %lld; "
         "GEMM calls with a separate epilogue pass: %lld\n",
         (long long)PREFILL, prefillGraphMedian, prefillMedian, (long long)prefillToken, separate);
  CUDA_CHECK(cudaGetLastError());

  if (jsonPath) {
    if (FILE *f = fopen(jsonPath, "w")) {
      fprintf(f, "{\"device\": \"%s\", \"graph_nodes\": %zu, \"decode\": [", prop.name, nodes);
      for (size_t i = 0; i < decode.size(); ++i)
        fprintf(f, "%s{\"from\": %lld, \"graph_us_per_token\": %.2f, \"stream_us_per_token\": %.2f}", i ? ", " : "",
                (long long)decode[i].from, decode[i].graphUs, decode[i].streamUs);
      fprintf(f, "], \"prefill_tokens\": %lld, \"prefill_graph_us\": %.2f, \"prefill_stream_us\": %.2f, \"gemm_separate_epilogues\": %lld, \"tokens_ok\": %s}\n",
              (long long)PREFILL, prefillGraphMedian, prefillMedian, separate, tokensOk ? "true" : "false");
      fclose(f);
    }
  }
  printf("%s\n", tokensOk ? "decode_step_bench: done" : "decode_step_bench: token out of range");
  return tokensOk ? 0 : 1;
}

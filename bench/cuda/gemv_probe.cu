// gemv_probe.cu - design probe for the CUDA backend (issue 13).
//
// Answers three questions on the GPU it runs on, for GPT-2 small's linear
// layers in fp16 with fp32 accumulation, batch 1:
//
//   1. How fast is cuBLASLt at M=1 (decode) and M=896 (prefill)?
//   2. Does a simple hand-written M=1 GEMV beat cuBLASLt at M=1?
//   3. What does launching cost: 150 tiny kernels (about one GPT-2 small
//      decode step) replayed as a CUDA graph vs launched one by one on a stream?
//
// Layout: y[M][N] = x[M][K] * W^T with W stored row-major as [N][K] (K
// contiguous: PyTorch's nn.Linear layout, the one a GEMV reads best).
//
// Timing: every measured call is captured into a CUDA graph of REPS calls;
// each sample is one replay timed with CUDA events, divided by REPS; we report
// the median of 200 samples after warm-up. Consecutive calls read different
// copies of W (together more than the 60 MB L2), so M=1 numbers are DRAM
// reads, as they are in a real decode step whose weights are 250 MB.
//
// Build (from the repository root): nvcc -O3 -arch=sm_90 -Iruntime/include -o gemv_probe
//   bench/cuda/gemv_probe.cu runtime/cuda/gemv.cu -lcublasLt -lcublas
// Run:   ./gemv_probe [out.json]
#include "lithe/runtime/cuda_kernels.h"

#include <cublasLt.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

// ----------------------------------------------------------------------------
// error checking: every CUDA / cuBLAS call goes through one of these

#define CUDA_CHECK(call)                                                                  \
  do {                                                                                    \
    cudaError_t e_ = (call);                                                              \
    if (e_ != cudaSuccess) {                                                              \
      fprintf(stderr, "CUDA error %s at %s:%d: %s\n", cudaGetErrorString(e_), __FILE__, \
              __LINE__, #call);                                                           \
      exit(1);                                                                            \
    }                                                                                     \
  } while (0)

#define CUBLAS_CHECK(call)                                                                  \
  do {                                                                                      \
    cublasStatus_t s_ = (call);                                                             \
    if (s_ != CUBLAS_STATUS_SUCCESS) {                                                      \
      fprintf(stderr, "cuBLAS error %d at %s:%d: %s\n", (int)s_, __FILE__, __LINE__, #call); \
      exit(1);                                                                              \
    }                                                                                       \
  } while (0)

// ----------------------------------------------------------------------------
// kernels

// The own GEMV is the runtime's (runtime/cuda/gemv.cu, lithe_cuda_gemv_f16):
// one warp per output n, each lane reading 16 bytes (8 halves) of W's row per
// step, fp32 accumulation summed across the warp. It writes y in fp32 (the
// backend's residual stream), cuBLASLt here writes fp16: 2 bytes more per
// output, 0.1-2% of the bytes a call moves.

// The smallest useful kernel: stands in for one of a decode step's ~150
// launches when measuring launch overhead.
__global__ void tiny_kernel(float *counter, int slot) {
  if (threadIdx.x == 0) counter[slot] += 1.0f;
}

// ----------------------------------------------------------------------------
// helpers

static float median(std::vector<float> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// xorshift: fast, seeded, good enough for test data
struct Rng {
  uint64_t s;
  explicit Rng(uint64_t seed) : s(seed * 2654435761ull + 1) {}
  float uniform() { // in [-1, 1)
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return (float)((s >> 40) & 0xffffff) / 8388608.0f - 1.0f;
  }
};

// Time `op(i)` (i = 0..reps-1 inside one sample): capture `reps` calls into a
// CUDA graph, replay it `samples` times, return the median microseconds per
// call. Falls back to plain stream launches if capture fails.
template <typename Op>
static float time_us(cudaStream_t stream, int reps, int samples, Op op, bool *used_graph = nullptr) {
  cudaGraph_t graph = nullptr;
  cudaGraphExec_t exec = nullptr;
  bool graph_ok = cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal) == cudaSuccess;
  if (graph_ok) {
    for (int i = 0; i < reps; ++i) op(i);
    graph_ok = cudaStreamEndCapture(stream, &graph) == cudaSuccess &&
               cudaGraphInstantiate(&exec, graph, 0) == cudaSuccess;
  }
  if (!graph_ok) {
    cudaGetLastError(); // clear the capture error, time on the stream instead
    if (graph) cudaGraphDestroy(graph);
  }
  if (used_graph) *used_graph = graph_ok;
  auto run_once = [&]() {
    if (graph_ok) CUDA_CHECK(cudaGraphLaunch(exec, stream));
    else
      for (int i = 0; i < reps; ++i) op(i);
  };
  for (int w = 0; w < 5; ++w) run_once(); // warm-up
  CUDA_CHECK(cudaStreamSynchronize(stream));
  cudaEvent_t start, stop;
  CUDA_CHECK(cudaEventCreate(&start));
  CUDA_CHECK(cudaEventCreate(&stop));
  std::vector<float> us;
  for (int s = 0; s < samples; ++s) {
    CUDA_CHECK(cudaEventRecord(start, stream));
    run_once();
    CUDA_CHECK(cudaEventRecord(stop, stream));
    CUDA_CHECK(cudaEventSynchronize(stop));
    float ms = 0;
    CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
    us.push_back(ms * 1000.0f / reps);
  }
  CUDA_CHECK(cudaGetLastError());
  CUDA_CHECK(cudaEventDestroy(start));
  CUDA_CHECK(cudaEventDestroy(stop));
  if (graph_ok) {
    CUDA_CHECK(cudaGraphExecDestroy(exec));
    CUDA_CHECK(cudaGraphDestroy(graph));
  }
  return median(us);
}

// ----------------------------------------------------------------------------
// cuBLASLt: y[M][N] = x[M][K] * W^T, W row-major [N][K]. In cuBLAS's
// column-major terms: D (N x M, ld N) = op_T(W as K x N, ld K) * (x as K x M, ld K).

struct LtMatmul {
  cublasLtMatmulDesc_t desc = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, d = nullptr;
  cublasLtMatmulAlgo_t algo;
  bool ok = false;

  LtMatmul(cublasLtHandle_t lt, int M, int N, int K, size_t workspace_bytes) {
    CUBLAS_CHECK(cublasLtMatmulDescCreate(&desc, CUBLAS_COMPUTE_32F, CUDA_R_32F));
    cublasOperation_t transa = CUBLAS_OP_T, transb = CUBLAS_OP_N;
    CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSA, &transa, sizeof(transa)));
    CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSB, &transb, sizeof(transb)));
    CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&a, CUDA_R_16F, K, N, K));
    CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&b, CUDA_R_16F, K, M, K));
    CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&d, CUDA_R_16F, N, M, N));
    cublasLtMatmulPreference_t pref;
    CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&pref));
    uint64_t ws = workspace_bytes;
    CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof(ws)));
    cublasLtMatmulHeuristicResult_t result;
    int returned = 0;
    cublasStatus_t s = cublasLtMatmulAlgoGetHeuristic(lt, desc, a, b, d, d, pref, 1, &result, &returned);
    CUBLAS_CHECK(cublasLtMatmulPreferenceDestroy(pref));
    if (s == CUBLAS_STATUS_SUCCESS && returned > 0) {
      algo = result.algo;
      ok = true;
    } else {
      fprintf(stderr, "cuBLASLt: no algorithm for M=%d N=%d K=%d (status %d)\n", M, N, K, (int)s);
    }
  }
  void run(cublasLtHandle_t lt, const half *W, const half *x, half *y, void *workspace,
           size_t workspace_bytes, cudaStream_t stream) const {
    const float alpha = 1.0f, beta = 0.0f;
    CUBLAS_CHECK(cublasLtMatmul(lt, desc, &alpha, W, a, x, b, &beta, y, d, y, d, &algo, workspace,
                                workspace_bytes, stream));
  }
  ~LtMatmul() {
    cublasLtMatrixLayoutDestroy(a);
    cublasLtMatrixLayoutDestroy(b);
    cublasLtMatrixLayoutDestroy(d);
    cublasLtMatmulDescDestroy(desc);
  }
};

// ----------------------------------------------------------------------------

struct Shape {
  const char *name;
  int K, N;
  int per_layer; // how many times a decode step uses it per layer (0: once per step)
};

struct Result {
  std::string name;
  int K, N;
  float lt_m1_us, own_m1_us, lt_m896_us;
  double lt_m1_gbs, own_m1_gbs, lt_m896_tflops;
  double own_rel_err, lt_rel_err, own_vs_lt_max_abs;
  bool pass;
};

int main(int argc, char **argv) {
  const char *json_path = argc > 1 ? argv[1] : nullptr;
  const int kLayers = 12, kPrefill = 896, kSamples = 200;
  const double kRoofGBs = 4800.0; // HBM3e datasheet; the measured copy roof is printed below

  int dev = 0;
  CUDA_CHECK(cudaSetDevice(dev));
  cudaDeviceProp prop;
  CUDA_CHECK(cudaGetDeviceProperties(&prop, dev));
  printf("device: %s, sm_%d%d, %d SMs, L2 %d MB\n", prop.name, prop.major, prop.minor,
         prop.multiProcessorCount, prop.l2CacheSize >> 20);

  cudaStream_t stream;
  CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  cublasLtHandle_t lt;
  CUBLAS_CHECK(cublasLtCreate(&lt));
  const size_t ws_bytes = 32u << 20;
  void *workspace;
  CUDA_CHECK(cudaMalloc(&workspace, ws_bytes));

  // --- the copy roof: device-to-device copy of 1 GiB, bytes read + written ---
  double copy_gbs = 0;
  {
    const size_t bytes = 1ull << 30;
    void *src, *dst;
    CUDA_CHECK(cudaMalloc(&src, bytes));
    CUDA_CHECK(cudaMalloc(&dst, bytes));
    CUDA_CHECK(cudaMemset(src, 0x3c, bytes));
    float us = time_us(stream, 1, 20, [&](int) {
      CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream));
    });
    copy_gbs = 2.0 * bytes / (us * 1e-6) / 1e9;
    printf("device-to-device copy, 1 GiB: %.1f us, %.0f GB/s (read + write)\n", us, copy_gbs);
    CUDA_CHECK(cudaFree(src));
    CUDA_CHECK(cudaFree(dst));
  }

  // --- the linear layers of GPT-2 small ---
  const Shape shapes[] = {
      {"attn.qkv 768x2304", 768, 2304, 1}, {"attn.proj 768x768", 768, 768, 1},
      {"mlp.fc 768x3072", 768, 3072, 1},   {"mlp.proj 3072x768", 3072, 768, 1},
      {"lm_head 768x50257", 768, 50257, 0},
  };
  std::vector<Result> results;
  bool all_pass = true;

  for (const Shape &sh : shapes) {
    const int K = sh.K, N = sh.N;
    const size_t w_elems = (size_t)K * N, w_bytes = w_elems * sizeof(half);
    // enough copies of W that one sample's calls read > 256 MB (beyond the L2)
    const int copies = std::max(4, (int)((256ull << 20) / w_bytes + 1));

    // host data: x and W random in [-1, 1), W scaled by 1/sqrt(K)
    std::vector<half> hW(w_elems), hx((size_t)kPrefill * K);
    Rng rng(1234 + K * 7 + N);
    const float scale = 1.0f / sqrtf((float)K);
    for (auto &v : hW) v = __float2half(rng.uniform() * scale);
    for (auto &v : hx) v = __float2half(rng.uniform());

    half *dW, *dx, *dy_lt, *dY;
    float *dy_own;
    CUDA_CHECK(cudaMalloc(&dW, w_bytes * copies));
    CUDA_CHECK(cudaMalloc(&dx, hx.size() * sizeof(half)));
    CUDA_CHECK(cudaMalloc(&dy_own, N * sizeof(float)));
    CUDA_CHECK(cudaMalloc(&dy_lt, N * sizeof(half)));
    CUDA_CHECK(cudaMalloc(&dY, (size_t)kPrefill * N * sizeof(half)));
    CUDA_CHECK(cudaMemcpy(dW, hW.data(), w_bytes, cudaMemcpyHostToDevice));
    for (int c = 1; c < copies; ++c)
      CUDA_CHECK(cudaMemcpy(dW + c * w_elems, dW, w_bytes, cudaMemcpyDeviceToDevice));
    CUDA_CHECK(cudaMemcpy(dx, hx.data(), hx.size() * sizeof(half), cudaMemcpyHostToDevice));

    LtMatmul lt1(lt, 1, N, K, ws_bytes), ltP(lt, kPrefill, N, K, ws_bytes);
    auto own = [&](const half *W, float *y) {
      CUDA_CHECK(static_cast<cudaError_t>(lithe_cuda_gemv_f16(reinterpret_cast<const uint16_t *>(W), dx,
                                                              LITHE_CUDA_F16, 1, N, K, nullptr,
                                                              LITHE_CUDA_EPILOGUE_NONE, 0, y, stream)));
    };

    // --- correctness: poison outputs (all-ones bytes are NaN in fp16 and fp32), run both, compare
    //     with a float64 CPU reference on copy 0 ---
    CUDA_CHECK(cudaMemset(dy_own, 0xff, N * sizeof(float)));
    CUDA_CHECK(cudaMemset(dy_lt, 0xff, N * sizeof(half)));
    own(dW, dy_own);
    CUDA_CHECK(cudaGetLastError());
    if (lt1.ok) lt1.run(lt, dW, dx, dy_lt, workspace, ws_bytes, stream);
    CUDA_CHECK(cudaStreamSynchronize(stream));
    std::vector<float> h_own(N);
    std::vector<half> h_lt(N);
    CUDA_CHECK(cudaMemcpy(h_own.data(), dy_own, N * sizeof(float), cudaMemcpyDeviceToHost));
    CUDA_CHECK(cudaMemcpy(h_lt.data(), dy_lt, N * sizeof(half), cudaMemcpyDeviceToHost));
    double ref2 = 0, own_err2 = 0, lt_err2 = 0, own_vs_lt = 0;
    bool nan_seen = false;
    for (int n = 0; n < N; ++n) {
      double ref = 0;
      for (int k = 0; k < K; ++k) ref += (double)__half2float(hW[(size_t)n * K + k]) * __half2float(hx[k]);
      double o = h_own[n], l = __half2float(h_lt[n]);
      if (std::isnan(o) || (lt1.ok && std::isnan(l))) nan_seen = true;
      ref2 += ref * ref;
      own_err2 += (o - ref) * (o - ref);
      lt_err2 += (l - ref) * (l - ref);
      own_vs_lt = std::max(own_vs_lt, std::fabs(o - l));
    }
    const double own_rel = sqrt(own_err2 / ref2), lt_rel = sqrt(lt_err2 / ref2);
    // fp16 output rounding alone gives about 3e-4 relative; 2e-3 leaves room
    const bool pass = !nan_seen && own_rel < 2e-3 && (!lt1.ok || lt_rel < 2e-3);
    all_pass = all_pass && pass;

    // --- timing ---
    const int reps = copies; // one sample walks through every copy of W once
    float own_us = time_us(stream, reps, kSamples, [&](int i) { own(dW + (size_t)i * w_elems, dy_own); });
    bool graph_used = true;
    float lt1_us = lt1.ok ? time_us(stream, reps, kSamples,
                                    [&](int i) { lt1.run(lt, dW + (size_t)i * w_elems, dx, dy_lt, workspace, ws_bytes, stream); },
                                    &graph_used)
                          : NAN;
    float ltP_us = ltP.ok ? time_us(stream, std::min(reps, 10), kSamples,
                                    [&](int i) { ltP.run(lt, dW + (size_t)i * w_elems, dx, dY, workspace, ws_bytes, stream); })
                          : NAN;
    if (!graph_used) printf("  (cuBLASLt calls could not be graph-captured: timed on the stream)\n");

    const double m1_bytes = (double)w_bytes + (K + N) * sizeof(half);
    Result r;
    r.name = sh.name;
    r.K = K;
    r.N = N;
    r.lt_m1_us = lt1_us;
    r.own_m1_us = own_us;
    r.lt_m896_us = ltP_us;
    r.lt_m1_gbs = m1_bytes / (lt1_us * 1e-6) / 1e9;
    r.own_m1_gbs = m1_bytes / (own_us * 1e-6) / 1e9;
    r.lt_m896_tflops = 2.0 * kPrefill * (double)N * K / (ltP_us * 1e-6) / 1e12;
    r.own_rel_err = own_rel;
    r.lt_rel_err = lt_rel;
    r.own_vs_lt_max_abs = own_vs_lt;
    r.pass = pass;
    results.push_back(r);
    printf("%-20s copies %3d | M=1 cuBLASLt %7.2f us %6.0f GB/s | own GEMV %7.2f us %6.0f GB/s | "
           "M=896 cuBLASLt %8.2f us %6.1f TFLOP/s | rel err own %.1e lt %.1e, max |own-lt| %.1e %s\n",
           sh.name, copies, lt1_us, r.lt_m1_gbs, own_us, r.own_m1_gbs, ltP_us, r.lt_m896_tflops, own_rel,
           lt_rel, own_vs_lt, pass ? "PASS" : "FAIL");

    CUDA_CHECK(cudaFree(dW));
    CUDA_CHECK(cudaFree(dx));
    CUDA_CHECK(cudaFree(dy_own));
    CUDA_CHECK(cudaFree(dy_lt));
    CUDA_CHECK(cudaFree(dY));
  }

  // --- a decode step's linear layers, summed: 12 layers x 4 + the LM head ---
  double step_lt = 0, step_own = 0, step_best = 0, step_prefill = 0, step_bytes = 0;
  for (size_t i = 0; i < results.size(); ++i) {
    const Result &r = results[i];
    const int times = shapes[i].per_layer ? kLayers * shapes[i].per_layer : 1;
    step_lt += times * r.lt_m1_us;
    step_own += times * r.own_m1_us;
    step_best += times * std::min(r.lt_m1_us, r.own_m1_us);
    step_prefill += times * r.lt_m896_us;
    step_bytes += times * 2.0 * r.K * r.N;
  }
  printf("decode step, linear layers only (%d calls, %.0f MB of fp16 weights; roof %.1f us at %.0f GB/s, %.1f us at the copy roof):\n"
         "  all cuBLASLt %.1f us, all own GEMV %.1f us, best of each %.1f us\n"
         "prefill %d, linear layers only, cuBLASLt: %.1f us\n",
         kLayers * 4 + 1, step_bytes / 1e6, step_bytes / (kRoofGBs * 1e3), kRoofGBs, step_bytes / (copy_gbs * 1e3),
         step_lt, step_own, step_best, kPrefill, step_prefill);

  // --- launch overhead: 150 tiny kernels per "step", 1000 steps ---
  const int kKernels = 150, kSteps = 1000;
  float *counter;
  CUDA_CHECK(cudaMalloc(&counter, kKernels * sizeof(float)));
  CUDA_CHECK(cudaMemset(counter, 0, kKernels * sizeof(float)));
  auto step = [&]() {
    for (int k = 0; k < kKernels; ++k) tiny_kernel<<<1, 32, 0, stream>>>(counter, k);
  };
  cudaEvent_t start, stop;
  CUDA_CHECK(cudaEventCreate(&start));
  CUDA_CHECK(cudaEventCreate(&stop));
  // stream: launch one by one
  for (int s = 0; s < 20; ++s) step(); // warm-up
  CUDA_CHECK(cudaStreamSynchronize(stream));
  CUDA_CHECK(cudaEventRecord(start, stream));
  for (int s = 0; s < kSteps; ++s) step();
  CUDA_CHECK(cudaEventRecord(stop, stream));
  CUDA_CHECK(cudaEventSynchronize(stop));
  float stream_ms = 0;
  CUDA_CHECK(cudaEventElapsedTime(&stream_ms, start, stop));
  // graph: capture one step, replay it
  cudaGraph_t graph;
  cudaGraphExec_t exec;
  CUDA_CHECK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
  step();
  CUDA_CHECK(cudaStreamEndCapture(stream, &graph));
  CUDA_CHECK(cudaGraphInstantiate(&exec, graph, 0));
  for (int s = 0; s < 20; ++s) CUDA_CHECK(cudaGraphLaunch(exec, stream)); // warm-up
  CUDA_CHECK(cudaStreamSynchronize(stream));
  CUDA_CHECK(cudaEventRecord(start, stream));
  for (int s = 0; s < kSteps; ++s) CUDA_CHECK(cudaGraphLaunch(exec, stream));
  CUDA_CHECK(cudaEventRecord(stop, stream));
  CUDA_CHECK(cudaEventSynchronize(stop));
  float graph_ms = 0;
  CUDA_CHECK(cudaEventElapsedTime(&graph_ms, start, stop));
  CUDA_CHECK(cudaGetLastError());
  // every slot was incremented once per step: 20 + 1000 + 20 + 1000
  std::vector<float> hc(kKernels);
  CUDA_CHECK(cudaMemcpy(hc.data(), counter, kKernels * sizeof(float), cudaMemcpyDeviceToHost));
  const bool launch_ok = std::all_of(hc.begin(), hc.end(), [&](float v) { return v == 2.0f * (kSteps + 20); });
  const double stream_step_us = stream_ms * 1000.0 / kSteps, graph_step_us = graph_ms * 1000.0 / kSteps;
  printf("launch overhead, %d tiny kernels per step, %d steps: stream %.1f us/step (%.2f us/kernel), "
         "graph %.1f us/step (%.2f us/kernel), %.1fx; counters %s\n",
         kKernels, kSteps, stream_step_us, stream_step_us / kKernels, graph_step_us, graph_step_us / kKernels,
         stream_step_us / graph_step_us, launch_ok ? "ok" : "WRONG");
  all_pass = all_pass && launch_ok;

  if (json_path) {
    FILE *f = fopen(json_path, "w");
    if (!f) {
      perror(json_path);
      return 1;
    }
    fprintf(f, "{\n  \"device\": \"%s\", \"sm\": %d%d, \"sms\": %d, \"l2_mb\": %d,\n", prop.name, prop.major,
            prop.minor, prop.multiProcessorCount, prop.l2CacheSize >> 20);
    fprintf(f, "  \"copy_roof_gbs\": %.1f, \"datasheet_roof_gbs\": %.0f, \"samples\": %d,\n", copy_gbs, kRoofGBs, kSamples);
    fprintf(f, "  \"linear\": [\n");
    for (size_t i = 0; i < results.size(); ++i) {
      const Result &r = results[i];
      fprintf(f,
              "    {\"name\": \"%s\", \"K\": %d, \"N\": %d, \"lt_m1_us\": %.3f, \"lt_m1_gbs\": %.1f, "
              "\"own_m1_us\": %.3f, \"own_m1_gbs\": %.1f, \"lt_m896_us\": %.3f, \"lt_m896_tflops\": %.2f, "
              "\"own_rel_err\": %.3e, \"lt_rel_err\": %.3e, \"own_vs_lt_max_abs\": %.3e, \"pass\": %s}%s\n",
              r.name.c_str(), r.K, r.N, r.lt_m1_us, r.lt_m1_gbs, r.own_m1_us, r.own_m1_gbs, r.lt_m896_us,
              r.lt_m896_tflops, r.own_rel_err, r.lt_rel_err, r.own_vs_lt_max_abs, r.pass ? "true" : "false",
              i + 1 < results.size() ? "," : "");
    }
    fprintf(f, "  ],\n");
    fprintf(f, "  \"decode_step_linear\": {\"calls\": %d, \"weight_mb\": %.1f, \"lt_us\": %.2f, \"own_us\": %.2f, "
               "\"best_us\": %.2f},\n",
            kLayers * 4 + 1, step_bytes / 1e6, step_lt, step_own, step_best);
    fprintf(f, "  \"prefill896_linear_lt_us\": %.2f,\n", step_prefill);
    fprintf(f, "  \"launch\": {\"kernels_per_step\": %d, \"steps\": %d, \"stream_us_per_step\": %.2f, "
               "\"graph_us_per_step\": %.2f, \"counters_ok\": %s},\n",
            kKernels, kSteps, stream_step_us, graph_step_us, launch_ok ? "true" : "false");
    fprintf(f, "  \"all_pass\": %s\n}\n", all_pass ? "true" : "false");
    fclose(f);
  }

  CUDA_CHECK(cudaFree(counter));
  CUDA_CHECK(cudaFree(workspace));
  CUBLAS_CHECK(cublasLtDestroy(lt));
  CUDA_CHECK(cudaStreamDestroy(stream));
  printf("%s\n", all_pass ? "gemv_probe: PASS" : "gemv_probe: FAIL");
  return all_pass ? 0 : 1;
}

//===- cublaslt_loader.cpp - cuBLASLt, loaded when first used -------------===//
//
// lithec --target=cuda executables do not link libcublasLt.so: a machine
// with a driver but without the CUDA toolkit's cuBLAS (or with it in another
// directory) would otherwise refuse to start the executable at all, before
// any of our one-line errors. These definitions of the twelve cuBLASLt
// functions runtime/cuda/gemm.cu calls open the library on first use (the
// executable's rpath, /usr/local/cuda/lib64, then LD_LIBRARY_PATH) and
// forward to it; when it cannot be opened they return
// CUBLAS_STATUS_NOT_INITIALIZED, lithe_cuda_gemm_create fails, and the
// runtime says so (lithe_cuda_cublaslt_error).
//
// Linked only into the executables (LitheCudaRuntime); the unit tests link
// the real library.
//
//===----------------------------------------------------------------------===//

#include "lithe/runtime/cuda_ops.h"

#include <cublasLt.h>
#include <dlfcn.h>

#include <mutex>
#include <string>

namespace {

struct Library {
  void *handle = nullptr;
  std::string error;
  Library() {
    for (const char *name : {"libcublasLt.so." LITHE_CUBLASLT_MAJOR, "libcublasLt.so"}) {
      if ((handle = dlopen(name, RTLD_NOW | RTLD_LOCAL))) return;
    }
    const char *why = dlerror();
    error = std::string("cannot load cuBLASLt (libcublasLt.so." LITHE_CUBLASLT_MAJOR "): ") + (why ? why : "not found") +
            "; install the CUDA toolkit's cuBLAS or add its directory to LD_LIBRARY_PATH";
  }
};

Library &library() {
  static Library lib;
  return lib;
}

template <typename Fn> Fn *symbol(const char *name) {
  Library &lib = library();
  return lib.handle ? reinterpret_cast<Fn *>(dlsym(lib.handle, name)) : nullptr;
}

} // namespace

extern "C" const char *lithe_cuda_cublaslt_error(void) {
  const std::string &e = library().error;
  return e.empty() ? nullptr : e.c_str();
}

// Each forwarder: the library's function of the same name and type, looked
// up once.
#define LITHE_FORWARD(name, params, args)                                                                          \
  extern "C" cublasStatus_t name params {                                                                          \
    static auto *fn = symbol<decltype(name)>(#name);                                                               \
    return fn ? fn args : CUBLAS_STATUS_NOT_INITIALIZED;                                                           \
  }

LITHE_FORWARD(cublasLtCreate, (cublasLtHandle_t * h), (h))
LITHE_FORWARD(cublasLtDestroy, (cublasLtHandle_t h), (h))
LITHE_FORWARD(cublasLtMatmulDescCreate, (cublasLtMatmulDesc_t * d, cublasComputeType_t c, cudaDataType_t s), (d, c, s))
LITHE_FORWARD(cublasLtMatmulDescDestroy, (cublasLtMatmulDesc_t d), (d))
LITHE_FORWARD(cublasLtMatmulDescSetAttribute,
              (cublasLtMatmulDesc_t d, cublasLtMatmulDescAttributes_t a, const void *b, size_t n), (d, a, b, n))
LITHE_FORWARD(cublasLtMatrixLayoutCreate,
              (cublasLtMatrixLayout_t * l, cudaDataType t, uint64_t r, uint64_t c, int64_t ld), (l, t, r, c, ld))
LITHE_FORWARD(cublasLtMatrixLayoutDestroy, (cublasLtMatrixLayout_t l), (l))
LITHE_FORWARD(cublasLtMatmulPreferenceCreate, (cublasLtMatmulPreference_t * p), (p))
LITHE_FORWARD(cublasLtMatmulPreferenceDestroy, (cublasLtMatmulPreference_t p), (p))
LITHE_FORWARD(cublasLtMatmulPreferenceSetAttribute,
              (cublasLtMatmulPreference_t p, cublasLtMatmulPreferenceAttributes_t a, const void *b, size_t n),
              (p, a, b, n))
LITHE_FORWARD(cublasLtMatmulAlgoGetHeuristic,
              (cublasLtHandle_t h, cublasLtMatmulDesc_t d, cublasLtMatrixLayout_t a, cublasLtMatrixLayout_t b,
               cublasLtMatrixLayout_t c, cublasLtMatrixLayout_t dl, cublasLtMatmulPreference_t p, int n,
               cublasLtMatmulHeuristicResult_t r[], int *found),
              (h, d, a, b, c, dl, p, n, r, found))
LITHE_FORWARD(cublasLtMatmul,
              (cublasLtHandle_t h, cublasLtMatmulDesc_t d, const void *alpha, const void *A, cublasLtMatrixLayout_t a,
               const void *B, cublasLtMatrixLayout_t b, const void *beta, const void *C, cublasLtMatrixLayout_t c,
               void *D, cublasLtMatrixLayout_t dl, const cublasLtMatmulAlgo_t *algo, void *ws, size_t wsBytes,
               cudaStream_t s),
              (h, d, alpha, A, a, B, b, beta, C, c, D, dl, algo, ws, wsBytes, s))

//===- server.h - an OpenAI-compatible completions server ---------*- C++ -*-===//
//
// `model --serve`: OpenAI's /v1/completions (streamed as server-sent events
// with "stream": true), /v1/models and /health over HTTP (cpp-httplib), every
// request decoded by one Batcher, so concurrent requests share decoding
// steps.
//
//===----------------------------------------------------------------------===//

#ifndef LITHE_RUNTIME_SERVER_H
#define LITHE_RUNTIME_SERVER_H

#include "lithe/runtime/batcher.h"
#include "lithe/runtime/openai.h"

#include <string>

namespace lithe::rt {

struct ServeOptions {
  std::string host = "127.0.0.1";
  int port = 8080;           // 0: any free port (printed on stderr)
  std::string modelName;     // what /v1/models lists
  int64_t maxBodyBytes = 1 << 20;
  int64_t maxTokens = 0;     // largest max_tokens a request may ask (0: the context)
  int64_t maxQueued = 64;    // requests in flight (queued or decoding) before 503
  int64_t defaultMaxTokens = 16;
  bool randomSeed = true;    // requests without "seed" get a fresh one
  Sampling defaults;         // the command line's sampling flags
};

/// Serves until SIGINT or SIGTERM; returns the exit status. Errors at start
/// (the address is taken) are one line on stderr and status 1.
int serve(Batcher &batcher, const ServeOptions &options);

/// The server lives in its own shared library (liblithe-serve.so, linked
/// with cpp-httplib), loaded by `--serve` only, so a compiled binary starts
/// on machines without cpp-httplib (and the OpenSSL, zlib and brotli it
/// pulls in). The executable exports the runtime the library calls. Bumped
/// when ServeOptions, Batcher or what serve() reads changes.
constexpr int kServeAbi = 1;

/// Loads the server library and runs serve(): the library is LITHE_SERVE_LIB
/// if set, else liblithe-serve.so beside the executable, else the one the
/// runtime was built with. A library that cannot be loaded, or is of another
/// ABI, is one line on stderr naming it and status 1.
int serveFromLibrary(Batcher &batcher, const ServeOptions &options);

} // namespace lithe::rt

/// The library's entry point (dlsym'd): kServeAbi, and serve().
extern "C" int lithe_serve_abi(void);
extern "C" int lithe_serve(lithe::rt::Batcher *batcher, const lithe::rt::ServeOptions *options);

#endif // LITHE_RUNTIME_SERVER_H

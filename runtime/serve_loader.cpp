//===- serve_loader.cpp - load the server library for --serve -------------===//
//
// `--serve` is the only part of a compiled binary that speaks HTTP, and
// cpp-httplib is a shared library (with OpenSSL, zlib and brotli behind it).
// The server is therefore its own library, loaded here when asked for, so
// the binary itself needs none of them to start, generate, score or run
// batches.
//
//===----------------------------------------------------------------------===//

#include "lithe/runtime/server.h"

#include <dlfcn.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <sys/stat.h>

namespace lithe::rt {
namespace {

bool isFile(const std::string &p) {
  struct stat st;
  return !p.empty() && ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string besideExecutable() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "";
  std::string exe(buf, static_cast<size_t>(n));
  size_t slash = exe.find_last_of('/');
  return slash == std::string::npos ? "" : exe.substr(0, slash + 1) + "liblithe-serve.so";
}

} // namespace

int serveFromLibrary(Batcher &batcher, const ServeOptions &options) {
  std::string path;
  if (const char *env = std::getenv("LITHE_SERVE_LIB")) {
    path = env;
    if (!isFile(path)) {
      std::fprintf(stderr, "error: --serve: LITHE_SERVE_LIB=%s: no such file\n", env);
      return 1;
    }
  } else if (isFile(besideExecutable())) {
    path = besideExecutable();
  } else {
#ifdef LITHE_SERVE_LIB_BUILT
    path = LITHE_SERVE_LIB_BUILT;
#endif
    if (!isFile(path)) {
      std::fprintf(stderr,
                   "error: --serve: the server library liblithe-serve.so is not beside this executable%s%s "
                   "(copy it from the Lithe build's lib/, or set LITHE_SERVE_LIB)\n",
                   path.empty() ? "" : " nor at ", path.c_str());
      return 1;
    }
  }
  void *lib = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    std::fprintf(stderr, "error: --serve: cannot load %s: %s (the server needs cpp-httplib: Debian's libcpp-httplib0.11)\n",
                 path.c_str(), ::dlerror());
    return 1;
  }
  using AbiFn = int (*)();
  using ServeFn = int (*)(Batcher *, const ServeOptions *);
  auto abi = reinterpret_cast<AbiFn>(::dlsym(lib, "lithe_serve_abi"));
  auto fn = reinterpret_cast<ServeFn>(::dlsym(lib, "lithe_serve"));
  if (!abi || !fn) {
    std::fprintf(stderr, "error: --serve: %s is not a Lithe server library (no lithe_serve)\n", path.c_str());
    return 1;
  }
  if (abi() != kServeAbi) {
    std::fprintf(stderr, "error: --serve: %s is built for server ABI %d, this executable for %d (use the library "
                 "from the Lithe build that compiled it)\n", path.c_str(), abi(), kServeAbi);
    return 1;
  }
  return fn(&batcher, &options);
}

} // namespace lithe::rt

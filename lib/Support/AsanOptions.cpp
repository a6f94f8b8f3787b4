//===- AsanOptions.cpp - ASan defaults for binaries that link LLVM --------===//
//
// Only compiled in sanitizer builds (-DLITHE_SANITIZE=ON), into every binary
// that links libLLVM/libMLIR (it rides on LITHE_MLIR_LIBS).
//
// LLVM's BumpPtrAllocator is header-only. In our ASan-instrumented code its
// inline copies poison each new slab and unpoison what they hand out; the
// copies inside Debian's uninstrumented libMLIR.so do neither. MLIR's type and
// attribute uniquer shares one allocator between both, so a builtin type that
// libMLIR places in a slab our code opened stays "poisoned", and the next
// dyn_cast on it from our code reads as use-after-poison although the memory is
// live (seen in KernelsToLLVM's type converter on calibrated pipelines). Real
// heap errors (use after free, overflow into a redzone) are still reported:
// only the allocators' manual poisoning is turned off. The ASAN_OPTIONS
// environment variable still overrides any of these.
//
//===----------------------------------------------------------------------===//

extern "C" const char *__asan_default_options() {
  return "allow_user_poisoning=0";
}

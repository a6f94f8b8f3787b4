// Run-time ISA selection.
#include "internal.h"

#include <atomic>
#include <cstring>

namespace lithe {
namespace kern {
namespace {

bool cpu_has(int isa) {
  switch (isa) {
  case LITHE_ISA_SCALAR:
    return true;
#if LITHE_X86 && defined(__GNUC__)
  case LITHE_ISA_AVX2:
    __builtin_cpu_init();
    return avx2_table() && __builtin_cpu_supports("avx2") &&
           __builtin_cpu_supports("fma");
  case LITHE_ISA_AVX512:
    __builtin_cpu_init();
    return avx512_table() && cpu_has(LITHE_ISA_AVX2) &&
           __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
#endif
  default:
    return false;
  }
}

const KernelTable *table_for(int isa) {
  switch (isa) {
  case LITHE_ISA_AVX512:
    return avx512_table();
  case LITHE_ISA_AVX2:
    return avx2_table();
  default:
    return scalar_table();
  }
}

int best_isa() {
  static const int best = [] {
    int b = LITHE_ISA_SCALAR;
    if (cpu_has(LITHE_ISA_AVX2))
      b = LITHE_ISA_AVX2;
    if (cpu_has(LITHE_ISA_AVX512))
      b = LITHE_ISA_AVX512;
    return b;
  }();
  return best;
}

std::atomic<const KernelTable *> g_table{nullptr};

const KernelTable *initial_table() {
  int isa = best_isa();
  if (const char *e = std::getenv("LITHE_ISA")) {
    int want = -1;
    if (!std::strcmp(e, "scalar"))
      want = LITHE_ISA_SCALAR;
    else if (!std::strcmp(e, "avx2"))
      want = LITHE_ISA_AVX2;
    else if (!std::strcmp(e, "avx512"))
      want = LITHE_ISA_AVX512;
    if (want >= 0 && want <= isa && cpu_has(want))
      isa = want;
  }
  return table_for(isa);
}

// AVX512-BF16 dot products: -1 undecided, 0 off, 1 on (when the CPU has them).
std::atomic<int> g_bf16dot{-1};

bool bf16dot_cpu() {
#if LITHE_X86 && defined(__GNUC__)
  __builtin_cpu_init();
  return avx512bf16_kernels() && cpu_has(LITHE_ISA_AVX512) &&
         __builtin_cpu_supports("avx512bf16");
#else
  return false;
#endif
}

// AVX512-VNNI (vpdpbusd) is not implied by AVX-512F: checked by itself.
// LITHE_VNNI=0 takes AVX2's vpmaddubsw route instead (tests, benchmarks).
bool vnni_usable() {
  static const bool ok = [] {
    if (!q8i_avx512vnni())
      return false;
#if LITHE_X86 && defined(__GNUC__)
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx512vnni"))
      return false;
#else
    return false;
#endif
    const char *e = std::getenv("LITHE_VNNI");
    return !(e && !std::strcmp(e, "0"));
  }();
  return ok;
}

// AMX: -1 undecided, else an AmxMode. LITHE_AMX=0 turns it off,
// LITHE_AMX=emulate runs the AMX kernels on the scalar tile model (tests).
std::atomic<int> g_amx{-1};

int amx_initial() {
  const char *e = std::getenv("LITHE_AMX");
  if (e && !std::strcmp(e, "0"))
    return kAmxOff;
  if (e && !std::strcmp(e, "emulate"))
    return kAmxEmulated;
  return amx_hardware() ? kAmxHardware : kAmxOff;
}

} // namespace

int amx_mode() {
  if (active_table()->isa != LITHE_ISA_AVX512)
    return kAmxOff;
  int v = g_amx.load(std::memory_order_relaxed);
  if (v < 0) {
    v = amx_initial();
    g_amx.store(v, std::memory_order_relaxed);
  }
  return v;
}

const BF16Dot *bf16dot() {
  int v = g_bf16dot.load(std::memory_order_relaxed);
  if (v < 0) {
    const char *e = std::getenv("LITHE_BF16_DOT");
    v = bf16dot_cpu() && !(e && !std::strcmp(e, "0"));
    g_bf16dot.store(v, std::memory_order_relaxed);
  }
  if (!v || active_table()->isa != LITHE_ISA_AVX512)
    return nullptr;
  if (const int amx = amx_mode())
    if (const BF16Dot *k = amx_bf16_kernels(amx == kAmxEmulated))
      return k;
  return avx512bf16_kernels();
}

const Q8iRoute *active_q8i() {
  switch (active_table()->isa) {
  case LITHE_ISA_AVX512:
    if (vnni_usable()) {
      if (const int amx = amx_mode())
        if (const Q8iRoute *r = q8i_amx(amx == kAmxEmulated))
          return r;
      return q8i_avx512vnni();
    }
    [[fallthrough]];
  case LITHE_ISA_AVX2:
    if (const Q8iRoute *r = q8i_avx2())
      return r;
    [[fallthrough]];
  default:
    return q8i_scalar();
  }
}

const KernelTable *active_table() {
  const KernelTable *t = g_table.load(std::memory_order_acquire);
  if (!t) {
    t = initial_table();
    g_table.store(t, std::memory_order_release);
  }
  return t;
}

} // namespace kern
} // namespace lithe

using namespace lithe::kern;

extern "C" int lithe_kernels_isa(void) { return active_table()->isa; }

extern "C" int lithe_kernels_best_isa(void) { return best_isa(); }

extern "C" int lithe_kernels_force_isa(int isa) {
  if (isa == LITHE_ISA_AUTO) {
    g_table.store(table_for(best_isa()));
    return 0;
  }
  if (isa < LITHE_ISA_SCALAR || isa > LITHE_ISA_AVX512 || !cpu_has(isa))
    return -1;
  g_table.store(table_for(isa));
  return 0;
}

extern "C" int lithe_kernels_bf16_dot(int mode) {
  if (mode == 0)
    g_bf16dot.store(0);
  else if (mode > 0)
    g_bf16dot.store(bf16dot_cpu() ? 1 : 0);
  return bf16dot() ? 1 : 0;
}

extern "C" int lithe_kernels_amx(int mode) {
  if (mode == kAmxOff || mode == kAmxEmulated)
    g_amx.store(mode);
  else if (mode == kAmxHardware)
    g_amx.store(amx_hardware() ? kAmxHardware : kAmxOff);
  return amx_mode();
}

extern "C" const char *lithe_kernels_amx_status(void) {
  switch (amx_mode()) {
  case kAmxHardware:
    return "tiles";
  case kAmxEmulated:
    return "emulated tiles";
  default:
    break;
  }
  if (active_table()->isa != LITHE_ISA_AVX512)
    return "off: not the AVX-512 path";
  if (const char *why = amx_off_reason())
    return why;
  return "off: LITHE_AMX=0";
}

extern "C" const char *lithe_kernels_isa_name(int isa) {
  switch (isa) {
  case LITHE_ISA_SCALAR:
    return "scalar";
  case LITHE_ISA_AVX2:
    return "avx2";
  case LITHE_ISA_AVX512:
    return "avx512";
  default:
    return "unknown";
  }
}

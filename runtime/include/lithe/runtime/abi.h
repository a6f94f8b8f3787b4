/*===- abi.h - what lithec generates for one model, in C -------------------===*
 *
 * One exported function per compiled model, `lithe_<name>_query` (lithec
 * --model-name, default "model"), fills this versioned descriptor; every
 * other symbol of the model is private, so several compiled models link into
 * one process. An executable also gets `lithe_main_query` (weak), which the
 * command line uses. Everything a forward call changes is passed in (the
 * weights mapping, an activation arena of config[kCfgArenaBytes] bytes, the
 * KV caches, the output buffer), so calls on different arenas and caches are
 * independent. runtime/include/lithe/runtime/lithe.h is the API embedders
 * use on top of it.
 *
 *===----------------------------------------------------------------------===*/

#ifndef LITHE_RUNTIME_ABI_H
#define LITHE_RUNTIME_ABI_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct LitheModelDescriptor {
  int64_t abiVersion;         /* the generator's ABI version (lithe::rt::kAbiVersion) */
  const int64_t *config;      /* indexed by lithe::rt::ConfigIndex */
  const int64_t *cacheShapes; /* heads, head_dim per KV cache */
  uint64_t weightsChecksum;   /* of the weights file this code was made for */
  /* Runs `rows` tokens whose positions follow `past` cached ones; appends
   * their keys/values to the caches and writes the final hidden states
   * ([rows, width]) to `hidden`. Returns 0, or non-zero when a kernel failed
   * (a KV cache would overflow). */
  int32_t (*forward)(const uint8_t *weights, uint8_t *arena, float **kcache, float **vcache,
                     const int64_t *ids, int64_t rows, int64_t past, float *hidden);
  /* Logits ([rows, vocab]) of `rows` hidden states. */
  void (*head)(const uint8_t *weights, const float *hidden, int64_t rows, float *logits);
} LitheModelDescriptor;

/* The executable's own model (generated, weak). */
void lithe_main_query(LitheModelDescriptor *descriptor);

#ifdef __cplusplus
}
#endif

#endif /* LITHE_RUNTIME_ABI_H */

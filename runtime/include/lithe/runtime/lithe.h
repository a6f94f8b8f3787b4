/*===- lithe.h - run compiled Lithe models from C or C++ -------------------===*
 *
 * Link the objects `lithec MODEL --emit=obj --model-name=NAME -o NAME.o`
 * writes (each with its weights file NAME.o.lwt) and libLitheRuntimeCore.a
 * (no main) into your program:
 *
 *   void lithe_gpt_query(LitheModelDescriptor *);        // from gpt.o
 *   char err[256];
 *   lithe_model *m = lithe_model_load(lithe_gpt_query, "gpt.o.lwt", err, sizeof err);
 *   lithe_context *c = lithe_context_new(m, err, sizeof err);
 *   if (lithe_eval(c, ids, n, err, sizeof err) != 0) ...;  // appends to c's KV cache
 *   lithe_logits(c, n - 1, out);                          // out: lithe_model_vocab(m) floats
 *   lithe_context_free(c); lithe_model_free(m);
 *
 * A model is read-only once loaded; a context is one sequence (its KV cache,
 * activation arena and last hidden states) and is used by one thread at a
 * time. Several models and contexts live side by side. Errors are one line
 * in `error` (truncated to `error_size`) and a NULL or non-zero return.
 *
 *===----------------------------------------------------------------------===*/

#ifndef LITHE_RUNTIME_LITHE_H
#define LITHE_RUNTIME_LITHE_H

#include "lithe/runtime/abi.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lithe_model lithe_model;
typedef struct lithe_context lithe_context;

/* Maps `weights_path` for the model `query` describes and checks its checksum. */
lithe_model *lithe_model_load(void (*query)(LitheModelDescriptor *), const char *weights_path,
                              char *error, size_t error_size);
void lithe_model_free(lithe_model *model);
int64_t lithe_model_vocab(const lithe_model *model);
/* Most tokens a context holds (the compiled capacity). */
int64_t lithe_model_context(const lithe_model *model);

lithe_context *lithe_context_new(lithe_model *model, char *error, size_t error_size);
void lithe_context_free(lithe_context *context);
/* Forgets the cached tokens. */
void lithe_context_reset(lithe_context *context);
/* Tokens cached so far. */
int64_t lithe_context_length(const lithe_context *context);
/* Runs `n` tokens after the cached ones; 0 on success. A full context is an
 * error and leaves the context unchanged. */
int lithe_eval(lithe_context *context, const int64_t *ids, int64_t n, char *error,
               size_t error_size);
/* Logits of row `row` of the last lithe_eval (0 <= row < its n) into `out`. */
int lithe_logits(const lithe_context *context, int64_t row, float *out);

#ifdef __cplusplus
}
#endif

#endif /* LITHE_RUNTIME_LITHE_H */

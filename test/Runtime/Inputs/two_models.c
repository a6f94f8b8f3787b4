/* Two compiled models in one process through the C API (lithe.h), their
 * calls interleaved: model A and model B each run a sequence in two parts
 * (prefix, then the rest), A1 B1 A2 B2, and the logits of every row are
 * written to OUT_A / OUT_B (float32, row-major [tokens, vocab]). Then A's
 * context is filled to its capacity and one more token must fail cleanly.
 *
 * usage: two_models A.lwt IDS_A B.lwt IDS_B OUT_A OUT_B
 *   IDS: comma-separated token ids */
#include "lithe/runtime/lithe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void lithe_a_query(LitheModelDescriptor *);
void lithe_b_query(LitheModelDescriptor *);

static int64_t parse(const char *s, int64_t *ids) {
  int64_t n = 0;
  for (char *end; *s; s = *end ? end + 1 : end) ids[n++] = strtoll(s, &end, 10);
  return n;
}

static int run(lithe_context *c, const lithe_model *m, const int64_t *ids, int64_t n, FILE *out) {
  char err[256];
  if (lithe_eval(c, ids, n, err, sizeof err) != 0) {
    fprintf(stderr, "eval failed: %s\n", err);
    return 1;
  }
  int64_t vocab = lithe_model_vocab(m);
  float *row = malloc(sizeof(float) * (size_t)vocab);
  for (int64_t r = 0; r < n; ++r) {
    if (lithe_logits(c, r, row) != 0) return 1;
    fwrite(row, sizeof(float), (size_t)vocab, out);
  }
  free(row);
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 7) return 2;
  char err[256];
  int64_t idsA[4096], idsB[4096];
  int64_t nA = parse(argv[2], idsA), nB = parse(argv[4], idsB);
  lithe_model *a = lithe_model_load(lithe_a_query, argv[1], err, sizeof err);
  if (!a) { fprintf(stderr, "%s\n", err); return 1; }
  lithe_model *b = lithe_model_load(lithe_b_query, argv[3], err, sizeof err);
  if (!b) { fprintf(stderr, "%s\n", err); return 1; }
  /* The weights files are not interchangeable. */
  if (lithe_model_load(lithe_a_query, argv[3], err, sizeof err) != NULL) return 1;
  printf("wrong weights: %s\n", err);
  lithe_context *ca = lithe_context_new(a, err, sizeof err), *cb = lithe_context_new(b, err, sizeof err);
  if (!ca || !cb) { fprintf(stderr, "%s\n", err); return 1; }
  FILE *outA = fopen(argv[5], "wb"), *outB = fopen(argv[6], "wb");
  int64_t hA = nA / 2, hB = nB / 2;
  if (run(ca, a, idsA, hA, outA) || run(cb, b, idsB, hB, outB) ||
      run(ca, a, idsA + hA, nA - hA, outA) || run(cb, b, idsB + hB, nB - hB, outB))
    return 1;
  fclose(outA);
  fclose(outB);
  printf("A: %lld tokens, B: %lld tokens\n", (long long)lithe_context_length(ca),
         (long long)lithe_context_length(cb));
  /* Fill A's context, then one token more: a clean error, nothing written. */
  lithe_context_reset(ca);
  int64_t cap = lithe_model_context(a), zero[1] = {0};
  for (int64_t i = 0; i < cap; ++i)
    if (lithe_eval(ca, zero, 1, err, sizeof err) != 0) { fprintf(stderr, "%s\n", err); return 1; }
  if (lithe_eval(ca, zero, 1, err, sizeof err) == 0) return 1;
  printf("full: %s (length %lld)\n", err, (long long)lithe_context_length(ca));
  lithe_context_free(ca);
  lithe_context_free(cb);
  lithe_model_free(a);
  lithe_model_free(b);
  return 0;
}

//===- capi.cpp - the C API of lithe.h over rt::Model ---------------------===//

#include "lithe/runtime/lithe.h"
#include "lithe/runtime/model.h"

#include <cstdio>
#include <memory>
#include <string>

using lithe::rt::Context;
using lithe::rt::KVState;
using lithe::rt::Model;

struct lithe_model {
  std::unique_ptr<Model> model;
};

struct lithe_context {
  const Model *model = nullptr;
  std::unique_ptr<Context> ctx;
  KVState state;
  int64_t lastRows = 0;
};

namespace {
void setError(char *error, size_t size, const std::string &msg) {
  if (error && size) std::snprintf(error, size, "%s", msg.c_str());
}
} // namespace

extern "C" {

lithe_model *lithe_model_load(void (*query)(LitheModelDescriptor *), const char *weightsPath,
                              char *error, size_t errorSize) {
  if (!query || !weightsPath) {
    setError(error, errorSize, "lithe_model_load: no model or no weights path given");
    return nullptr;
  }
  LitheModelDescriptor d{};
  query(&d);
  std::string msg;
  std::unique_ptr<Model> m = Model::load(d, weightsPath, msg);
  if (!m) {
    setError(error, errorSize, msg);
    return nullptr;
  }
  return new lithe_model{std::move(m)};
}

void lithe_model_free(lithe_model *model) { delete model; }
int64_t lithe_model_vocab(const lithe_model *model) { return model->model->vocab(); }
int64_t lithe_model_context(const lithe_model *model) { return model->model->capacity(); }

lithe_context *lithe_context_new(lithe_model *model, char *error, size_t errorSize) {
  std::string msg;
  auto c = std::make_unique<lithe_context>();
  c->model = model->model.get();
  c->ctx = c->model->newContext(msg);
  if (!c->ctx) {
    setError(error, errorSize, msg);
    return nullptr;
  }
  c->state = c->model->newState();
  return c.release();
}

void lithe_context_free(lithe_context *context) { delete context; }
void lithe_context_reset(lithe_context *context) {
  context->state.past = 0;
  context->lastRows = 0;
}
int64_t lithe_context_length(const lithe_context *context) { return context->state.past; }

int lithe_eval(lithe_context *c, const int64_t *ids, int64_t n, char *error, size_t errorSize) {
  std::string msg;
  if (!c->model->forward(*c->ctx, c->state, ids, n, msg)) {
    setError(error, errorSize, msg);
    return 1;
  }
  c->lastRows = n;
  return 0;
}

int lithe_logits(const lithe_context *c, int64_t row, float *out) {
  if (row < 0 || row >= c->lastRows) return 1;
  c->model->logits(*c->ctx, row, 1, out);
  return 0;
}

} // extern "C"

//===- Passes.h - lithe passes and pipelines ----------------------*- C++ -*-===//

#ifndef LITHE_PASSES_H
#define LITHE_PASSES_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

#include <memory>

namespace lithe {

// Pass declarations, options structs and create functions, and
// registerLithePasses(), which registers every lithe pass with the global
// registry so `lithe-opt` and `lithec` accept them by name.
#define GEN_PASS_DECL
#define GEN_PASS_REGISTRATION
#include "passes/Passes.h.inc"

/// Registers the named pipelines (passes/Pipelines.cpp): `lithe-simplify`.
void registerLithePipelines();

} // namespace lithe

#endif // LITHE_PASSES_H

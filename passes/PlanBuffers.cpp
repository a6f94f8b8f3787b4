//===- PlanBuffers.cpp - lithe-plan-buffers -------------------------------===//
//
// Places every lithe_k.arena slot of a kernel-level function in the
// context's activation arena. A slot is live from its definition (placed
// just before its first writer) to its last use; in program order, a new
// slot reuses the narrowest freed slot with enough columns, else extends
// the arena. Each slot holds `capacity` rows, 64-byte aligned.
//
//===----------------------------------------------------------------------===//

#include "lithe/KernelDialect.h"
#include "lithe/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include <map>

namespace lithe {
#define GEN_PASS_DEF_LITHEPLANBUFFERS
#include "passes/Passes.h.inc"

namespace {

using namespace mlir;

struct PlanBuffersPass : impl::LithePlanBuffersBase<PlanBuffersPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto capAttr = module->getAttrOfType<IntegerAttr>(k::kCapacityAttr);
    if (!capAttr || capAttr.getInt() <= 0) {
      module.emitError("lithe-plan-buffers: not a kernel-level module (no lithe_k.capacity): "
                       "run lithe-lower-to-kernels first");
      return signalPassFailure();
    }
    int64_t capacity = capAttr.getInt(), arenaBytes = 0;
    for (auto fn : module.getOps<func::FuncOp>()) {
      if (fn.getBody().empty()) continue;
      if (fn.getBody().getBlocks().size() != 1) {
        fn.emitError("lithe-plan-buffers: a kernel-level function is one block");
        return signalPassFailure();
      }
      arenaBytes = std::max(arenaBytes, plan(fn.getBody().front(), capacity));
    }
    module->setAttr(k::kArenaBytesAttr, IntegerAttr::get(IntegerType::get(&getContext(), 64), arenaBytes));
  }

  /// Places the block's slots; returns the arena bytes it needs.
  static int64_t plan(Block &body, int64_t capacity) {
    std::map<Operation *, int> order;
    int i = 0;
    for (Operation &op : body) order[&op] = i++;
    struct Slot {
      int64_t cols, offset;
    };
    std::vector<Slot> slots;
    std::vector<int> freeSlots;
    std::map<int, int> slotEnd; // slot -> last use of the buffer in it
    std::vector<std::pair<k::ArenaOp, int>> placed;
    for (Operation &op : body) {
      auto arena = dyn_cast<k::ArenaOp>(op);
      if (!arena) continue;
      int now = order[&op];
      for (auto it = slotEnd.begin(); it != slotEnd.end();) {
        if (it->second < now) {
          freeSlots.push_back(it->first);
          it = slotEnd.erase(it);
        } else {
          ++it;
        }
      }
      int64_t cols = arena.getResult().getType().getCols();
      int last = now;
      for (Operation *u : arena.getResult().getUsers()) last = std::max(last, order[u]);
      int best = -1;
      for (size_t f = 0; f < freeSlots.size(); ++f)
        if (slots[freeSlots[f]].cols >= cols &&
            (best < 0 || slots[freeSlots[f]].cols < slots[freeSlots[best]].cols))
          best = static_cast<int>(f);
      int slot;
      if (best >= 0) {
        slot = freeSlots[best];
        freeSlots.erase(freeSlots.begin() + best);
      } else {
        slot = static_cast<int>(slots.size());
        slots.push_back({cols, 0});
      }
      slotEnd[slot] = last;
      placed.push_back({arena, slot});
    }
    int64_t bytes = 0;
    for (Slot &s : slots) {
      s.offset = bytes;
      bytes += (capacity * s.cols * 4 + 63) / 64 * 64;
    }
    for (auto [arena, slot] : placed)
      arena.setOffsetAttr(IntegerAttr::get(IntegerType::get(arena.getContext(), 64), slots[slot].offset));
    return bytes;
  }
};

} // namespace
} // namespace lithe

// RUN: lithe-opt %s | lithe-opt | FileCheck %s

// CHECK-LABEL: func.func @caches
// CHECK-SAME: !lithe.kv_cache<12x64xf32>, %{{.*}}: !lithe.kv_cache<6x64xf16>, %{{.*}}: !lithe.kv_cache<1x8xbf16>
func.func @caches(%a: !lithe.kv_cache<12x64xf32>, %b: !lithe.kv_cache<6x64xf16>, %c: !lithe.kv_cache<1x8xbf16>) {
  return
}

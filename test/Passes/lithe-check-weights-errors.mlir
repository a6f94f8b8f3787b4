// No weights file anywhere: one clear error, non-zero exit.
// RUN: not lithe-opt %s --lithe-check-weights 2>&1 | FileCheck %s --check-prefix=NOATTR
// NOATTR: error: no weights file: the module has no 'lithe.weights' attribute and no file= option was given

// A file that is not a weights file.
// RUN: not lithe-opt %s --lithe-check-weights=file=%s 2>&1 | FileCheck %s --check-prefix=BAD
// BAD: error: {{.*}}lithe-check-weights-errors.mlir: not a Lithe weights file (bad magic)

// A file that does not exist.
// RUN: not lithe-opt %s --lithe-check-weights=file=%t.none 2>&1 | FileCheck %s --check-prefix=NOFILE
// NOFILE: error: {{.*}}.none: cannot open weights file: No such file or directory

func.func @f() -> tensor<8xf32> {
  %0 = lithe.weight "w" : tensor<8xf32>
  return %0 : tensor<8xf32>
}

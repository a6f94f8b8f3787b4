// RUN: lithe-opt %s -split-input-file -verify-diagnostics

func.func @no_op_type(%x: tensor<4xf32>) {
  // expected-error @+1 {{needs an ONNX op_type}}
  %0 = lithe.onnx ""(%x) {opset = 17 : i64} : (tensor<4xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @bad_opset(%x: tensor<4xf32>) {
  // expected-error @+1 {{opset must be positive, got 0}}
  %0 = lithe.onnx "Relu"(%x) {opset = 0 : i64} : (tensor<4xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @missing_opset(%x: tensor<4xf32>) {
  // expected-error @+1 {{requires attribute 'opset'}}
  %0 = lithe.onnx "Relu"(%x) : (tensor<4xf32>) -> tensor<4xf32>
  return
}

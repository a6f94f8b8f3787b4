# lit configuration for Lithe's IR and tool tests.
import os

import lit.formats

config.name = "Lithe"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".mlir", ".onnxtext", ".test"]
config.excludes = ["Inputs", "unit", "fixtures", "lit.cfg.py", "lit.site.cfg.py"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.lithe_obj_root, "test")

path = [config.lithe_tools_dir, config.llvm_tools_dir, config.environment.get("PATH", os.environ.get("PATH", ""))]
config.environment["PATH"] = os.pathsep.join(path)
config.substitutions.append(("%lithe_src", config.lithe_src_root))
config.substitutions.append(("%python", config.python_executable))
config.substitutions.append(("%fixtures", os.path.join(config.lithe_src_root, "test", "fixtures", "gpt2")))
config.substitutions.append(("%runtime_core", os.path.join(config.lithe_obj_root, "lib", "libLitheRuntimeCore.a")))
# The CPU emulation of the CUDA target's host contract (runtime/cuda/host_emulation.cpp).
config.substitutions.append(("%cuda_emulation", os.path.join(config.lithe_obj_root, "lib", "libLitheCudaHostEmulation.a")))
# Linking a C program against the runtime: in sanitizer builds the runtime is
# instrumented, so the program must link the sanitizer runtimes too.
config.substitutions.append(("%runtime_link_flags",
    "-fsanitize=address,undefined" if getattr(config, "lithe_sanitize", False) else ""))
config.substitutions.append(("%examples", os.path.join(config.lithe_src_root, "examples")))

# bench/plot_report.py's tests need matplotlib (requirements-test.txt).
import subprocess
if subprocess.run([config.python_executable, "-c", "import matplotlib"], capture_output=True).returncode == 0:
    config.available_features.add("matplotlib")

# Sanitizer build (-DLITHE_SANITIZE=ON): a report must fail the test even
# under `not`, so every sanitizer aborts (a signal, which `not` does not
# accept) instead of exiting with an error status.
if getattr(config, "lithe_sanitize", False):
    config.environment["ASAN_OPTIONS"] = "abort_on_error=1:detect_leaks=1:halt_on_error=1"
    config.environment["UBSAN_OPTIONS"] = "abort_on_error=1:halt_on_error=1:print_stacktrace=1"
    config.environment["LSAN_OPTIONS"] = "abort_on_error=1"

"""The CPU: IREE's llvm-cpu target tuned for this host, run on `local-task`
(a thread pool), with small calls inline on `local-sync` (see runtime.py)."""
from irax.backends.iree_backend import IreeBackend

backend = IreeBackend(
    "cpu",
    target_backend="llvm-cpu",
    driver="local-task",
    inline_driver="local-sync",
    # IREE narrows f64 to f32 by default; irax's 64-bit mode needs real f64.
    # Not --iree-opt-data-tiling: ~4x faster float matmuls alone, but IREE 3.13
    # then fails ("large vector sizes") on the transposed, small-K matmuls of
    # an MLP's gradient.
    compile_flags=["--iree-llvmcpu-target-cpu=host", "--iree-input-demote-f64-to-f32=false"],
    priority=0,
)

"""The CPU: IREE's llvm-cpu target tuned for this host, run on `local-task`."""
from irax.backends.iree_backend import IreeBackend

backend = IreeBackend(
    "cpu",
    target_backend="llvm-cpu",
    driver="local-task",
    compile_flags=["--iree-llvmcpu-target-cpu=host"],
    priority=0,
)

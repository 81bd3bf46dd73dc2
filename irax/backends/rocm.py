"""AMD GPUs: IREE's rocm target on the `hip` driver.

AMD code objects are specific to one GPU architecture (IRAX_ROCM_TARGET,
default gfx942 = MI300), unlike CUDA's PTX. Compiling needs no GPU; running
needs libamdhip64.
"""
import os

from irax.backends.iree_backend import IreeBackend

backend = IreeBackend(
    "rocm",
    target_backend="rocm",
    driver="hip",
    compile_flags=[f"--iree-rocm-target={os.environ.get('IRAX_ROCM_TARGET', 'gfx942')}"],
    priority=100,
)

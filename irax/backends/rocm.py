"""AMD GPUs: IREE's rocm target on the `hip` driver.

AMD code objects are specific to one GPU architecture (IRAX_ROCM_TARGET,
default gfx942 = MI300, read at each compile), unlike CUDA's PTX. Compiling
needs no GPU; running needs libamdhip64.
"""
from irax.backends.iree_backend import IreeBackend

backend = IreeBackend(
    "rocm",
    target_backend="rocm",
    driver="hip",
    setting_flags={"--iree-rocm-target": "irax_rocm_target"},
    priority=100,
)

"""NVIDIA GPUs: IREE's cuda target on the `cuda` driver.

IREE emits PTX for the chosen architecture (IRAX_CUDA_TARGET, default sm_80,
read at each compile) and the CUDA driver compiles it for the GPU at load
time, so sm_80 code runs on Ampere and every later GPU. Compiling needs no
GPU; running needs libcuda. IREE 3.13 crashes on a target name it does not
know, so the setting only accepts the ones it does (irax/config.py).
"""
from irax.backends.iree_backend import IreeBackend

backend = IreeBackend(
    "cuda",
    target_backend="cuda",
    driver="cuda",
    setting_flags={"--iree-cuda-target": "irax_cuda_target"},
    priority=100,  # a GPU beats the CPU when present, as in JAX
)

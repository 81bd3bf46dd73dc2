"""NVIDIA GPUs: IREE's cuda target on the `cuda` driver.

IREE emits PTX for the chosen architecture (IRAX_CUDA_TARGET, default sm_80)
and the CUDA driver compiles it for the GPU at load time, so sm_80 code runs
on Ampere and every later GPU. (IREE 3.13 has no sm_90 target; `sm_89` is the
newest it knows.) Compiling needs no GPU; running needs libcuda.
"""
import os

from irax.backends.iree_backend import IreeBackend

backend = IreeBackend(
    "cuda",
    target_backend="cuda",
    driver="cuda",
    compile_flags=[f"--iree-cuda-target={os.environ.get('IRAX_CUDA_TARGET', 'sm_80')}"],
    priority=100,  # a GPU beats the CPU when present, as in JAX
)

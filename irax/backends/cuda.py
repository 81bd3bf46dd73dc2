"""NVIDIA GPUs: IREE's cuda target on the `cuda` driver.

IREE emits PTX for the chosen architecture (IRAX_CUDA_TARGET, default sm_80)
and the CUDA driver compiles it for the GPU at load time, so sm_80 code runs
on Ampere and every later GPU. Compiling needs no GPU; running needs libcuda.

IREE 3.13 crashes the whole process (SIGSEGV) on a target name it does not
know, such as `hopper` or a typo, so the name is checked here first: a
compute capability `sm_NN`, or one of the names below that it knows.
"""
import os
import re

from irax.backends.iree_backend import IreeBackend

NAMED_TARGETS = ("pascal", "volta", "turing", "ampere", "ada", "a100", "rtx3090", "rtx4090")


def _target() -> str:
    target = os.environ.get("IRAX_CUDA_TARGET", "sm_80")
    if not (re.fullmatch(r"sm_\d+", target) or target in NAMED_TARGETS):
        raise ValueError(f"invalid value {target!r} for environment 'IRAX_CUDA_TARGET': expected a compute "
                         f"capability such as sm_80 or sm_89, or one of {', '.join(NAMED_TARGETS)}")
    return target


backend = IreeBackend(
    "cuda",
    target_backend="cuda",
    driver="cuda",
    compile_flags=[f"--iree-cuda-target={_target()}"],
    priority=100,  # a GPU beats the CPU when present, as in JAX
)

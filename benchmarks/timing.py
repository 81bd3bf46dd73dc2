"""Timing shared by the benchmarks (run as scripts, so `import timing` finds it)."""
import os
import subprocess
import sys
import time

import numpy as np


def timed(fn, *args, repeat=10):
    """Median seconds of a warm call, and the result."""
    out = fn(*args)
    out.block_until_ready()
    settle()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn(*args)
        out.block_until_ready()
        times.append(time.perf_counter() - start)
    return float(np.median(times)), np.asarray(out)


def settle():
    """Wait for irax's background compiles, if irax runs here: with tiered
    jit (the default), the calls made while a program compiles run on its
    first tier, NumPy's evaluation, and a warm call is the compiled one's."""
    tiered = sys.modules.get("irax.frontend.tiered")
    if tiered is not None:
        tiered.wait()


def byte_compiled(env, directory):
    """`env` for fresh processes that read irax's modules compiled to
    bytecode (under `directory`), as an installed package's are: pip
    byte-compiles what it installs (JAX's modules here), but an editable
    install's modules are compiled by their first import, and every time
    where PYTHONDONTWRITEBYTECODE is set (as on these machines), ~0.1-0.3 s
    of a fresh process's import and first calls."""
    env = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = directory
    irax_dir = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "irax")
    subprocess.run([sys.executable, "-m", "compileall", "-q", irax_dir], env=env, check=True)
    return env

"""Timing shared by the benchmarks (run as scripts, so `import timing` finds it)."""
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

"""Timing shared by the benchmarks (run as scripts, so `import timing` finds it)."""
import time

import numpy as np


def timed(fn, *args, repeat=10):
    """Median seconds of a warm call, and the result."""
    out = fn(*args)
    out.block_until_ready()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn(*args)
        out.block_until_ready()
        times.append(time.perf_counter() - start)
    return float(np.median(times)), np.asarray(out)

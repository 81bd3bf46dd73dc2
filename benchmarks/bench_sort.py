"""Sorting figures for irax beside JAX, measured in one process.

    .venv/bin/python benchmarks/bench_sort.py

`jit(jnp.sort)` and `jit(jnp.argsort)` of 1e6 normal float32 values, and
`jit(jnp.sort)` of (1000, 1000) along the last axis: time per call, warm
(median of 10), the process's CPU time per call (all threads: irax runs on
IREE's workers, XLA's sort on one thread; on a shared machine this is the
steadier figure), and the first call (trace + compile). Ratios are JAX's
time over irax's: above 1.0, irax is faster.
"""
import statistics
import time

import numpy as np

import irax
import irax.numpy as jnp
from timing import settle

try:
    import jax
    import jax.numpy as jjnp
except ImportError:
    jax = jjnp = None

rng = np.random.default_rng(0)
VALUES = rng.standard_normal(1_000_000).astype(np.float32)


def per_call(fn, args, block, repeat=10):
    """(first call's seconds, median seconds per warm call, median CPU seconds per warm call)."""
    start = time.perf_counter()
    block(fn(*args))
    first = time.perf_counter() - start
    settle()
    times, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        block(fn(*args))
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return first, statistics.median(times), statistics.median(cpu)


def sort_flat(lib, np_mod, block):
    return per_call(lib.jit(np_mod.sort), (np_mod.asarray(VALUES),), block)


def argsort_flat(lib, np_mod, block):
    return per_call(lib.jit(np_mod.argsort), (np_mod.asarray(VALUES),), block)


def sort_rows(lib, np_mod, block):
    return per_call(lib.jit(np_mod.sort), (np_mod.asarray(VALUES.reshape(1000, 1000)),), block)


def main():
    benches = [("jit(sort), 1e6 float32", sort_flat), ("jit(argsort), 1e6 float32", argsort_flat),
               ("jit(sort), (1000, 1000) float32, last axis", sort_rows)]
    for title, bench in benches:
        first, warm, cpu = bench(irax, jnp, irax.block_until_ready)
        line = f"{title}:   irax {warm * 1e3:7.1f} ms, cpu {cpu * 1e3:7.1f} ms (first call {first:5.2f} s)"
        if jax is not None:
            jax_first, jax_warm, jax_cpu = bench(jax, jjnp, jax.block_until_ready)
            line += (f"   jax {jax_warm * 1e3:7.1f} ms, cpu {jax_cpu * 1e3:7.1f} ms (first call {jax_first:5.2f} s)"
                     f"   jax/irax {jax_warm / warm:5.2f}x, cpu {jax_cpu / cpu:5.2f}x")
        print(line, flush=True)


if __name__ == "__main__":
    main()

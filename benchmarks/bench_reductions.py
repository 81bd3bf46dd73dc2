"""Jitted reductions of computed values, irax beside JAX in one process.

    .venv/bin/python benchmarks/bench_reductions.py

`jnp.dot` of two 1e7 float32 vectors and sums of elementwise work on them,
under jit: median of ROUNDS warm calls, taking turns between irax and JAX.
On the CPU the work is moved into the reduction's first stage
(irax/backends/cpu_fold_fusion.py). Ratios are JAX's time over irax's:
above 1.0, irax is faster.
"""
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

ROUNDS = 20
rng = np.random.default_rng(0)
A = rng.standard_normal(10_000_000).astype(np.float32)
B = A + 1

CASES = {
    "dot": lambda m: m.dot,
    "sum(a * b)": lambda m: lambda a, b: m.sum(a * b),
    "sum(a + b)": lambda m: lambda a, b: m.sum(a + b),
    "mean((a - b)**2)": lambda m: lambda a, b: m.mean((a - b) ** 2),
    "sum(tanh(a))": lambda m: lambda a, b: m.sum(m.tanh(a)),
}


def call_time(fn, a, b):
    start = time.perf_counter()
    fn(a, b).block_until_ready()
    return time.perf_counter() - start


def main():
    ours = irax.device_put(A), irax.device_put(B)
    theirs = (jax.device_put(A), jax.device_put(B)) if jax else None
    for name, make in CASES.items():
        mine = irax.jit(make(jnp))
        mine(*ours).block_until_ready()
        settle()
        other = jax.jit(make(jjnp)) if jax else None
        if other:
            other(*theirs).block_until_ready()
        times, other_times = [], []
        for _ in range(ROUNDS):
            times.append(call_time(mine, *ours))
            if other:
                other_times.append(call_time(other, *theirs))
        t = np.median(times) * 1e3
        line = f"jit {name:18s} irax {t:7.2f} ms"
        if other:
            u = np.median(other_times) * 1e3
            line += f"   jax {u:7.2f} ms   jax/irax {u / t:.2f}x"
        print(line)


if __name__ == "__main__":
    main()

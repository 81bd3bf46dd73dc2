"""Matrix products of irax beside JAX, measured in one process (issue 17, item 4).

    .venv/bin/python benchmarks/bench_matmul.py [rounds]

Each row is a jitted product on float32 (int32 for the dot), timed warm:
    1024^2          (1024, 1024) @ (1024, 1024)
    4096x512x512    (4096, 512) @ (512, 512)
    batched         (64, 128, 128) @ (64, 128, 128)
    int32 dot 1e7   jnp.dot of two int32 vectors of 1e7
Every round times each row once for irax and once for JAX, in turns (the
machine is shared, so load comes and goes); a row's figure is the median
over rounds. Printed: irax's time, JAX's, and JAX/irax (above 1: irax is
faster), with the load average.
"""
import os
import statistics
import sys

import numpy as np

import irax
import irax.numpy as jnp
from timing import timed

try:
    import jax
    import jax.numpy as jjnp
except ImportError:  # irax's figures still stand alone
    jax = jjnp = None

rng = np.random.default_rng(0)
ROWS = {
    "1024^2": [rng.standard_normal((1024, 1024), np.float32)] * 2,
    "4096x512x512": [rng.standard_normal((4096, 512), np.float32), rng.standard_normal((512, 512), np.float32)],
    "batched 64x128^3": [rng.standard_normal((64, 128, 128), np.float32)] * 2,
    "int32 dot 1e7": [rng.integers(-100, 100, 10**7, dtype=np.int32)] * 2,
}


def main(rounds=5):
    irax_product = irax.jit(lambda a, b: jnp.matmul(a, b) if a.ndim > 1 else jnp.dot(a, b))
    jax_product = jax and jax.jit(lambda a, b: jjnp.matmul(a, b) if a.ndim > 1 else jjnp.dot(a, b))
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'row':20s} {'irax':>10s} {'jax':>10s} {'jax/irax':>9s}")
    for name, (a, b) in ROWS.items():
        arrays = {"irax": (jnp.asarray(a), jnp.asarray(b)), "jax": jax and (jjnp.asarray(a), jjnp.asarray(b))}
        times = {"irax": [], "jax": []}
        for _ in range(rounds):
            seconds, got = timed(irax_product, *arrays["irax"])
            times["irax"].append(seconds)
            if jax:
                seconds, want = timed(jax_product, *arrays["jax"])
                times["jax"].append(seconds)
                np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-2 * np.sqrt(a.shape[-1]))
        ours = statistics.median(times["irax"]) * 1e3
        theirs = statistics.median(times["jax"]) * 1e3 if jax else float("nan")
        print(f"{name:20s} {ours:8.2f}ms {theirs:8.2f}ms {theirs / ours:8.2f}x")


if __name__ == "__main__":
    main(*map(int, sys.argv[1:2]))

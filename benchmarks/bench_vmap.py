"""vmap figures for irax beside JAX, measured in one process.

    .venv/bin/python benchmarks/bench_vmap.py

1. Per-example gradients of a 784-512-10 tanh MLP's squared error,
   `jit(vmap(grad(loss), in_axes=(None, 0, 0)))` over a batch of 128: time
   per call, warm, and the first call (trace + compile).
2. `jit(jacrev(f))` of a 256 -> 256 two-layer tanh MLP: time per call, warm,
   and the first call (trace + compile).
Ratios are JAX's time over irax's: above 1.0, irax is faster.
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


def per_call(fn, args, block, repeat=50):
    """(first call's seconds, median seconds per warm call)."""
    start = time.perf_counter()
    block(fn(*args))
    first = time.perf_counter() - start
    settle()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        block(fn(*args))
        times.append(time.perf_counter() - start)
    return first, statistics.median(times)


def per_example_gradients(lib, np_mod, block):
    params = {"w1": np_mod.asarray(rng.normal(size=(784, 512)).astype(np.float32) / 28),
              "b1": np_mod.zeros(512, dtype=np.float32),
              "w2": np_mod.asarray(rng.normal(size=(512, 10)).astype(np.float32) / 23),
              "b2": np_mod.zeros(10, dtype=np.float32)}
    x = np_mod.asarray(rng.normal(size=(128, 784)).astype(np.float32))
    y = np_mod.asarray(rng.normal(size=(128, 10)).astype(np.float32))

    def loss(p, x, y):
        h = np_mod.tanh(x @ p["w1"] + p["b1"])
        return np_mod.mean((h @ p["w2"] + p["b2"] - y) ** 2)

    fn = lib.jit(lib.vmap(lib.grad(loss), in_axes=(None, 0, 0)))
    return per_call(fn, (params, x, y), block)


def jacobian_of_mlp(lib, np_mod, block):
    w1 = np_mod.asarray(rng.normal(size=(256, 256)).astype(np.float32) / 16)
    w2 = np_mod.asarray(rng.normal(size=(256, 256)).astype(np.float32) / 16)
    x = np_mod.asarray(rng.normal(size=(256,)).astype(np.float32))

    def f(x):
        return np_mod.tanh(w2 @ np_mod.tanh(w1 @ x))

    return per_call(lib.jit(lib.jacrev(f)), (x,), block)


def main():
    benches = [("per-example gradients, MLP 784-512-10, batch 128", per_example_gradients),
               ("jit(jacrev(f)), f: 256 -> 256 tanh MLP", jacobian_of_mlp)]
    for title, bench in benches:
        first, warm = bench(irax, jnp, irax.block_until_ready)
        line = f"{title}:   irax {warm * 1e3:8.3f} ms (first call {first:5.2f} s)"
        if jax is not None:
            jax_first, jax_warm = bench(jax, jjnp, jax.block_until_ready)
            line += f"   jax {jax_warm * 1e3:8.3f} ms (first call {jax_first:5.2f} s)   jax/irax {jax_warm / warm:5.2f}x"
        print(line, flush=True)


if __name__ == "__main__":
    main()

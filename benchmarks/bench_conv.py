"""Convolution figures for irax beside JAX, measured in one process.

    .venv/bin/python benchmarks/bench_conv.py

On a (32, 56, 56, 64) NHWC float32 batch, under jit:
1. a 3x3 'SAME' convolution with 64 filters (HWIO),
2. the gradient of sum(y * y), y = conv(x, w), with respect to x and w,
3. a 2x2, stride-2 max pool (lax.reduce_window),
each as the median time per call over rounds that take turns between irax
and JAX (a noisy neighbour on a shared machine slows both alike), and the
speed ratio irax/jax (> 1: irax is faster).
"""
import statistics
import time

import numpy as np

import irax
import irax.numpy as jnp
from irax import lax
from timing import settle

try:
    import jax
    import jax.numpy as jjnp
except ImportError:
    jax = jjnp = None

NHWC = ("NHWC", "HWIO", "NHWC")


def programs(L, N, jit, grad):
    """name -> (jitted function, its arguments' maker), written once for irax and JAX."""
    def conv(x, w):
        return L.conv_general_dilated(x, w, (1, 1), "SAME", dimension_numbers=NHWC)

    def loss(x, w):
        y = conv(x, w)
        return N.sum(y * y)

    def pool(x, w):
        return L.reduce_window(x, -np.inf, L.max if L is not lax else jnp.maximum, (1, 2, 2, 1), (1, 2, 2, 1),
                               "VALID")

    return {"conv 3x3, 64 -> 64": jit(conv), "its gradient (x and w)": jit(grad(loss, argnums=(0, 1))),
            "max pool 2x2 stride 2": jit(pool)}


def median_seconds(runs, rounds=7, calls=5):
    times = {name: [] for name in runs}
    for _ in range(rounds):
        for name, (fn, args, block) in runs.items():
            start = time.perf_counter()
            for _ in range(calls):
                out = fn(*args)
            block(out)
            times[name].append((time.perf_counter() - start) / calls)
    return {name: statistics.median(t) for name, t in times.items()}


def main():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 56, 56, 64)).astype(np.float32)
    w = (rng.standard_normal((3, 3, 64, 64)) / 24).astype(np.float32)
    ours = programs(lax, jnp, irax.jit, irax.grad)
    block = lambda tree: [leaf.block_until_ready() for leaf in irax.tree_util.tree_leaves(tree)]  # noqa: E731
    theirs = programs(jax.lax, jjnp, jax.jit, jax.grad) if jax else {}
    args = (jnp.asarray(x), jnp.asarray(w))
    jargs = (jjnp.asarray(x), jjnp.asarray(w)) if jax else ()
    for name in ours:
        runs = {"irax": (ours[name], args, block)}
        if jax:
            runs["jax"] = (theirs[name], jargs, jax.block_until_ready)
        for fn, a, b in runs.values():
            b(fn(*a))  # compile outside the timing
        settle()
        took = median_seconds(runs)
        line = f"{name:24s}" + "".join(f"   {lib} {t * 1e3:8.2f} ms" for lib, t in took.items())
        if jax:
            line += f"   irax/jax speed {took['jax'] / took['irax']:5.2f}x"
        print(line, flush=True)


if __name__ == "__main__":
    main()

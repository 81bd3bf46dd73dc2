"""jit figures for irax beside JAX, measured in one process.

    .venv/bin/python benchmarks/bench_jit.py

1. jitted call overhead on 8 floats (warm).
2. `x.at[7].set(1.0)` and `x.at[i].set(1.0)` (i traced) on a 1e8-element
   float32 array under jit, with the array donated (in place) and without
   (a copy): time per call, and the growth of the peak memory (ru_maxrss)
   over the calls, each in a process of its own.
3. One SGD step of an MLP 784-512-512-10 (batch 128, float32, relu,
   softmax cross-entropy) under jit: steps per second (the median of rounds
   that take turns between irax and JAX), and the first call (trace +
   compile, with the compile cache off).
"""
import os
import resource
import statistics
import subprocess
import sys
import time

os.environ.setdefault("IRAX_DISABLE_CACHE", "1")  # the first MLP call must really compile

import numpy as np

import irax
import irax.numpy as jnp
from timing import settle

try:
    import jax
    import jax.nn
    import jax.numpy as jjnp
except ImportError:
    jax = jjnp = None


def per_call(fn, arg, repeat):
    for _ in range(20):
        fn(arg)
    settle()
    start = time.perf_counter()
    for _ in range(repeat):
        fn(arg).block_until_ready()
    return (time.perf_counter() - start) / repeat


def peak_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def overhead():
    ours = per_call(irax.jit(lambda a: a * 2 + 1), jnp.ones(8), 5000)
    line = f"jitted call, 8 floats:   irax {ours * 1e6:7.2f} us"
    if jax:
        theirs = per_call(jax.jit(lambda a: a * 2 + 1), jjnp.ones(8), 5000)
        line += f"   jax {theirs * 1e6:7.2f} us   irax/jax {ours / theirs:5.2f}x"
    print(line)


def in_place_variant(library, donate, traced, n=10**8, steps=5):
    """`x.at[i].set(1.0)` on n float32 under `library`'s jit, i static (7) or
    `traced`: (seconds per call, growth of peak memory in MiB). Run in a
    process of its own, so that the peak is this variant's."""
    lib, np_ = (irax, jnp) if library == "irax" else (jax, jjnp)
    donate_argnums = 0 if donate else ()
    if traced:
        step = lib.jit(lambda x, i: x.at[i].set(1.0), donate_argnums=donate_argnums)
    else:
        fixed = lib.jit(lambda x: x.at[7].set(1.0), donate_argnums=donate_argnums)
        step = lambda x, i: fixed(x)  # noqa: E731
    x = step(np_.zeros(n), 3).block_until_ready()  # compiled outside the timing
    settle()
    before = peak_mib()
    start = time.perf_counter()
    for k in range(steps):
        x = step(x, k)
    x.block_until_ready()
    return (time.perf_counter() - start) / steps, peak_mib() - before


def in_place():
    libraries = ["irax"] + (["jax"] if jax else [])
    for traced in (False, True):
        for donate in (True, False):
            cells = []
            for library in libraries:
                child = subprocess.run([sys.executable, __file__, "in-place", library, str(int(donate)), str(int(traced))],
                                       capture_output=True, text=True, check=True)
                took, growth = map(float, child.stdout.split())
                cells.append(f"{library} {took * 1e3:8.2f} ms/call, peak +{growth:5.0f} MiB")
            label = f"x.at[{'i' if traced else 7}].set on 1e8 float32, {'donated' if donate else 'copied '}"
            print(f"{label}:  " + "   ".join(cells))


def mlp_step(np_, nn, jit, grad):
    """An SGD step of a 784-512-512-10 MLP, written once for irax and JAX."""
    def loss(params, x, y):
        h = x
        for w, b in params[:-1]:
            h = nn.relu(h @ w + b)
        w, b = params[-1]
        logits = h @ w + b
        return -np_.mean(np_.sum(y * nn.log_softmax(logits), axis=-1))

    @jit
    def step(params, x, y):
        grads = grad(loss)(params, x, y)
        return [(w - 0.01 * gw, b - 0.01 * gb) for (w, b), (gw, gb) in zip(params, grads)]

    return step


def mlp_data(asarray):
    rng = np.random.default_rng(0)
    sizes = [784, 512, 512, 10]
    params = [(asarray(rng.normal(0, m ** -0.5, (m, n)).astype(np.float32)), asarray(np.zeros(n, np.float32)))
              for m, n in zip(sizes[:-1], sizes[1:])]
    x = asarray(rng.normal(size=(128, 784)).astype(np.float32))
    y = asarray(np.eye(10, dtype=np.float32)[rng.integers(0, 10, 128)])
    return params, x, y


def first_call(step, params, x, y, block):
    """(seconds of the first call: trace + compile + run, the params after it)."""
    start = time.perf_counter()
    params = step(params, x, y)
    block(params)
    return time.perf_counter() - start, params


def steps_per_second(runs, rounds=15, steps=40):
    """Steps per second of each run (name -> [step, params, x, y, block]),
    the median over `rounds` rounds that take turns, so that a noisy
    neighbour on a shared machine slows them alike."""
    times = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            step, params, x, y, block = run
            start = time.perf_counter()
            for _ in range(steps):
                params = step(params, x, y)
            block(params)
            times[name].append((time.perf_counter() - start) / steps)
            run[1] = params
    return {name: 1 / statistics.median(t) for name, t in times.items()}


def mlp():
    import irax.nn

    block = lambda tree: [leaf.block_until_ready() for leaf in irax.tree_util.tree_leaves(tree)]  # noqa: E731
    step, (params, x, y) = mlp_step(jnp, irax.nn, irax.jit, irax.grad), mlp_data(jnp.asarray)
    firsts = {}
    firsts["irax"], params = first_call(step, params, x, y, block)
    settle()
    runs = {"irax": [step, params, x, y, block]}
    if jax:
        jstep, (jparams, jx, jy) = mlp_step(jjnp, jax.nn, jax.jit, jax.grad), mlp_data(jjnp.asarray)
        firsts["jax"], jparams = first_call(jstep, jparams, jx, jy, jax.block_until_ready)
        runs["jax"] = [jstep, jparams, jx, jy, jax.block_until_ready]
    rates = steps_per_second(runs)
    line = "MLP 784-512-512-10 SGD step, batch 128:" + "".join(
        f"   {name} {rates[name]:7.1f} steps/s (first call {firsts[name]:5.2f} s)" for name in runs)
    if jax:
        line += f"   irax/jax speed {rates['irax'] / rates['jax']:5.2f}x"
    print(line)


if __name__ == "__main__":
    if sys.argv[1:2] == ["in-place"]:
        print(*in_place_variant(sys.argv[2], sys.argv[3] == "1", sys.argv[4] == "1"))
        sys.exit()
    overhead()
    mlp()
    in_place()

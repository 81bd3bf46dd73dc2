"""Eager-mode figures for irax beside NumPy and JAX, measured in one process.

    .venv/bin/python benchmarks/bench_eager.py

Prints the load, then, for each case, the median time of irax, NumPy and JAX and the ratios
irax/NumPy and irax/JAX (below 1 means irax is faster). Then the cost of a
first call with a cold and with a warm disk cache, and how many modules the
README demo compiles in a fresh process with an empty cache.
"""
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

import irax.numpy as jnp
from timing import byte_compiled, settle

try:
    import jax
    import jax.numpy as jjnp
except ImportError:  # the figures for irax and NumPy still stand alone
    jax = jjnp = None

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def median_time(fn, repeat, warmup=3):
    for _ in range(warmup):
        fn()
    settle()  # (a big eager reduction's static kernel compiles in the background, its first calls on the generic one)
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def fmt(seconds):
    if seconds is None:
        return "-"
    for unit, scale in (("s", 1), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:8.2f} {unit}"
    return f"{seconds / 1e-6:8.2f} us"


def ratio(a, b):
    return "-" if a is None or b is None else f"{a / b:6.2f}x"


def row(name, irax_fn, numpy_fn, jax_fn, repeat, rounds=3):
    """Medians over `rounds` interleaved rounds of irax, NumPy and JAX, so that
    the load of a shared machine weighs on all three alike."""
    fns = (irax_fn, numpy_fn, jax_fn)
    times = [[median_time(fn, max(repeat // rounds, 1)) if fn else None for fn in fns] for _ in range(rounds)]
    t_irax, t_np, t_jax = (None if t[0] is None else float(np.median(t)) for t in zip(*times))
    print(f"{name:<44} {fmt(t_irax)} {fmt(t_np)} {fmt(t_jax)}   {ratio(t_irax, t_np):>8} {ratio(t_irax, t_jax):>8}")


def eager_cases():
    print(f"{'case':<44} {'irax':>11} {'numpy':>11} {'jax':>11}   {'/numpy':>8} {'/jax':>8}")
    small = np.ones(8, np.float32)
    a, b = jnp.asarray(small), jnp.asarray(small)
    ja, jb = (jjnp.asarray(small), jjnp.asarray(small)) if jax else (None, None)
    row(
        "eager add, 8 floats (dispatch latency)",
        lambda: jnp.add(a, b).block_until_ready(),
        lambda: np.add(small, small),
        jax and (lambda: jjnp.add(ja, jb).block_until_ready()),
        repeat=2000,
    )
    for dtype in (np.int32, np.float32):
        host = (np.arange(10**7) % 100).astype(dtype)
        x = jnp.asarray(host)
        jx = jjnp.asarray(host) if jax else None
        row(
            f"dot of two 1e7 {np.dtype(dtype).name} vectors",
            lambda: jnp.dot(x, x).block_until_ready(),
            lambda: np.dot(host, host),
            jax and (lambda: jjnp.dot(jx, jx).block_until_ready()),
            repeat=20,
        )
    host = np.random.default_rng(0).standard_normal(10**7).astype(np.float32)
    x = jnp.asarray(host)
    jx = jjnp.asarray(host) if jax else None
    row(
        "sum(tanh(x) * 2 + x * x), 1e7 floats",
        lambda: jnp.sum(jnp.tanh(x) * 2 + x * x).block_until_ready(),
        lambda: np.sum(np.tanh(host) * 2 + host * host),
        jax and (lambda: jjnp.sum(jjnp.tanh(jx) * 2 + jx * jx).block_until_ready()),
        repeat=10,
    )
    near_one = (1 + host * 1e-3).astype(np.float32)  # a product that neither overflows nor vanishes
    for name, data in (("sum", host), ("max", host), ("prod", near_one), ("mean", host), ("argmax", host)):
        x = jnp.asarray(data)
        jx = jjnp.asarray(data) if jax else None
        row(
            f"{name} of 1e7 floats",
            lambda: getattr(jnp, name)(x).block_until_ready(),
            lambda: getattr(np, name)(data),
            jax and (lambda: getattr(jjnp, name)(jx).block_until_ready()),
            repeat=20,
        )
    x = jnp.asarray(host)
    jx = jjnp.asarray(host) if jax else None
    row(
        "x * x, 1e7 floats",
        lambda: (x * x).block_until_ready(),
        lambda: host * host,
        jax and (lambda: (jx * jx).block_until_ready()),
        repeat=20,
    )


def run_python(code, cache_dir, bytecode_dir):
    env = byte_compiled(dict(os.environ, IRAX_CACHE_DIR=cache_dir, IRAX_LOG_COMPILES="0"), bytecode_dir)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=ROOT, check=True)
    return out.stdout.strip().splitlines()[-1]


FIRST_CALL = """
import time
t = time.perf_counter()
import numpy as np, irax.numpy as jnp
x = jnp.asarray(np.ones((3, 5), np.float32))
jnp.sum(jnp.tanh(x) @ x.T).block_until_ready()
print(time.perf_counter() - t)
"""

DEMO_COMPILES = """
import contextlib, io, runpy
import irax
from irax.backends import cache
irax.config.update("irax_tiered_jit", False)  # every module compiled before it runs, counted here
with contextlib.redirect_stdout(io.StringIO()):
    runpy.run_path("examples/demo.py")
print(cache.stats()["compiles"])
"""


def cache_cases():
    with tempfile.TemporaryDirectory() as cache_dir, tempfile.TemporaryDirectory() as bytecode_dir:
        cold = float(run_python(FIRST_CALL, cache_dir, bytecode_dir))
        warm = float(run_python(FIRST_CALL, cache_dir, bytecode_dir))
    print(f"first call in a fresh process (import + 4 ops): cold disk cache {fmt(cold)}, warm {fmt(warm)}")
    with tempfile.TemporaryDirectory() as cache_dir, tempfile.TemporaryDirectory() as bytecode_dir:
        compiles = run_python(DEMO_COMPILES, cache_dir, bytecode_dir)
        again = run_python(DEMO_COMPILES, cache_dir, bytecode_dir)
    print(f"README demo, fresh process, empty cache: {compiles} modules compiled (second process: {again})")


if __name__ == "__main__":
    print("load:", os.getloadavg(), f"on {os.cpu_count()} cores")
    eager_cases()
    print()
    cache_cases()

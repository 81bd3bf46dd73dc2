"""irax.random beside jax.random, measured in one process.

    .venv/bin/python benchmarks/bench_random.py

1. `jit(lambda k: random.normal(k, (10**7,)))` and the same for `uniform`:
   time per call, warm, and the first call (trace + compile).
2. `random.split(key, 1000)`, eager: time per call, warm.
3. The first eager `random.normal(key, (1000,))` of the process (its
   compile, or the compile cache's load, included).
Both draw the same numbers (tests/test_random.py). Ratios are JAX's time
over irax's: above 1.0, irax is faster.
"""
import time

import irax
from bench_vmap import per_call  # (benchmarks/ is on the path: the scripts run from there)
from irax import random

try:
    import jax
except ImportError:
    jax = None


def jitted(sampler):
    def bench(lib, rand, block):
        return per_call(lib.jit(lambda k: getattr(rand, sampler)(k, (10**7,))), (rand.PRNGKey(0),), block, repeat=20)
    return bench


def split(lib, rand, block):
    return per_call(lambda k: rand.split(k, 1000), (rand.PRNGKey(0),), block, repeat=200)


def first_eager_normal(lib, rand, block):
    key = rand.PRNGKey(1)
    start = time.perf_counter()
    block(rand.normal(key, (1000,)))
    return time.perf_counter() - start, None


def _figures(first, warm):
    return f"first call {first:5.2f} s" if warm is None else f"{warm * 1e3:8.3f} ms (first call {first:5.2f} s)"


def main():
    benches = [("first eager normal(key, (1000,))", first_eager_normal),
               ("jit normal(key, (10**7,))", jitted("normal")),
               ("jit uniform(key, (10**7,))", jitted("uniform")),
               ("split(key, 1000), eager", split)]
    for title, bench in benches:
        first, warm = bench(irax, random, irax.block_until_ready)
        line = f"{title:34s} irax {_figures(first, warm)}"
        if jax is not None:
            jax_first, jax_warm = bench(jax, jax.random, jax.block_until_ready)
            ratio = jax_first / first if warm is None else jax_warm / warm
            line += f"   jax {_figures(jax_first, jax_warm)}   jax/irax {ratio:5.2f}x"
        print(line, flush=True)


if __name__ == "__main__":
    main()

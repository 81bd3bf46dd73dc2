"""jit figures for irax beside JAX, measured in one process.

    .venv/bin/python benchmarks/bench_jit.py

1. jitted call overhead on 8 floats (warm).
2. `x.at[7].set(1.0)` on a 1e8-element float32 array under jit, with the
   array donated (in place) and without (a copy): time per call, and the
   growth of the process's peak memory (ru_maxrss) over the calls.
"""
import resource
import time

import irax
import irax.numpy as jnp

try:
    import jax
    import jax.numpy as jjnp
except ImportError:
    jax = jjnp = None


def per_call(fn, arg, repeat):
    for _ in range(20):
        fn(arg)
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


def in_place(n=10**8, steps=5):
    for donate in (True, False):
        step = irax.jit(lambda x: x.at[7].set(1.0), donate_argnums=0 if donate else ())
        x = jnp.zeros(n)
        x = step(x)  # compile outside the timing
        before = peak_mib()
        start = time.perf_counter()
        for _ in range(steps):
            x = step(x)
        x.block_until_ready()
        took = (time.perf_counter() - start) / steps
        label = "donated (in place)" if donate else "not donated (copy)"
        print(f"x.at[7].set on 1e8 float32, {label:<19} {took * 1e3:8.2f} ms/call, "
              f"peak memory +{peak_mib() - before:6.0f} MiB")
        del x


if __name__ == "__main__":
    overhead()
    in_place()

"""Factorization figures for irax beside JAX, measured in one process.

    .venv/bin/python benchmarks/bench_linalg.py

Warm calls of `jit(cholesky)` and `jit(solve)` on a 512x512 float32 matrix
(solve with 512 right-hand sides), median of 10. JAX calls LAPACK; irax
runs its column loops (irax/frontend/lax_linalg.py) as `scf.for` programs.
"""
import time

import numpy as np

import irax
import irax.numpy as jnp

try:
    import jax
    import jax.numpy as jjnp
except ImportError:
    jax = jjnp = None

N = 512
rng = np.random.default_rng(0)
_x = rng.standard_normal((N, N)).astype(np.float32)
SPD = _x @ _x.T + N * np.eye(N, dtype=np.float32)
B = rng.standard_normal((N, N)).astype(np.float32)


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


CASES = {
    "cholesky": (lambda np_mod: np_mod.linalg.cholesky, (SPD,), lambda: np.linalg.cholesky(SPD)),
    "solve": (lambda np_mod: np_mod.linalg.solve, (SPD, B), lambda: np.linalg.solve(SPD, B)),
}


def main():
    for name, (fn, args, reference) in CASES.items():
        t_irax, out = timed(irax.jit(fn(jnp)), *[jnp.asarray(a) for a in args])
        error = np.abs(out - reference()).max()
        print(f"{name} {N}x{N} jit:  irax {t_irax * 1e3:8.2f} ms  (max error {error:.1e})", end="")
        if jax:
            t_jax, _ = timed(jax.jit(fn(jjnp)), *args)
            print(f"   jax {t_jax * 1e3:8.2f} ms   jax/irax speed {t_jax / t_irax:5.3f}x")
        else:
            print()


if __name__ == "__main__":
    main()

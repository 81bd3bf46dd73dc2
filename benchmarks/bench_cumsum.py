"""cumsum figures for irax beside JAX, measured in one process.

    .venv/bin/python benchmarks/bench_cumsum.py

`jnp.cumsum` of 1e7 normal float32 values, jitted and eager, and the
gradient of `sum(cumsum(x) * w)` under jit: warm time per call (median of
10, rounds taking turns between irax and JAX), and each one's largest error
against NumPy's float64 cumsum (irax adds in NumPy's order, one pass; XLA
in a tree). Ratios are JAX's time over irax's: above 1.0, irax is faster.
"""
import numpy as np
from timing import timed

import irax
import irax.numpy as jnp

try:
    import jax
    import jax.numpy as jjnp
except ImportError:
    jax = jjnp = None

rng = np.random.default_rng(0)
X = rng.standard_normal(10_000_000).astype(np.float32)
W = rng.standard_normal(10_000_000).astype(np.float32)
EXACT = np.cumsum(X, dtype=np.float64)


def workloads(np_like, jit, grad):
    return {
        "jit(cumsum) 1e7": (jit(np_like.cumsum), (X,)),
        "eager cumsum 1e7": (np_like.cumsum, (X,)),
        "jit(grad) of sum(cumsum(x) * w)": (jit(grad(lambda x, w: (np_like.cumsum(x) * w).sum())), (X, W)),
    }


def main():
    ours = workloads(jnp, irax.jit, irax.grad)
    ours_args = {name: tuple(jnp.asarray(a) for a in args) for name, (_, args) in ours.items()}
    theirs = workloads(jjnp, jax.jit, jax.grad) if jax else {}
    print(f"{'workload':36s} {'irax':>10s} {'JAX':>10s} {'JAX/irax':>9s}")
    for name, (fn, _) in ours.items():
        rounds = []
        for _ in range(3):
            t_irax, got = timed(fn, *ours_args[name])
            t_jax = timed(theirs[name][0], *[jax.device_put(a) for a in theirs[name][1]])[0] if jax else float("nan")
            rounds.append((t_irax, t_jax))
        t_irax, t_jax = np.median(rounds, axis=0)
        print(f"{name:36s} {t_irax * 1e3:8.1f}ms {t_jax * 1e3:8.1f}ms {t_jax / t_irax:8.2f}x")
        if name.startswith("jit(cumsum)"):
            errors = {"irax": np.abs(got - EXACT).max()}
            if jax:
                errors["JAX"] = np.abs(np.asarray(theirs[name][0](X)) - EXACT).max()
            print("    largest error vs float64: " + ", ".join(f"{k} {v:.2g}" for k, v in errors.items()))


if __name__ == "__main__":
    main()

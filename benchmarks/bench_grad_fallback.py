"""grad through Python control flow on values (irax/frontend/tape.py) beside
JAX's eager grad, measured in one process.

    .venv/bin/python benchmarks/bench_grad_fallback.py

Each row is the median time of one warm `grad(f)(x)` call (result fetched),
irax and JAX on the same function:

1. JAX's cookbook branch, `3*x**2 if x < 3 else -4*x` (the tape, 3 ops);
2. Newton's square root, a `while` on values (the tape, ~25 ops);
3. a 2-layer MLP loss (batch 32, 16-32-1) whose formula depends on its value
   (the tape, with vector ops);
4. the same loss without the branch: irax's staged grad, the path taken
   where nothing branches on a value.
"""

import numpy as np

import irax
import irax.numpy as jnp
from bench_eager import median_time  # (benchmarks/ is on the path: the scripts run from there)

try:
    import jax
    import jax.numpy as jjnp
except ImportError:
    jax = jjnp = None

rng = np.random.default_rng(0)


def branch(np_):
    def f(x):
        if x < 3:
            return 3. * x ** 2
        return -4 * x
    return f


def newton_sqrt(np_):
    def f(a):
        x = a
        while abs(x * x - a) > 1e-6:
            x = x - (x * x - a) / (2 * x)
        return x
    return f


def mlp_loss(np_, with_branch=True):
    def loss(params, x, y):
        (w1, b1), (w2, b2) = params
        err = np_.tanh(x @ w1 + b1) @ w2 + b2 - y
        if not with_branch:
            return np_.mean(err ** 2)
        mse = np_.mean(err ** 2)
        if mse > 1.0:  # Huber-like: past 1, grow linearly
            return np_.sqrt(mse) * 2 - 1
        return mse
    return loss


def mlp_args(np_):
    params = [(rng.normal(size=(16, 32)).astype(np.float32) / 4, np.zeros(32, np.float32)),
              (rng.normal(size=(32, 1)).astype(np.float32) / 6, np.zeros(1, np.float32))]
    x, y = rng.normal(size=(32, 16)).astype(np.float32), rng.normal(size=(32, 1)).astype(np.float32)
    return (jax.tree_util.tree_map(np_.asarray, params), np_.asarray(x), np_.asarray(y))


def grad_call(lib, make, args, **kwargs):
    g = lib.grad(make(jnp if lib is irax else jjnp, **kwargs), argnums=0)
    return lambda: np.asarray(jax.tree_util.tree_leaves(g(*args))[0])


def main():
    if jax is None:
        raise SystemExit("this benchmark compares with JAX: pip install jax")
    rows = [("cookbook branch, grad at 2.0", branch, (2.0,), {}),
            ("Newton sqrt while loop, grad at 2.0", newton_sqrt, (2.0,), {}),
            ("MLP loss with a branch on its value", mlp_loss, None, {}),
            ("MLP loss, no branch (staged grad)", mlp_loss, None, {"with_branch": False})]
    for name, make, args, kwargs in rows:
        ours = median_time(grad_call(irax, make, args or mlp_args(jnp), **kwargs), 50, warmup=2)
        theirs = median_time(grad_call(jax, make, args or mlp_args(jjnp), **kwargs), 50, warmup=2)
        print(f"{name:40s} irax {ours * 1e3:7.3f} ms   jax {theirs * 1e3:7.3f} ms   irax/jax {ours / theirs:5.2f}x")


if __name__ == "__main__":
    main()

"""Autodiff figures for irax beside JAX, measured in one process.

    .venv/bin/python benchmarks/bench_autodiff.py

1. The README demo's eager linear-regression loop: 1000 steps of
   `theta - lr * grad(loss)(theta, x, y)` (no jit), total time.
2. One warm eager `grad` call of a 3-layer MLP loss (784-512-512-10, batch 128).
"""
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


def linear_regression(lib_grad, np_mod, steps=1000):
    xs = rng.normal(size=(100,)).astype(np.float32)
    ys = (3 * xs - 1 + 0.1 * rng.normal(size=(100,))).astype(np.float32)

    def loss_fn(theta, x, y):
        w, b = theta
        return np_mod.mean((w * x + b - y) ** 2)

    grad = lib_grad(loss_fn)
    theta = np_mod.array([1.0, 1.0])
    theta = theta - 0.1 * grad(theta, xs, ys)  # warm: trace and compile outside the timing
    settle()
    start = time.perf_counter()
    for _ in range(steps):
        theta = theta - 0.1 * grad(theta, xs, ys)
    theta.block_until_ready()
    return time.perf_counter() - start, np.asarray(theta)


def mlp_grad(lib_grad, np_mod, repeat=20):
    sizes = [784, 512, 512, 10]
    params = [
        (np_mod.asarray(rng.normal(size=(m, n)).astype(np.float32) / np.sqrt(m)), np_mod.zeros(n))
        for m, n in zip(sizes[:-1], sizes[1:])
    ]
    x = np_mod.asarray(rng.normal(size=(128, 784)).astype(np.float32))
    y = np_mod.asarray(rng.normal(size=(128, 10)).astype(np.float32))

    def loss(params, x, y):
        for w, b in params[:-1]:
            x = np_mod.tanh(x @ w + b)
        w, b = params[-1]
        return np_mod.mean((x @ w + b - y) ** 2)

    grad = lib_grad(loss)
    start = time.perf_counter()
    first = grad(params, x, y)
    first[0][0].block_until_ready()
    first_time = time.perf_counter() - start
    settle()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        g = grad(params, x, y)
        g[0][0].block_until_ready()
        times.append(time.perf_counter() - start)
    return first_time, float(np.median(times))


def main():
    t_irax, theta = linear_regression(irax.grad, jnp)
    print(f"linear regression, 1000 eager steps:  irax {t_irax:7.3f} s   (w={theta[0]:.3f}, b={theta[1]:.3f})", end="")
    if jax:
        t_jax, _ = linear_regression(jax.grad, jjnp)
        print(f"   jax {t_jax:7.3f} s   irax/jax {t_irax / t_jax:5.2f}x")
    else:
        print()
    first, warm = mlp_grad(irax.grad, jnp)
    print(f"MLP 784-512-512-10 grad, batch 128:    irax first {first:6.3f} s, warm {warm * 1e3:7.2f} ms", end="")
    if jax:
        first_j, warm_j = mlp_grad(jax.grad, jjnp)
        print(f"   jax first {first_j:6.3f} s, warm {warm_j * 1e3:7.2f} ms   irax/jax {warm / warm_j:5.2f}x")
    else:
        print()


if __name__ == "__main__":
    main()

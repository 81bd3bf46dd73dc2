"""One MLP training step on every device present, beside NumPy and JAX.

    .venv/bin/python benchmarks/bench_devices.py

The step: value_and_grad of a 784-256-10 tanh MLP's mean squared error on a
batch of 128, then SGD, as one jitted program (NumPy: the same by hand).
Each step is waited for. Every row also checks its loss against NumPy's;
each backend runs in a process of its own.
"""
import subprocess
import sys
import time

import numpy as np

import irax
import irax.numpy as jnp
from irax.plugins import registry
from timing import settle

try:
    import jax
    import jax.numpy as jjnp
except ImportError:
    jax = jjnp = None

rng = np.random.default_rng(0)
SIZES, BATCH, LR = (784, 256, 10), 128, 0.01
PARAMS = [(rng.normal(size=(m, n)).astype(np.float32) / np.sqrt(m), np.zeros(n, np.float32))
          for m, n in zip(SIZES[:-1], SIZES[1:])]
X = rng.normal(size=(BATCH, SIZES[0])).astype(np.float32)
Y = rng.normal(size=(BATCH, SIZES[-1])).astype(np.float32)


def make_step(lib, np_mod):
    def loss(params, x, y):
        (w1, b1), (w2, b2) = params
        return np_mod.mean((np_mod.tanh(x @ w1 + b1) @ w2 + b2 - y) ** 2)

    def step(params, x, y):
        value, grads = lib.value_and_grad(loss)(params, x, y)
        return value, lib.tree_util.tree_map(lambda p, g: p - LR * g, params, grads)

    return lib.jit(step)


def numpy_step(params, x, y):
    (w1, b1), (w2, b2) = params
    h = np.tanh(x @ w1 + b1)
    out = h @ w2 + b2
    d = 2 * (out - y) / out.size
    dh = (d @ w2.T) * (1 - h ** 2)
    grads = [(x.T @ dh, dh.sum(0)), (h.T @ d, d.sum(0))]
    return np.mean((out - y) ** 2), [(w - LR * gw, b - LR * gb) for (w, b), (gw, gb) in zip(params, grads)]


def time_steps(step, params, x, y, block, repeat=20, budget=2.0):
    """(the first step's loss, the median time of a warm step); slow devices
    get at least 3 steps, then as many as fit in `budget` seconds."""
    first, params = step(params, x, y)
    settle()
    times = []
    while len(times) < 3 or (len(times) < repeat and sum(times) < budget):
        start = time.perf_counter()
        value, params = step(params, x, y)
        block(value)
        times.append(time.perf_counter() - start)
    return float(first), float(np.median(times))


def irax_step_time(name):
    """(device, first loss, warm step time) on backend `name`'s first device,
    or None where it has no device."""
    if name not in registry.available_backends():
        return None
    device = irax.devices(name)[0]
    params, x, y = irax.device_put((PARAMS, X, Y), device)
    return (device, *time_steps(make_step(irax, jnp), params, x, y, lambda v: v.block_until_ready()))


def main():
    reference, t_numpy = time_steps(numpy_step, PARAMS, X, Y, lambda v: v)
    print(f"MLP step {SIZES} batch {BATCH}: numpy {t_numpy * 1e3:8.2f} ms")
    if jax:
        _, t_jax = time_steps(make_step(jax, jjnp), PARAMS, X, Y, lambda v: v.block_until_ready())
        print(f"{'jax (cpu)':>28} {t_jax * 1e3:8.2f} ms   numpy/jax {t_numpy / t_jax:5.2f}x")
    # Each backend in a process of its own: a device's threads can slow the
    # others' (on lavapipe, an IREE Vulkan device keeps two cores polling).
    for name in registry.platforms():
        child = subprocess.run([sys.executable, __file__, name], capture_output=True, text=True, check=True)
        if not child.stdout.strip():
            continue
        device, loss, t = child.stdout.split()
        loss, t = float(loss), float(t)
        assert abs(loss - reference) < 1e-4 * abs(reference), (name, loss, reference)
        ratio = f"   irax/jax {t / t_jax:6.2f}x" if jax else ""
        print(f"{'irax ' + device:>28} {t * 1e3:8.2f} ms   numpy/irax {t_numpy / t:5.2f}x{ratio}")


if __name__ == "__main__":
    if len(sys.argv) > 1:
        result = irax_step_time(sys.argv[1])
        if result:
            print(repr(result[0]), *result[1:])
    else:
        main()

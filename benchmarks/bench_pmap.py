"""pmap figures for irax beside JAX, each with 2 CPU devices in one process.

    .venv/bin/python benchmarks/bench_pmap.py [batch] [width]

A data-parallel training step of a 4-layer tanh MLP (default batch 256,
width 512): the gradient of the squared error, averaged over the devices
with `pmean`, and an SGD update. Timed as `jit` on one device (the whole
batch), `pmap` over one device, and `pmap` over two (half the batch each),
interleaved, median ms per step. Ratios are JAX's time over irax's.
"""
import os
import statistics
import sys
import time

import numpy as np

# Both libraries split the CPU when they first make their devices: before the imports.
os.environ.setdefault("IRAX_CPU_DEVICES", "2")
os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=2")

import irax  # noqa: E402
import irax.numpy as jnp  # noqa: E402
from timing import settle  # noqa: E402

try:
    import jax
    import jax.numpy as jjnp
except ImportError:
    jax = jjnp = None

BATCH, WIDTH = (int(a) for a in (sys.argv[1:] + ["256", "512"])[:2])
LAYERS = 4


def steps(L, np_mod):
    """name -> a call of one step, for the library L (irax or jax)."""
    rng = np.random.default_rng(0)
    ws = [np_mod.asarray(rng.normal(size=(WIDTH, WIDTH)).astype(np.float32) / np.sqrt(WIDTH)) for _ in range(LAYERS)]
    x = rng.normal(size=(2, BATCH // 2, WIDTH)).astype(np.float32)

    def loss(ws, x):
        h = x
        for w in ws:
            h = np_mod.tanh(h @ w)
        return np_mod.mean(h ** 2)

    def step(ws, x):
        return [w - 0.01 * L.lax.pmean(g, "i") for w, g in zip(ws, L.grad(loss)(ws, x))]

    one = L.jit(lambda ws, x: [w - 0.01 * g for w, g in zip(ws, L.grad(loss)(ws, x))])
    pmap1 = L.pmap(step, axis_name="i", in_axes=(None, 0), devices=L.devices()[:1])
    pmap2 = L.pmap(step, axis_name="i", in_axes=(None, 0), devices=L.devices()[:2])
    whole, halves = x.reshape(BATCH, WIDTH), x
    return {"jit, 1 device": lambda: one(ws, whole),
            "pmap, 1 device": lambda: pmap1(ws, whole[None]),
            "pmap, 2 devices": lambda: pmap2(ws, halves)}


def measure(L, calls, rounds=5, per_round=10):
    for call in calls.values():
        L.block_until_ready(call())
    settle()
    times = {name: [] for name in calls}
    for _ in range(rounds):
        for name, call in calls.items():
            start = time.perf_counter()
            for _ in range(per_round):
                L.block_until_ready(call())
            times[name].append((time.perf_counter() - start) / per_round)
    return {name: statistics.median(t) for name, t in times.items()}


def main():
    print(f"MLP step, batch {BATCH}, width {WIDTH}, {LAYERS} layers; {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f}")
    results = {"irax": measure(irax, steps(irax, jnp))}
    if jax is not None:
        results["jax"] = measure(jax, steps(jax, jjnp))
    for name in results["irax"]:
        line = f"{name:16s} irax {results['irax'][name] * 1e3:8.2f} ms"
        if "jax" in results:
            line += f"   jax {results['jax'][name] * 1e3:8.2f} ms   jax/irax {results['jax'][name] / results['irax'][name]:.2f}"
        print(line)


if __name__ == "__main__":
    main()

"""Compiled loops, irax beside JAX in one process.

    .venv/bin/python benchmarks/bench_loops.py

1. An RNN, `lax.scan` over 200 steps of h = tanh(h @ W + x_t), H = 128,
   batch 8: the forward pass under jit, and jit(grad) of a loss of it with
   respect to W, then to W and xs.
2. `lax.fori_loop` of 10 000 scalar updates x = x * 0.999 + 0.001 under jit.
Each irax row is run as written (irax chooses `unroll`: 20 for the RNN's
small steps, see irax/frontend/control_flow.py; the scalar loop runs as
native code in one dispatch, see irax/transforms/elementwise_loops.py) and rolled
(unroll=1); JAX's as written. Median of warm calls, rounds interleaved
(`--rounds N`, the machine may be shared); ratios are JAX's time over
irax's (above 1.0, irax is faster).
"""
import sys

import numpy as np

import irax
import irax.numpy as jnp
from timing import timed

try:
    import jax
    import jax.numpy as jjnp
except ImportError:
    jax = jjnp = None

T, B, H = 200, 8, 128
rng = np.random.default_rng(0)
W = (rng.standard_normal((H, H)) / np.sqrt(H)).astype(np.float32)
XS = rng.standard_normal((T, B, H)).astype(np.float32)
H0 = np.zeros((B, H), np.float32)


def rnn(lib, np_mod, unroll):
    def forward(w, h0, xs):
        def step(h, x):
            h = np_mod.tanh(h @ w + x)
            return h, h
        return lib.lax.scan(step, h0, xs, **unroll)[1]

    def loss(w, h0, xs):
        return np_mod.mean(forward(w, h0, xs) ** 2)

    return lib.jit(forward), lib.jit(lib.grad(loss)), lib.jit(lib.grad(loss, argnums=(0, 2)))


class _Both:
    """Two gradients as timing.timed wants a result: with block_until_ready."""

    def __init__(self, pair):
        self.pair = pair

    def block_until_ready(self):
        return [g.block_until_ready() for g in self.pair]


def scalar_loop(lib, unroll):
    return lib.jit(lambda x: lib.lax.fori_loop(0, 10_000, lambda i, x: x * 0.999 + 0.001, x, **unroll))


def rows(lib, np_mod, unroll):
    forward, gradient, gradient_xs = rnn(lib, np_mod, unroll)
    args = (np_mod.asarray(W), np_mod.asarray(H0), np_mod.asarray(XS))
    return {"scan RNN forward, 200 steps, H=128": timed(forward, *args, repeat=30)[0] * 1e3,
            "jit(grad) of the scan RNN": timed(gradient, *args, repeat=30)[0] * 1e3,
            "the same, also with respect to xs": timed(lambda *a: _Both(gradient_xs(*a)), *args, repeat=30)[0] * 1e3,
            "fori_loop, 10 000 scalar updates": timed(scalar_loop(lib, unroll), np_mod.float32(1.0), repeat=30)[0] * 1e3}


VARIANTS = {"irax": {}, "irax unroll=1": {"unroll": 1}}


def main(rounds):
    runs = {name: [] for name in [*VARIANTS, "jax"]}
    for _ in range(rounds):
        for name, unroll in VARIANTS.items():
            runs[name].append(rows(irax, jnp, unroll))
        if jax is not None:
            runs["jax"].append(rows(jax, jjnp, {}))
    med = {name: {row: float(np.median([r[row] for r in rs])) for row in rs[0]} for name, rs in runs.items() if rs}
    for row in med["irax"]:
        line = f"{row:38}" + "".join(f"  {name} {med[name][row]:8.3f} ms" for name in med)
        if "jax" in med:
            line += "   jax/irax " + " ".join(f"{med['jax'][row] / med[name][row]:5.2f}x" for name in VARIANTS)
        print(line, flush=True)


if __name__ == "__main__":
    main(int(sys.argv[sys.argv.index("--rounds") + 1]) if "--rounds" in sys.argv else 3)

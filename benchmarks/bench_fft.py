"""FFT figures for irax beside JAX, measured in one process.

    .venv/bin/python benchmarks/bench_fft.py

Warm calls of `jit(fft)` on 2^16 complex64 points, of `jit(rfft)` on a
(64, 1024) float32 batch and of `jit(irfft)` on its (64, 513) spectrum,
median of 10. JAX calls DUCC (XLA's CPU FFT); irax runs radix-4
decimation-in-frequency stages (irax/frontend/numpy/fft.py), each one fused
elementwise dispatch, and one final transpose; rfft and irfft of even n
transform n/2 complex points.
"""
import numpy as np

import irax
import irax.numpy as jnp
from timing import timed

try:
    import jax
    import jax.numpy as jjnp
except ImportError:
    jax = jjnp = None

rng = np.random.default_rng(0)
Z = (rng.standard_normal(2 ** 16) + 1j * rng.standard_normal(2 ** 16)).astype(np.complex64)
X = rng.standard_normal((64, 1024)).astype(np.float32)


CASES = {
    "fft 2^16 complex64": (lambda np_mod: np_mod.fft.fft, Z),
    "rfft (64, 1024) float32": (lambda np_mod: np_mod.fft.rfft, X),
    "irfft (64, 513) complex64": (lambda np_mod: np_mod.fft.irfft, np.fft.rfft(X).astype(np.complex64)),
}


def main():
    for name, (fn, x) in CASES.items():
        t_irax, out = timed(irax.jit(fn(jnp)), jnp.asarray(x))
        want = fn(np)(x)
        error = np.abs(out - want).max() / np.abs(want).max()
        print(f"{name} jit:  irax {t_irax * 1e3:8.2f} ms  (max error {error:.1e} of the largest)", end="")
        if jax:
            t_jax, _ = timed(jax.jit(fn(jjnp)), x)
            print(f"   jax {t_jax * 1e3:8.2f} ms   jax/irax speed {t_jax / t_irax:5.3f}x")
        else:
            print()


if __name__ == "__main__":
    main()

"""Factorization figures for irax beside JAX, measured in one process.

    .venv/bin/python benchmarks/bench_linalg.py

Warm calls of `jit(cholesky)` and `jit(solve)` on a 512x512 float32 matrix
(solve with 512 right-hand sides), of `jit(qr)` (Q R, compared with the
input) on a general 512x512 one, and of `jit(svd)` (U diag(s) Vᵀ, compared with the input) on
64x64 and 256x256 ones and `jit(eigh)` (V diag(w) Vᵀ) on symmetric ones,
median of 10. JAX calls LAPACK; irax runs its column loops
(irax/frontend/lax_linalg.py, lax_qr.py) as `scf.for` programs, and its
Jacobi sweeps (irax/frontend/lax_svd.py, lax_eigh.py) as a `while_loop`.
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

N = 512
rng = np.random.default_rng(0)
_x = rng.standard_normal((N, N)).astype(np.float32)
SPD = _x @ _x.T + N * np.eye(N, dtype=np.float32)
B = rng.standard_normal((N, N)).astype(np.float32)
SYM = (B + B.T) / 2


def qr_reconstruction(np_mod):
    """Q R from qr, so that all of the QR is computed (and checked against the input)."""
    def fn(a):
        q, r = np_mod.linalg.qr(a)
        return q @ r
    return fn


def svd_reconstruction(np_mod):
    """U diag(s) Vᵀ from svd, so that all of the SVD is computed (and checked against the input)."""
    def fn(a):
        u, s, vt = np_mod.linalg.svd(a)
        return (u * s[..., None, :]) @ vt
    return fn


def eigh_reconstruction(np_mod):
    """V diag(w) Vᵀ from eigh, so that all of it is computed (and checked against the input)."""
    def fn(a):
        w, v = np_mod.linalg.eigh(a)
        return (v * w[..., None, :]) @ v.T
    return fn


CASES = {
    f"cholesky {N}x{N}": (lambda np_mod: np_mod.linalg.cholesky, (SPD,), lambda: np.linalg.cholesky(SPD)),
    f"solve {N}x{N}": (lambda np_mod: np_mod.linalg.solve, (SPD, B), lambda: np.linalg.solve(SPD, B)),
    f"qr {N}x{N}": (qr_reconstruction, (B,), lambda: B),
    **{f"svd {n}x{n}": (svd_reconstruction, (B[:n, :n],), lambda n=n: B[:n, :n]) for n in (64, 256)},
    **{f"eigh {n}x{n}": (eigh_reconstruction, (SYM[:n, :n],), lambda n=n: SYM[:n, :n]) for n in (64, 256)},
}


def main():
    for name, (fn, args, reference) in CASES.items():
        t_irax, out = timed(irax.jit(fn(jnp)), *[jnp.asarray(a) for a in args])
        error = np.abs(out - reference()).max()
        print(f"{name} jit:  irax {t_irax * 1e3:8.2f} ms  (max error {error:.1e})", end="")
        if jax:
            t_jax, _ = timed(jax.jit(fn(jjnp)), *args)
            print(f"   jax {t_jax * 1e3:8.2f} ms   jax/irax speed {t_jax / t_irax:5.3f}x")
        else:
            print()


if __name__ == "__main__":
    main()

"""Factorization figures for irax beside JAX, measured in one process.

    .venv/bin/python benchmarks/bench_linalg.py [NAME ...]   (e.g. cholesky solve)

Warm calls of `jit(cholesky)` and `jit(solve)` on a 512x512 float32 matrix
(solve with 512 right-hand sides), of `jit(qr)` (Q R, compared with the
input) on a general 512x512 one, and of `jit(svd)` (U diag(s) Vᵀ, compared with the input) on
64x64 and 256x256 ones, `jit(eigh)` (V diag(w) Vᵀ) on symmetric ones and
`jit(grad(det))` (det(a) a⁻ᵀ, the adjugate's transpose) on a 64x64 one:
median of ROUNDS calls interleaved with JAX's, the process's CPU time, and
the best call. JAX calls LAPACK; irax runs its column loops
(irax/frontend/lax_linalg.py, lax_qr.py), eigh's tridiagonal reduction
and QL sweeps (lax_eigh_tridiagonal.py) and the SVD's bidiagonal
reduction and QR sweeps (lax_svd_bidiagonal.py) as kernels, native loops
on the CPU (irax/backends/cpu_kernels.py; IRAX_CPU_KERNELS=0 runs their
portable programs instead, and eigh and the SVD by Jacobi's sweeps).
"""
import os
import sys
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

N = 512
ROUNDS = 20
rng = np.random.default_rng(0)
_x = rng.standard_normal((N, N)).astype(np.float32)
SPD = _x @ _x.T + N * np.eye(N, dtype=np.float32)
B = rng.standard_normal((N, N)).astype(np.float32)
SYM = (B + B.T) / 2
SMALL = B[:64, :64] / 4  # det ~ 1e5: of B's corner itself it overflows float32


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
    "grad det 64x64": (lambda np_mod: (irax if np_mod is jnp else jax).grad(np_mod.linalg.det), (SMALL,),
                       lambda: np.linalg.det(SMALL.astype(float)) * np.linalg.inv(SMALL.astype(float)).T),
    f"cholesky {N}x{N}": (lambda np_mod: np_mod.linalg.cholesky, (SPD,), lambda: np.linalg.cholesky(SPD)),
    f"solve {N}x{N}": (lambda np_mod: np_mod.linalg.solve, (SPD, B), lambda: np.linalg.solve(SPD, B)),
    f"qr {N}x{N}": (qr_reconstruction, (B,), lambda: B),
    **{f"svd {n}x{n}": (svd_reconstruction, (B[:n, :n],), lambda n=n: B[:n, :n]) for n in (64, 256)},
    **{f"eigh {n}x{n}": (eigh_reconstruction, (SYM[:n, :n],), lambda n=n: SYM[:n, :n]) for n in (64, 256)},
}


def per_call(fn, args, block):
    """(seconds, CPU seconds of the process, all threads) of one warm call."""
    start, start_cpu = time.perf_counter(), time.process_time()
    block(fn(*args))
    return time.perf_counter() - start, time.process_time() - start_cpu


def main():
    """Each case: ROUNDS rounds, each one call of irax's then one of JAX's
    (interleaved, so both see the same load), median and best wall time and
    median CPU time. On a shared machine the CPU time is the steadier figure;
    JAX's LAPACK suffers more from a loaded machine than irax's programs."""
    names = [name for name in CASES if not sys.argv[1:] or any(arg in name for arg in sys.argv[1:])]
    print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    for name in names:
        fn, args, reference = CASES[name]
        ours, our_args = irax.jit(fn(jnp)), [jnp.asarray(a) for a in args]
        out = np.asarray(ours(*our_args))
        settle()
        error = np.abs(out - reference()).max()
        calls = [(ours, our_args, irax.block_until_ready)]
        if jax:
            calls.append((jax.jit(fn(jjnp)), [jax.device_put(a) for a in args], jax.block_until_ready))
            jax.block_until_ready(calls[1][0](*calls[1][1]))
        rounds = np.array([[per_call(*call) for call in calls] for _ in range(ROUNDS)]) * 1e3  # (round, lib, wall/cpu)
        wall, cpu, best = np.median(rounds[..., 0], 0), np.median(rounds[..., 1], 0), rounds[..., 0].min(0)
        line = (f"{name} jit:  irax {wall[0]:8.2f} ms (cpu {cpu[0]:7.2f}, best {best[0]:7.2f})  "
                f"(max error {error:.1e})")
        if jax:
            line += (f"   jax {wall[1]:8.2f} ms (cpu {cpu[1]:7.2f}, best {best[1]:7.2f})   jax/irax speed "
                     f"{wall[1] / wall[0]:5.3f}x, cpu {cpu[1] / cpu[0]:5.3f}x, best {best[1] / best[0]:5.3f}x")
        print(line, flush=True)


if __name__ == "__main__":
    main()

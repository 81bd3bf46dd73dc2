"""`irax.lax.linalg.eigh`: A = V diag(w) Vᴴ for a symmetric (or complex
Hermitian) A (IREE has no LAPACK; see lax_linalg.py). On the CPU, a real A
takes LAPACK's way (lax_eigh_tridiagonal.py: a Householder reduction to
tridiagonal form and QL sweeps, native kernels: jit(eigh) of 256x256
float32 33 -> ~3 ms, JAX's 3.5); everywhere else, and for a
complex A, Jacobi's method, as whole-array irax ops in loops, which suit a
GPU (a round is O(n²) elementwise work, n - 1 a sweep, where a QL sweep is
n dependent rotations):

A Jacobi rotation J in the plane (p, q) turns A into Jᵀ A J with a_pq = 0:

    θ = (a_qq - a_pp) / (2 a_pq),  t = tan φ = sign(θ) / (|θ| + √(1 + θ²))  (the smaller angle, |φ| ≤ π/4),
    c = 1 / √(1 + t²),  s = t c,  r = tan(φ/2) = s / (1 + c);
    rows and columns p, q:  x_p ← x_p - s (x_q + r x_p),  x_q ← x_q + s (x_p - r x_q),
    a_pp ← a_pp - t a_pq,  a_qq ← a_qq + t a_pq,  a_pq = a_qp ← 0.

A complex a_pq = |a_pq| u (|u| = 1) turns by J = [[c, s u], [-s ū, c]]
(diag(1, u) J diag(1, ū) is the real rotation for the real |a_pq|): θ and t
as above with |a_pq| for a_pq, and

    columns  x_p ← x_p - s (ū x_q + r x_p),  x_q ← x_q + s (u x_p - r x_q)   (X J)
    rows     the same with u and ū swapped                                   (Jᴴ X)
    a_pp ← a_pp - t |a_pq|,  a_qq ← a_qq + t |a_pq|;

the diagonal stays real, and so do the eigenvalues.

Each rotation lowers off(A)² = Σ_{i≠j} |a_ij|² by 2 |a_pq|², and a sweep
through all n(n-1)/2 pairs converges quadratically once off(A) is small.
Rotations of disjoint pairs commute, so a round turns n/2 pairs at once:
the pairs are rows (and columns) i and h + i (h = n/2), rotated as the two
halves of the matrix, O(n²) elementwise work. Between rounds the indices
move as players of a round-robin tournament (Brent and Luk's parallel
ordering): index 0 stays, the others move one step round the ring
1, 2, ..., h-1, n-1, n-2, ..., h, so that the n-1 rounds of a sweep meet
every pair once and end where they began. V accumulates the same column
rotations and moves from I. A sweep is the kernel "eigh_sweep"
(frontend/kernels.py), which the CPU runs as native loops. An odd n gets
a zero row and column, which no rotation touches (its a_pq are 0),
dropped at the end.

Accuracy to float rounding, as LAPACK's: the updates above (Rutishauser's)
add a small correction where the rotation is small, so V stays orthogonal
to a few ulps; and a sweep adds the diagonal's corrections ±t a_pq in a
vector z of their own, setting diag(A) to diag(A at the sweep's start) + z
at its end, because added one at a time to a_pp, corrections below half
an ulp of a_pp would be lost (the last sweeps' all are). A is scaled by a
power of two, so max |a_ij| is about 1 and its squares neither overflow
nor underflow, and the sweeps stop when off(A) ≤ ε ‖A‖_F for every matrix
of the batch (ε the dtype's epsilon), or after MAX_SWEEPS.

The eigenvalues come sorted, with V's columns; subset_by_index then slices
both. The derivative is JAX's (a custom JVP; reverse mode transposes it):

    ẇ = Re diag(Vᴴ Ȧ V),  V̇ = V (F ∘ Vᴴ Ȧ V),  F_ij = 1 / (w_j - w_i) (i ≠ j), F_ii = 0,

which holds for distinct eigenvalues. Where w_i = w_j exactly V̇ is
undefined (any rotation within the eigenspace is as good), and F_ij = 0
there: JAX's inf would make the gradient of a function of w alone NaN,
as reverse mode multiplies it by V's zero cotangent.
"""
from __future__ import annotations

import numpy as np

from irax.frontend.control_flow import fori_loop, while_loop
from irax.frontend.custom_derivatives import custom_jvp
from irax.frontend.kernels import kernel_call
from irax.frontend.lax_eig import scaled_by_a_power_of_two
from irax.frontend.lax_eigh_tridiagonal import native_path_applies, tridiagonal_eigh
from irax.frontend.lax_linalg import _H, _check_float, _check_square, symmetrize
from irax.frontend.lax_qdwh import EighImplementation
from irax.frontend.numpy import (abs, any, argsort, broadcast_to, concatenate, conj, diagonal, iscomplexobj, isfinite,
                                 matmul, pad, real, sqrt, sum, take, take_along_axis, tril, triu, where, zeros_like)
from irax.frontend.numpy.util import asarray
from irax.ir.types import real_dtype
from irax.plugins.registry import default_backend
from irax.typing import Array, ArrayLike

# Sweeps at most: from off(A) ≈ ‖A‖, convergence takes about 6-12 (more
# for larger n and float64); the limit only ends a loop that cannot get
# there (off(A) of a matrix with infinities stays NaN, which stops at once).
MAX_SWEEPS = 40


def _tournament(m):
    """The static permutation that moves the indices one round on: new
    index k holds old index perm[k]. Index 0 stays; the ring 1..h-1, m-1..h
    (h = m/2) turns by one."""
    h = m // 2
    ring = np.r_[1:h, m - 1:h - 1:-1]
    perm = np.arange(m)
    perm[np.roll(ring, -1)] = ring
    return perm


def _halves(x, axis):
    h = x.shape[axis] // 2
    return (x[..., :h, :], x[..., h:, :]) if axis == -2 else (x[..., :h], x[..., h:])


def _rotate(x, s, r, axis, u=None):
    """Rotate the slices i and h + i of x along `axis` (-2: rows, -1: columns),
    by the phase u of a complex a_pq (None: real)."""
    p, q = _halves(x, axis)
    if u is None:
        return concatenate([p - s * (q + r * p), q + s * (p - r * q)], axis=axis)
    u_p, u_q = (conj(u), u) if axis == -2 else (u, conj(u))
    return concatenate([p - s * (u_q * q + r * p), q + s * (u_p * p - r * q)], axis=axis)


def _sweep(a, v):
    """One sweep of n - 1 rounds of (a, v) (..., m, m), m even; a's diagonal
    gets its corrections at the end. The kernel "eigh_sweep"
    (backends/cpu_kernels.py runs it as one native loop)."""
    m = a.shape[-1]
    complex_ = iscomplexobj(a)
    perm = _tournament(m)
    diag = np.eye(m, dtype=bool)
    pairs = np.abs(np.arange(m)[:, None] - np.arange(m)) == m // 2

    def round_(_, state):
        a, v, z = state
        app, aqq = _halves(real(diagonal(a, axis1=-2, axis2=-1)), -1)
        apq = diagonal(a, offset=m // 2, axis1=-2, axis2=-1)
        u_row = u_column = None
        if complex_:
            size = abs(apq)
            u = where(size == 0, 1, apq / where(size == 0, 1, size))
            apq, u_row, u_column = size, u[..., :, None], u[..., None, :]
        theta = (aqq - app) / (2 * where(apq == 0, 1, apq))
        t = where(apq == 0, 0, where(theta < 0, -1, 1) / (abs(theta) + sqrt(1 + theta * theta)))
        c = 1 / sqrt(1 + t * t)
        s, r = t * c, t * c / (1 + c)
        a = _rotate(_rotate(a, s[..., :, None], r[..., :, None], -2, u_row), s[..., None, :], r[..., None, :], -1,
                    u_column)
        v = _rotate(v, s[..., None, :], r[..., None, :], -1, u_column)
        ta = t * apq
        correction = concatenate([-ta, ta], axis=-1)
        a = where(diag, concatenate([app - ta, aqq + ta], axis=-1)[..., None, :], where(pairs, 0, a))
        return take(take(a, perm, axis=-2), perm, axis=-1), take(v, perm, axis=-1), take(z + correction, perm, axis=-1)

    start = real(diagonal(a, axis1=-2, axis2=-1))
    a, v, z = fori_loop(0, m - 1, round_, (a, v, zeros_like(start)))
    return where(diag, (start + z)[..., None, :], a), v


def _jacobi(x):
    """(V, w) of each symmetric (Hermitian) x, unsorted (the diagonal's order)."""
    n = x.shape[-1]
    m = n + n % 2
    a = pad(x, [(0, 0)] * (x.ndim - 2) + [(0, m - n), (0, m - n)])
    info = np.finfo(x.dtype)  # of the real dtype, for a complex x
    # by a power of two near max |a_ij|, 1 for a zero matrix (its 2^minexp, an exp2 that flushed to 0,
    # made eigh of zeros NaN)
    a, scale = scaled_by_a_power_of_two(a)
    off_diagonal = ~np.eye(m, dtype=bool)
    tolerance = float(info.eps) ** 2

    def unconverged(state):
        a, _, sweeps = state
        squares = real(a * conj(a)) if iscomplexobj(a) else a * a
        off = sum(where(off_diagonal, squares, 0), axis=(-2, -1))
        return (sweeps < MAX_SWEEPS) & any(off > tolerance * sum(squares, axis=(-2, -1)))

    def sweep(state):
        a, v, sweeps = state
        # A kernel: on the CPU a round is native code, where a host loop step costs 15-60 us.
        return (*kernel_call("eigh_sweep", _sweep, a, v), sweeps + 1)

    v = broadcast_to(np.eye(m, dtype=x.dtype), a.shape)
    a, v, _ = while_loop(unconverged, sweep, (a, v, np.int32(0)))
    w = real(diagonal(a, axis1=-2, axis2=-1)) * scale[..., 0]
    return v[..., :n, :n], w[..., :n]


def _tridiagonal_applies(x):
    """Whether x takes the tridiagonal path (lax_eigh_tridiagonal.py): 2 rows
    or more, and LAPACK's way applies (native_path_applies)."""
    n = x.shape[-1]
    return 2 <= n and native_path_applies(x, n)


def _sorted_eigh(x):
    """(V, w) of each symmetric x, w ascending; all NaN for an x with a NaN
    or an infinity, as JAX's (the rotations that never touched one left some
    finite: Jacobi's eigh of an infinity gave zeros and I)."""
    if _tridiagonal_applies(x):
        v, w = tridiagonal_eigh(x)
    else:
        v, w = _jacobi(x)
        order = argsort(w, axis=-1)
        v, w = take_along_axis(v, order[..., None, :], axis=-1), take_along_axis(w, order, axis=-1)
    nan = any(~isfinite(x), axis=(-2, -1))
    return where(nan[..., None, None], np.nan, v), where(nan[..., None], np.nan, w)


_eigh = custom_jvp(_sorted_eigh)


@_eigh.defjvp
def _eigh_jvp(primals, tangents):
    (x,), (dx,) = primals, tangents
    v, w = _sorted_eigh(x)
    gaps = w[..., None, :] - w[..., :, None]
    f = where(gaps != 0, 1 / where(gaps != 0, gaps, 1), 0)
    vh_dx_v = matmul(matmul(_H(v), dx), v)
    return (v, w), (matmul(v, f * vh_dx_v), real(diagonal(vh_dx_v, axis1=-2, axis2=-1)))


# The implementations JAX refuses, with its NotImplementedError's words, and on which platforms
# (whether the backend's name is one); irax would compute them all as it computes the default.
REFUSED_IMPLEMENTATIONS = {
    EighImplementation.QDWH: ("QDWH implementation is only supported on TPU", lambda platform: platform != "tpu"),
    EighImplementation.JACOBI: ("Jacobi implementation is not supported on CPU", lambda platform: platform == "cpu"),
}


def _triangle(x, lower):
    """The Hermitian matrix that x's lower (or upper) triangle holds (its
    diagonal's imaginary part ignored, as LAPACK's)."""
    part = tril(x, -1) if lower else triu(x, 1)
    diagonal_ = where(np.eye(x.shape[-1], dtype=bool), real(x), 0).astype(x.dtype)
    return part + diagonal_ + _H(part)


def eigh(x: ArrayLike, *, lower: bool = True, symmetrize_input: bool = True, sort_eigenvalues: bool = True,
         subset_by_index: tuple[int, int] | None = None,
         implementation: EighImplementation | None = None) -> tuple[Array, Array]:
    """(v, w) with x = v diag(w) vᴴ for each symmetric (Hermitian) [..., n, n] x: the
    eigenvalues w ascending (real, also for a complex x) (always: `sort_eigenvalues` allows any order),
    v[..., :, i] the unit eigenvector of w[..., i]. Reads x's `lower` (or
    upper) triangle, or (x + xᴴ)/2 when `symmetrize_input`.
    `subset_by_index=(start, end)` keeps eigenpairs start..end-1.
    `implementation` is JAX's choice of algorithm: irax's is its own whatever
    is named (module docstring), and it refuses those JAX refuses on the
    default backend."""
    message, refused_on = REFUSED_IMPLEMENTATIONS.get(implementation, (None, lambda platform: False))
    if refused_on(default_backend()):
        raise NotImplementedError(message)
    x = asarray(x)
    _check_float("eigh", x)
    _check_square("symmetric eigendecomposition", x)  # JAX's words
    n = x.shape[-1]
    start, end = (0, n) if subset_by_index is None else subset_by_index
    if not 0 <= start <= end <= n:
        raise ValueError(f"subset_by_index must be (start, end) with 0 <= start <= end <= {n}, "
                         f"got {subset_by_index}.")
    if x.size == 0:  # nothing to rotate (and no largest entry to scale by)
        v, w = x, asarray(np.zeros(x.shape[:-1], real_dtype(x.dtype)))
    else:
        v, w = _eigh(symmetrize(x) if symmetrize_input else _triangle(x, lower))
    return v[..., start:end], w[..., start:end]


__all__ = ["eigh"]

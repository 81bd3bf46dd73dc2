"""`irax.lax.linalg.qdwh`: the polar decomposition x = u h (u with orthonormal
columns, h Hermitian positive semidefinite) of an [m, n] x, m >= n, by the
QR-based dynamically weighted Halley iteration (Nakatsukasa, Bai and Gygi,
SIAM J. Matrix Anal. Appl. 31 (2010)), the algorithm and stopping rule of
JAX's, so that num_iters and is_converged are JAX's and u, h agree to rounding.

x is scaled to u₀ = x / √(‖x‖₁ ‖x‖∞), whose singular values lie in [l, 1]
for a lower bound l, taken to be eps (x of full rank, not too ill-conditioned). Each step maps every singular value σ
to σ (a + b σ²) / (1 + c σ²), the weights chosen from l so that the image
of [l, 1] is as close to 1 as can be, and l moves on to l (a + b l²) / (1 + c l²):

    d = ∛(4 (1 - l²) / l⁴),  a = √(1 + d) + √(2 - d + 2 (2 - l²) / (l² √(1 + d))),
    b = (a - 1)² / 4,  c = a + b - 1,

    u ← (b/c) u + (a - b/c) u (I + c uᴴu)⁻¹.

l depends on nothing but eps, so the weights are numbers known at trace time,
one triple per step until l is 1 to within 5 eps (or max_iterations). While
c > 100 the step is a thin QR of [√c u; I] = [q₁; q₂] r, as
u (I + c uᴴu)⁻¹ = q₁ q₂ᴴ / √c needs no inverse of the ill-conditioned
I + c uᴴu; then, c smaller, a Cholesky factor y of it and two triangular
solves, u (y yᴴ)⁻¹. Once the weights are spent, Halley's own (a, b, c) =
(3, 1, 3) steps go on while ‖u - u_prev‖_F > ∛(5 eps), up to max_iterations
steps in all; is_converged says whether the last Cholesky or Halley step
met that test (a run of QR steps alone never did). A Newton-Schulz step
u ← (3u - u uᴴu)/2 then makes u orthonormal to rounding, and h = uᴴ x,
symmetrized.

dynamic_shape (m, n) says x is an [m, n] matrix padded with zeros to its
[M, N] shape: the entries outside it are zeroed, the QR's identity block
goes in at row m, and the Cholesky factorizes I in the padding's corner, so
the padding stays zero in u and h. m and n may be traced: each shape is
one compiled program.
"""
from __future__ import annotations

import enum
import functools
import math

import numpy as np

from irax.frontend.control_flow import fori_loop, while_loop
from irax.frontend.jit import jit
from irax.frontend.lax_elementwise import rsqrt
from irax.frontend.lax_indexing import dynamic_slice_in_dim, dynamic_update_slice_in_dim
from irax.frontend.lax_linalg import _H, cholesky, triangular_solve
from irax.frontend.lax_qr import qr
from irax.frontend.numpy import arange, eye, finfo, logical_not, matmul, pad, where
from irax.frontend.numpy.linalg_ops import norm
from irax.frontend.numpy.util import asarray
from irax.typing import Array, ArrayLike


class EighImplementation(enum.Enum):
    """jax.lax.linalg.EighImplementation: the algorithm JAX's eigh runs. irax
    runs its Jacobi method (lax_eigh.py) whichever is named, where JAX would run."""
    QR = "qr"
    JACOBI = "jacobi"
    QDWH = "qdwh"


# A step whose c is above this is a QR step: I + c uᴴu would be too ill-conditioned to factor by Cholesky.
CHOLESKY_CUTOFF = 100
DEFAULT_MAX_ITERATIONS = 10
HALLEY = (3.0, 1.0, 3.0)  # (a, b, c) as l -> 1


def _weights(eps, max_iterations):
    """The (a, b, c) of each weighted step, from the lower bound l = eps on."""
    l, weights = eps, []
    while l + 5 * eps < 1 and len(weights) < max_iterations:
        l2 = l * l
        d = (4 * (1 / l2 - 1) / l2) ** (1 / 3)
        sqd = math.sqrt(1 + d)
        a = sqd + math.sqrt(2 - d + 2 * (2 - l2) / (l2 * sqd))
        b = (a - 1) ** 2 / 4
        c = a + b - 1
        l = l * (a + b * l2) / (1 + c * l2)
        weights.append((a, b, c))
    return weights


def _qr_params(a, b, c):
    e = b / c
    return (a - e) / math.sqrt(c), math.sqrt(c), e


def _cholesky_params(a, b, c):
    e = b / c
    return a - e, c, e


def _mask(x, rows, columns, outside=0):
    """x with its entries outside the leading rows x columns block replaced by `outside`
    (x itself where there is no padding: rows None)."""
    if rows is None:
        return x
    inside = (arange(x.shape[0])[:, None] < rows) & (arange(x.shape[1]) < columns)
    return where(inside, x, outside)


def _qr_step(u, m, n, params):
    """e u + (a - e)/√c q₁ q₂ᴴ, [√c u; I] = [q₁; q₂] r; the I at row m, under u's true rows."""
    scale, sqrt_c, e = params
    rows, columns = u.shape
    at = rows if m is None else m
    y = dynamic_update_slice_in_dim(pad(sqrt_c * u, [(0, columns), (0, 0)]), eye(columns, dtype=u.dtype), at, 0)
    q, _ = qr(y, full_matrices=False)
    q1 = _mask(q[:rows], m, n)
    q2 = _mask(dynamic_slice_in_dim(q, at, columns, 0), n, n)
    return e * u + scale * matmul(q1, _H(q2))


def _cholesky_step(u, m, n, params):
    """e u + (a - e) u (y yᴴ)⁻¹, y yᴴ = I + c uᴴu (with I in the padding's corner, so that it stays
    positive definite)."""
    a_minus_e, c, e = params
    identity = eye(u.shape[1], dtype=u.dtype)
    y = cholesky(_mask(c * matmul(_H(u), u) + identity, n, n, identity), symmetrize_input=False)
    u_y_inverse_h = triangular_solve(y, u, lower=True, transpose_a=True, conjugate_a=True)
    return e * u + a_minus_e * triangular_solve(y, u_y_inverse_h, lower=True)


def _qdwh(x, m, n, *, max_iterations, eps):
    x = _mask(x, m, n)
    one_norm, inf_norm = norm(x, 1), norm(x, np.inf)
    alpha_inverse = where(one_norm == 0, 1, rsqrt(one_norm) * rsqrt(inf_norm))
    u = x * alpha_inverse.astype(x.dtype)
    tolerance = (5 * eps) ** (1 / 3)

    def step(update, u, params):
        """(the next u, whether it moved by more than the tolerance)."""
        new = update(u, m, n, params)
        return new, norm(new - u) > tolerance

    def weighted_steps(u, update, weights, to_params):
        """The steps of `weights` (known at trace time) in one loop that reads them from a table."""
        table = asarray(np.array([to_params(*w) for w in weights], x.dtype))
        return fori_loop(0, len(weights), lambda i, state: step(update, state[0], table[i]), (u, asarray(True)))

    weights = _weights(eps, max_iterations)
    qr_weights = [w for w in weights if w[2] > CHOLESKY_CUTOFF]
    cholesky_weights = [w for w in weights if w[2] <= CHOLESKY_CUTOFF]
    if qr_weights:  # their test is JAX's too, but read by nothing: QR steps alone leave u unconverged
        u, _ = weighted_steps(u, _qr_step, qr_weights, _qr_params)
    unconverged = asarray(True)
    if cholesky_weights:
        u, unconverged = weighted_steps(u, _cholesky_step, cholesky_weights, _cholesky_params)

    def halley(state):
        k, u, _ = state
        return (k + 1, *step(_cholesky_step, u, _cholesky_params(*HALLEY)))

    num_iters, u, unconverged = while_loop(lambda state: state[2] & (state[0] < max_iterations), halley,
                                           (len(weights), u, unconverged))
    u = 1.5 * u - 0.5 * matmul(u, matmul(_H(u), u))
    h = matmul(_H(u), x)
    return u, (h + _H(h)) / 2, num_iters, logical_not(unconverged)


@functools.lru_cache(maxsize=None)
def _qdwh_fn(max_iterations, eps):
    """qdwh as one compiled program per setting (and shape)."""
    return jit(functools.partial(_qdwh, max_iterations=max_iterations, eps=eps))


def qdwh(x: ArrayLike, *, is_hermitian: bool = False, max_iterations: int | None = None, eps: float | None = None,
         dynamic_shape: tuple[int, int] | None = None) -> tuple[Array, Array, Array, Array]:
    """(u, h, num_iters, is_converged) with x = u h for an [M, N] x, M >= N:
    u [M, N] with orthonormal columns, h [N, N] Hermitian positive
    semidefinite (x of full rank), by at most `max_iterations` (10) steps
    (the module docstring); is_converged whether the last step changed u by
    less than ∛(5 eps) (eps: the dtype's). `dynamic_shape` (m, n): x is an
    [m, n] matrix padded with zeros. `is_hermitian` is unused, as in JAX."""
    x = asarray(x)
    max_iterations = DEFAULT_MAX_ITERATIONS if max_iterations is None else int(max_iterations)
    eps = float(finfo(x.dtype).eps) if eps is None else float(eps)
    rows, columns = x.shape
    if rows < columns:
        raise ValueError("The input matrix of shape M x N must have M >= N.")
    # No padding, no masks: vmap of the masked program of a square x on Vulkan gave wrong u and h (IREE;
    # a (6, 4) or one with true padding came out right).
    if dynamic_shape is None or all(isinstance(d, int) for d in dynamic_shape) and tuple(dynamic_shape) == x.shape:
        return _qdwh_fn(max_iterations, eps)(x, None, None)
    m, n = dynamic_shape
    return _qdwh_fn(max_iterations, eps)(x, asarray(m, np.int32), asarray(n, np.int32))


__all__ = ["EighImplementation", "qdwh"]

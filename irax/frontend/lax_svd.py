"""`irax.lax.linalg.svd`: the singular value decomposition x = U diag(s) Vᴴ.
A real x (float32, float64) on the CPU with its native kernels takes
LAPACK's way, a bidiagonal reduction and implicit QR sweeps
(lax_svd_bidiagonal.py; `_bidiagonal_applies`); everything else (Vulkan and
other devices, complex, float16, a single column, the reduced U of a matrix
over 4 times taller than wide) one-sided Jacobi
(Hestenes) rotations, as whole-array irax ops, below. The custom JVP sits
above both.

IREE has no LAPACK. One-sided Jacobi needs nothing but column dot products
and plane rotations, so each step is a few elementwise ops and reductions on
the whole batch of matrices:

    G = x (m x n, m >= n; a wide x is transposed first), V = I
    for a pair of columns p, q:  α = |g_p|², β = |g_q|², γ = g_p·g_q
        if |γ| > tol sqrt(αβ):   ζ = (β - α) / 2γ,  t = sign(ζ) / (|ζ| + sqrt(1 + ζ²)),
                                 c = 1 / sqrt(1 + t²),  s = c t
                                 (g_p, g_q) <- (c g_p - s g_q, s g_p + c g_q), and so V's columns
    (t is the smaller root of t² + 2ζt - 1 = 0, which makes the new g_p·g_q zero)

A complex x has γ = g_pᴴ g_q = |γ| u: ζ takes |γ| for γ, and the rotation
J = [[c, s u], [-s ū, c]] (lax_eigh.py's) makes (g_p, g_q) <- (c g_p - s ū g_q,
s u g_p + c g_q); α, β and so s stay real.

The rotation is applied in Rutishauser's form, g_p - s (g_q + τ g_p) and
g_q + s (g_p - τ g_q) with τ = s / (1 + c): for a small t, c rounds to 1
and c g_p - s g_q would grow the columns by t²/2 each time (V drifts off
orthogonal over thousands of rotations); here 1 - c = sτ is kept.

Each rotation is G <- G J with J unitary, so G = x V always; once all
columns are orthogonal, s_j = |g_j|, u_j = g_j / s_j and x = U diag(s) Vᴴ.
The pairs are taken in the parallel round-robin (Brent-Luk) order: with
the columns laid out as a top half t and a bottom half b (n even; an odd n
is padded with a zero column, which no rotation touches), round r rotates
the n/2 disjoint pairs (t_i, b_i) at once, then moves the columns one seat
round the table, t_0 staying put:

    t' = [t_0, b_0, t_1, ..., t_{n/2-2}],  b' = [b_1, ..., b_{n/2-1}, t_{n/2-1}]

so the n - 1 rounds of a sweep meet every pair once (a `fori_loop` over
rounds of O(mn) whole-array work, the shuffle a static slice-and-concat)
and leave the columns where they started. A sweep is the kernel
"svd_sweep" (frontend/kernels.py), which the CPU runs as native loops. Sweeps repeat in a `while_loop`
until every pair is orthogonal to tol = sqrt(m) eps relative to its norms
(LAPACK's gesvj test), at most MAX_SWEEPS times; convergence is quadratic,
some 6-10 sweeps. x is first divided by its largest |entry| (and s
multiplied back), so the squared norms neither overflow nor underflow.

The singular values are sorted descending, as JAX's (by counting the
larger ones for each, O(n²) comparisons). A column with s_j ~ 0
(rank deficiency) has no direction of its own, and full_matrices asks for
m - n more columns of U: each missing column is completed by Gram-Schmidt
(twice, for orthogonality to rounding) from the unit vector e_k least
covered by the columns so far (the row of U with the smallest norm: its
squared norm is at most rank/m < 1, so e_k - U Uᵀ e_k is far from zero).

The derivative is a custom JVP, JAX's formula for the reduced SVD (k =
min(m, n), F_ij = 1 / (s_j² - s_i²) off the diagonal, 0 on it):

    dP = Uᴴ dx V,   ds = Re diag(dP)
    dU = U (F ∘ (dP S + S dPᴴ) + D) + (I - U Uᴴ) dx V S⁻¹    (the last term when m > n)
    dV = V (F ∘ (S dP + dPᴴ S)) + (I - V Vᴴ) dxᴴ U S⁻¹       (the last term when n > m)

with D = (dP - dPᴴ) S⁻¹ / 2 on the diagonal (0 off it, and 0 for real x),
the phase a complex pair (u_j, v_j) is free to take, given to u_j as JAX does.

For full_matrices with m > n, the m - n completing columns U₂ are any
orthonormal basis of the complement of U₁; irax moves them with U₁ by the
tangent dU₂ = -U₁ dU₁ᴴ U₂ (which keeps U unitary), where JAX raises.
Reverse mode transposes the rule.
"""
from __future__ import annotations

import enum
import functools

import ml_dtypes
import numpy as np

from irax.frontend import dtypes
from irax.frontend.control_flow import fori_loop, while_loop
from irax.frontend.custom_derivatives import custom_jvp
from irax.frontend.kernels import kernel_call
from irax.frontend.lax_linalg import _H, _check_float, _concat, _row, _zeros
from irax.frontend.lax_eigh_tridiagonal import native_path_applies
from irax.frontend.lax_svd_bidiagonal import bidiagonal_svd
from irax.frontend.numpy import (abs, amax, any, arange, argmin, astype, broadcast_to, concatenate, conj, eye,
                                 iscomplexobj, isnan, matmul, maximum, pad, real, sqrt, sum, take_along_axis, where,
                                 zeros)
from irax.frontend.numpy.util import asarray
from irax.ir.types import real_dtype
from irax.typing import Array, ArrayLike

MAX_SWEEPS = 30  # LAPACK's gesvj bound; a converging matrix needs far fewer
TALLEST = 4  # m / n of the tallest matrix whose reduced SVD takes the bidiagonal path (_bidiagonal_applies)


class SvdAlgorithm(enum.Enum):
    """jax.lax.linalg.SvdAlgorithm. irax chooses its algorithm by device
    and dtype (module docstring), so DEFAULT and JACOBI are the ones it takes."""
    DEFAULT = "default"
    QR = "QR"
    JACOBI = "Jacobi"
    POLAR = "polar"
    DIVIDE_AND_CONQUER = "divide_and_conquer"


def _squares(x):
    """|x|² elementwise, real."""
    return real(x * conj(x)) if iscomplexobj(x) else x * x


def _rotate_pairs(w, m, tol):
    """One round: rotate the pairs (w[:, i], w[:, n/2 + i]) so that the first
    m rows of each pair become orthogonal (the rows below, V's, are carried
    along); return the new w and, per matrix (..., 1), max |γ| / sqrt(αβ)
    seen before rotating."""
    k = w.shape[-1] // 2
    top, bottom = w[..., :k], w[..., k:]
    gp, gq = top[..., :m, :], bottom[..., :m, :]
    alpha, beta, gamma = sum(_squares(gp), axis=-2), sum(_squares(gq), axis=-2), sum(conj(gp) * gq, axis=-2)
    size = abs(gamma)
    norms = sqrt(alpha * beta)
    rotate = size > tol * norms
    zeta = (beta - alpha) / (2 * where(rotate, size if iscomplexobj(gamma) else gamma, 1))
    t = where(rotate, where(zeta >= 0, 1, -1) / (abs(zeta) + sqrt(1 + zeta * zeta)), 0)
    c = 1 / sqrt(1 + t * t)
    s = (c * t)[..., None, :]
    tau = s / (1 + c[..., None, :])
    if iscomplexobj(gamma):
        u = where(size == 0, 1, gamma / where(size == 0, 1, size))[..., None, :]
        top, bottom = top - s * (conj(u) * bottom + tau * top), bottom + s * (u * top - tau * bottom)
    else:
        top, bottom = top - s * (bottom + tau * top), bottom + s * (top - tau * bottom)
    off = amax(where(norms > 0, size / where(norms > 0, norms, 1), 0), axis=-1, keepdims=True)
    if k > 1:  # the round-robin move; two columns have nowhere to go
        top, bottom = (_concat([top[..., :1], bottom[..., :1], top[..., 1:k - 1]], axis=-1),
                       _concat([bottom[..., 1:], top[..., k - 1:]], axis=-1))
    return concatenate([top, bottom], axis=-1), off


def _sweep(w, rows, tolerance):
    """One sweep, the n - 1 rounds of `_rotate_pairs` on w (..., r, n), n
    even, whose first `rows` rows are the ones made orthogonal: the new w
    and, per matrix (..., 1), the largest |γ| / sqrt(αβ) seen. The kernel
    "svd_sweep" (backends/cpu_kernels.py runs it as one native loop)."""

    def round_(_, carry):
        w, off = carry
        w, round_off = _rotate_pairs(w, rows, tolerance)
        return w, maximum(off, round_off)

    return fori_loop(0, w.shape[-1] - 1, round_, (w, zeros(w.shape[:-2] + (1,), real_dtype(w.dtype))))


def _jacobi(g, with_v):
    """The columns of g (..., m, n), m >= n, rotated until orthogonal, and
    V with g_in V = g_out (None unless `with_v`)."""
    m, n = g.shape[-2:]
    real_type = real_dtype(g.dtype)
    tol = float(np.sqrt(m) * ml_dtypes.finfo(real_type).eps)
    w = g
    if with_v:
        w = concatenate([g, broadcast_to(eye(n, dtype=g.dtype), g.shape[:-2] + (n, n))], axis=-2)
    if n % 2:  # a zero column: its dot products are 0, so no rotation ever touches it
        w = _pad_columns(w, 1)

    def sweep(state):
        w, _, count = state
        # A kernel: on the CPU a round is ~1 us of native code, where a host loop step costs 15-60 us.
        w, off = kernel_call("svd_sweep", _sweep, w, rows=m, tolerance=tol)
        return w, amax(off), count + 1

    def unconverged(state):
        _, off, count = state
        return (off > tol) & (count < MAX_SWEEPS)

    w, _, _ = while_loop(unconverged, sweep, (w, np.asarray(np.inf, real_type), np.int32(0)))
    return w[..., :m, :n], (w[..., m:m + n, :n] if with_v else None)


def _pad_columns(x, count):
    """x with `count` zero columns appended. (Not `pad`: its complex zero, a
    0-d constant built from two float ones, made IREE 3.13 fail to compile a
    complex SVD: "streamable op expected to be in an execution region".)"""
    return concatenate([x, _zeros(x.shape[:-1] + (count,), x.dtype)], axis=-1)


def _complete(u, missing):
    """u (..., m, c) with orthonormal columns, except those `missing`
    (..., c), which are zeros: fill those in, so all c are orthonormal."""
    m, c = u.shape[-2:]
    rows, cols = arange(m), arange(c)

    def fill(j, u):
        k = argmin(sum(_squares(u), axis=-1), axis=-1)  # the row least covered: e_k has the most left to add
        v = astype(rows == k[..., None], u.dtype) - matmul(u, conj(_row(u, k))[..., None])[..., 0]
        v = v - matmul(u, matmul(_H(u), v[..., None]))[..., 0]
        v = v / sqrt(sum(_squares(v), axis=-1, keepdims=True))
        fills = any((cols == j) & missing, axis=-1)[..., None, None]
        return where(fills & (cols == j), v[..., :, None], u)

    return fori_loop(0, c, fill, u)


def _descending_order(s):
    """The permutation that sorts s (..., n) descending (ties and NaNs, taken
    as inf, in index order), by counting for each s_i the entries ahead of
    it: no sort, as IREE's Vulkan code cannot sort float64 (an i64 bitcast).
    The indices are a NumPy constant: as an iota (`arange`) they made IREE
    3.13's Vulkan compile of the SVD's JVP for a wide x fail ("streamable op
    expected to be in an execution region")."""
    n = s.shape[-1]
    key, index = where(isnan(s), np.inf, s), np.arange(n, dtype=np.int32)
    other, this = key[..., None, :], key[..., :, None]
    position = sum((other > this) | ((other == this) & (index < index[:, None])), axis=-1)  # where s_i goes
    return sum(where(position[..., None, :] == index[:, None], index, 0), axis=-1)


def _svd_tall(x, full_matrices, compute_uv):
    """(s, U, V) of x (..., m, n), m >= n: V square, U (..., m, m or n)."""
    m, n = x.shape[-2:]
    scale = amax(abs(x), axis=(-2, -1), keepdims=True)
    scale = where(scale > 0, scale, 1)
    g, v = _jacobi(x / scale, compute_uv)
    s = sqrt(sum(_squares(g), axis=-2))
    order = _descending_order(s)
    s = take_along_axis(s, order, axis=-1)
    if not compute_uv:
        return s * scale[..., 0], None, None
    g = take_along_axis(g, order[..., None, :], axis=-1)
    v = take_along_axis(v, order[..., None, :], axis=-1)
    # Below sqrt(tiny) (of the scaled x) a column's squared norm has underflowed: no direction left in it.
    missing = s < float(np.sqrt(ml_dtypes.finfo(s.dtype).tiny))
    u = where(missing[..., None, :], 0, g / where(missing, 1, s)[..., None, :])
    if full_matrices and m > n:
        u = _pad_columns(u, m - n)
        missing = pad(missing, [(0, 0)] * (missing.ndim - 1) + [(0, m - n)], constant_values=True)
    return s * scale[..., 0], _complete(u, missing), v


def _bidiagonal_applies(x, full_matrices, compute_uv):
    """Whether the tall x (..., m, n) takes the bidiagonal path
    (lax_svd_bidiagonal.py), as eigh's tridiagonal one is chosen
    (lax_eigh_tridiagonal.native_path_applies): 2 columns or more, its
    kernels' longest rows Qᵀ's of the (m + 1) x (m + 1). A reduced U
    of a matrix much taller than wide stays Jacobi's too: the path builds
    all of Q, ~(m - n)³/3 work for its m - n columns past n, where Jacobi's
    sweeps cost ~m n² (float32, reduced: 1000 x 200 124 ms against
    Jacobi's 188, 1000 x 100 152 against 55, 2000 x 20 1.7 s against 2.4
    ms; with full_matrices Jacobi's completion of U is the slower, 2000 x 20
    78 s against 1.5)."""
    m, n = x.shape[-2:]
    return 2 <= n and (full_matrices or not compute_uv or m <= TALLEST * n) and native_path_applies(x, m + 1)


def _svd_values(x, full_matrices, compute_uv):
    """(s, U, Vᴴ), or s alone, of x (..., m, n): a wide x is decomposed as xᴴ = V S Uᴴ."""
    m, n = x.shape[-2:]
    wide = m < n
    tall = _H(x) if wide else x
    path = bidiagonal_svd if _bidiagonal_applies(tall, full_matrices, compute_uv) else _svd_tall
    s, u, v = path(tall, full_matrices, compute_uv)
    if not compute_uv:
        return s
    u, v = (v, u) if wide else (u, v)
    return s, u, _H(v)


def _svd_jvp(full_matrices, compute_uv, primals, tangents):
    (x,), (dx,) = primals, tangents
    s, u_all, vt_all = _svd_fn(full_matrices, True)(x)
    k = s.shape[-1]
    u, vt = u_all[..., :, :k], vt_all[..., :k, :]
    v = _H(vt)
    dp = matmul(matmul(_H(u), dx), v)
    diagonal = arange(k)[:, None] == arange(k)
    ds = real(sum(where(diagonal, dp, 0), axis=-1))
    if not compute_uv:
        return s, ds
    s_row = s[..., None, :]
    s_column = s[..., :, None]
    f = where(diagonal, 0, 1 / where(diagonal, 1, (s_row + s_column) * (s_row - s_column)))
    du_core = f * (dp * s_row + _H(dp * s_row))
    if iscomplexobj(dp):
        s_inv = where(s_row == 0, 0, 1 / where(s_row == 0, 1, s_row))
        du_core = du_core + where(diagonal, (dp - _H(dp)) / 2 * s_inv, 0)
    du = matmul(u, du_core)
    dv = matmul(v, f * (s_column * dp + _H(s_column * dp)))
    m, n = x.shape[-2:]
    if m > n:
        dxv = matmul(dx, v)
        du = du + (dxv - matmul(u, matmul(_H(u), dxv))) / s_row
    if n > m:
        dxu = matmul(_H(dx), u)
        dv = dv + (dxu - matmul(v, matmul(vt, dxu))) / s_row
    # The completing columns turn with the others: d[U₁ U₂] = [dU₁, -U₁ dU₁ᴴ U₂].
    if full_matrices and m > k:
        du = concatenate([du, -matmul(u, matmul(_H(du), u_all[..., :, k:]))], axis=-1)
    if full_matrices and n > k:
        dv = concatenate([dv, -matmul(v, matmul(_H(dv), _H(vt_all[..., k:, :])))], axis=-1)
    return (s, u_all, vt_all), (ds, du, _H(dv))


@functools.lru_cache(maxsize=None)
def _svd_fn(full_matrices, compute_uv):
    """The custom-JVP SVD for one set of options (one function per set, so
    its programs are cached)."""

    @custom_jvp
    def svd(x):
        return _svd_values(x, full_matrices, compute_uv)

    svd.defjvp(functools.partial(_svd_jvp, full_matrices, compute_uv))
    return svd


def _empty_svd(x, full_matrices, compute_uv):
    """The SVD of matrices with no rows or no columns (no singular values; U
    and V identities where full_matrices asks for them, else empty), or of
    none (a batch of size 0, where the Jacobi sweeps' max over all has no value)."""
    batch, (m, n) = x.shape[:-2], x.shape[-2:]
    k = min(m, n)
    s = zeros(batch + (k,), real_dtype(x.dtype))
    if not compute_uv:
        return s
    if full_matrices:
        return tuple([s] + [broadcast_to(eye(d, dtype=x.dtype), batch + (d, d)) for d in (m, n)])
    return s, zeros(batch + (m, k), x.dtype), zeros(batch + (k, n), x.dtype)


def svd(x: ArrayLike, *, full_matrices: bool = True, compute_uv: bool = True,
        subset_by_index: tuple[int, int] | None = None,
        algorithm: SvdAlgorithm | None = None) -> Array | tuple[Array, Array, Array]:
    """(U, s, Vᴴ) with x = U diag(s) Vᴴ for each [..., m, n] matrix, s the
    min(m, n) singular values, descending; U is [..., m, m] and Vᴴ
    [..., n, n] (`full_matrices`) or [..., m, k] and [..., k, n]. With
    compute_uv=False, s alone. `subset_by_index` (start, end) keeps the
    singular values (and vectors) start..end-1 of that order."""
    x = asarray(x)
    if x.ndim < 2:
        raise TypeError(f"Input 0 to svd must have rank at least 2, but got shape={x.shape}")
    if not dtypes.issubdtype(x.dtype, np.inexact):
        raise TypeError(f"svd does not accept dtype {x.dtype} at position 0. Accepted dtypes at position 0 are "
                        "subtypes of floating, complexfloating.")
    _check_float("svd", x)
    if algorithm not in (None, SvdAlgorithm.DEFAULT, SvdAlgorithm.JACOBI):
        raise NotImplementedError(f"svd: algorithm={algorithm} is not available; irax computes every SVD by "
                                  "one-sided Jacobi (algorithm=None or SvdAlgorithm.JACOBI).")
    k = min(x.shape[-2:])
    if subset_by_index is not None:
        start, end = subset_by_index
        if full_matrices and (start, end) != (0, k):
            raise ValueError("full_matrices and subset_by_index cannot both be set")
    result = (_empty_svd(x, full_matrices, compute_uv) if x.size == 0 else
              _svd_fn(bool(full_matrices), bool(compute_uv))(x))
    if not compute_uv:
        return result if subset_by_index is None else result[..., start:end]
    s, u, vt = result
    if subset_by_index is not None:
        s, u, vt = s[..., start:end], u[..., :, start:end], vt[..., start:end, :]
    return u, s, vt


__all__ = ["SvdAlgorithm", "svd"]

"""The SVD of real matrices as LAPACK's gesvd: a Householder reduction to
upper bidiagonal form, A = Q B Pᵀ (gebd2), then B's singular values and
vectors by implicit QR sweeps (bdsqr), their rotations applied to the rows
of Qᵀ and Pᵀ, so that they end as the singular vectors. On the CPU with its
native kernels (lax_svd.py picks the path as lax_eigh.py does for the
tridiagonal one), for x (..., m, n) with m >= n >= 2; a wide x is
decomposed as xᵀ. Two kernels (frontend/kernels.py), which the CPU runs as
native loops (backends/cpu_kernels_bidiagonal.py):

"bidiagonal_reduction" (`_bidiagonal_loop`, gebd2 with m >= n): step j
reflects the column A[j:, j] onto e_j by larfg (as
lax_eigh_tridiagonal.householder, sytd2's too: beta = -sign(alpha)
‖x‖, v_j = 1), A[j:, j+1:] -= tau_q v (vᵀ A); then the row A[j, j+1:]
onto e_{j+1}, A[j+1:, j+1:] -= tau_p (A v) vᵀ. The result is packed as
LAPACK's: d on the diagonal, e on the superdiagonal, the column
reflectors below the diagonal, the row reflectors right of the
superdiagonal.

"bidiagonal_qr" (`_bidiagonal_qr_loop`, bdsqr's sweeps, top to bottom
alone): each sweep first sets every negligible e_k to 0 (|e_k| <= max(eps
(|d_k| + |d_k+1|), tiny), or not a number), then works on the first
unreduced block [l, m]: its shift is the smaller singular value of the
2x2 at its bottom (las2's, from the product and the larger one), 0 where
some |d| of the block is below eps times its largest entry (a zero d
deflates under zero-shift sweeps, Demmel and Kahan) or where (shift /
d_l)² < eps; it chases the bulge down from l to m with bdsqr's two
rotations a step (lartg's: lax_eigh_tridiagonal._rotation), the right one
applied to the rows i, i + 1 of Vᵀ, the left one to those of Uᵀ. A matrix
is done when every e is 0, or after 30 n sweeps (steqr's limit).

Qᵀ and Pᵀ come from the kernel "tridiagonal_q" (eigh's orgtr, org2r's
order), which builds Qᵀ of reflectors that start one below the diagonal:
Pᵀ's row reflectors, transposed, are just that; the column reflectors,
which start on the diagonal, are moved one row down into an (m + 1) x
(m + 1) matrix, whose Qᵀ is diag(1, Qᵀ). The singular values are |d|,
sorted descending with their rows, a negative d's row of Vᵀ negated. The
matrix is scaled by a power of two first (max |a_ij| about 1).
"""
from __future__ import annotations

import numpy as np

from irax.frontend.control_flow import fori_loop, while_loop
from irax.frontend.kernels import kernel_call
from irax.frontend.lax_eig import _entry, _indices, scaled_by_a_power_of_two
from irax.frontend.lax_eigh_tridiagonal import MAX_SWEEPS_PER_ROW, _negligible, _orgtr_loop, _rotation, householder
from irax.frontend.lax_indexing import dynamic_slice_in_dim, dynamic_update_slice_in_dim
from irax.frontend.numpy import (abs, amax, any, argmax, argsort, concatenate, copysign, diagonal, isfinite, matmul,
                                 maximum, min, minimum, pad, signbit, sqrt, sum, swapaxes, take_along_axis, where,
                                 zeros)


def _bidiagonal_loop(a):
    """(packed, taus_q (..., n), taus_p (..., n - 1)) of gebd2 on each real
    [..., m, n] a, m >= n >= 2."""
    m, n = a.shape[-2:]
    row_idx, col_idx = _indices(m), _indices(n)
    rows, cols = row_idx[:, None], col_idx

    def step(j, state):
        a, taus_q, taus_p = state
        x = dynamic_slice_in_dim(a, j, 1, axis=-1)[..., 0]
        tau, v, top = householder(x, row_idx, j)
        w = sum(v[..., :, None] * a, axis=-2)  # vᵀ A
        a = where(cols > j, a - (tau * v)[..., :, None] * w[..., None, :], a)
        a = where(cols == j, where(row_idx < j, x, where(row_idx == j, top, v))[..., :, None], a)
        taus_q = where(col_idx == j, tau, taus_q)
        # the row's reflector (at j = n - 1 none: no column right of j + 1, and the masks hold nothing)
        y = dynamic_slice_in_dim(a, j, 1, axis=-2)[..., 0, :]
        tau, v, top = householder(where(col_idx > j, y, 0), col_idx, minimum(j + 1, n - 1))
        v = where(col_idx > j, v, 0)
        w = matmul(a, v[..., :, None])[..., 0]  # A v
        a = where(rows > j, a - (tau * w)[..., :, None] * v[..., None, :], a)
        stored = where(col_idx <= j, y, where(col_idx == j + 1, top, v))
        return where(rows == j, stored[..., None, :], a), taus_q, where(col_idx[:-1] == j, tau, taus_p)

    batch = a.shape[:-2]
    return fori_loop(0, n, step, (a, zeros(batch + (n,), a.dtype), zeros(batch + (n - 1,), a.dtype)))


def _smaller_singular_value(f, g, h):
    """The smaller singular value of [[f, g], [0, h]] (las2): |f h| over the
    larger one, (√((|f| + |h|)² + g²) + √((|f| - |h|)² + g²)) / 2, each
    entry first divided by the largest."""
    fa, ga, ha = abs(f), abs(g), abs(h)
    top = maximum(maximum(fa, ga), ha)
    top = where(top == 0, 1, top)
    fa, ga, ha = fa / top, ga / top, ha / top
    larger = (sqrt((fa + ha) * (fa + ha) + ga * ga) + sqrt((fa - ha) * (fa - ha) + ga * ga)) / 2
    return where(larger == 0, 0, fa * ha / where(larger == 0, 1, larger)) * top


def _rotate_rows(y, i, c, s):
    """y with its rows (i, i + 1) <- (c y_i + s y_i+1, c y_i+1 - s y_i)."""
    pair = dynamic_slice_in_dim(y, i, 2, axis=-2)
    top, bottom = pair[..., :1, :], pair[..., 1:, :]
    c, s = c[..., None], s[..., None]
    return dynamic_update_slice_in_dim(y, concatenate([c * top + s * bottom, c * bottom - s * top], axis=-2), i,
                                       axis=-2)


def _bidiagonal_qr_loop(d, e, ut, vt, max_sweeps):
    """(d, ut, vt) after bdsqr's sweeps (at most `max_sweeps`) on each upper
    bidiagonal (d (..., k), e (..., k - 1)): the left rotations applied to
    the rows i, i + 1 < k of ut, the right ones to those of vt; d signed,
    unsorted."""
    k = d.shape[-1]
    idx = _indices(k)
    e = pad(e, [(0, 0)] * (e.ndim - 1) + [(0, 1)])
    eps = float(np.finfo(d.dtype).eps)

    def unconverged(state):
        d, e, _, _, sweeps = state
        return (sweeps < max_sweeps) & any(~_negligible(d, e))

    def sweep(state):
        d, e, ut, vt, sweeps = state
        e = where(_negligible(d, e), 0, e)
        coupled = e != 0
        done = ~any(coupled, axis=-1, keepdims=True)
        l = where(done, k - 1, argmax(coupled, axis=-1, keepdims=True).astype(np.int32))
        m = min(where(~coupled & (idx > l), idx, k - 1), axis=-1, keepdims=True)
        in_block = (idx >= l) & (idx <= m)
        smallest = min(where(in_block, abs(d), np.inf), axis=-1, keepdims=True)
        largest = maximum(amax(where(in_block, abs(d), 0), axis=-1, keepdims=True),
                          amax(where(in_block & (idx < m), abs(e), 0), axis=-1, keepdims=True))
        below = maximum(m - 1, 0)[..., 0]
        d_l = _entry(d, l[..., 0])[..., None]
        shift = _smaller_singular_value(_entry(d, below), _entry(e, below), _entry(d, m[..., 0]))[..., None]
        safe_d_l = where(d_l == 0, 1, d_l)
        shift = where((smallest <= eps * largest) | ((shift / safe_d_l) * (shift / safe_d_l) < eps), 0, shift)
        f = where(shift == 0, d_l, (abs(d_l) - shift) * (copysign(1, d_l) + shift / safe_d_l))

        def chase(i, state):
            d, e, ut, vt, f, g = state
            active = (i >= l) & (i < m)
            pair, e_i = dynamic_slice_in_dim(d, i, 2, axis=-1), dynamic_slice_in_dim(e, i, 1, axis=-1)
            d_i, d_next = pair[..., :1], pair[..., 1:]
            e_next = dynamic_slice_in_dim(e, i + 1, 1, axis=-1)
            before = maximum(i - 1, 0)
            cr, sr, r = _rotation(f, g)
            e = dynamic_update_slice_in_dim(e, where(active & (i > l), r, dynamic_slice_in_dim(e, before, 1, axis=-1)),
                                            before, axis=-1)
            top, bulge = cr * d_i + sr * e_i, sr * d_next
            e_i = cr * e_i - sr * d_i
            d_next = cr * d_next
            vt = _rotate_rows(vt, i, where(active, cr, 1), where(active, sr, 0))
            cl, sl, r = _rotation(top, bulge)
            f_new = cl * e_i + sl * d_next
            d_next = cl * d_next - sl * e_i
            g_new = sl * e_next  # (e_m is 0: the last step makes no new bulge)
            ut = _rotate_rows(ut, i, where(active, cl, 1), where(active, sl, 0))
            d = dynamic_update_slice_in_dim(d, where(active, concatenate([r, d_next], axis=-1), pair), i, axis=-1)
            e = dynamic_update_slice_in_dim(e, where(active, concatenate([e_i, cl * e_next], axis=-1),
                                                     concatenate([dynamic_slice_in_dim(e, i, 1, axis=-1), e_next],
                                                                 axis=-1)), i, axis=-1)
            return d, e, ut, vt, where(active, f_new, f), where(active, g_new, g)

        g = _entry(e, l[..., 0])[..., None]
        d, e, ut, vt, f, _ = fori_loop(0, k - 1, chase, (d, e, ut, vt, f, g))
        e = where((idx == m - 1) & ~done, f, e)
        return d, e, ut, vt, sweeps + 1

    d, _, ut, vt, _ = while_loop(unconverged, sweep, (d, e, ut, vt, np.int32(0)))
    return d, ut, vt


def reduced_to_bidiagonal(a):
    """(packed, d, e, taus_q, taus_p) of gebd2 on each real [..., m, n] a,
    m >= n >= 2: the kernel "bidiagonal_reduction"."""
    packed, taus_q, taus_p = kernel_call("bidiagonal_reduction", _bidiagonal_loop, a)
    return (packed, diagonal(packed, axis1=-2, axis2=-1), diagonal(packed, offset=1, axis1=-2, axis2=-1), taus_q,
            taus_p)


def _transposed_q_and_p(packed, taus_q, taus_p):
    """(Qᵀ (..., m, m), Pᵀ (..., n, n)) of gebd2's reflectors (module docstring)."""
    m, n = packed.shape[-2:]
    below = pad(packed[..., :, :n], [(0, 0)] * (packed.ndim - 2) + [(1, 0), (0, m + 1 - n)])
    qt = kernel_call("tridiagonal_q", _orgtr_loop, below, pad(taus_q, [(0, 0)] * (taus_q.ndim - 1) + [(0, m - n)]))
    pt = kernel_call("tridiagonal_q", _orgtr_loop, swapaxes(packed[..., :n, :], -1, -2), taus_p)
    return qt[..., 1:, 1:], pt


def bidiagonal_svd(x, full_matrices, compute_uv):
    """(s, U, V) of each real [..., m, n] x, m >= n >= 2, as lax_svd's
    _svd_tall: s descending, U (..., m, m or n), V (..., n, n); NaNs for a
    matrix with a NaN or an infinity, as JAX's (U and V None without
    compute_uv)."""
    m, n = x.shape[-2:]
    batch = x.shape[:-2]
    a, scale = scaled_by_a_power_of_two(x)
    packed, d, e, taus_q, taus_p = reduced_to_bidiagonal(a)
    if compute_uv:
        qt, pt = _transposed_q_and_p(packed, taus_q, taus_p)
    else:  # one column each: the rotations move nothing that matters
        qt = pt = zeros(batch + (n, 1), x.dtype)
    d, ut, vt = kernel_call("bidiagonal_qr", _bidiagonal_qr_loop, d, e, qt, pt,
                            max_sweeps=MAX_SWEEPS_PER_ROW * n)
    order = argsort(-abs(d), axis=-1)
    s = take_along_axis(abs(d), order, axis=-1) * scale[..., 0]
    nan = any(~isfinite(x), axis=(-2, -1))
    s = where(nan[..., None], np.nan, s)
    if not compute_uv:
        return s, None, None
    vt = take_along_axis(where(signbit(d)[..., :, None], -vt, vt), order[..., :, None], axis=-2)
    left = take_along_axis(ut[..., :n, :], order[..., :, None], axis=-2)
    if full_matrices and m > n:
        left = concatenate([left, ut[..., n:, :]], axis=-2)
    return s, where(nan[..., None, None], np.nan, swapaxes(left, -1, -2)), where(nan[..., None, None], np.nan,
                                                                                  swapaxes(vt, -1, -2))


__all__ = ["bidiagonal_svd", "reduced_to_bidiagonal"]

"""eigh of real symmetric matrices as LAPACK's: a Householder reduction to
tridiagonal form, T = Qᵀ A Q, then T's eigenvalues and eigenvectors by
implicit QL iterations with Wilkinson's shift (steqr), their rotations
applied to Qᵀ's rows, so that they end as the eigenvectors. Two kernels
(frontend/kernels.py), which the CPU runs as native loops
(backends/cpu_kernels_tridiagonal.py):

"symmetric_tridiagonal" (`_tridiagonal_loop`, sytd2 with uplo='L'): step j
reflects x = A[j+1:, j] onto e_{j+1} by larfg (beta = -sign(alpha) ‖x‖,
tau = (beta - alpha) / beta, v = x / (alpha - beta) with v_{j+1} = 1; tau
0 and beta = alpha where x is 0 below its first entry), then makes the
symmetric rank-2 update of the trailing block S = A[j+1:, j+1:]:

    p = tau S v,  w = p - (tau/2)(pᵀv) v,  S <- S - v wᵀ - w vᵀ.

The matrix is kept whole (both triangles), so column j is row j: the
reflector is written into row j (beta at j + 1, v beyond), and the result
is packed as LAPACK's lower one, d and e on the diagonal and subdiagonal,
v below, zeros above.

"tridiagonal_ql" (`_ql_loop`, steqr's QL branch): each sweep first sets
every negligible e_k to 0 (|e_k| <= max(eps (|d_k| + |d_k+1|), tiny), or
not a number), then works on the first unreduced block [l, m] (e_l .. e_m-1
nonzero, e_m = 0): with the shift from the Wilkinson 2x2 at l, it chases
the bulge up from m - 1 to l, one rotation G_i of (i, i + 1) per step
(steqr's formulas), applied to the rows i, i + 1 of Y (Y = Qᵀ at the
start, so Yᵀ = Q G ... are the eigenvectors at the end). A matrix is done
when every e is 0; the sweeps stop then, or after 30 n (steqr's limit).
The portable sweep runs over all i of every matrix of a batch, each
matrix's rotations outside its own block the identity. Rotations are
lartg's, r = ±√(f² + g²) scaled by max(|f|, |g|) only outside the range
where the squares can neither overflow nor underflow.

"tridiagonal_q" (`_orgtr_loop`, orgtr) makes Qᵀ from the reflectors, as
org2r: its compile is a fraction of lax_qr.householder_product's (blocked,
16.7 s at n = 256 on a loaded machine), for about its run time. The
eigenvalues come sorted, with Y's rows. The matrix
is scaled by a power of two first (max |a_ij| about 1), as Jacobi's.
"""
from __future__ import annotations

import numpy as np

from irax.config import config
from irax.frontend.control_flow import fori_loop, while_loop
from irax.frontend.kernels import kernel_call
from irax.frontend.lax_eig import _entry, _indices, scaled_by_a_power_of_two
from irax.frontend.lax_indexing import dynamic_slice_in_dim, dynamic_update_slice_in_dim
from irax.frontend.lax_qr import _norm
from irax.frontend.numpy import (abs, amax, any, argmax, argsort, concatenate, copysign, diagonal, matmul, maximum,
                                 min, minimum, pad, signbit, sqrt, sum, swapaxes, take_along_axis, where, zeros)
from irax.plugins.registry import get_default_device
from irax.typing import Array

MAX_SWEEPS_PER_ROW = 30  # steqr's nmaxit = 30 n
# The longest row (in bytes) of a matrix LAPACK's way takes: its native kernels keep up to two such rows on the
# dispatch's stack, which IREE limits to 32 KiB (backends/cpu_kernels_tridiagonal.py)
ROW_BYTES = 32768 // 2


def native_path_applies(x: Array, row: int) -> bool:
    """Whether a real x takes LAPACK's way (eigh's tridiagonal path, the
    SVD's bidiagonal one) rather than Jacobi's: float32 or float64 on the
    CPU with its native kernels, kernel rows of `row` elements fitting the
    dispatch's stack (ROW_BYTES). Elsewhere Jacobi's rounds, whole-array
    work, suit the device: these sweeps are a host loop step per rotation
    (n² of them), where Jacobi takes n a sweep."""
    return (x.dtype in (np.float32, np.float64) and row * x.dtype.itemsize <= ROW_BYTES
            and get_default_device().platform == "cpu" and config.irax_cpu_kernels)


def householder(x: Array, idx: Array, j: int | Array) -> tuple[Array, Array, Array]:
    """larfg of x[j:] onto e_j (x (..., r), idx its indices): (tau, v with
    v_j = 1 and zeros before j, what goes at j: beta, or alpha where x is 0
    below j and the reflector is I)."""
    alpha = dynamic_slice_in_dim(x, j, 1, axis=-1)
    below = where(idx > j, x, 0)
    norm = _norm(where(idx >= j, x, 0))
    beta = where(signbit(alpha), norm, -norm)  # (-0.0 counts as negative, as in LAPACK)
    unit = amax(abs(below), axis=-1, keepdims=True) == 0
    tau = where(unit, 0, (beta - alpha) / where(unit, 1, beta))
    v = where(idx == j, 1, where(unit, 0, below / where(unit, 1, alpha - beta))).astype(x.dtype)
    return tau, v, where(unit, alpha, beta)


def _tridiagonal_loop(a):
    """(packed, taus) of sytd2 (lower) on each real symmetric [..., n, n] a, n >= 2."""
    n = a.shape[-1]
    idx = _indices(n)
    rows, cols = idx[:, None], idx

    def step(j, state):
        s, taus = state
        x = dynamic_slice_in_dim(s, j, 1, axis=-2)[..., 0, :]  # row j: column j, as s stays symmetric
        tau, v, top = householder(x, idx, j + 1)
        p = where(idx > j, tau * matmul(s, v[..., :, None])[..., 0], 0)
        w = p - (tau / 2) * sum(p * v, axis=-1, keepdims=True) * v
        trailing = (rows > j) & (cols > j)
        s = where(trailing, s - v[..., :, None] * w[..., None, :] - w[..., :, None] * v[..., None, :], s)
        reflector = where(idx <= j, x, where(idx == j + 1, top, v))
        return where(rows == j, reflector[..., None, :], s), where(idx[:-1] == j, tau, taus)

    s, taus = fori_loop(0, n - 1, step, (a, zeros(a.shape[:-2] + (n - 1,), a.dtype)))
    return where(rows > cols, swapaxes(s, -1, -2), where(rows == cols, s, 0)), taus


def _safe_range(dtype):
    """(rtmin, rtmax) of lartg: where the larger of |x|, |y| lies between
    them, x² + y² neither overflows nor loses digits to underflow."""
    info = np.finfo(dtype)
    return float(np.sqrt(info.tiny / info.eps)), float(np.sqrt(info.max / 2))


def _orgtr_loop(packed, taus):
    """Qᵀ of Q = H_0 … H_{n-2} (orgtr), from the reflectors below the
    subdiagonal of each [..., n, n] packed and their taus: Q = I, then
    for j = n - 2 down to 0, Q <- H_j Q on the block Q[j+1:, j+1:], the only
    part that H_j … H_{n-2} moves from I (org2r's order)."""
    n = packed.shape[-1]
    idx = _indices(n)
    rows, cols = idx[:, None], idx

    def step(t, q):
        j = n - 2 - t
        x = dynamic_slice_in_dim(packed, j, 1, axis=-1)[..., 0]
        v = where(idx == j + 1, 1, where(idx > j + 1, x, 0)).astype(packed.dtype)
        tau = dynamic_slice_in_dim(taus, j, 1, axis=-1)
        # (a sum: as the matmul of v[..., None, :] and q, IREE's Vulkan code gave Q's columns 8.. of a
        # (3, 21, 21) batch wrong, found by test_eigh_tridiagonal.py)
        w = where(idx > j, sum(v[..., :, None] * q, axis=-2), 0)
        return where((rows > j) & (cols > j), q - (tau * v)[..., :, None] * w[..., None, :], q)

    q = fori_loop(0, n - 1, step, zeros(packed.shape, packed.dtype) + np.eye(n, dtype=packed.dtype))
    return swapaxes(q, -1, -2)


def _hypot(x, y):
    """√(x² + y²) without overflow or underflow of the squares: as it
    stands in the safe range, scaled by the larger outside it."""
    big, small = maximum(abs(x), abs(y)), minimum(abs(x), abs(y))
    ratio = small / where(big == 0, 1, big)
    low, high = _safe_range(big.dtype)
    return where((big >= low) & (big <= high), sqrt(x * x + y * y), big * sqrt(1 + ratio * ratio))


def _rotation(f, g):
    """(c, s, r) with [[c, s], [-s, c]] (f, g) = (r, 0), r of f's sign (lartg); (1, 0, 0) for (0, 0)."""
    r = copysign(_hypot(f, g), f)
    zero = r == 0
    safe = where(zero, 1, r)
    return where(zero, 1, f / safe), where(zero, 0, g / safe), r


def _negligible(d, e):
    """Which e_k (of n, the last a 0 sentinel) no longer couple d_k and d_k+1."""
    size = abs(d)
    info = np.finfo(d.dtype)
    bound = maximum(float(info.eps) * (size + concatenate([size[..., 1:], size[..., -1:]], axis=-1)),
                    float(info.tiny))
    return ~(abs(e) > bound)  # (NaN too: a NaN block is left alone)


def _ql_loop(d, e, y, max_sweeps):
    """(d, y) after steqr's QL sweeps (at most `max_sweeps`) on each
    tridiagonal (d (..., n), e (..., n - 1)), their rotations applied to y's
    (..., n, n) rows; d unsorted."""
    n = d.shape[-1]
    idx = _indices(n)
    e = pad(e, [(0, 0)] * (e.ndim - 1) + [(0, 1)])

    def unconverged(state):
        d, e, _, sweeps = state
        return (sweeps < max_sweeps) & any(~_negligible(d, e))

    def sweep(state):
        d, e, y, sweeps = state
        e = where(_negligible(d, e), 0, e)
        coupled = e != 0
        done = ~any(coupled, axis=-1, keepdims=True)
        l = where(done, n - 1, argmax(coupled, axis=-1, keepdims=True).astype(np.int32))
        m = min(where(~coupled & (idx > l), idx, n - 1), axis=-1, keepdims=True)
        d_l, e_l = _entry(d, l[..., 0])[..., None], _entry(e, l[..., 0])[..., None]
        theta = (_entry(d, minimum(l + 1, n - 1)[..., 0])[..., None] - d_l) / (2 * where(done, 1, e_l))
        g = _entry(d, m[..., 0])[..., None] - d_l + e_l / (theta + copysign(_hypot(theta, 1.0), theta))
        one = np.ones((), d.dtype)

        def chase(t, state):
            d, e, y, g, p, c, s = state
            i = n - 2 - t
            active = (i >= l) & (i < m)
            e_i = dynamic_slice_in_dim(e, i, 1, axis=-1)
            pair = dynamic_slice_in_dim(d, i, 2, axis=-1)
            d_i, d_next = pair[..., :1], pair[..., 1:]
            f, b = s * e_i, c * e_i
            c_new, s_new, r = _rotation(g, f)
            g_new = d_next - p
            r_new = (d_i - g_new) * s_new + 2 * c_new * b
            p_new = s_new * r_new
            e_next = dynamic_slice_in_dim(e, i + 1, 1, axis=-1)
            d = dynamic_update_slice_in_dim(d, where(active, g_new + p_new, d_next), i + 1, axis=-1)
            e = dynamic_update_slice_in_dim(e, where(active & (i < m - 1), r, e_next), i + 1, axis=-1)
            rows = dynamic_slice_in_dim(y, i, 2, axis=-2)
            top, bottom = rows[..., :1, :], rows[..., 1:, :]
            c_row, s_row = c_new[..., None], s_new[..., None]
            rotated = concatenate([c_row * top - s_row * bottom, c_row * bottom + s_row * top], axis=-2)
            y = dynamic_update_slice_in_dim(y, where(active[..., None], rotated, rows), i, axis=-2)
            return (d, e, y, where(active, c_new * r_new - b, g), where(active, p_new, p), where(active, c_new, c),
                    where(active, s_new, s))

        zero = zeros(g.shape, d.dtype)
        d, e, y, g, p, _, _ = fori_loop(0, n - 1, chase, (d, e, y, g, zero, zero + one, zero + one))
        d = where(idx == l, d - p, d)
        e = where((idx == l) & ~done, g, e)
        return d, e, y, sweeps + 1

    d, _, y, _ = while_loop(unconverged, sweep, (d, e, y, np.int32(0)))
    return d, y


def reduced_to_tridiagonal(a):
    """(packed, d, e, taus) of sytd2 (lower) on each real symmetric [..., n, n]
    a, both triangles given: the kernel "symmetric_tridiagonal"."""
    packed, taus = kernel_call("symmetric_tridiagonal", _tridiagonal_loop, a)
    return packed, diagonal(packed, axis1=-2, axis2=-1), diagonal(packed, offset=-1, axis1=-2, axis2=-1), taus


def tridiagonal_eigh(x):
    """(V, w) of each real symmetric [..., n, n] x, n >= 2, w ascending with V's columns."""
    n = x.shape[-1]
    a, scale = scaled_by_a_power_of_two(x)
    packed, d, e, taus = reduced_to_tridiagonal(a)
    qt = kernel_call("tridiagonal_q", _orgtr_loop, packed, taus)
    w, yt = kernel_call("tridiagonal_ql", _ql_loop, d, e, qt, max_sweeps=MAX_SWEEPS_PER_ROW * n)
    order = argsort(w, axis=-1)
    w = take_along_axis(w, order, axis=-1) * scale[..., 0]
    return swapaxes(take_along_axis(yt, order[..., :, None], axis=-2), -1, -2), w


__all__ = ["ROW_BYTES", "householder", "native_path_applies", "reduced_to_tridiagonal", "tridiagonal_eigh"]

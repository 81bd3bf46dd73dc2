"""The QR decomposition of `irax.lax.linalg`, as in JAX, by Householder
reflections (LAPACK's geqrf and orgqr), built as lax_linalg.py builds its
factorizations: whole-array irax ops on the batch inside `fori_loop`.

Step j of geqrf reflects column j of A onto e_j: with alpha = A[j, j] and
x = A[j+1:, j],

    beta = -sign(Re alpha) ‖(alpha, x)‖,   tau = (beta - alpha) / beta,   (sign(-0.0) = -1)
    v = (1, x / (alpha - beta)),           H = I - tau v vᴴ,

so that Hᴴ A[j:, j] = (beta, 0, ..., 0) with beta real; then
A[j:, j+1:] -= conj(tau) v (vᴴ A[j:, j+1:]). (For a real A, vᴴ = vᵀ and
Hᴴ = H.) A column already zero below the diagonal, with a real alpha, gets
tau = 0 (H = I), as in LAPACK's larfg (without larfg's rescaling of a tiny beta). R is left on and
above the diagonal, v below it (its leading 1 implied), and Q = H_0 H_1 …
H_{k-1} is householder_product's (orgqr's) product of the reflectors.

Matrices wider than BLOCK go by blocks of BLOCK columns (LAPACK's blocked
algorithms, unrolled at trace time): the loop above factorizes one panel,
and the panel's reflectors act on the rest of the matrix at once, in the
compact WY form H_k … H_e = I - V T Vᴴ (V the panel's unit lower
trapezoid, T upper triangular, column j of T from larft's recurrence
T[:j, j] = -tau_j T[:j, :j] V[:, :j]ᴴ v_j, T[j, j] = tau_j), that is by
three matmuls:

    geqrf  A[k:, e:] -= V Tᴴ (Vᴴ A[k:, e:])      (Hᴴ applied, block by block)
    orgqr  Q[k:, k:] -= V T (Vᴴ Q[k:, k:])        (from I, the last block first)

The panel's loop and larft's are kernels (frontend/kernels.py), "qr_panel"
and "block_reflector" (on Vᴴ V and the taus), which the CPU runs as native
loops in one dispatch (backends/cpu_kernels.py) where IREE would run them
on the host a step at a time.

Derivatives are a custom JVP with JAX's formulas (reverse mode transposes
it). For m >= n, with C = Qᴴ dA R⁻¹, Ω = tril(C, -1) - tril(C, -1)ᴴ
+ i diag(Im C) (the last term for complex A only, as JAX's: it keeps R's
diagonal real):

    dQ = Q (Ω - C) + dA R⁻¹,   dR = (C - Ω) R.

A wide A = [A1 A2] (m < n) differentiates A1 = Q R1 so, and R2 = Qᴴ A2:
dR2 = dQᴴ A2 + Qᴴ dA2. The m - n extra columns Q2 of a full Q of a tall
A (arXiv:2409.13374, eq. 32-33; JAX raises): with Z = Q[n:, :n] (Q[:n, :n] - I)⁻¹,
Q2 = Q1 Zᴴ + [-Zᴴ; I] for Householder's Q = I - V T Vᴴ, and

    dQ2 = dQ1 Zᴴ - (Q1 + Q2 Z) (dQ1[n:] - Z dQ1[:n])ᴴ.
"""
from __future__ import annotations

import functools

from irax.frontend.control_flow import fori_loop
from irax.frontend.custom_derivatives import custom_jvp
from irax.frontend.kernels import kernel_call
from irax.frontend.lax_indexing import dynamic_slice_in_dim
from irax.frontend.lax_linalg import _H, _blocks, _check_float, _column, _concat, _zeros, lu, triangular_solve
from irax.frontend.numpy import (abs, amax, arange, broadcast_to, concatenate, conj, eye, imag, iscomplexobj, matmul,
                                 pad, real, signbit, sqrt, sum, tril, triu, where, zeros)
from irax.frontend.numpy import linalg_ops
from irax.frontend.numpy.util import asarray
from irax.typing import Array, ArrayLike


def _check_matrix(name, x):
    if x.ndim < 2:
        raise TypeError(f"Input 0 to {name} must have rank at least 2, but got shape={x.shape}")


def _norm(x):
    """‖x‖ over the last axis, scaled by max|x| so that it neither overflows
    nor underflows where x² would (as LAPACK's nrm2)."""
    scale = amax(abs(x), axis=-1, keepdims=True)
    safe = where(scale == 0, 1, scale)
    scaled = abs(x) / safe
    return safe * sqrt(sum(scaled * scaled, axis=-1, keepdims=True))


def _householder_loop(a):
    """geqrf on one panel a [..., m, b] (m >= b): R and the reflectors in
    place, and the b taus."""
    m, b = a.shape[-2:]
    rows, cols = arange(m), arange(b)
    rows2 = rows[:, None]

    def step(j, state):
        a, taus = state
        x = dynamic_slice_in_dim(a, j, 1, axis=-1)[..., 0]  # column j (read, not summed out: -0.0 keeps its sign)
        alpha = dynamic_slice_in_dim(x, j, 1, axis=-1)
        below = where(rows > j, x, 0)
        zero = (amax(abs(below), axis=-1, keepdims=True) == 0) & (imag(alpha) == 0)
        norm = _norm(where(rows >= j, x, 0))
        beta = where(signbit(real(alpha)), norm, -norm)  # (-0.0 counts as negative, as in LAPACK)
        tau = where(zero, 0, (beta - alpha) / where(zero, 1, beta))
        v_below = where(zero, below, below / where(zero, 1, alpha - beta))
        v = where(rows == j, 1, v_below)
        w = matmul(conj(v)[..., None, :], a)  # vᴴ A, [..., 1, b]
        reflected = a - conj(tau)[..., None] * v[..., :, None] * w
        column = where(rows < j, x, where(rows == j, where(zero, alpha, beta), v_below))
        a = where(cols == j, column[..., :, None], where((rows2 >= j) & (cols > j), reflected, a))
        return a, where(cols == j, tau, taus)

    return fori_loop(0, b, step, (a, _zeros(a.shape[:-2] + (b,), a.dtype)))


def _reflectors(a):
    """V: the unit lower trapezoid of a's columns."""
    rows, cols = arange(a.shape[-2])[:, None], arange(a.shape[-1])
    return where(rows > cols, a, where(rows == cols, 1, 0).astype(a.dtype))


def _larft_loop(gram, taus):
    """larft's loop (forward, by columns) on the Gram matrix Vᴴ V of the
    reflectors: T[:j, j] = -tau_j T[:j, :j] gram[:j, j], T[j, j] = tau_j."""
    b = gram.shape[-1]
    idx = arange(b)

    def column(j, t):
        tau = sum(where(idx == j, taus, 0), axis=-1, keepdims=True)
        above = -tau * matmul(t, where(idx < j, _column(gram, j), 0)[..., None])[..., 0]
        return where(idx == j, where(idx < j, above, where(idx == j, tau, 0))[..., :, None], t)

    return fori_loop(0, b, column, _zeros(gram.shape, gram.dtype))


def _block_reflector(v, taus):
    """T of H_0 … H_{b-1} = I - V T Vᴴ (larft), the loop a kernel."""
    return kernel_call("block_reflector", _larft_loop, matmul(_H(v), v), taus)


def geqrf(a: ArrayLike) -> tuple[Array, Array]:
    """(a, taus) as LAPACK's geqrf: R on and above the diagonal of a
    [..., m, n], the Householder vectors below it, min(m, n) taus."""
    a = asarray(a)
    _check_float("geqrf", a)
    _check_matrix("geqrf", a)
    m, n = a.shape[-2:]
    taus = []
    for k, e in _blocks(min(m, n)):
        panel, panel_taus = kernel_call("qr_panel", _householder_loop, a[..., k:, k:e])
        right = a[..., k:, e:]
        if e < n:
            v = _reflectors(panel)
            right = right - matmul(v, matmul(_H(_block_reflector(v, panel_taus)), matmul(_H(v), right)))
        a = _concat([a[..., :k, :], _concat([a[..., k:, :k], panel, right], axis=-1)], axis=-2)
        taus.append(panel_taus)
    return a, _concat(taus, axis=-1) if taus else zeros(a.shape[:-2] + (0,), a.dtype)


def householder_product(a: ArrayLike, taus: ArrayLike) -> Array:
    """Q = H_0 H_1 … H_{k-1}, the first n columns of the product of the
    Householder reflectors H_j = I - taus[j] v_j v_jᴴ, v_j below a's diagonal
    in column j (a unit diagonal implied): a is [..., m, n] with m >= n,
    taus [..., k] with k <= n. Q has a's shape."""
    a, taus = asarray(a), asarray(taus)
    _check_float("householder_product", a)
    _check_matrix("householder_product", a)
    m, n = a.shape[-2:]
    if m < n:
        raise ValueError("The first argument to householder_product must have at least as many rows as columns, "
                         f"got shape {a.shape}")
    if taus.ndim != a.ndim - 1 or taus.shape[-1] > n:
        raise ValueError("The second argument to householder_product must not have more rows than the minimum "
                         "of the first argument's rows and columns.")
    if taus.shape[:-1] != a.shape[:-2]:
        raise ValueError(f"householder_product requires equal batch dimensions, got {a.shape} and {taus.shape}.")
    taus = taus.astype(a.dtype)
    q = broadcast_to(eye(m, n, dtype=a.dtype), a.shape)
    for k, e in reversed(_blocks(taus.shape[-1])):
        # (orgqr's trailing block: the reflectors act on rows k: alone, and there Q, the identity's columns
        # moved by the later blocks' reflectors alone, is 0 left of column k)
        v = _reflectors(a[..., k:, k:e])
        trailing = q[..., k:, k:]
        trailing = trailing - matmul(v, matmul(_block_reflector(v, taus[..., k:e]), matmul(_H(v), trailing)))
        q = _concat([q[..., :k, :], _concat([q[..., k:, :k], trailing], axis=-1)], axis=-2)
    return q


def ormqr(a: ArrayLike, taus: ArrayLike, c: ArrayLike, *, left: bool = True, transpose: bool = False) -> Array:
    """Q c, Qᴴ c (`transpose`), c Q (not `left`) or c Qᴴ, where Q = H_0 H_1 …
    H_{k-1} is the m × m product of the reflectors of a [..., m, n] (as
    householder_product reads them) and taus [..., k], without making Q
    (jax.lax.linalg.ormqr): each block of reflectors applied to c's rows
    as I - V T Vᴴ, the last block first (Qᴴ: I - V Tᴴ Vᴴ, the first first);
    c Q = (Qᴴ cᴴ)ᴴ."""
    a, taus, c = asarray(a), asarray(taus), asarray(c)
    _check_float("ormqr", a)
    if c.ndim < 2:
        raise TypeError(f"Input 2 to ormqr must have rank at least 2, but got shape={c.shape}")
    if not left:
        return _H(ormqr(a, taus, _H(c), left=True, transpose=not transpose))
    if c.shape[-2] != a.shape[-2]:
        raise ValueError(f"ormqr with left=True expects c to have the same number of rows as the Householder matrix "
                         f"a. Got a shape {a.shape} and c shape {c.shape}.")
    taus, blocks = taus.astype(a.dtype), _blocks(taus.shape[-1])
    for k, e in (blocks if transpose else reversed(blocks)):
        v = _reflectors(a[..., k:, k:e])
        t = _block_reflector(v, taus[..., k:e])
        rows = c[..., k:, :]
        rows = rows - matmul(v, matmul(_H(t) if transpose else t, matmul(_H(v), rows)))
        c = _concat([c[..., :k, :], rows], axis=-2)
    return c


def _qr_values(x, full_matrices):
    m, n = x.shape[-2:]
    a, taus = geqrf(x)
    if m < n:
        q = householder_product(a[..., :, :m], taus)
    elif full_matrices:
        q = householder_product(pad(a, [(0, 0)] * (a.ndim - 1) + [(0, m - n)]), taus)
    else:
        q, a = householder_product(a, taus), a[..., :n, :]
    return q, triu(a)


def _thin_qr_jvp(q, r, dx):
    """dQ, dR of A = Q R, A [..., m, n], m >= n, Q [..., m, n]: the docstring's formula."""
    dx_rinv = triangular_solve(r, dx)  # dA R⁻¹
    c = matmul(_H(q), dx_rinv)
    lower = tril(c, -1)
    omega = lower - _H(lower)
    if iscomplexobj(c):
        omega = omega + 1j * where(eye(c.shape[-1], dtype=bool), imag(c), 0)
    return matmul(q, omega - c) + dx_rinv, matmul(c - omega, r)


@functools.lru_cache(maxsize=None)
def _qr_fn(full_matrices):
    """The custom-JVP QR for one `full_matrices` (one function each, so its programs are cached)."""

    @custom_jvp
    def qr(x):
        return _qr_values(x, full_matrices)

    @qr.defjvp
    def jvp(primals, tangents):
        (x,), (dx,) = primals, tangents
        q, r = _qr_values(x, full_matrices)  # not qr(x): that would trace the rule a second time
        m, n = x.shape[-2:]
        if m < n:
            dq, dr1 = _thin_qr_jvp(q, r[..., :m], dx[..., :m])
            dr2 = matmul(_H(dq), x[..., m:]) + matmul(_H(q), dx[..., m:])
            return (q, r), (dq, concatenate([dr1, dr2], axis=-1))
        dq, dr = _thin_qr_jvp(q[..., :n], r[..., :n, :], dx)
        if m == n or not full_matrices:
            return (q, r), (dq, dr)
        q1, q2 = q[..., :n], q[..., n:]
        lu_, _, permutation = lu(_H(q1[..., :n, :]) - eye(n, dtype=q.dtype))
        z_h = linalg_ops._lu_solve(lu_, permutation, _H(q1[..., n:, :]))  # Zᴴ = (Q[:n, :n] - I)⁻ᴴ Q[n:, :n]ᴴ
        dq2 = matmul(dq, z_h) - matmul(q1 + matmul(q2, _H(z_h)), _H(dq[..., n:, :] - matmul(_H(z_h), dq[..., :n, :])))
        dr = concatenate([dr, _zeros(dr.shape[:-2] + (m - n, n), dr.dtype)], axis=-2)
        return (q, r), (concatenate([dq, dq2], axis=-1), dr)

    return qr


def qr(x: ArrayLike, *, pivoting: bool = False, full_matrices: bool = True,
       use_magma: bool | None = None) -> tuple[Array, Array]:
    """(q, r) with x = q r for each [..., m, n] matrix: q orthonormal,
    [..., m, m] (or [..., m, min(m, n)] unless `full_matrices`), r upper
    triangular, [..., m, n] (or [..., min(m, n), n]). The signs are LAPACK's:
    r[j, j] has the sign opposite to the pivot it reflects (a column already
    zero below the diagonal keeps its pivot), q's columns to match.
    `use_magma` only matters to JAX on GPUs; it is accepted and ignored."""
    x = asarray(x)
    _check_float("qr", x)
    _check_matrix("qr", x)
    if pivoting:
        raise NotImplementedError("qr(pivoting=True), the column-pivoted QR (LAPACK's geqp3), is not implemented "
                                  "in irax; use pivoting=False.")
    m, n = x.shape[-2:]
    if m == 0 or n == 0:
        k = m if full_matrices else min(m, n)
        batch = x.shape[:-2]
        return broadcast_to(eye(m, k, dtype=x.dtype), batch + (m, k)), zeros(batch + (k, n), x.dtype)
    return _qr_fn(bool(full_matrices))(x)


__all__ = ["geqrf", "householder_product", "qr"]

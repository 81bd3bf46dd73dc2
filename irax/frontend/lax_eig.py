"""`irax.lax.linalg.eig`, `hessenberg` and `schur`: the eigendecomposition of
a general square matrix, as LAPACK's geev computes it (gehrd, hseqr, trevc),
built from whole-array irax ops in loops (IREE has no LAPACK; see lax_linalg.py).

1. Hessenberg reduction (gehrd). Step j reflects A[j+1:, j] onto e_{j+1}
   with LAPACK's larfg: alpha = A[j+1, j], x = A[j+2:, j],

       beta = -sign(Re alpha) ‖(alpha, x)‖,   tau = (beta - alpha) / beta,   (sign(-0.0) = -1)
       v = (1, x / (alpha - beta)),           H_j = I - tau v vᴴ,

   so H_jᴴ (alpha, x) = (beta, 0, ..., 0), and A <- H_jᴴ A H_j, Q <- Q H_j.
   After n - 1 steps A = Qᴴ A₀ Q is upper Hessenberg (the last only makes
   a complex h_n,n-1 real, as LAPACK's; for a real one H = I). A real matrix stays
   real here, and the reflectors are LAPACK's (those of `hessenberg`).

2. Complex Schur form (hseqr's small-matrix path, zlahqr): on the complex
   Hessenberg H (complex arithmetic throughout, so a real matrix's complex
   eigenvalues need no 2x2 blocks), sweeps of single-shift QR. A subdiagonal
   entry is zeroed once |h_{k+1,k}| <= ε (|h_kk| + |h_{k+1,k+1}|); the active
   window [lo, hi] is the lowest unreduced block. A sweep takes the
   Wilkinson shift μ (the eigenvalue of the window's trailing 2x2 nearer to
   h_hi,hi; every 10th sweep without a deflation the exceptional shift
   h_hi,hi + 0.75 |Re h_hi,hi-1|, as zlahqr) and chases the bulge down with
   Givens rotations, G = [[c, s], [-s̄, c]] (c real) making G (x, y) = (r, 0):

       c = |x| / ‖(x, y)‖,   s = (x / |x|) ȳ / ‖(x, y)‖,
       (x, y) = (h_lo,lo - μ, h_lo+1,lo) at k = lo, (h_k,k-1, h_k+1,k-1) after,
       H <- G H on rows k, k+1,   H <- H Gᴴ and Z <- Z Gᴴ on columns k, k+1.

   Rotations act on whole rows and columns, so T = Zᴴ A Z is the full Schur
   form. Each matrix of a batch has its own window and shift; the rotation at
   step k is the identity where k is outside it. A is first divided by a
   power of two near max |a_ij|, so nothing overflows, and after 30 max(n, 10)
   sweeps a matrix that has not converged gets NaNs (JAX's answer to a
   failed geev). There is no balancing (gebal): a badly scaled matrix loses
   more accuracy than with LAPACK. The rotations are sequential, a few small
   ops each: a 40x40 float32 eig took 0.42 s on the CPU here (LAPACK, in
   JAX: 0.5 ms), so this is for small matrices.

3. Eigenvalues: diag(T). Right eigenvectors (trevc): x_k with T x_k = t_kk x_k
   is x_k[k] = 1, x_k[i > k] = 0 and, for i = k-1 down to 0,

       x_k[i] = -(Σ_{i<m<=k} t_im x_k[m]) / (t_ii - t_kk),

   every k at once, row by row; a denominator below ε |t_kk| is replaced by
   it (as trevc does for close eigenvalues), and each column is rescaled
   by its largest entry every row, so a defective matrix cannot overflow.
   Left eigenvectors (uᴴ A = λ uᴴ) are Tᴴ's, found the same way on the
   reversed matrix. The vectors, Z x_k, are then normalised as geev's: unit
   2-norm, and the component of largest modulus real (and here positive:
   LAPACK's sign is whatever its arithmetic left, so signs may differ from
   JAX's). The eigenvalues come in the order of the Schur form's diagonal,
   which is not LAPACK's order in general (nor are a real matrix's complex
   pairs exactly conjugate, as the real double-shift QR makes them).

Derivatives are a custom JVP, JAX's: with vᵢ the right and uᵢ the left
eigenvectors, V⁻¹ = diag(1 / uᵢᴴvᵢ) Uᴴ, P = V⁻¹ dA V,

    dλ = diag(P),   dV = V (F ∘ P) + V diag(c),   F_ij = 1 / (λ_j - λ_i) (i ≠ j), 0 on the diagonal,

c fixing each column's normalisation (JAX's _eig_vec_jvp); left vectors
differentiate as the right ones of Aᴴ. The eigenvector derivative holds for
distinct eigenvalues only; JAX raises for it unless `enable_eigvec_derivs`,
irax gives it always (its custom-JVP rules are traced with the call, so a
rule that raised would fail the call itself).
"""
from __future__ import annotations

import enum
import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from irax.frontend import dtypes
from irax.frontend.control_flow import fori_loop, while_loop
from irax.frontend.custom_derivatives import custom_jvp, no_derivative
from irax.frontend.jit import jit
from irax.frontend.lax_indexing import dynamic_slice_in_dim
from irax.frontend.lax_linalg import _T, _check_square
from irax.frontend.numpy import (abs, amax, any, argmax, broadcast_to, clip, conj, diagonal, eye, flip, floor,
                                 imag, ldexp, log2, matmul, max, maximum, ones_like, real, signbit, sqrt, sum,
                                 where, zeros)
from irax.frontend.numpy.util import asarray
from irax.ir.types import complex_dtype
from irax.typing import Array, ArrayLike


class EigImplementation(enum.Enum):
    """jax.lax.linalg.EigImplementation: the library JAX calls. irax runs
    its own algorithm (this module's) everywhere, whichever is named."""
    CUSOLVER = "cusolver"
    MAGMA = "magma"
    LAPACK = "lapack"


def _check_inexact(name, x):
    if not dtypes.is_inexact(x.dtype):
        raise TypeError(f"{name} requires a floating-point or complex input, got {x.dtype}")


def _working_dtypes(x):
    """(the dtype the reduction runs in, the complex one of the results):
    half precision computes in float32, as the transcendental ops do."""
    if dtypes.is_complex(x.dtype):
        return x.dtype, x.dtype
    real_dtype = np.dtype(np.float64) if x.dtype == np.float64 else np.dtype(np.float32)
    return real_dtype, complex_dtype(real_dtype)


def _norm(x, axis=-1):
    """‖x‖ along `axis`, scaled by max |x| so that squares neither overflow nor
    underflow (lax_qr's, for complex x and any axis)."""
    size = abs(x)
    scale = amax(size, axis=axis, keepdims=True)
    safe = where(scale == 0, 1, scale)
    scaled = size / safe
    return safe * sqrt(sum(scaled * scaled, axis=axis, keepdims=True))


def _indices(n):
    """0..n-1 as a NumPy constant: as an iota (`arange`) inside these loops they
    made IREE 3.13 fail to compile the JVP ("streamable op expected to be in
    an execution region"), as lax_svd.py found too."""
    return np.arange(n, dtype=np.int32)


def _entry(x, index):
    """x[..., index] for one index per vector (index of shape x.shape[:-1]).
    (A masked sum: take_along_axis cannot gather complex numbers yet.)"""
    return sum(where(_indices(x.shape[-1]) == index[..., None], x, 0), axis=-1)


def _largest(v):
    """Row k_j of each column j of v, k_j the first of largest |v_kj|."""
    return _entry(_T(v), argmax(abs(v), axis=-2))


# ---------------------------------------------------------------------------
# 1. Hessenberg reduction


def _hessenberg_loop(a, with_q, with_reflectors=False):
    """(H, reflectors, taus, Q) of each [..., n, n] a (n >= 2): H = Qᴴ a Q
    upper Hessenberg, reflector j in column j from row j + 1 (its 1
    included); the reflectors and taus None unless `with_reflectors`, Q None
    unless `with_q`. (Carried only when asked for: a constant complex128
    carry, as their zeros were, is an i128 splat IREE 3.13 cannot make.)"""
    n = a.shape[-1]
    rows = _indices(n)

    def step(j, state):
        a, vs, taus, q = state
        x = dynamic_slice_in_dim(a, j, 1, axis=-1)[..., 0]  # column j (read, not summed out: -0.0 keeps its sign)
        alpha = dynamic_slice_in_dim(x, j + 1, 1, axis=-1)
        below = where(rows > j + 1, x, 0)
        norm = _norm(where(rows > j, x, 0))
        beta = where(signbit(real(alpha)), norm, -norm)  # (-0.0 counts as negative, as in LAPACK)
        unit = (amax(abs(below), axis=-1, keepdims=True) == 0) & (imag(alpha) == 0)  # H_j = I
        tau = where(unit, 0, (beta - alpha) / where(unit, 1, beta))
        v = where(rows == j + 1, 1, where(unit, 0, below / where(unit, 1, alpha - beta))).astype(a.dtype)
        v_h = conj(v)
        a = a - conj(tau)[..., None] * v[..., :, None] * matmul(v_h[..., None, :], a)  # H_jᴴ A
        a = a - matmul(a, v[..., :, None]) * (tau[..., None] * v_h[..., None, :])  # A H_j
        column = where(rows <= j, x, where(rows == j + 1, where(unit, alpha, beta), 0))
        a = where(rows == j, column[..., :, None], a)
        if vs is not None:
            vs, taus = where(rows == j, v[..., :, None], vs), where(rows[:-1] == j, tau, taus)
        if q is not None:
            q = q - matmul(q, v[..., :, None]) * (tau[..., None] * v_h[..., None, :])
        return a, vs, taus, q

    q = broadcast_to(eye(n, dtype=a.dtype), a.shape) if with_q else None
    vs, taus = (zeros(a.shape, a.dtype), zeros(a.shape[:-2] + (n - 1,), a.dtype)) if with_reflectors else (None, None)
    state = (a, vs, taus, q)
    # n - 1 steps, as zgehrd: the last makes a complex h_n,n-1 real. (A one-step
    # loop is inlined, and IREE 3.13 then failed to compile the complex constants
    # it shares with a later QR loop: "streamable op expected to be in an
    # execution region"; with n - 2 steps a 3x3 complex matrix met that.)
    return fori_loop(0, n - 1, step, state)


def hessenberg(a: ArrayLike) -> tuple[Array, Array]:
    """(a, taus) as LAPACK's gehrd: the upper Hessenberg H = Qᴴ a Q on and
    above a's first subdiagonal, the Householder vectors of Q = H_0 … H_{n-2}
    below it (their leading 1s implied), and their n - 1 taus (the last 0
    for a real a)."""
    a = asarray(a)
    _check_inexact("hessenberg", a)
    _check_square("hessenberg", a)
    n = a.shape[-1]
    if n < 2:
        return a, zeros(a.shape[:-2] + (0,), a.dtype)
    h, vs, taus, _ = _hessenberg_loop(a, with_q=False, with_reflectors=True)
    rows, cols = _indices(n)[:, None], _indices(n)
    return where(rows > cols + 1, vs, h), taus


# ---------------------------------------------------------------------------
# 2. Complex Schur form

_EXCEPTIONAL_SHIFT = 0.75  # zlahqr's dat1: the shift every 10th sweep without a deflation
MAX_SWEEPS_PER_ROW = 30  # zlahqr's itmax = 30 max(10, n)


def _deflate(h, eps, tiny):
    """h with its negligible subdiagonal entries zeroed, and the window
    [lo, hi] of the lowest unreduced block of each matrix (hi = 0: triangular)."""
    n = h.shape[-1]
    d = abs(diagonal(h, axis1=-2, axis2=-1))
    rows, cols = _indices(n)[:, None], _indices(n)
    negligible = (rows == cols + 1) & (abs(h) <= maximum(eps * (d[..., :, None] + d[..., None, :]), tiny))
    h = where(negligible, 0, h)
    idx = _indices(n - 1)
    unreduced = diagonal(h, offset=-1, axis1=-2, axis2=-1) != 0
    hi = max(where(unreduced, idx + 1, 0), axis=-1)
    lo = max(where(~unreduced & (idx < hi[..., None] - 1), idx + 1, 0), axis=-1)
    return h, lo, hi


def _shift(h, hi, exceptional):
    """The Wilkinson shift of each window's trailing 2x2 [[a, b], [c, d]]:
    its eigenvalue nearer d, d - bc / (δ ± √(δ² + bc)) with δ = (a - d)/2 and
    the sign that makes the denominator larger; or the exceptional shift."""
    d = diagonal(h, axis1=-2, axis2=-1)
    a, dd = _entry(d, hi - 1), _entry(d, hi)
    b = _entry(diagonal(h, offset=1, axis1=-2, axis2=-1), hi - 1)
    c = _entry(diagonal(h, offset=-1, axis1=-2, axis2=-1), hi - 1)
    delta = (a - dd) / 2
    root = sqrt(delta * delta + b * c)
    denominator = where(abs(delta + root) >= abs(delta - root), delta + root, delta - root)
    wilkinson = dd - b * c / where(denominator == 0, 1, denominator)
    return where(exceptional, dd + _EXCEPTIONAL_SHIFT * abs(real(c)), wilkinson)


def _givens(x, y, active):
    """(c, s) of the rotation [[c, s], [-s̄, c]] with G (x, y) = (r, 0), c real;
    the identity where not `active` (or x = y = 0)."""
    ax, ay = abs(x), abs(y)
    big = maximum(ax, ay)
    safe = where(big == 0, 1, big)
    px, py = ax / safe, ay / safe
    r = safe * sqrt(px * px + py * py)
    keep = ~active | (big == 0)
    r = where(keep, 1, r)
    phase = where(ax == 0, 1, x / where(ax == 0, 1, ax))
    c = where(keep, 1, ax / r).astype(x.dtype)
    s = where(keep, 0, phase * conj(y) / r)
    return c[..., None], s[..., None]


def _rotate_columns(m, k, c, s):
    """m Gᴴ on columns k and k + 1: (m_k, m_k+1) <- (c m_k + s̄ m_k+1, -s m_k + c m_k+1)."""
    pair = dynamic_slice_in_dim(m, k, 2, axis=-1)
    m0, m1 = pair[..., 0], pair[..., 1]
    cols = _indices(m.shape[-1])
    return where(cols == k, (c * m0 + conj(s) * m1)[..., :, None],
                 where(cols == k + 1, (c * m1 - s * m0)[..., :, None], m))


def _sweep(h, z, lo, hi, mu):
    """One implicit single-shift QR sweep on each window [lo, hi] (z None:
    no Schur vectors)."""
    n = h.shape[-1]
    rows, cols = _indices(n)[:, None], _indices(n)

    def rotate(k, state):
        h, z = state
        pair = dynamic_slice_in_dim(h, k, 2, axis=-2)
        r0, r1 = pair[..., 0, :], pair[..., 1, :]
        first = lo == k
        column = where(first, k, k - 1)
        x = _entry(r0, column) - where(first, mu, 0)
        c, s = _givens(x, _entry(r1, column), (k >= lo) & (k < hi))
        h = where(rows == k, (c * r0 + s * r1)[..., None, :],
                  where(rows == k + 1, (c * r1 - conj(s) * r0)[..., None, :], h))
        return _rotate_columns(h, k, c, s), None if z is None else _rotate_columns(z, k, c, s)

    h, z = fori_loop(0, n - 1, rotate, (h, z))
    return where(rows > cols + 1, 0, h), z  # what is left of the bulge is rounding


def _schur(h, z):
    """(T, Z, converged) with A = Z T Zᴴ, T upper triangular, from the
    complex Hessenberg h = Qᴴ A Q and z = Q (n >= 2; z None: Z is None)."""
    n = h.shape[-1]
    info = np.finfo(h.dtype)
    eps, tiny = float(info.eps), float(info.tiny)
    h, lo, hi = _deflate(h, eps, tiny)
    zero = zeros(hi.shape, np.int32)

    def unconverged(state):
        *_, hi, _, sweeps = state
        return (sweeps < MAX_SWEEPS_PER_ROW * (n if n > 10 else 10)) & any(hi > 0)

    def sweep(state):
        h, z, lo, hi, stalled, sweeps = state
        h, z = _sweep(h, z, lo, hi, _shift(h, hi, stalled % 10 == 9))
        h, lo, new_hi = _deflate(h, eps, tiny)
        return h, z, lo, new_hi, where(new_hi == hi, stalled + 1, 0), sweeps + 1

    h, z, _, hi, _, _ = while_loop(unconverged, sweep, (h, z, lo, hi, zero, np.int32(0)))
    return h, z, hi == 0


def scaled_by_a_power_of_two(x):
    """(x / 2^e, 2^e): 2^e near max |x_ij| of each matrix (1 for a zero one),
    exact to divide by."""
    info = np.finfo(x.dtype)
    size = amax(abs(x), axis=(-2, -1), keepdims=True)
    size = where(size == 0, 1, size)
    exponent = clip(floor(log2(size)), info.minexp, info.maxexp - 1).astype(np.int32)
    scale = ldexp(ones_like(size), exponent)  # exact, as IREE's exp2 is not
    return x / scale, scale


def _complex_schur(x, complex_type, with_z):
    """(T, Z, scale): x = scale Z T Zᴴ, T upper triangular complex (Z None
    unless `with_z`); NaNs where the QR iteration did not converge."""
    x, scale = scaled_by_a_power_of_two(x)
    n = x.shape[-1]
    if n < 2:
        return x.astype(complex_type), broadcast_to(eye(n, dtype=complex_type), x.shape) if with_z else None, scale
    if n == 2:  # Hessenberg already (its one-step loop, inlined, met the IREE failure _hessenberg_loop names)
        h, q = x, broadcast_to(eye(n, dtype=x.dtype), x.shape) if with_z else None
    else:
        h, _, _, q = _hessenberg_loop(x, with_q=with_z)
    t, z, converged = _schur(h.astype(complex_type), q.astype(complex_type) if with_z else None)
    converged = converged[..., None, None]
    return where(converged, t, np.nan), where(converged, z, np.nan) if with_z else None, scale


def schur(x: ArrayLike, *, compute_schur_vectors: bool = True, sort_eig_vals: bool = False,
          select_callable: Callable[..., Any] | None = None) -> tuple[Array, ...]:
    """(T, vs) with x = vs T vsᴴ, T upper triangular, vs unitary, for each
    complex [..., n, n] x (the complex Schur form). irax has no real Schur
    form (quasi-triangular, 2x2 blocks): a real x must be made complex first
    (jax.scipy.linalg.schur(a, output='complex') does so)."""
    x = asarray(x)
    _check_inexact("schur", x)
    if x.ndim < 2 or x.shape[-1] != x.shape[-2]:
        raise ValueError(f"Argument to Schur decomposition must have shape [..., n, n], got shape {x.shape}")
    if not dtypes.is_complex(x.dtype):
        raise NotImplementedError("irax computes the complex Schur form only (no real quasi-triangular form): "
                                  "pass a complex matrix, or use jax.scipy.linalg.schur(a, output='complex').")
    if sort_eig_vals or select_callable is not None:
        raise NotImplementedError("schur: sorting the eigenvalues (sort_eig_vals, select_callable) is not "
                                  "implemented in irax.")
    return _schur_fn(bool(compute_schur_vectors))(x)


@functools.lru_cache(maxsize=None)
def _schur_fn(compute_schur_vectors):
    """schur as one staged program per flag: its QR loop compiled on its own
    (run eagerly) made IREE 3.13 fail ("streamable op expected to be in an
    execution region"), as it does not inside a larger program. Like JAX's,
    it has no derivative (its loop's would be the wrong one: the Schur form
    is not unique), and says so when differentiated (sqrtm's gradient too)."""

    def schur_(x):
        t, z, scale = _complex_schur(x, x.dtype, compute_schur_vectors)
        return (t * scale, z) if compute_schur_vectors else (t * scale,)

    return jit(no_derivative(schur_, NotImplementedError("Differentiation rule for 'schur' not implemented")))


# ---------------------------------------------------------------------------
# 3. Eigenvectors


def _triangular_eigenvectors(t):
    """X with T X = X diag(t_kk), T upper triangular: unit diagonal, zeros
    below, each column scaled by its largest entry."""
    n = t.shape[-1]
    info = np.finfo(t.dtype)
    lam = diagonal(t, axis1=-2, axis2=-1)
    smallest = maximum(float(info.eps) * abs(lam), float(info.tiny))[..., None, :]
    rows, cols = _indices(n)[:, None], _indices(n)

    def row(k, x):
        i = n - 2 - k
        t_i = dynamic_slice_in_dim(t, i, 1, axis=-2)  # [..., 1, n]
        t_ii = _entry(t_i, i)[..., None]
        denominator = t_ii - lam[..., None, :]
        denominator = where(abs(denominator) < smallest, smallest.astype(t.dtype), denominator)
        x_i = -matmul(where(cols > i, t_i, 0), x) / denominator
        x = where((rows == i) & (cols > i), x_i, x)
        return x / amax(abs(x), axis=-2, keepdims=True)

    return fori_loop(0, n - 1, row, broadcast_to(eye(n, dtype=t.dtype), t.shape))


def _normalized(v):
    """v's columns with unit 2-norm and their largest component real and positive (geev's)."""
    v = v / _norm(v, axis=-2)
    top = _largest(v)[..., None, :]
    return v * (conj(top) / abs(top))


def _eig_values(x, left, right):
    """[w, vl?, vr?] of each [..., n, n] x."""
    real_type, complex_type = _working_dtypes(x)
    t, z, scale = _complex_schur(x.astype(real_type), complex_type, left or right)
    w = diagonal(t, axis1=-2, axis2=-1) * scale[..., 0].astype(complex_type)
    outs = [w]
    if left:  # Tᴴ's eigenvectors: those of the reversed (upper triangular) matrix, reversed
        y = flip(_triangular_eigenvectors(flip(conj(_T(t)), axis=(-2, -1))), axis=(-2, -1))
        outs.append(_normalized(matmul(z, y)))
    if right:
        outs.append(_normalized(matmul(z, _triangular_eigenvectors(t))))
    return outs


def _vec_jvp(w, v, u, da):
    """(dw, dv) of right eigenvectors v (left ones u) under dA: JAX's
    _eig_vec_jvp, V⁻¹ = diag(1 / uᵢᴴvᵢ) Uᴴ."""
    n = w.shape[-1]
    v_inv = conj(_T(u)) / sum(conj(u) * v, axis=-2)[..., :, None]
    p = matmul(matmul(v_inv, da), v)
    diag = eye(n, dtype=bool)
    gaps = w[..., None, :] - w[..., :, None]
    du = matmul(v, where(diag, 0, 1 / where(diag, 1, gaps)) * p)
    k = argmax(abs(v), axis=-2)
    top_v, top_du = _entry(_T(v), k), _entry(_T(du), k)
    c = -real(sum(conj(v) * du, axis=-2)) - 1j * (imag(top_du) / real(top_v))
    return diagonal(p, axis1=-2, axis2=-1), du + v * c[..., None, :]


@functools.lru_cache(maxsize=None)
def _eig_fn(left, right):
    """The custom-JVP eig for one set of flags (one function each, so its programs are cached)."""

    @custom_jvp
    def eig_(x):
        return tuple(_eig_values(x, left, right))

    @eig_.defjvp
    def jvp(primals, tangents):
        (x,), (dx,) = primals, tangents
        w, vl, vr = _eig_values(x, True, True)
        dx = dx.astype(w.dtype)
        dw, dvr = _vec_jvp(w, vr, vl, dx)
        primal, tangent = [w], [dw]
        if left:
            primal.append(vl)
            tangent.append(_vec_jvp(conj(w), vl, vr, conj(_T(dx)))[1])
        if right:
            primal.append(vr)
            tangent.append(dvr)
        return tuple(primal), tuple(tangent)

    return eig_


def eig(x: ArrayLike, *, compute_left_eigenvectors: bool = True, compute_right_eigenvectors: bool = True,
        enable_eigvec_derivs: bool = False, implementation: EigImplementation | None = None,
        use_magma: bool | None = None) -> list[Array]:
    """[w, vl, vr] for each [..., n, n] x: the eigenvalues w (complex), the
    left eigenvectors vl (vlᴴ x = diag(w) vlᴴ) and right ones vr
    (x vr = vr diag(w)), each column of unit norm with its largest component
    real and positive; vl or vr only if asked for. `implementation` and
    `use_magma` choose among JAX's GPU libraries; irax has one algorithm
    (this module's docstring) and runs it on every device."""
    x = asarray(x)
    _check_inexact("eig", x)
    if x.ndim < 2 or x.shape[-1] != x.shape[-2]:
        raise ValueError(f"The input to eig must be a square matrix. Got shape {x.shape[-2:]}.")
    left, right = bool(compute_left_eigenvectors), bool(compute_right_eigenvectors)
    if x.shape[-1] == 0:
        complex_type = _working_dtypes(x)[1]
        return [zeros(x.shape[:-1], complex_type)] + [zeros(x.shape, complex_type)] * (left + right)
    return list(_eig_fn(left, right)(x))


__all__ = ["EigImplementation", "eig", "hessenberg", "schur"]

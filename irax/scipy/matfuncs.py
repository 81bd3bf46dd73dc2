"""Matrix functions and the decompositions they rest on, as `jax.scipy.linalg`:

    schur(a, output)   a = Z T Zᴴ, T upper triangular (the complex Schur form, irax.lax.linalg.schur)
    hessenberg(a)      a = Q H Qᴴ, H zero below its first subdiagonal
    rsf2csf(T, Z)      a real Schur form (2x2 blocks for complex pairs) made complex triangular
    expm(A)            e^A by Padé approximants with scaling and squaring (JAX's, below)
    expm_frechet(A, E) the derivative L(A, E) of expm at A in the direction E:
                       expm([[A, E], [0, A]]) = [[e^A, L(A, E)], [0, e^A]] (Mathias 1996)
    sqrtm(A)           X with X X = A: Z √T Zᴴ from the complex Schur form
    funm(A, f)         Z f(T) Zᴴ, f(T) by Parlett's recurrence
    solve_sylvester    X with A X + X B = C (Bartels-Stewart, on the complex Schur forms)
    polar(a)           a = U P (or P U), U with orthonormal columns, P positive semidefinite: from the SVD

expm (Higham 2005, as JAX): with ‖A‖₁ the largest column sum, s = max(0,
⌊log₂(‖A‖₁ / θ)⌋) and B = A / 2^s, the Padé approximant r_m(B) = q_m(B)⁻¹ p_m(B)
of the smallest order m whose bound ‖A‖₁ is under (float32: m = 3, 5, 7;
float64: 3, 5, 7, 9, 13), then e^A = r_m(B)^(2^s) by s squarings (NaN when s
exceeds max_squarings). p_m = U + V and q_m = V - U, U the odd and V the even
terms, b_k the Padé coefficients:

    U = B Σ_{k odd} b_k B^(k-1),   V = Σ_{k even} b_k B^k.

Each matrix of a batch takes its own order and s, selected elementwise (all
orders share B², B⁴, B⁶, so the extra ones cost a few matmuls).

Functions of a triangular T fill one superdiagonal d = j - i at a time,
from their diagonal, each entry needing only the diagonals before it. Where
R (or F) is still zero from diagonal d on, a matrix product gives the sums:

    sqrtm  r_ii = √t_ii,    r_ij = (t_ij - Σ_{i<k<j} r_ik r_kj) / (r_ii + r_jj) = (T - R R)_ij / (r_ii + r_jj)
    funm   f_ii = f(t_ii),  f_ij = (t_ij (f_jj - f_ii) + Σ_{i<k<j} (t_ik f_kj - f_ik t_kj)) / (t_jj - t_ii)
                                 = (T F - F T)_ij / (t_jj - t_ii)      (F T = T F, Parlett)

(0 where sqrtm's numerator is 0, and funm's numerator kept where t_jj = t_ii, as JAX.)
The triangular Sylvester equation R Y + Y S = F (R upper, S lower triangular)
goes by anti-diagonals s = i + j, last first: y_ij depends on the y_kj
(k > i) and y_ik (k > j) of later ones only, so

    y_ij = (F - R' Y - Y S')_ij / (r_ii + s_jj),   R', S' the strict triangles.
"""
from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

from irax.frontend import dtypes, lax_eig, lax_svd
from irax.frontend.control_flow import fori_loop
from irax.frontend.jit import jit
from irax.frontend.lax_indexing import dynamic_slice_in_dim
from irax.frontend.lax_linalg import _T, triangular_solve
from irax.frontend.lax_qdwh import qdwh
from irax.frontend.numpy import (abs, amax, amin, any, asarray, broadcast_to, concatenate, conj, diagonal, eye,
                                 floor, isinf, ldexp, log2, matmul, maximum, minimum, ones_like, real, sqrt, sum,
                                 where, zeros_like)
from irax.frontend.numpy.linalg_ops import solve
from irax.frontend.numpy.util import promote_args_inexact
from irax.frontend.numpy.vectorize import vectorize
from irax.typing import Array, ArrayLike


def _check_square(what, a):
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"Expected {what} to be a (batched) square matrix, got {what}.shape={a.shape}.")


def schur(a: ArrayLike, output: str = "real") -> tuple[Array, Array]:
    """(T, Z) with a = Z T Zᴴ, Z unitary and T upper triangular: the complex
    Schur form. output="complex" makes a real a complex first; irax has no
    real (quasi-triangular) Schur form, so a real a with output="real" raises."""
    if output not in ("real", "complex"):
        raise ValueError(f"Expected 'output' to be either 'real' or 'complex', got {output=}.")
    (a,) = promote_args_inexact("jax.scipy.linalg.schur", a)
    if output == "complex":
        a = a.astype(lax_eig._working_dtypes(a)[1])
    return lax_eig.schur(a)


def hessenberg(a: ArrayLike, *, calc_q: bool = False, overwrite_a: bool = False,
               check_finite: bool = True) -> Array | tuple[Array, Array]:
    """H (and Q with `calc_q`) with a = Q H Qᴴ: H upper Hessenberg (zero below
    the first subdiagonal), Q unitary, by Householder reflections (LAPACK's gehrd)."""
    (a,) = promote_args_inexact("jax.scipy.linalg.hessenberg", a)
    n = a.shape[-1]
    if n < 2:
        q = broadcast_to(eye(n, dtype=a.dtype), a.shape) if n else zeros_like(a)
        return (a, q) if calc_q else a
    h, _, _, q = lax_eig._hessenberg_loop(a, with_q=calc_q)
    return (h, q) if calc_q else h


def _rsf2csf(t, z):
    """(T, Z) complex, each 2x2 block of the real Schur form T split, from
    the bottom up, by the rotation G = [[c̄, s], [-s, c]] of rows and columns
    m - 1, m (c = μ/r, s = t_m,m-1/r, r = ‖(μ, t_m,m-1)‖, μ = λ - t_mm with λ
    the block's eigenvalue of positive imaginary part), as SciPy's and JAX's."""
    n = t.shape[-1]
    eps = float(np.finfo(t.dtype).eps)
    rows, cols = np.arange(n)[:, None], np.arange(n)

    def step(i, state):
        t, z = state
        m = n - 1 - i
        pair = dynamic_slice_in_dim(t, m - 1, 2, axis=-2)
        r0, r1 = pair[..., 0, :], pair[..., 1, :]
        a, b = lax_eig._entry(r0, m - 1), lax_eig._entry(r0, m)
        c, d = lax_eig._entry(r1, m - 1), lax_eig._entry(r1, m)
        split = abs(c) > eps * (abs(a) + abs(d))
        half = (a - d) / 2
        mu = half + sqrt(half * half + b * c)
        r = sqrt(real(mu * conj(mu)) + real(c * conj(c)))
        g_c = where(split, mu / where(split, r, 1), 1)[..., None]
        g_s = where(split, c / where(split, r, 1), 0)[..., None]
        right = cols >= m - 1
        t = where((rows == m - 1) & right, (conj(g_c) * r0 + g_s * r1)[..., None, :],
                  where((rows == m) & right, (g_c * r1 - g_s * r0)[..., None, :], t))

        def rotate_columns(x, rows_kept):  # x Gᴴ on columns m - 1, m
            pair = dynamic_slice_in_dim(x, m - 1, 2, axis=-1)
            x0, x1 = pair[..., 0], pair[..., 1]
            return where((cols == m - 1) & rows_kept, (g_c * x0 + conj(g_s) * x1)[..., :, None],
                         where((cols == m) & rows_kept, (conj(g_c) * x1 - conj(g_s) * x0)[..., :, None], x))

        t = rotate_columns(t, rows <= m)
        return where((rows == m) & (cols == m - 1), 0, t), rotate_columns(z, True)

    return fori_loop(0, n - 1, step, (t, z))


def rsf2csf(T: ArrayLike, Z: ArrayLike, check_finite: bool = True) -> tuple[Array, Array]:
    """(T, Z) of the complex Schur form A = Z T Zᴴ from the real one (T
    quasi-triangular with 2x2 blocks for complex eigenvalue pairs, Z orthogonal)."""
    T, Z = asarray(T), asarray(Z)
    if T.ndim < 2 or T.shape[-1] != T.shape[-2]:
        raise ValueError("Input 'T' must be square.")
    if Z.ndim < 2 or Z.shape[-1] != Z.shape[-2]:
        raise ValueError("Input 'Z' must be square.")
    if T.shape[-1] != Z.shape[-1]:
        raise ValueError(f"Input array shapes must match: Z: {Z.shape} vs. T: {T.shape}")
    T, Z = promote_args_inexact("jax.scipy.linalg.rsf2csf", T, Z)
    complex_type = lax_eig._working_dtypes(T)[1]
    T, Z = T.astype(complex_type), Z.astype(complex_type)
    batch = np.broadcast_shapes(T.shape[:-2], Z.shape[:-2])
    T, Z = broadcast_to(T, batch + T.shape[-2:]), broadcast_to(Z, batch + Z.shape[-2:])
    return (T, Z) if T.shape[-1] < 2 else _rsf2csf(T, Z)


# ---------------------------------------------------------------------------
# expm

# Padé order m -> its coefficients b_0 ... b_m.
_PADE = {
    3: (120., 60., 12., 1.),
    5: (30240., 15120., 3360., 420., 30., 1.),
    7: (17297280., 8648640., 1995840., 277200., 25200., 1512., 56., 1.),
    9: (17643225600., 8821612800., 2075673600., 302702400., 30270240., 2162160., 110880., 3960., 90., 1.),
    13: (64764752532480000., 32382376266240000., 7771770303897600., 1187353796428800., 129060195264000.,
         10559470521600., 670442572800., 33522128640., 1323241920., 40840800., 960960., 16380., 182., 1.),
}
# precision -> (θ of the largest order, the orders, the ‖A‖₁ bounds between them): JAX's (Higham's) table.
_EXPM = {
    np.dtype(np.float32): (3.925724783138660, (3, 5, 7), (4.258730016922831e-001, 1.880152677804762e+000)),
    np.dtype(np.float64): (5.371920351148152, (3, 5, 7, 9, 13),
                           (1.495585217958292e-002, 2.539398330063230e-001, 9.504178996162932e-001,
                            2.097847961257068e+000)),
}


def _pade(b, order, powers, identity):
    """(U, V) of the Padé approximant of `order` from B's even powers {2: B², ...}."""
    c = _PADE[order]
    if order == 13:  # Higham's grouping: B⁸ and up through B⁶ ( ... )
        p2, p4, p6 = powers[2], powers[4], powers[6]
        u = matmul(b, matmul(p6, c[13] * p6 + c[11] * p4 + c[9] * p2) + c[7] * p6 + c[5] * p4 + c[3] * p2
                   + c[1] * identity)
        v = matmul(p6, c[12] * p6 + c[10] * p4 + c[8] * p2) + c[6] * p6 + c[4] * p4 + c[2] * p2 + c[0] * identity
        return u, v
    odd, even = c[1] * identity, c[0] * identity
    for k in range(2, order, 2):
        odd, even = odd + c[k + 1] * powers[k], even + c[k] * powers[k]
    return matmul(b, odd), even


def expm(A: ArrayLike, *, upper_triangular: bool = False, max_squarings: int = 16) -> Array:
    """e^A of each square matrix [..., n, n] (Padé with scaling and squaring,
    the module's docstring); `upper_triangular` solves the Padé system as a
    triangular one. NaN where A needs more than `max_squarings` squarings."""
    (A,) = promote_args_inexact("jax.scipy.linalg.expm", A)
    _check_square("A", A)
    if A.dtype.itemsize < 4:  # JAX has Padé tables for single and double precision only
        raise TypeError(f"A.dtype={A.dtype} is not supported.")
    precision = np.dtype(np.float64) if np.finfo(A.dtype).bits >= 64 else np.dtype(np.float32)
    theta, orders, bounds = _EXPM[precision]
    norm = amax(sum(abs(A), axis=-2), axis=-1)[..., None, None]  # ‖A‖₁
    squarings = maximum(0, floor(log2(norm / theta)))
    b = A / ldexp(ones_like(norm), squarings.astype(np.int32)).astype(A.dtype)  # exact, as IREE's exp2 is not
    identity = eye(A.shape[-1], dtype=A.dtype)
    powers = {2: matmul(b, b)}
    for k in range(4, max(m for m in orders if m < 13), 2):  # order 13 needs no more than B⁶
        powers[k] = matmul(powers[k - 2], powers[2])
    choice = sum(np.asarray(bounds, precision) <= norm[..., None], axis=-1)  # digitize
    u, v = _pade(b, orders[0], powers, identity)
    for i, order in enumerate(orders[1:], 1):
        u_m, v_m = _pade(b, order, powers, identity)
        u, v = where(choice == i, u_m, u), where(choice == i, v_m, v)
    p, q = u + v, v - u
    r = triangular_solve(q, p, left_side=True, lower=False) if upper_triangular else solve(q, p)
    r = fori_loop(0, max_squarings, lambda i, r: where(i < squarings, matmul(r, r), r), r)
    return where(squarings > max_squarings, np.nan, r)


def expm_frechet(A: ArrayLike, E: ArrayLike, *, method: str | None = None,
                 compute_expm: bool = True) -> Array | tuple[Array, Array]:
    """(expm(A), L(A, E)), L the Fréchet derivative of expm at A in the
    direction E (the corner of the block matrix's expm, the module's
    docstring; JAX takes a JVP of expm), or L alone without `compute_expm`."""
    A, E = promote_args_inexact("jax.scipy.linalg.expm_frechet", A, E)
    if A.ndim < 2 or A.shape[-2] != A.shape[-1]:
        raise ValueError(f"expected A to be a (batched) square matrix, got A.shape={A.shape}")
    if E.ndim < 2 or E.shape[-2] != E.shape[-1]:
        raise ValueError(f"expected E to be a (batched) square matrix, got E.shape={E.shape}")
    if A.shape != E.shape:
        raise ValueError(f"expected A and E to be the same shape, got A.shape={A.shape} E.shape={E.shape}")
    n = A.shape[-1]
    block = concatenate([concatenate([A, E], axis=-1), concatenate([zeros_like(A), A], axis=-1)], axis=-2)
    both = expm(block)
    expm_a, frechet = both[..., :n, :n], both[..., :n, n:]
    return (expm_a, frechet) if compute_expm else frechet


# ---------------------------------------------------------------------------
# sqrtm, polar


def _by_superdiagonals(diag, entries):
    """The upper triangular matrix with diagonal `diag` whose superdiagonal d
    is entries(R) (R so far: diagonals below d filled, zeros from d on)."""
    n = diag.shape[-1]
    offset = np.arange(n)[None, :] - np.arange(n)[:, None]  # j - i
    return fori_loop(1, n, lambda d, r: where(offset == d, entries(r), r),
                     where(offset == 0, diag[..., None, :], 0).astype(diag.dtype))


def _triangular_sqrt(t):
    """R upper triangular with R R = T (the module's docstring)."""
    root = sqrt(diagonal(t, axis1=-2, axis2=-1))
    denominator = root[..., :, None] + root[..., None, :]

    def entries(r):
        numerator = t - matmul(r, r)
        return where(numerator == 0, 0, numerator / where(numerator == 0, 1, denominator))

    return _by_superdiagonals(root, entries)


def _triangular_function(t, values):
    """f(T) of an upper triangular T from f(t_ii) = values (Parlett's recurrence)."""
    d = diagonal(t, axis1=-2, axis2=-1)
    gaps = d[..., None, :] - d[..., :, None]  # t_jj - t_ii

    def entries(f):
        numerator = matmul(t, f) - matmul(f, t)
        return where(gaps != 0, numerator / where(gaps != 0, gaps, 1), numerator)

    return _by_superdiagonals(values, entries)


def sqrtm(A: ArrayLike, blocksize: int = 1) -> Array:
    """The principal square root X (X X = A, complex) of each square matrix:
    Z √T Zᴴ from the complex Schur form A = Z T Zᴴ."""
    if blocksize > 1:
        raise NotImplementedError("Blocked version is not implemented yet.")
    return _sqrtm(asarray(A))


@jit
def _sqrtm(a):
    """sqrtm as one program (eager complex128 matmuls do not compile in IREE 3.13)."""
    t, z = schur(a, output="complex")
    return matmul(matmul(z, _triangular_sqrt(t)), conj(_T(z)))


def funm(A: ArrayLike, func: Callable[[Array], Array], disp: bool = True) -> Array | tuple[Array, Array]:
    """func(A) of a square matrix (complex): Z F Zᴴ with F = func(T) of its
    complex Schur form A = Z T Zᴴ, F's diagonal func(diag(T)) and the rest
    by Parlett's recurrence. Without `disp`, (F, an estimate of its relative
    error) as JAX's: tol/δ ‖strict triangle of T‖₁, δ the smallest |t_jj - t_ii|."""
    A = asarray(A)
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise ValueError("expected square array_like input")
    return _funm(A, func, disp)


@functools.partial(jit, static_argnames=("func", "disp"))
def _funm(A, func, disp):
    """funm as one program (as _sqrtm)."""
    t, z = schur(A, output="complex")
    d = diagonal(t)
    f = _triangular_function(t, asarray(func(d)).astype(t.dtype))
    f = matmul(matmul(z, f), conj(_T(z)))
    if disp:
        return f
    tol = float(np.finfo(f.dtype).eps)
    n = A.shape[0]
    upper = np.triu(np.ones((n, n), dtype=bool), 1)
    gaps = abs(d[None, :] - d[:, None])
    smallest = minimum(abs(t[0, 0]), amin(where(upper, gaps, np.inf))) if n > 1 else abs(t[0, 0])
    smallest = where(smallest == 0, tol, smallest)
    strict_norm = amax(sum(abs(where(upper, t, 0)), axis=0))
    error = where(any(isinf(abs(f))), np.inf, minimum(1, maximum(tol, tol / smallest * strict_norm)))
    return f, error


def _triangular_sylvester(r, s, f):
    """Y with R Y + Y S = F, R upper and S lower triangular (the module's docstring)."""
    m, n = f.shape[-2:]
    i, j = np.arange(m)[:, None], np.arange(n)[None, :]
    strict_r = where(np.triu(np.ones((m, m), dtype=bool), 1), r, 0)
    strict_s = where(np.tril(np.ones((n, n), dtype=bool), -1), s, 0)
    denominator = diagonal(r, axis1=-2, axis2=-1)[..., :, None] + diagonal(s, axis1=-2, axis2=-1)[..., None, :]

    def anti_diagonal(k, y):
        value = (f - matmul(strict_r, y) - matmul(y, strict_s)) / denominator
        return where(i + j == m + n - 2 - k, value, y)

    # Starting from the corner y_m-1,n-1 = f / (r + s), not from zeros: a constant
    # complex128 carry is an i128 splat IREE 3.13 cannot make.
    return fori_loop(1, m + n - 1, anti_diagonal, where(i + j == m + n - 2, f / denominator, 0))


_SYLVESTER_METHODS = ("schur", "eigen")


def solve_sylvester(A: ArrayLike, B: ArrayLike, C: ArrayLike, *, method: str = "schur", tol: float = 1e-8) -> Array:
    """X with A X + X B = C (A [..., m, m], B [..., n, n], C [..., m, n]), by
    Bartels and Stewart: with A = U R Uᴴ and Bᴴ = V S Vᴴ (complex Schur forms),
    R Y + Y Sᴴ = Uᴴ C V is triangular and X = U Y Vᴴ (real for real C). NaN
    where some λ_i(A) + λ_j(B) is within `tol` of 0 (no unique X). `method`
    "eigen" (JAX's diagonalization) is computed the same way."""
    A, B, C = promote_args_inexact("jax.scipy.linalg.solve_sylvester", A, B, C)
    m, n = C.shape[-2:]
    if A.shape[-2:] != (m, m) or B.shape[-2:] != (n, n):
        raise ValueError(f"Incompatible shapes for Sylvester equation:\nA: {A.shape}\nB: {B.shape}\nC: {C.shape}")
    if method not in _SYLVESTER_METHODS:
        raise ValueError(f'Unrecognized method {method}. The two valid methods are either "schur" or "eigen".')
    return _solve_sylvester(A, B, C, tol)


@functools.partial(jit, static_argnames="tol")
def _solve_sylvester(A, B, C, tol):
    """solve_sylvester as one program (as _sqrtm)."""
    r, u = schur(A, output="complex")
    s, v = schur(conj(_T(B)), output="complex")
    f = matmul(matmul(conj(_T(u)), C.astype(r.dtype)), v)
    x = matmul(matmul(u, _triangular_sylvester(r, conj(_T(s)), f)), conj(_T(v)))
    if not dtypes.is_complex(C.dtype):
        x = real(x)
    sums = diagonal(r, axis1=-2, axis2=-1)[..., :, None] + conj(diagonal(s, axis1=-2, axis2=-1))[..., None, :]
    return where(any(abs(sums) < tol, axis=(-2, -1))[..., None, None], np.nan, x)




def polar(a: ArrayLike, side: str = "right", *, method: str = "qdwh", eps: float | None = None,
          max_iterations: int | None = None) -> tuple[Array, Array]:
    """(U, P) with a = U P (side="right", P [n, n]) or a = P U ("left",
    P [m, m]), U with orthonormal columns (rows), P positive semidefinite,
    as JAX's, for each matrix of `a`: by QDWH (lax.linalg.qdwh, JAX's
    default; a tall or square a on the right, a wide one on the left, as
    JAX's takes them; `max_iterations` unused, as in JAX) or from the SVD
    a = u diag(s) vᴴ: U = u vᴴ, P = v diag(s) vᴴ (or u diag(s) uᴴ)."""
    (a,) = promote_args_inexact("jax.scipy.linalg.polar", a)
    if a.ndim < 2:
        raise ValueError("The input `a` must be at least a 2-D array.")
    if side not in ("right", "left"):
        raise ValueError("The argument `side` must be either 'right' or 'left'.")
    signature = "(m,n)->(m,n),(n,n)" if side == "right" else "(m,n)->(m,n),(m,m)"
    return vectorize(functools.partial(_polar_2d, side=side, method=method, eps=eps), signature=signature)(a)


def _polar_2d(a, side, method, eps):
    m, n = a.shape
    if method == "qdwh":
        if m >= n and side == "right":
            unitary, posdef, _, _ = qdwh(a, eps=eps)
        elif m < n and side == "left":
            unitary, posdef, _, _ = qdwh(conj(_T(a)), eps=eps)
            unitary, posdef = conj(_T(unitary)), conj(_T(posdef))
        else:  # (JAX's words)
            raise NotImplementedError("method='qdwh' only supports mxn matrices where m < n where side='right' and "
                                      f"m >= n side='left', got {a.shape} with {side=}")
    elif method == "svd":
        u, s, vh = lax_svd.svd(a, full_matrices=False)
        s = s.astype(u.dtype)[None, :]
        unitary = matmul(u, vh)
        posdef = matmul(conj(_T(vh)) * s, vh) if side == "right" else matmul(u * s, conj(_T(u)))
    else:
        raise ValueError(f"Unknown polar decomposition method {method}.")
    return unitary, posdef


__all__ = ["expm", "expm_frechet", "funm", "hessenberg", "polar", "rsf2csf", "schur", "solve_sylvester", "sqrtm"]

"""`irax.scipy.linalg`: SciPy's factor-then-solve API, as `jax.scipy.linalg`,
on irax.lax.linalg's factorizations:

    cho_factor(a) -> (c, lower)      cho_solve((c, lower), b): two triangular solves
    lu_factor(a)  -> (lu, piv)       lu_solve((lu, piv), b, trans): permute, two triangular solves
    lu(a)         -> (p, l, u)       a = p @ l @ u  (or (p @ l, u) with permute_l)
    qr(a)         -> (q, r)          a = q @ r  (or (r,) with mode="r")
    svd(a)        -> (u, s, vh)      a = u @ diag(s) @ vh
    eigh(a)       -> (w, v)          a = v @ diag(w) @ v.conj().T

Complex matrices work throughout (Hermitian ones for cholesky and eigh).

and, from matfuncs.py and special_matrices.py, the matrix functions (expm,
sqrtm, polar, schur, hessenberg, ...) and SciPy's special matrices.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from irax.frontend import lax_eigh, lax_linalg, lax_qr, lax_svd
from irax.frontend.lax_linalg import _H
from irax.frontend.numpy import arange, argsort, conj, diag, eye, matmul, ravel, take_along_axis, tril, triu
from irax.frontend.numpy import linalg_ops
from irax.frontend.numpy.linalg_ops import _lu_solve
from irax.frontend.numpy.linalg_ops import solve as jnp_solve
from irax.frontend.numpy.util import promote_args_inexact
from irax.ir.types import real_dtype
from irax.scipy.matfuncs import expm, expm_frechet, funm, hessenberg, polar, rsf2csf, schur, solve_sylvester, sqrtm
from irax.scipy.special_matrices import (block_diag, circulant, companion, convolution_matrix, dft, fiedler,
                                         fiedler_companion, hadamard, hankel, helmert, hilbert, invhilbert, invpascal,
                                         leslie, pascal, toeplitz)
from irax.typing import Array, ArrayLike

# trans -> (transpose_a, conjugate_a) of a solve with a; SciPy also names them by letter.
_TRANS = {0: (False, False), "N": (False, False), 1: (True, False), "T": (True, False), 2: (True, True),
          "C": (True, True)}


def _transpose_flags(trans):
    if trans not in _TRANS:
        raise ValueError(f"Invalid 'trans' value {trans!r}; expected one of 0, 1, 2, 'N', 'T', 'C'.")
    return _TRANS[trans]


def cholesky(a: ArrayLike, lower: bool = False, overwrite_a: bool = False, check_finite: bool = True) -> Array:
    """The Cholesky factor of a: upper U with a = Uᴴ U, or lower L (a = L Lᴴ).
    As in JAX, only that triangle of a is read, without symmetrizing a, so the
    gradient is lax.linalg.cholesky's unsymmetrized one."""
    (a,) = promote_args_inexact("jax.scipy.linalg.cholesky", a)
    L = lax_linalg.cholesky(a if lower else _H(a), symmetrize_input=False)
    return L if lower else _H(L)


def cho_factor(a: ArrayLike, lower: bool = False, overwrite_a: bool = False,
               check_finite: bool = True) -> tuple[Array, bool]:
    """(c, lower) for cho_solve: c is cholesky(a, lower)."""
    return cholesky(a, lower=lower), lower


def cho_solve(c_and_lower: tuple[ArrayLike, bool], b: ArrayLike, overwrite_b: bool = False,
              check_finite: bool = True) -> Array:
    """x with a x = b, from (c, lower) = cho_factor(a): L y = b, then Lᴴ x = y."""
    c, lower = c_and_lower
    c, b = promote_args_inexact("jax.scipy.linalg.cho_solve", c, b)
    vector = b.ndim == c.ndim - 1
    rhs = b[..., None] if vector else b
    # With U = Lᴴ, the same two solves are Uᴴ y = b and U x = y.
    y = lax_linalg.triangular_solve(c, rhs, left_side=True, lower=lower, transpose_a=not lower, conjugate_a=not lower)
    x = lax_linalg.triangular_solve(c, y, left_side=True, lower=lower, transpose_a=lower, conjugate_a=lower)
    return x[..., 0] if vector else x


def solve_triangular(a: ArrayLike, b: ArrayLike, trans: int | str = 0, lower: bool = False,
                     unit_diagonal: bool = False, overwrite_b: bool = False, debug: None = None,
                     check_finite: bool = True) -> Array:
    """x with op(a) x = b, a triangular (its `lower` or upper triangle read);
    op is a, aᵀ or aᴴ by `trans` (0/'N', 1/'T', 2/'C'). b is [..., m] or [..., m, n]."""
    a, b = promote_args_inexact("jax.scipy.linalg.solve_triangular", a, b)
    transpose_a, conjugate_a = _transpose_flags(trans)
    vector = b.ndim == a.ndim - 1
    rhs = b[..., None] if vector else b
    x = lax_linalg.triangular_solve(a, rhs, left_side=True, lower=lower, transpose_a=transpose_a,
                                    conjugate_a=conjugate_a, unit_diagonal=unit_diagonal)
    return x[..., 0] if vector else x


def det(a: ArrayLike, overwrite_a: bool = False, check_finite: bool = True) -> Array:
    """The determinant of each matrix: jnp.linalg.det (SciPy's flags accepted, as by JAX)."""
    return linalg_ops.det(a)


def inv(a: ArrayLike, overwrite_a: bool = False, check_finite: bool = True) -> Array:
    """The inverse of each matrix: jnp.linalg.inv (SciPy's flags accepted, as by JAX)."""
    return linalg_ops.inv(a)


def lu_factor(a: ArrayLike, overwrite_a: bool = False, check_finite: bool = True) -> tuple[Array, Array]:
    """(lu, piv) for lu_solve: L and U packed in lu, row i swapped with piv[i]."""
    (a,) = promote_args_inexact("jax.scipy.linalg.lu_factor", a)
    lu_, pivots, _ = lax_linalg.lu(a)
    return lu_, pivots


def lu_solve(lu_and_piv: tuple[ArrayLike, ArrayLike], b: ArrayLike, trans: int = 0, overwrite_b: bool = False,
             check_finite: bool = True) -> Array:
    """x with a x = b (or aᵀ x = b for trans 1, aᴴ x = b for 2) from (lu, piv) = lu_factor(a)."""
    lu_, pivots = lu_and_piv
    lu_, b = promote_args_inexact("jax.scipy.linalg.lu_solve", lu_, b)
    permutation = lax_linalg.lu_pivots_to_permutation(pivots, lu_.shape[-1])
    vector = b.ndim == 1
    rhs = b[:, None] if vector else b
    x = _lu_solve(lu_, permutation, rhs, *_transpose_flags(trans))
    return x[..., 0] if vector else x


def lu(a: ArrayLike, permute_l: bool = False, overwrite_a: bool = False,
       check_finite: bool = True) -> tuple[Array, Array, Array] | tuple[Array, Array]:
    """(p, l, u) with a = p @ l @ u: p a permutation matrix (real also for
    complex a, as in JAX), l unit lower triangular [m, k], u upper triangular
    [k, n] (k = min(m, n)); with `permute_l`, (p @ l, u)."""
    (a,) = promote_args_inexact("jax.scipy.linalg.lu", a)
    lu_, _, permutation = lax_linalg.lu(a)
    m, n = a.shape[-2:]
    k = min(m, n)
    l = tril(lu_[..., :, :k], -1) + eye(m, k, dtype=a.dtype)
    u = triu(lu_[..., :k, :])
    if permute_l:
        return take_along_axis(l, argsort(permutation)[..., :, None], axis=-2), u
    # a = Pᵀ L U with P a's rows in `permutation` order: p = Pᵀ, p[permutation[i], i] = 1.
    p = (permutation[..., None, :] == arange(m, dtype=np.int32)[:, None]).astype(real_dtype(a.dtype))
    return p, l, u


def solve(a: ArrayLike, b: ArrayLike, lower: bool = False, overwrite_a: bool = False, overwrite_b: bool = False,
          debug: bool = False, check_finite: bool = True, assume_a: str = "gen") -> Array:
    """x with a x = b, by LU whatever `assume_a` says of a (the answer is the same)."""
    if assume_a not in ("gen", "sym", "her", "pos"):
        raise ValueError(f"Expected assume_a to be one of ['gen', 'sym', 'her', 'pos'], got {assume_a!r}.")
    return jnp_solve(a, b)


def svd(a: ArrayLike, full_matrices: bool = True, compute_uv: bool = True, overwrite_a: bool = False,
        check_finite: bool = True, lapack_driver: str = "gesdd") -> Array | tuple[Array, Array, Array]:
    """(u, s, vh) with a = u diag(s) vh (irax.lax.linalg.svd, by one-sided
    Jacobi whatever `lapack_driver` names), or s alone without `compute_uv`."""
    (a,) = promote_args_inexact("jax.scipy.linalg.svd", a)
    return lax_svd.svd(a, full_matrices=full_matrices, compute_uv=compute_uv)


def eigh(a: ArrayLike, b: ArrayLike | None = None, lower: bool = True, eigvals_only: bool = False,
         overwrite_a: bool = False, overwrite_b: bool = False, turbo: bool = True, eigvals: None = None, type: int = 1,
         check_finite: bool = True) -> Array | tuple[Array, Array]:
    """(w, v) with a = v diag(w) vᵀ, w ascending (irax.lax.linalg.eigh, on the
    `lower` or upper triangle of a), or w alone with `eigvals_only`. Only
    SciPy's standard problem: not b (a v = w b v), other `type`s or `eigvals`."""
    if b is not None:
        raise NotImplementedError("Only the b=None case of eigh is implemented")
    if type != 1:
        raise NotImplementedError("Only the type=1 case of eigh is implemented.")
    if eigvals is not None:
        raise NotImplementedError("Only the eigvals=None case of eigh is implemented.")
    (a,) = promote_args_inexact("jax.scipy.linalg.eigh", a)
    v, w = lax_eigh.eigh(a, lower=lower)
    return w if eigvals_only else (w, v)


_TRIDIAGONAL_SELECT = ("a", "i", "v")


def eigh_tridiagonal(d: ArrayLike, e: ArrayLike, *, eigvals_only: bool = False, select: str = "a",
                     select_range: tuple[float, float] | None = None, tol: float | None = None,
                     key: Array | None = None) -> Array | tuple[Array, Array]:
    """The eigenvalues (ascending; and eigenvectors unless `eigvals_only`) of
    the symmetric tridiagonal matrix with diagonal d and off-diagonal e, all
    of them (select="a") or those with indices select_range[0] ..
    select_range[1] ("i"). irax builds the matrix and runs eigh (Jacobi) on
    it, where JAX bisects Sturm sequences; `tol` and `key` are not needed."""
    d, e = promote_args_inexact("jax.scipy.linalg.eigh_tridiagonal", d, e)
    if select not in _TRIDIAGONAL_SELECT:
        raise ValueError("'select must have a value in {'a', 'i', 'v'}.")
    if select == "v":
        raise NotImplementedError("eigh_tridiagonal(..., select='v') is not implemented yet.")
    n = d.shape[-1]
    start, stop = 0, n
    if select == "i":
        if select_range is None:
            raise ValueError("for select='i', select_range must be specified.")
        if select_range[0] > select_range[1]:
            raise ValueError("Got empty index range in select_range.")
        start, stop = int(select_range[0]), int(select_range[1]) + 1
    v, w = lax_eigh.eigh(diag(d) + diag(e, 1) + diag(e, -1))
    return w[start:stop] if eigvals_only else (w[start:stop], v[:, start:stop])


def qr_multiply(a: ArrayLike, c: ArrayLike, mode: str = "right", pivoting: bool = False, conjugate: bool = False,
                overwrite_a: bool = False, overwrite_c: bool = False) -> tuple[Array, Array]:
    """(Q c, R) (mode="left") or (c Q, R) ("right") with a = Q R the economic
    QR decomposition (Q [..., m, k], R [..., k, n], k = min(m, n)); conj(Q)
    with `conjugate`. A 1-D c is a column (left) or a row (right)."""
    a, c = promote_args_inexact("jax.scipy.linalg.qr_multiply", a, c)
    if mode not in ("right", "left"):
        raise ValueError(f"mode must be 'right' or 'left', got {mode!r}")
    one_dim = c.ndim == 1
    if one_dim:
        c = c[:, None] if mode == "left" else c[None, :]
    m, n = a.shape[-2:]
    k = min(m, n)
    if mode == "left" and c.shape[-2] != k:
        raise ValueError(f"Array shapes are not compatible for Q @ c operation: a has shape {tuple(a.shape)} so Q has "
                         f"{k} columns, but c has {c.shape[-2]} rows (expected {k}).")
    if mode == "right" and c.shape[-1] != m:
        raise ValueError(f"Array shapes are not compatible for c @ Q operation: a has shape {tuple(a.shape)} so Q has "
                         f"{m} rows, but c has {c.shape[-1]} columns (expected {m}).")
    q, r = lax_qr.qr(a, pivoting=pivoting, full_matrices=False)
    q = conj(q) if conjugate else q
    product = matmul(q, c) if mode == "left" else matmul(c, q)
    return (ravel(product) if one_dim else product), r


# mode -> full_matrices
_QR_FULL_MATRICES = {"full": True, "r": True, "economic": False}


def qr(a: ArrayLike, overwrite_a: bool = False, lwork: Any = None, mode: str = "full", pivoting: bool = False,
       check_finite: bool = True) -> tuple[Array] | tuple[Array, Array]:
    """(q, r) with a = q r: "full" q [..., m, m] and r [..., m, n],
    "economic" q [..., m, k] and r [..., k, n] (k = min(m, n)), or (r,) alone
    for "r" ([..., m, n]). Not `pivoting` (irax.lax.linalg.qr's NotImplementedError)."""
    if mode not in _QR_FULL_MATRICES:
        raise ValueError(f"Unsupported QR decomposition mode '{mode}'")
    (a,) = promote_args_inexact("jax.scipy.linalg.qr", a)
    q, r = lax_qr.qr(a, pivoting=pivoting, full_matrices=_QR_FULL_MATRICES[mode])
    return (r,) if mode == "r" else (q, r)


__all__ = ["block_diag", "cho_factor", "cho_solve", "cholesky", "circulant", "companion", "convolution_matrix", "det",
           "dft", "eigh", "eigh_tridiagonal", "expm", "expm_frechet", "fiedler", "fiedler_companion", "funm",
           "hadamard", "hankel", "helmert", "hessenberg", "hilbert", "inv", "invhilbert", "invpascal", "leslie", "lu",
           "lu_factor", "lu_solve", "pascal", "polar", "qr", "qr_multiply", "rsf2csf", "schur", "solve",
           "solve_sylvester", "solve_triangular", "sqrtm", "svd", "toeplitz"]

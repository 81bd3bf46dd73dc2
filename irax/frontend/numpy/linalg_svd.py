"""`irax.numpy.linalg`'s functions of the singular value decomposition
x = U diag(s) Vᴴ (irax.lax.linalg.svd, s descending; Vᴴ = Vᵀ for a real x):

    svdvals(x)        s
    pinv(x)           V diag(1/s) Uᴴ, with 1/s taken as 0 where s <= rtol s_max
    lstsq(a, b)       x = pinv(a) b (cut off at rcond s_max), the least-squares solution
                      of least norm; its residuals |b - a x|², the rank and s
    matrix_rank(x)    the count of s > tol (by default s_max max(m, n) eps)
    cond(x, p)        s_max / s_min for p = 2 (None), s_min / s_max for p = -2,
                      else norm(x, p) norm(inv(x), p)

(The matrix norms of ord 2, -2 and 'nuc', max s, min s and sum s, are in
linalg_ops.norm.) pinv's derivative is a custom JVP, JAX's (Golub and
Pereyra 1973), which holds where the rank does not change, with p = pinv(a):

    dp = -p da p + p pᴴ daᴴ (I - a p) + (I - p a) daᴴ pᴴ p

The others differentiate through svd's own JVP. hermitian=True computes the
general SVD of (a + aᴴ)/2, which has the same singular values (JAX's
eigendecomposition may give U and Vᵀ columns of other signs).
"""
from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import ml_dtypes
import numpy as np

from irax.frontend import lax_svd
from irax.frontend.custom_derivatives import custom_jvp
from irax.frontend.lax_linalg import _H, symmetrize
from irax.frontend.numpy import amax, any, asarray, expand_dims, isnan, matmul, ndim, ravel, sum, where, zeros
from irax.frontend.numpy.linalg_ops import inv, norm
from irax.frontend.numpy.util import promote_args_inexact
from irax.ir.types import real_dtype
from irax.typing import Array, ArrayLike


class SVDResult(NamedTuple):
    U: Array
    S: Array
    Vh: Array


def svd(a: ArrayLike, full_matrices: bool = True, compute_uv: bool = True, hermitian: bool = False,
        subset_by_index: tuple[int, int] | None = None) -> Array | SVDResult:
    """SVDResult(U, S, Vh) with a = U diag(S) Vh for each [..., m, n] matrix
    (S descending; U [..., m, m] and Vh [..., n, n], or [..., m, k] and
    [..., k, n] without `full_matrices`), or S alone without `compute_uv`."""
    (a,) = promote_args_inexact("jnp.linalg.svd", a)
    if hermitian:
        a = symmetrize(a)
    result = lax_svd.svd(a, full_matrices=full_matrices, compute_uv=compute_uv, subset_by_index=subset_by_index)
    return SVDResult(*result) if compute_uv else result


def svdvals(x: ArrayLike, /) -> Array:
    """The singular values of each matrix, descending."""
    (x,) = promote_args_inexact("jnp.linalg.svdvals", x)
    return svd(x, compute_uv=False)


def _eps(dtype):
    return float(ml_dtypes.finfo(dtype).eps)


def _pinv_value(a, rtol, hermitian):
    u, s, vt = svd(a, full_matrices=False, hermitian=hermitian)
    cutoff = rtol[..., None] * s[..., :1]
    s = where(s > cutoff, s, np.inf)
    return matmul(_H(vt), _H(u) / s[..., :, None])


def _pinv_jvp(hermitian, primals, tangents):
    (a, rtol), (da, _) = primals, tangents
    p = _pinv_fn(hermitian)(a, rtol)
    if hermitian:
        a, da = symmetrize(a), symmetrize(da)
    pt, dat = _H(p), _H(da)
    if a.shape[-2] >= a.shape[-1]:  # products in the order that keeps them n x n
        s = matmul(matmul(p, pt), dat)
        t = matmul(matmul(dat, pt), p)
        dp = -matmul(matmul(p, da), p) + s - matmul(matmul(s, a), p) + t - matmul(matmul(p, a), t)
    else:
        s = matmul(p, matmul(pt, dat))
        t = matmul(dat, matmul(pt, p))
        dp = -matmul(p, matmul(da, p)) + s - matmul(s, matmul(a, p)) + t - matmul(p, matmul(a, t))
    return p, dp


@lru_cache(maxsize=None)
def _pinv_fn(hermitian):
    fn = custom_jvp(lambda a, rtol: _pinv_value(a, rtol, hermitian))
    fn.defjvp(lambda primals, tangents: _pinv_jvp(hermitian, primals, tangents))
    return fn


def pinv(a: ArrayLike, rtol: ArrayLike | None = None, hermitian: bool = False, *,
         rcond: ArrayLike | None = None) -> Array:
    """The Moore-Penrose pseudo-inverse of each [..., m, n] matrix, [..., n, m]:
    singular values at most rtol times the largest count as zero (rtol
    defaults to 10 max(m, n) eps, as JAX's; NumPy's is 1e-15). `rcond` is
    the old name of rtol."""
    if rcond is not None:
        if rtol is not None:
            raise ValueError("pinv: only one of rtol and rcond may be specified.")
        rtol = rcond
    (a,) = promote_args_inexact("jnp.linalg.pinv", a)
    m, n = a.shape[-2:]
    if m == 0 or n == 0:
        return zeros(a.shape[:-2] + (n, m), a.dtype)
    rtol = 10.0 * max(m, n) * _eps(a.dtype) if rtol is None else rtol
    return _pinv_fn(bool(hermitian))(a, asarray(rtol, real_dtype(a.dtype)))


def matrix_rank(M: ArrayLike, rtol: ArrayLike | None = None, *, hermitian: bool = False,
                tol: ArrayLike | None = None) -> Array:
    """The number of singular values of each matrix above rtol (an absolute
    bound, as in JAX; by default s_max max(m, n) eps). `tol` is rtol's old name."""
    if tol is not None:
        if rtol is not None:
            raise ValueError("matrix_rank: only one of tol or rtol may be specified.")
        rtol = tol
    (M,) = promote_args_inexact("jnp.linalg.matrix_rank", M)
    if M.ndim < 2:
        return any(M != 0).astype(np.int32)
    s = svd(M, full_matrices=False, compute_uv=False, hermitian=hermitian)
    if rtol is None:  # (amax, not s[..., 0]: of no singular values, JAX's error)
        rtol = amax(s, axis=-1) * max(M.shape[-2:]) * _eps(s.dtype)
    rtol = asarray(rtol)
    return sum(s > expand_dims(rtol, ndim(rtol)), axis=-1)


def lstsq(a: ArrayLike, b: ArrayLike, rcond: float | None = None, *,
          numpy_resid: bool = False) -> tuple[Array, Array, Array, Array]:
    """(x, resid, rank, s) for a [m, n] and b [m] or [m, k]: x minimizes
    |a x - b| (the least-norm one), from the singular values above rcond
    times the largest (rcond defaults to max(m, n) eps; a negative one
    means eps); resid is |b - a x|² per column, rank that count of
    singular values, s all of them. With `numpy_resid`, resid is empty
    where NumPy's is (rank < n or m <= n)."""
    a, b = promote_args_inexact("jnp.linalg.lstsq", a, b)
    if a.shape[0] != b.shape[0]:
        raise ValueError("Leading dimensions of input arrays must match")
    vector = b.ndim == 1
    if vector:
        b = b[:, None]
    if a.ndim != 2:
        raise TypeError(f"{a.ndim}-dimensional array given. Array must be two-dimensional")
    if b.ndim != 2:
        raise TypeError(f"{b.ndim}-dimensional array given. Array must be one or two-dimensional")
    m, n = a.shape
    if a.size == 0:
        s, rank, x = zeros((0,), real_dtype(a.dtype)), asarray(0), zeros((n,) + b.shape[1:], a.dtype)
    else:
        eps = _eps(a.dtype)
        rcond = eps * max(m, n) if rcond is None else where(asarray(rcond) < 0, eps, rcond)
        u, s, vt = svd(a, full_matrices=False)
        keep = (s > 0) & (s >= rcond * s[0])
        rank = sum(keep)
        s_inv = where(keep, 1 / where(keep, s, 1), 0)[:, None]
        x = matmul(_H(vt), s_inv * matmul(_H(u), b))
    if numpy_resid and (rank < n or m <= n):
        resid = zeros((0,), real_dtype(a.dtype))
    else:
        resid = norm(b - matmul(a, x), axis=0) ** 2
    return (ravel(x) if vector else x), resid, rank, s


def cond(x: ArrayLike, p: int | float | str | None = None) -> Array:
    """The condition number of each matrix in the norm of order p: for p
    None or 2, s_max / s_min (inf where x is singular); else
    norm(x, p) norm(inv(x), p), x square."""
    (x,) = promote_args_inexact("cond", x)
    if x.ndim < 2:
        raise ValueError(f"jnp.linalg.cond: input array must be at least 2D; got arr.shape={x.shape}")
    if x.shape[-1] == 0 or x.shape[-2] == 0:
        raise ValueError(f"jnp.linalg.cond: input array must not be empty; got arr.shape={x.shape}")
    if p is None or p == 2:
        s = svdvals(x)
        return s[..., 0] / s[..., -1]
    if p == -2:
        s = svdvals(x)
        r = s[..., -1] / s[..., 0]
    else:
        if x.shape[-2] != x.shape[-1]:
            raise ValueError(f"jnp.linalg.cond: for p={p!r}, array must be square; got arr.shape={x.shape}")
        r = norm(x, ord=p, axis=(-2, -1)) * norm(inv(x), ord=p, axis=(-2, -1))
    # inv of a singular x is NaN, not inf: the condition number is still infinite.
    return where(isnan(r) & ~any(isnan(x), axis=(-2, -1)), np.inf, r)


__all__ = ["SVDResult", "cond", "lstsq", "matrix_rank", "pinv", "svd", "svdvals"]

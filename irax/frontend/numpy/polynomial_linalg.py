"""The polynomial functions of `irax.numpy` that need linear algebra, as
JAX's: poly (of a matrix: of its eigenvalues), roots (the eigenvalues of the
companion matrix) and polyfit (least squares on the Vandermonde matrix). They import the NumPy package whole, so
`irax.numpy` adds them after it (polynomial.py has the rest).

    poly(r):    prod_i (x - r_i), expanded by convolutions; r = eigvals(A) for a square A
    roots(p):   C = [[-p_1/p_0, ..., -p_n/p_0], [1, 0, ...], ..., [..., 1, 0]],  roots = eigvals(C)
    polyfit:    V c ≈ y with V_ij = x_i^(deg-j) (rows weighted by w), each column of V
                scaled to unit norm first; cov = (VᵀV)⁻¹ ‖residual‖² / (len(x) - deg - 1)
"""
from __future__ import annotations

import operator

import numpy as np

from irax.frontend import core
from irax.frontend.lax_eig import _working_dtypes
from irax.frontend.numpy import (all, arange, argmin, asarray, atleast_1d, concatenate, convolve, dot, finfo, ones,
                                 outer, roll, sqrt, stack, sum, where, zeros)
from irax.frontend.numpy.linalg_eig import eigvals
from irax.frontend.numpy.linalg_ops import inv
from irax.frontend.numpy.linalg_svd import lstsq
from irax.frontend.numpy.polynomial import vander
from irax.frontend.numpy.util import check_arraylike, promote_args_inexact
from irax.typing import Array, ArrayLike


def poly(seq_of_zeros: ArrayLike) -> Array:
    """The coefficients of prod_i (x - r_i), leading 1, of the 1-D roots r,
    or of a square matrix's eigenvalues (its characteristic polynomial, complex)."""
    check_arraylike("poly", seq_of_zeros)
    (r,) = promote_args_inexact("poly", seq_of_zeros)
    r = atleast_1d(r)
    if r.ndim == 2 and r.shape[0] == r.shape[1] and r.shape[0] != 0:
        r = eigvals(r)
    if r.ndim != 1:
        raise ValueError("input must be 1d or non-empty square 2d array.")
    if r.shape[0] == 0:
        return ones((), r.dtype)
    a = ones(1, r.dtype)
    for i in range(r.shape[0]):
        a = convolve(a, stack([asarray(1, r.dtype), -r[i]]))
    return a


def _roots_no_zeros(p):
    """The roots of p (p_0 != 0): the eigenvalues of its companion matrix."""
    n = p.shape[0] - 1
    if n < 1:
        return zeros(0, _working_dtypes(p)[1])
    companion = concatenate([(-p[1:] / p[0])[None, :], np.eye(n - 1, n, dtype=p.dtype)], axis=0)
    return eigvals(companion)


def _zeros_last(r):
    """r with its zero entries moved to the end, the others in order: a
    permutation by counting (no sort or gather of complex numbers)."""
    zero = r == 0
    before = np.tril(np.ones((r.shape[0],) * 2, dtype=bool), -1)  # before[i, j]: j < i
    position = where(zero, sum(~zero) + sum(before & zero, axis=-1), sum(before & ~zero, axis=-1))
    return sum(where(position[None, :] == arange(r.shape[0])[:, None], r, 0), axis=-1)


def roots(p: ArrayLike, *, strip_zeros: bool = True) -> Array:
    """The roots of the polynomial with coefficients p (highest power first),
    complex, in the order of the eigenvalues of its companion matrix. Leading
    zeros are dropped (`strip_zeros`, which needs p's values: not under jit);
    with strip_zeros=False the roots they would have removed are NaN instead."""
    check_arraylike("roots", p)
    (p,) = promote_args_inexact("roots", p)
    p = atleast_1d(p)
    if p.ndim != 1:
        raise ValueError("Input must be a rank-1 array.")
    if p.shape[0] < 2:
        return zeros(0, _working_dtypes(p)[1])
    leading = where(all(p == 0), p.shape[0], argmin(p == 0))
    if strip_zeros:
        try:
            leading = operator.index(int(leading))
        except core.ConcretizationTypeError as error:
            raise core.ConcretizationTypeError(
                f"{error}\nThe error occurred in the jnp.roots() function. To use this within a JIT-compiled "
                "context, pass strip_zeros=False, but be aware that leading zeros will result in some returned "
                "roots being set to NaN.") from None
        return _roots_no_zeros(p[leading:])
    p = where(p.shape[0] == leading, 1, p)  # all zero: any roots will do, they are all NaN
    r = _zeros_last(_roots_no_zeros(roll(p, -leading)))
    return where(arange(r.shape[0]) < r.shape[0] - leading, r, complex(np.nan, np.nan))


def polyfit(x: ArrayLike, y: ArrayLike, deg: int, rcond: float | None = None, full: bool = False,
            w: ArrayLike | None = None, cov: bool | str = False) -> Array | tuple[Array, ...]:
    """The coefficients c (highest power first) of the degree-`deg`
    polynomial that fits y ≈ Σ c_j x^(deg-j) in least squares (rows weighted
    by w); y [n] or [n, k] (k fits). `full` adds (residuals, rank, singular
    values, rcond); `cov` adds the coefficients' covariance, scaled by the
    residual variance unless cov="unscaled"."""
    if w is None:
        check_arraylike("polyfit", x, y)
    else:
        check_arraylike("polyfit", x, y, w)
    x, y = asarray(x), asarray(y)
    deg = operator.index(deg)
    order = deg + 1
    if deg < 0:
        raise ValueError("expected deg >= 0")
    if x.ndim != 1:
        raise TypeError("expected 1D vector for x")
    if x.size == 0:
        raise TypeError("expected non-empty vector for x")
    if y.ndim < 1 or y.ndim > 2:
        raise TypeError("expected 1D or 2D array for y")
    if x.shape[0] != y.shape[0]:
        raise TypeError("expected x and y to have same length")
    if rcond is None:
        rcond = len(x) * float(finfo(x.dtype).eps)
    lhs, rhs = vander(x, order), y
    if w is not None:
        (w,) = promote_args_inexact("polyfit", w)
        if w.ndim != 1:
            raise TypeError("expected a 1-d array for weights")
        if w.shape[0] != y.shape[0]:
            raise TypeError("expected w and y to have the same length")
        lhs = lhs * w[:, None]
        rhs = rhs * (w[:, None] if rhs.ndim == 2 else w)
    scale = sqrt(sum(lhs * lhs, axis=0))  # unit columns: a better-conditioned problem
    lhs = lhs / scale[None, :]
    c, residuals, rank, s = lstsq(lhs, rhs, rcond)
    c = (c.T / scale).T
    if full:
        return c, residuals, rank, s, asarray(float(rcond))  # a Python float to JAX: weakly typed, default dtype
    if not cov:
        return c
    covariance = inv(dot(lhs.T, lhs)) / outer(scale, scale)
    if cov == "unscaled":
        factor = ones((), covariance.dtype)
    elif len(x) <= order:
        raise ValueError("the number of data points must exceed order to scale the covariance matrix")
    else:
        factor = residuals / (len(x) - order)
    if y.ndim == 1:
        return c, covariance * atleast_1d(factor)[None]
    return c, covariance[:, :, None] * atleast_1d(factor)[None, None, :]


__all__ = ["poly", "polyfit", "roots"]

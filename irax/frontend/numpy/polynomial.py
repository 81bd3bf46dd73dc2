"""Polynomials of `irax.numpy` as coefficient arrays, highest power first
(p[0] x^(n-1) + ... + p[n-1]), as NumPy's poly1d functions:

    polyval   Horner: y = (...(p0 x + p1) x + ...) + p_{n-1}
    polymul   the convolution of the coefficients
    polyder   p_i (n - 1 - i), m times      polyint  p_i / (n - i), then k
    polydiv   long division: q_i = u_i / v_0, u -= q_i v shifted by i

(poly, roots and polyfit, which need eigenvalues or least squares, are in
polynomial_linalg.py.)
"""
from __future__ import annotations

import operator

import numpy as np

from irax.frontend import core
from irax.frontend.numpy import creation, layout, shape as shape_ops, statistics, ufuncs
from irax.frontend.numpy.math_extra import finfo
from irax.frontend.numpy.util import asarray, check_arraylike, promote_args, promote_args_inexact
from irax.typing import Array, ArrayLike


def _coefficients(name, *ps, inexact=False):
    check_arraylike(name, *ps)
    ps = (promote_args_inexact if inexact else promote_args)(name, *ps)
    ps = [shape_ops.atleast_1d(p) for p in ps]
    for p in ps:
        if p.ndim != 1:
            raise ValueError(f"jnp.{name}: coefficients must be 1-D, got shape {p.shape}")
    return ps


def polyval(p: ArrayLike, x: ArrayLike, *, unroll: int = 16) -> Array:
    """p evaluated at x by Horner's rule."""
    check_arraylike("polyval", p, x)
    p, x = promote_args("polyval", p, x)
    p = shape_ops.atleast_1d(p)
    y = creation.zeros_like(x)
    for i in range(p.shape[0]):
        y = ufuncs.add(ufuncs.multiply(y, x), p[i])
    return y


def polyadd(a1: ArrayLike, a2: ArrayLike) -> Array:
    """The coefficients of a1 + a2, as JAX's: the one shorter along axis 0 is
    added to the other's last entries there (`longer.at[-k:].add(shorter)`,
    broadcast as NumPy does: [[5, 7, 9], [8, 6, 4]] + [2] adds 2 to the last row)."""
    check_arraylike("polyadd", a1, a2)
    a1, a2 = (shape_ops.atleast_1d(a) for a in promote_args("polyadd", a1, a2))
    longer, shorter = (a1, a2) if a2.shape[0] <= a1.shape[0] else (a2, a1)
    return longer.at[longer.shape[0] - shorter.shape[0]:].add(shorter)


def polysub(a1: ArrayLike, a2: ArrayLike) -> Array:
    """The coefficients of a1 - a2: polyadd(a1, -a2)."""
    check_arraylike("polysub", a1, a2)
    a1, a2 = promote_args("polysub", a1, a2)
    return polyadd(a1, ufuncs.negative(a2))


def polymul(a1: ArrayLike, a2: ArrayLike, *, trim_leading_zeros: bool = False) -> Array:
    """The coefficients of a1 a2: their convolution (with
    `trim_leading_zeros`, of the concrete a1 and a2 without their leading
    zeros, as JAX)."""
    a1, a2 = _coefficients("polymul", a1, a2, inexact=True)
    if trim_leading_zeros and (a1.shape[0] > 1 or a2.shape[0] > 1):
        a1, a2 = layout.trim_zeros(a1, trim="f"), layout.trim_zeros(a2, trim="f")
    a1 = a1 if a1.shape[0] else creation.zeros(1, a2.dtype)  # all zeros: the zero polynomial
    a2 = a2 if a2.shape[0] else creation.zeros(1, a1.dtype)
    return statistics.convolve(a1, a2)


def polyder(p: ArrayLike, m: int = 1) -> Array:
    """The coefficients of the m-th derivative: p_i times its power, m times."""
    (p,) = _coefficients("polyder", p, inexact=True)
    m = operator.index(m)
    if m < 0:
        raise ValueError("Order of derivative must be positive")
    for _ in range(m):
        n = p.shape[0]
        p = ufuncs.multiply(p[:-1], np.arange(n - 1, 0, -1)) if n > 1 else creation.zeros(0, p.dtype)
    return p


def polyint(p: ArrayLike, m: int = 1, k: ArrayLike | None = None) -> Array:
    """The coefficients of the m-th antiderivative: p_i / (its power + 1),
    then the constant k[j] of the j-th integration."""
    m = operator.index(m)
    if m < 0:
        raise ValueError("Order of integral must be positive (see polyder)")
    (p,) = _coefficients("polyint", p, inexact=True)
    ks = creation.zeros(m, p.dtype) if k is None else shape_ops.atleast_1d(asarray(k, p.dtype))
    if ks.shape[0] == 1 and m > 1:
        ks = shape_ops.broadcast_to(ks, (m,))
    if ks.shape[0] != m:
        raise ValueError("k must be a scalar or a rank-1 array of length 1 or m.")
    for j in range(m):
        n = p.shape[0]
        p = shape_ops.concatenate([ufuncs.divide(p, np.arange(n, 0, -1)), ks[j:j + 1]])
    return p


def polydiv(u: ArrayLike, v: ArrayLike, *, trim_leading_zeros: bool = False) -> tuple[Array, Array]:
    """(quotient, remainder) of u / v by long division; `trim_leading_zeros`
    drops the remainder's leading entries below sqrt(eps) in magnitude (JAX's
    tolerance for NumPy's zeros), so it must be concrete."""
    u, v = _coefficients("polydiv", u, v, inexact=True)
    m, n = u.shape[0] - 1, v.shape[0] - 1
    scale = ufuncs.divide(1, v[0])
    q = creation.zeros(max(m - n + 1, 1), u.dtype)
    r = u
    for k in range(m - n + 1):
        d = ufuncs.multiply(scale, r[k])
        q = q.at[k].set(d)
        r = r.at[k:k + n + 1].add(ufuncs.negative(ufuncs.multiply(d, v)))
    if trim_leading_zeros:
        if isinstance(r, core.Tracer):
            raise core.ConcretizationTypeError("Abstract tracer value encountered where concrete value is expected: "
                                               "jnp.polydiv(..., trim_leading_zeros=True) needs concrete values.")
        # (a NaN is no zero: kept, as NumPy and JAX)
        kept = np.flatnonzero(~(np.abs(np.asarray(r)) < np.sqrt(finfo(r.dtype).eps)))
        r = r[int(kept[0]) if kept.size else r.shape[0]:]
    return q, r


def vander(x: ArrayLike, N: int | None = None, increasing: bool = False) -> Array:
    """The Vandermonde matrix out[i, j] = x_i^(N-1-j) (x_i^j if increasing), N = len(x) by default."""
    check_arraylike("vander", x)
    x = asarray(x)
    if x.ndim != 1:
        raise ValueError("x must be a one-dimensional array")
    N = x.shape[0] if N is None else operator.index(N)
    if N < 0:
        raise ValueError("N must be nonnegative")
    powers = np.arange(N) if increasing else np.arange(N - 1, -1, -1)
    return ufuncs.power(x[:, None], asarray(powers.astype(x.dtype)))  # in x's dtype: int8 stays int8, as JAX


__all__ = ["vander", "polyadd", "polyder", "polydiv", "polyint", "polymul", "polysub", "polyval"]

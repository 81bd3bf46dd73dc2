"""Reductions of `irax.numpy` that skip NaNs: each replaces the NaNs by the
identity of its reduction, reduces, and marks the results that had nothing
to reduce (JAX's definitions, so dtypes and edge cases agree):

    nansum, nancumsum    NaN -> 0           nanprod, nancumprod   NaN -> 1
    nanmax, nanargmax    NaN -> -inf        nanmin, nanargmin     NaN -> +inf
                         (all-NaN: NaN, and index -1)
    nanmean              sum / count of non-NaNs     (NaN where count is 0)
    nanvar, nanstd       sum((x - nanmean)^2 over non-NaNs) / (count - ddof)
Integers have no NaNs: they reduce as the plain functions do.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from irax.frontend import dtypes
from irax.frontend.numpy import reductions, ufuncs
from irax.frontend.numpy.util import asarray, check_arraylike
from irax.frontend.primitives.elementwise import binary
from irax.typing import Array, ArrayLike, Axis, DTypeLike


def _operand(name, a, out):
    if out is not None:
        raise NotImplementedError(f"The 'out' argument to jnp.{name} is not supported.")
    check_arraylike(name, a)
    return asarray(a)


def _without_nans(x, identity):
    return ufuncs.where(ufuncs.isnan(x), identity, x) if dtypes.is_inexact(x.dtype) else x  # (complex: either part)


def _nan_sum_like(name, plain, identity) -> Callable[..., Array]:
    def fn(a: ArrayLike, axis: Axis = None, dtype: DTypeLike | None = None, out: None = None, keepdims: bool = False,
           initial: ArrayLike | None = None, where: ArrayLike | None = None) -> Array:
        x = _operand(name, a, out)
        return plain(_without_nans(x, identity), axis, dtype, keepdims=keepdims, initial=initial, where=where)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"`{plain.__name__}` with NaNs counted as {identity}."
    return fn


nansum = _nan_sum_like("nansum", reductions.sum, 0)
nanprod = _nan_sum_like("nanprod", reductions.prod, 1)


def _nan_cumulative(name, plain, identity) -> Callable[..., Array]:
    def fn(a: ArrayLike, axis: int | None = None, dtype: DTypeLike | None = None, out: None = None) -> Array:
        return plain(_without_nans(_operand(name, a, out), identity), axis, dtype)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"`{plain.__name__}` with NaNs counted as {identity}."
    return fn


nancumsum = _nan_cumulative("nancumsum", reductions.cumsum, 0)
nancumprod = _nan_cumulative("nancumprod", reductions.cumprod, 1)


def _all_nan(x, axis, keepdims):
    return reductions.all(ufuncs.isnan(x), axis, keepdims=keepdims)


def _nan_extremum(name, plain, identity) -> Callable[..., Array]:
    def fn(a: ArrayLike, axis: Axis = None, out: None = None, keepdims: bool = False,
           initial: ArrayLike | None = None, where: ArrayLike | None = None) -> Array:
        x = _operand(name, a, out)
        result = plain(_without_nans(x, identity), axis, keepdims=keepdims, initial=initial, where=where)
        if not dtypes.is_inexact(x.dtype) or initial is not None:  # (JAX's: `initial` stands where all are NaN)
            return result
        return ufuncs.where(_all_nan(x, axis, keepdims), np.nan, result)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"`{plain.__name__}` ignoring NaNs; NaN where every element is NaN (and no `initial` is given)."
    return fn


nanmax = _nan_extremum("nanmax", reductions.max, -np.inf)
nanmin = _nan_extremum("nanmin", reductions.min, np.inf)


def _nan_arg_extremum(name, plain, identity) -> Callable[..., Array]:
    def fn(a: ArrayLike, axis: int | None = None, out: None = None, keepdims: bool | None = None) -> Array:
        x = _operand(name, a, out)
        keepdims = bool(keepdims)
        index = plain(_without_nans(x, identity), axis, keepdims=keepdims)
        if not dtypes.is_float(x.dtype):
            return index
        return ufuncs.where(_all_nan(x, axis, keepdims), -1, index)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"`{plain.__name__}` ignoring NaNs; -1 where every element is NaN."
    return fn


nanargmax = _nan_arg_extremum("nanargmax", reductions.argmax, -np.inf)
nanargmin = _nan_arg_extremum("nanargmin", reductions.argmin, np.inf)


def _count(x, axis, keepdims, dtype, where):
    return reductions.sum(ufuncs.logical_not(ufuncs.isnan(x)), axis, dtype, keepdims=keepdims, where=where)


def nanmean(a: ArrayLike, axis: Axis = None, dtype: DTypeLike | None = None, out: None = None,
            keepdims: bool = False, where: ArrayLike | None = None) -> Array:
    """sum of the non-NaNs / their count (NaN where there are none)."""
    x = _operand("nanmean", a, out)
    if not dtypes.is_inexact(x.dtype):
        return reductions.mean(x, axis, dtype, keepdims=keepdims, where=where)
    dtype = dtypes.to_inexact_dtype(x.dtype) if dtype is None else dtypes.canonicalize_dtype(dtype)
    total = nansum(x, axis, dtype, keepdims=keepdims, where=where)
    return binary["div"].bind(total, _count(x, axis, keepdims, dtype, where))  # (integers truncate, as JAX's)


def nanvar(a: ArrayLike, axis: Axis = None, dtype: DTypeLike | None = None, out: None = None, ddof: int = 0,
           keepdims: bool = False, where: ArrayLike | None = None, mean: ArrayLike | None = None) -> Array:
    """sum(|x - nanmean|^2 over the non-NaNs) / (count - ddof), NaN where that
    is not positive; `mean` is nanmean(x) unless given (reduced axes kept)."""
    x = _operand("nanvar", a, out)
    computation, result = reductions.var_dtypes(x.dtype, None if dtype is None else dtypes.canonicalize_dtype(dtype))
    x = asarray(x, computation)
    mean = nanmean(x, axis, computation, keepdims=True, where=where) if mean is None else \
        asarray(_operand("nanvar", mean, None), computation)
    # zeroed where x is NaN before squaring (a NaN squared would make its cotangent 0 * NaN);
    # inf - inf stays NaN
    squares = reductions.squared_magnitudes(ufuncs.where(ufuncs.isnan(x), 0, reductions.centered(x, mean)))
    normalizer = ufuncs.subtract(_count(x, axis, keepdims, None, where), ddof)
    positive = ufuncs.greater(normalizer, 0)
    total = ufuncs.where(positive, reductions.sum(squares, axis, keepdims=keepdims, where=where), np.nan)
    return asarray(binary["div"].bind(total, asarray(ufuncs.where(positive, normalizer, 1), total.dtype)), result)


def nanstd(a: ArrayLike, axis: Axis = None, dtype: DTypeLike | None = None, out: None = None, ddof: int = 0,
           keepdims: bool = False, where: ArrayLike | None = None, mean: ArrayLike | None = None) -> Array:
    """sqrt(nanvar)."""
    reductions.check_std_dtype("nanstd", dtype)
    return ufuncs.sqrt(nanvar(a, axis, dtype, out, ddof, keepdims, where, mean))


__all__ = ["nanargmax", "nanargmin", "nancumprod", "nancumsum", "nanmax", "nanmean", "nanmin", "nanprod", "nanstd",
           "nansum", "nanvar"]

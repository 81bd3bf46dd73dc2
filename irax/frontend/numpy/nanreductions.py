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
from irax.typing import Array, ArrayLike, Axis, DTypeLike


def _operand(name, a, out):
    if out is not None:
        raise NotImplementedError(f"The 'out' argument to jnp.{name} is not supported.")
    check_arraylike(name, a)
    return asarray(a)


def _without_nans(x, identity):
    return ufuncs.where(ufuncs.isnan(x), identity, x) if dtypes.is_float(x.dtype) else x


def _nan_sum_like(name, plain, identity) -> Callable[..., Array]:
    def fn(a: ArrayLike, axis: Axis = None, dtype: DTypeLike | None = None, out: None = None, keepdims: bool = False,
           initial: ArrayLike | None = None) -> Array:
        x = _operand(name, a, out)
        return plain(_without_nans(x, identity), axis, dtype, keepdims=keepdims, initial=initial)

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
           initial: ArrayLike | None = None) -> Array:
        x = _operand(name, a, out)
        result = plain(_without_nans(x, identity), axis, keepdims=keepdims, initial=initial)
        if not dtypes.is_float(x.dtype):
            return result
        return ufuncs.where(_all_nan(x, axis, keepdims), np.nan, result)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"`{plain.__name__}` ignoring NaNs; NaN where every element is NaN."
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


def _count(x, axis, keepdims, dtype):
    return reductions.sum(ufuncs.logical_not(ufuncs.isnan(x)), axis, dtype, keepdims=keepdims)


def nanmean(a: ArrayLike, axis: Axis = None, dtype: DTypeLike | None = None, out: None = None,
            keepdims: bool = False) -> Array:
    """sum of the non-NaNs / their count (NaN where there are none)."""
    x = _operand("nanmean", a, out)
    if not dtypes.is_float(x.dtype):
        return reductions.mean(x, axis, dtype, keepdims=keepdims)
    dtype = x.dtype if dtype is None else dtypes.canonicalize_dtype(dtype)
    total = reductions.sum(_without_nans(x, 0), axis, dtype, keepdims=keepdims)
    return ufuncs.divide(total, _count(x, axis, keepdims, dtype))


def nanvar(a: ArrayLike, axis: Axis = None, dtype: DTypeLike | None = None, out: None = None, ddof: int = 0,
           keepdims: bool = False) -> Array:
    """sum((x - nanmean)^2 over the non-NaNs) / (count - ddof), NaN where that
    is not positive."""
    x = _operand("nanvar", a, out)
    if not dtypes.is_float(x.dtype):
        return reductions.var(x, axis, dtype, ddof=ddof, keepdims=keepdims)
    result = x.dtype if dtype is None else dtypes.canonicalize_dtype(dtype)
    computation = np.dtype(np.float32) if result.itemsize < 4 else result
    x = asarray(x, computation)
    count = _count(x, axis, True, computation)
    mean = ufuncs.divide(reductions.sum(_without_nans(x, 0), axis, keepdims=True), count)
    # zeroed where x is NaN before squaring (a NaN squared would make its cotangent 0 * NaN);
    # inf - inf stays NaN
    centered = ufuncs.where(ufuncs.isnan(x), 0, ufuncs.subtract(x, mean))
    squares = reductions.sum(ufuncs.square(centered), axis, keepdims=keepdims)
    normalizer = ufuncs.subtract(_count(x, axis, keepdims, computation), ddof)
    return asarray(ufuncs.where(ufuncs.greater(normalizer, 0), ufuncs.divide(squares, normalizer), np.nan), result)


def nanstd(a: ArrayLike, axis: Axis = None, dtype: DTypeLike | None = None, out: None = None, ddof: int = 0,
           keepdims: bool = False) -> Array:
    """sqrt(nanvar)."""
    return ufuncs.sqrt(nanvar(a, axis, dtype, out, ddof, keepdims))


__all__ = ["nanargmax", "nanargmin", "nancumprod", "nancumsum", "nanmax", "nanmean", "nanmin", "nanprod", "nanstd",
           "nansum", "nanvar"]

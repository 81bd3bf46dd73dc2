"""Data-dependent selections of `irax.numpy`: nonzero and its relatives,
and the set operations on flattened arrays. How many elements they return
depends on the values, so, as in JAX, they need concrete arrays unless
`size` fixes it: then the first `size` results are kept and the rest are
`fill_value`.

Each builds a mask over a sorted (or flattened) array and keeps the
positions where it is true (sorting._nonzero with a size):

    union1d     the first of each run of equal values in sort(ar1 ++ ar2)
    intersect1d ... of sort(ar1) that are in ar2       setdiff1d: ... not in ar2
                (and where they first occur: the stable sort's order)
    setxor1d    ... of sort(ar1 ++ ar2) in exactly one of them
    isin        any(element == test_elements), broadcast
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from irax.frontend import core, dtypes
from irax.frontend.numpy import creation, indexing, reductions, sorting, ufuncs
from irax.frontend.numpy import shape as shape_ops
from irax.frontend.numpy.util import asarray, canonicalize_axis, check_arraylike, promote_args
from irax.typing import Array, ArrayLike


def _concrete_or_size(name, size, *arrays):
    if size is None and any(isinstance(x, core.Tracer) for x in arrays):
        raise core.ConcretizationTypeError(
            f"Abstract tracer value encountered where concrete value is expected: the number of results of "
            f"jnp.{name}() depends on the values of its arguments.\nThe size argument of jnp.{name} must be "
            f"statically specified to use jnp.{name} within JAX transformations.")
    if isinstance(size, core.Tracer):
        raise core.ConcretizationTypeError(f"The size argument of jnp.{name} must be a concrete integer, not traced.")


def _positions(mask, size):
    """The positions of the true elements of the 1-D mask (the first `size`
    of them, padded with 0) and whether each of the `size` slots is one."""
    if size is None:
        index = np.flatnonzero(np.asarray(mask)).astype(dtypes.default_int_dtype())
        return asarray(index), None
    return sorting._nonzero(mask, size), ufuncs.less(creation.arange(size), reductions.sum(mask))


def _keep(values, mask, size, fill_value):
    """values[mask] (1-D), or its first `size` with `fill_value` after
    (default: the first result, or 0 when there is none, as JAX)."""
    index, valid = _positions(mask, size)
    out = values[index] if values.shape[0] else creation.zeros(index.shape, values.dtype)
    if valid is None:
        return out
    if fill_value is None:
        fill_value = ufuncs.where(valid[0], out[0], creation.zeros((), values.dtype)) if size else 0
    return ufuncs.where(valid, out, asarray(fill_value, values.dtype))


def where(condition: ArrayLike, x: ArrayLike | None = None, y: ArrayLike | None = None, /, *,
          size: int | None = None, fill_value: None | ArrayLike | tuple[ArrayLike, ...] = None) -> Array | tuple[Array, ...]:
    """`x` where `condition` is true, else `y`, broadcast together; with
    `condition` alone, `nonzero(condition, size=, fill_value=)`, as jnp.where."""
    if x is None and y is None:
        return nonzero(condition, size=size, fill_value=fill_value)
    if size is not None or fill_value is not None:
        raise ValueError("size and fill_value arguments cannot be used in three-term where function.")
    return ufuncs.where(condition, x, y)


def nonzero(a: ArrayLike, *, size: int | None = None,
            fill_value: None | ArrayLike | tuple[ArrayLike, ...] = None) -> tuple[Array, ...]:
    """The indices of the nonzero elements of `a`, one array per axis, in
    row-major order; with `size`, padded with fill_value (default 0)."""
    check_arraylike("nonzero", a)
    a = asarray(a)
    if a.ndim == 0:
        raise ValueError("Calling nonzero on 0d arrays is not allowed. Use jnp.atleast_1d(scalar).nonzero() instead.")
    _concrete_or_size("nonzero", size, a)
    flat, valid = _positions(ufuncs.not_equal(shape_ops.ravel(a), 0), size)
    strides = np.cumprod((1,) + a.shape[:0:-1])[::-1]
    out = [ufuncs.remainder(ufuncs.floor_divide(flat, int(s)), n) if a.ndim > 1 else flat
           for s, n in zip(strides, a.shape)]
    if valid is not None and fill_value is not None:
        fills = fill_value if isinstance(fill_value, tuple) else (fill_value,) * a.ndim
        if len(fills) != a.ndim:
            raise ValueError(f"nonzero: fill_value must be a scalar or a tuple of length {a.ndim}; got {fill_value}")
        out = [ufuncs.where(valid, x, asarray(f, x.dtype)) for x, f in zip(out, fills)]
    return tuple(out)


def flatnonzero(a: ArrayLike, *, size: int | None = None,
                fill_value: None | ArrayLike | tuple[ArrayLike, ...] = None) -> Array:
    """The indices of the nonzero elements of the flattened `a`."""
    return nonzero(shape_ops.ravel(a), size=size, fill_value=fill_value)[0]


def argwhere(a: ArrayLike, *, size: int | None = None, fill_value: ArrayLike | None = None) -> Array:
    """nonzero(a) as rows: shape (count, ndim)."""
    check_arraylike("argwhere", a)
    a = asarray(a)
    if a.ndim == 0:
        return argwhere(shape_ops.atleast_1d(a), size=size, fill_value=fill_value)[:, :0]
    return shape_ops.stack(nonzero(a, size=size, fill_value=fill_value), -1)


def compress(condition: ArrayLike, a: ArrayLike, axis: int | None = None, *, size: int | None = None,
             fill_value: ArrayLike = 0, out: None = None) -> Array:
    """The slices of `a` along `axis` (flattened when None) where the 1-D
    condition is true; with `size`, the first `size`, then fill_value."""
    if out is not None:
        raise NotImplementedError("The 'out' argument to jnp.compress is not supported.")
    check_arraylike("compress", condition, a)
    condition, a = asarray(condition), asarray(a)
    if condition.ndim != 1:
        raise ValueError("condition must be a 1D array")
    if axis is None:
        a, axis = shape_ops.ravel(a), 0
    axis = canonicalize_axis("compress", axis, a.ndim)
    _concrete_or_size("compress", size, condition)
    n = a.shape[axis]
    mask = ufuncs.not_equal(condition[:n], 0)
    if condition.shape[0] < n:
        mask = shape_ops.pad(mask, (0, n - condition.shape[0]))
    index, valid = _positions(mask, size)
    taken = indexing.take(a, index, axis=axis)
    if valid is None:
        return taken
    valid = valid.reshape([-1 if i == axis else 1 for i in range(a.ndim)])
    return ufuncs.where(valid, taken, asarray(fill_value, a.dtype))


def extract(condition: ArrayLike, arr: ArrayLike, *, size: int | None = None, fill_value: ArrayLike = 0) -> Array:
    """The elements of the flattened arr where the flattened condition is true."""
    return compress(shape_ops.ravel(condition), shape_ops.ravel(arr), size=size, fill_value=fill_value)


_ISIN_METHODS = ("compare_all", "binary_search", "sort", "auto")


def isin(element: ArrayLike, test_elements: ArrayLike, assume_unique: bool = False, invert: bool = False, *,
         method: str = "auto") -> Array:
    """Whether each element of `element` equals one of test_elements."""
    check_arraylike("isin", element, test_elements)
    if method not in _ISIN_METHODS:  # each gives the same answer here: all compare every pair
        raise ValueError(f"{method=} is not implemented; options are 'compare_all', 'binary_search', 'sort', "
                         "and 'auto'")
    element, tests = promote_args("isin", element, test_elements)
    found = reductions.any(ufuncs.equal(asarray(element)[..., None], shape_ops.ravel(tests)), -1)
    return ufuncs.logical_not(found) if invert else found


def _sorted_runs(x):
    """sort(x), whether each element starts a run of equal values (NaNs
    equal, complex ones all NaN + 0j, as JAX's set operations take them from
    unique), and the stable order that sorts x: for the first element of a
    run, where its value first occurs in x."""
    x = sorting.canonical_nans(x)
    order = sorting.argsort(x)
    s = x[order] if x.shape[0] else x
    if not s.shape[0]:
        return s, creation.zeros(0, bool), order
    return s, shape_ops.concatenate([creation.ones(1, bool), sorting.differs(s[1:], s[:-1])]), order


def _flat(name, *arrays):
    check_arraylike(name, *arrays)
    return [shape_ops.ravel(x) for x in promote_args(name, *arrays)]


def union1d(ar1: ArrayLike, ar2: ArrayLike, *, size: int | None = None, fill_value: ArrayLike | None = None) -> Array:
    """The sorted values in either array."""
    ar1, ar2 = _flat("union1d", ar1, ar2)
    _concrete_or_size("union1d", size, ar1, ar2)
    s, first, _ = _sorted_runs(shape_ops.concatenate([ar1, ar2]))
    return _keep(s, first, size, fill_value)


def intersect1d(ar1: ArrayLike, ar2: ArrayLike, assume_unique: bool = False, return_indices: bool = False, *,
                size: int | None = None, fill_value: ArrayLike | None = None) -> Array:
    """The sorted values in both arrays; with `return_indices`, also where
    each first occurs in the flattened ar1 and ar2 (with `size`, padded with
    their sizes: out of bounds)."""
    ar1, ar2 = _flat("intersect1d", ar1, ar2)
    _concrete_or_size("intersect1d", size, ar1, ar2)
    s, first, order = _sorted_runs(ar1)
    both = ufuncs.logical_and(first, isin(s, ar2))
    values = _keep(s, both, size, fill_value)
    if not return_indices:
        return values
    s2, _, order2 = _sorted_runs(ar2)
    n2 = s2.shape[0]
    # Where each value of s first occurs in ar2: the first of its run in s2.
    at2 = order2[ufuncs.minimum(sorting.searchsorted(s2, s), n2 - 1)] if n2 else creation.zeros_like(order)
    return (values, _keep(order, both, size, ar1.shape[0]), _keep(at2, both, size, n2))


def setdiff1d(ar1: ArrayLike, ar2: ArrayLike, assume_unique: bool = False, *, size: int | None = None,
              fill_value: ArrayLike | None = None) -> Array:
    """The sorted values of ar1 that are not in ar2 (with `size`, padded with
    fill_value, default 0); with `assume_unique`, those elements of ar1 in
    their order, as JAX and NumPy (which then skip the sort). Of ar1's dtype,
    as JAX's and NumPy's: the values are ar1's (isin compares them promoted)."""
    check_arraylike("setdiff1d", ar1, ar2)
    ar1, ar2 = shape_ops.ravel(asarray(ar1)), shape_ops.ravel(asarray(ar2))
    _concrete_or_size("setdiff1d", size, ar1, ar2)
    fill_value = 0 if fill_value is None else fill_value
    if assume_unique:
        return _keep(ar1, isin(ar1, ar2, invert=True), size, fill_value)
    s, first, _ = _sorted_runs(ar1)
    return _keep(s, ufuncs.logical_and(first, isin(s, ar2, invert=True)), size, fill_value)


def setxor1d(ar1: ArrayLike, ar2: ArrayLike, assume_unique: bool = False, *, size: int | None = None,
             fill_value: ArrayLike | None = None) -> Array:
    """The sorted values in exactly one of the arrays. NaNs never match here
    (NumPy and JAX compare neighbours of sort(unique(ar1) ++ unique(ar2))):
    each array's NaN, one per array (all of them with `assume_unique`), is
    kept, last, as sort puts them."""
    ar1, ar2 = _flat("setxor1d", ar1, ar2)
    _concrete_or_size("setxor1d", size, ar1, ar2)
    s, first, _ = _sorted_runs(shape_ops.concatenate([ar1, ar2]))
    once = ufuncs.logical_and(first, ufuncs.not_equal(isin(s, ar1), isin(s, ar2)))
    per_array = reductions.sum if assume_unique else reductions.any
    nans_kept = sum(per_array(ufuncs.isnan(a)).astype(np.int32) for a in (ar1, ar2))
    nan = ufuncs.isnan(s)
    first_nans = ufuncs.less(creation.arange(s.shape[0]), s.shape[0] - reductions.sum(nan) + nans_kept)
    return _keep(s, ufuncs.logical_or(once, ufuncs.logical_and(nan, first_nans)), size, fill_value)


# The Array API's unique_* functions: jnp.unique's outputs, named.

class _UniqueAllResult(NamedTuple):
    values: Array
    indices: Array
    inverse_indices: Array
    counts: Array


class _UniqueCountsResult(NamedTuple):
    values: Array
    counts: Array


class _UniqueInverseResult(NamedTuple):
    values: Array
    inverse_indices: Array


def unique_values(x: ArrayLike, /, *, size: int | None = None, fill_value: ArrayLike | None = None) -> Array:
    """The sorted distinct values (NaNs each distinct, as the Array API says)."""
    return sorting.unique(x, equal_nan=False, size=size, fill_value=fill_value)


def unique_counts(x: ArrayLike, /, *, size: int | None = None,
                  fill_value: ArrayLike | None = None) -> _UniqueCountsResult:
    """(values, how many times each occurs)."""
    return _UniqueCountsResult(*sorting.unique(x, return_counts=True, equal_nan=False, size=size,
                                               fill_value=fill_value))


def unique_inverse(x: ArrayLike, /, *, size: int | None = None,
                   fill_value: ArrayLike | None = None) -> _UniqueInverseResult:
    """(values, the index into values of each element of x, in x's shape)."""
    values, inverse = sorting.unique(x, return_inverse=True, equal_nan=False, size=size, fill_value=fill_value)
    return _UniqueInverseResult(values, inverse.reshape(np.shape(x) if not hasattr(x, "shape") else x.shape))


def unique_all(x: ArrayLike, /, *, size: int | None = None, fill_value: ArrayLike | None = None) -> _UniqueAllResult:
    """(values, index of each one's first occurrence, inverse indices, counts)."""
    values, index, inverse, counts = sorting.unique(x, return_index=True, return_inverse=True, return_counts=True,
                                                    equal_nan=False, size=size, fill_value=fill_value)
    return _UniqueAllResult(values, index, inverse.reshape(np.shape(x) if not hasattr(x, "shape") else x.shape), counts)


__all__ = ["argwhere", "compress", "extract", "flatnonzero", "intersect1d", "isin", "nonzero", "setdiff1d",
           "setxor1d", "union1d", "unique_all", "unique_counts", "unique_inverse", "unique_values", "where"]

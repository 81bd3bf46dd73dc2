"""Sorting and searching in `irax.numpy`, built on the sorting primitives
as JAX builds them on lax.sort and lax.top_k, so results agree with JAX's
element for element. The order is JAX's: NaNs last, -0.0 == 0.0
(primitives/sorting.py); every sort is stable.

    sort, argsort        one sort (argsort: of (a, iota), keeping the iota);
                         descending: sort, then reverse (a stable descending
                         argsort sorts the reversed array, so that equal
                         elements keep their order after the final reversal)
    lexsort              one sort with several keys
    partition            two top_k: the kth+1 smallest, ascending, then the
                         others, descending (JAX's order within each side)
    searchsorted         a binary search per query; digitize is two of them
    unique               a sort, a mask of the first of each run of equal
                         values; without `size` it needs concrete values
    quantile, median...  a sort along the reduced axes, two gathers
"""
from __future__ import annotations

import math
import operator
from collections.abc import Sequence

import numpy as np

from irax.frontend import core, dtypes
from irax.frontend.numpy import creation as creation_ops
from irax.frontend.numpy import indexing as indexing_ops
from irax.frontend.numpy import reductions, ufuncs
from irax.frontend.numpy import shape as shape_ops
from irax.frontend.numpy.util import (
    asarray, canonicalize_axes, canonicalize_axis, check_arraylike, promote_args, promote_args_inexact,
)
from irax.frontend.primitives import creation
from irax.frontend.primitives import shape as shape_prims
from irax.frontend.primitives import sorting as prims
from irax.typing import Array, ArrayLike, Axis, DTypeLike

__all__ = ["argpartition", "argsort", "digitize", "lexsort", "median", "nanmedian", "nanpercentile", "nanquantile",
           "partition", "percentile", "quantile", "searchsorted", "sort", "sort_complex", "unique"]


def _operand(fn_name, a, axis):
    """`a` as an array and the axis to sort along (None: a flattened)."""
    check_arraylike(fn_name, a)
    a = asarray(a)
    if axis is None:
        return a.reshape(-1), 0
    return a, canonicalize_axis(fn_name, axis, a.ndim)


def _check_kind(fn_name, kind, order):
    if kind is not None:
        raise TypeError(f"'kind' argument to {fn_name} is not supported. Use"
                        " stable=True or stable=False to specify sort stability.")
    if order is not None:
        raise TypeError(f"'order' argument to {fn_name} is not supported.")


def _rev(a, axis):
    return shape_prims.rev.bind(a, dimensions=(axis,))


def _iota(dtype, shape, dimension):
    """lax.broadcasted_iota: the position along `dimension`, in `shape`
    (made on the host outside a trace, as the creation functions do)."""
    dtype = np.dtype(dtype)
    if core.current_trace() is not None:
        return creation.iota.bind(shape=tuple(shape), dtype=dtype, dimension=dimension)
    index = np.arange(shape[dimension], dtype=dtype).reshape([-1 if d == dimension else 1 for d in range(len(shape))])
    return asarray(np.broadcast_to(index, shape))


def sort(a: ArrayLike, axis: int | None = -1, *, kind: None = None, order: None = None, stable: bool = True,
         descending: bool = False) -> Array:
    """A sorted copy of `a` along `axis` (flattened first if None)."""
    _check_kind("sort", kind, order)
    a, axis = _operand("sort", a, axis)
    (result,) = prims.sort.bind(a, dimension=axis, is_stable=bool(stable), num_keys=1)
    return _rev(result, axis) if descending else result


def argsort(a: ArrayLike, axis: int | None = -1, *, kind: None = None, order: None = None, stable: bool = True,
            descending: bool = False, dtype: DTypeLike | None = None) -> Array:
    """The indices that sort `a` along `axis` (int32 unless `dtype` says otherwise)."""
    _check_kind("argsort", kind, order)
    a, axis = _operand("argsort", a, axis)
    index_dtype = dtypes.default_int_dtype() if dtype is None else dtypes.canonicalize_dtype(dtype)
    indices = _iota(index_dtype, a.shape, axis)
    if descending and stable:
        a, indices = _rev(a, axis), _rev(indices, axis)
    _, indices = prims.sort.bind(a, indices, dimension=axis, is_stable=bool(stable), num_keys=1)
    return _rev(indices, axis) if descending else indices


def sort_complex(a: ArrayLike) -> Array:
    """`a` sorted along its last axis, as complex numbers (real parts first,
    then imaginary parts); real input becomes complex, as JAX's does."""
    check_arraylike("sort_complex", a)
    a = asarray(a)
    (result,) = prims.sort.bind(a, dimension=a.ndim - 1, is_stable=True, num_keys=1)
    if dtypes.is_complex(result.dtype):
        return result
    wide = dtypes.to_inexact_dtype(result.dtype).itemsize == 8  # half floats become complex64, as in JAX
    return result.astype(dtypes.complex_dtype(dtypes.float64 if wide else dtypes.float32))


def lexsort(keys: ArrayLike | Sequence[ArrayLike], axis: int = -1) -> Array:
    """The indices that sort by `keys[-1]`, then by `keys[-2]`, ... (stably)."""
    keys = tuple(keys)
    if len(keys) == 0:
        raise TypeError("need sequence of keys with len > 0 in lexsort")
    check_arraylike("lexsort", *keys)
    keys = [asarray(k) for k in keys]
    if len({k.shape for k in keys}) > 1:
        raise ValueError("all keys need to be the same shape")
    index_dtype = dtypes.default_int_dtype()
    if keys[0].ndim == 0:
        return asarray(0, index_dtype)
    axis = canonicalize_axis("lexsort", axis, keys[0].ndim)
    indices = _iota(index_dtype, keys[0].shape, axis)
    return prims.sort.bind(*keys[::-1], indices, dimension=axis, is_stable=True, num_keys=len(keys))[-1]


# ---------------------------------------------------------------------------
# Partial sorts: JAX's, from two top_k (the order within each side is theirs).

def _partition_operand(fn_name, a, kth, axis):
    check_arraylike(fn_name, a)
    a = asarray(a)
    if dtypes.is_complex(a.dtype):  # top_k orders no complex numbers
        raise NotImplementedError(f"jnp.{fn_name} for complex dtype is not implemented.")
    axis = canonicalize_axis(fn_name, axis, a.ndim)
    kth = canonicalize_axis(fn_name, kth, a.shape[axis])
    return a.swapaxes(axis, -1), kth, axis


def _negated(a):
    """-a, ordered the other way round; unsigned values as JAX does: -(a + 1)."""
    return -(a + 1) if dtypes.is_unsigned(a.dtype) else -a


def partition(a: ArrayLike, kth: int, axis: int = -1) -> Array:
    """A copy of `a` with the element that would be at `kth` in sorted order
    there, smaller ones before it (ascending) and larger ones after
    (descending), along `axis`."""
    a, kth, axis = _partition_operand("partition", a, kth, axis)
    smallest = prims.top_k.bind(_negated(a), k=kth + 1)[0]
    bottom = -smallest - 1 if dtypes.is_unsigned(a.dtype) else -smallest
    top = prims.top_k.bind(a, k=a.shape[-1] - kth - 1)[0]
    return shape_ops.concatenate([bottom, top], axis=-1).swapaxes(-1, axis)


def argpartition(a: ArrayLike, kth: int, axis: int = -1) -> Array:
    """The indices that `partition` would gather along `axis`."""
    a, kth, axis = _partition_operand("argpartition", a, kth, axis)
    n = a.shape[-1]
    bottom = prims.top_k.bind(_negated(a), k=kth + 1)[1]
    # the others, in index order: the largest of a proxy that is 0 at the bottom ones
    rows = bottom.reshape(-1, kth + 1)
    count = rows.shape[0]
    proxy = creation_ops.ones((count, n), dtypes.float32).at[_iota(np.int32, (count, 1), 0), rows].set(0.0)
    top = prims.top_k.bind(proxy, k=n - kth - 1)[1].reshape(a.shape[:-1] + (n - kth - 1,))
    return shape_ops.concatenate([bottom, top], axis=-1).swapaxes(-1, axis)


# ---------------------------------------------------------------------------
# Searching

_SEARCH_METHODS = ("compare_all", "scan", "scan_unrolled", "sort")


def searchsorted(a: ArrayLike, v: ArrayLike, side: str = "left", sorter: ArrayLike | None = None, *,
                 method: str = "scan") -> Array:
    """Where each value of `v` would be inserted in the sorted 1-D `a` to keep
    it sorted: before equal values (`side='left'`) or after them. Every
    `method` gives the same answer; irax runs a binary search per value."""
    if side not in ("left", "right"):
        raise ValueError(f"invalid argument side={side!r}, expected 'left' or 'right'")
    if method not in _SEARCH_METHODS:
        raise ValueError(f"invalid argument method={method!r}, expected one of {list(_SEARCH_METHODS)}")
    check_arraylike("searchsorted", a, v, *(() if sorter is None else (sorter,)))
    a, v = promote_args("searchsorted", asarray(a), asarray(v))
    if a.ndim != 1:
        raise ValueError("a should be 1-dimensional")
    if sorter is not None:
        a = a[asarray(sorter)]
    return prims.searchsorted.bind(a, v, side=side)


def digitize(x: ArrayLike, bins: ArrayLike, right: bool = False, *, method: str | None = None) -> Array:
    """The index of the bin of `bins` (increasing or decreasing) each value of
    `x` falls in."""
    check_arraylike("digitize", x, bins)
    x, bins = asarray(x), asarray(bins)
    if bins.ndim != 1:
        raise ValueError(f"digitize: bins must be a 1-dimensional array; got bins={bins}")
    if bins.shape[0] == 0:
        return creation_ops.zeros_like(x, dtype=np.int32)
    side = "left" if right else "right"
    kwargs = {} if method is None else {"method": method}
    return ufuncs.where(bins[-1] >= bins[0], searchsorted(bins, x, side=side, **kwargs),
                        bins.shape[0] - searchsorted(bins[::-1], x, side=side, **kwargs))


# ---------------------------------------------------------------------------
# unique

_UNIQUE_SIZE_HINT = ("To make jnp.unique() compatible with JIT and other transforms, you can specify "
                     "a concrete value for the size argument, which will determine the output size.")


def _nonzero(mask, size):
    """The positions of the true elements of the 1-D `mask`, in order: the
    first `size` of them, padded with 0 (JAX's nonzero with a size). With
    counts[i] the trues in mask[:i + 1] (nondecreasing), the j-th true is at
    the first i where counts[i] > j: a binary search for each of the `size`
    slots, O(n + size log n), where a stable argsort of ~mask took O(n log²
    n) (100,000 elements, size 1000: 19.5 -> 0.4 ms, JAX 0.8)."""
    counts = reductions.cumsum(mask, dtype=np.int32)
    slots = creation_ops.arange(size, dtype=np.int32)
    order = prims.searchsorted.bind(counts, slots, side="right")
    return ufuncs.where(slots < reductions.sum(mask), order, 0).astype(dtypes.default_int_dtype())


def canonical_nans(ar):
    """Complex `ar` with every NaN (in either part) as NaN + 0j, so that the
    NaNs sort together, as JAX's unique (and the set operations on it) make them."""
    if not dtypes.is_complex(ar.dtype):
        return ar
    return ufuncs.where(ufuncs.isnan(ar), asarray(np.nan, ar.dtype), ar)


def differs(later, earlier, equal_nan=True):
    """Whether each of `later` differs from the element of `earlier` there;
    two NaNs do not when `equal_nan` (JAX's unique)."""
    differ = later != earlier
    if dtypes.is_inexact(later.dtype) and equal_nan:
        differ = differ & ~(ufuncs.isnan(later) & ufuncs.isnan(earlier))
    return differ


def _sorted_mask(ar, equal_nan):
    """(ar sorted along axis 0 by its rows, lexicographically; whether each
    row differs from the one before; the permutation applied)."""
    ar = canonical_nans(ar)
    n, rest = ar.shape[0], int(np.prod(ar.shape[1:], dtype=np.int64))
    if rest == 0:
        n, perm = 1, creation_ops.zeros(1, dtypes.default_int_dtype())
    else:
        perm = lexsort(list(ar.reshape(n, rest).T[::-1]) if ar.ndim > 1 else [ar])
    aux = ar[perm]
    if aux.size == 0:
        return aux, creation_ops.zeros(n, bool), perm
    differ = differs(aux[1:], aux[:-1], equal_nan)
    if aux.ndim > 1:
        differ = reductions.any(differ, axis=tuple(range(1, aux.ndim)))
    return aux, shape_ops.concatenate([creation_ops.ones(1, bool), differ]), perm


def unique(ar: ArrayLike, return_index: bool = False, return_inverse: bool = False, return_counts: bool = False,
           axis: int | None = None, *, equal_nan: bool = True, size: int | None = None,
           fill_value: ArrayLike | None = None, sorted: bool = True) -> Array | tuple[Array, ...]:  # noqa: A002
    """The sorted unique values of `ar` (rows along `axis`), and optionally
    where each first occurs, the index of each element's value, and counts.
    The number of values depends on the data, so under a trace `size` must
    say it: the first `size` values, padded with `fill_value` (default: the
    smallest value)."""
    check_arraylike("unique", ar)
    arr = asarray(ar)
    if size is None and isinstance(arr, core.Tracer):
        raise core.ConcretizationTypeError(
            f"Abstract tracer value encountered where concrete value is expected: traced array with shape "
            f"{arr.aval.str_short()}\nThe error arose for the first argument of jnp.unique(). {_UNIQUE_SIZE_HINT}")
    if size is not None:
        if isinstance(size, core.Tracer):
            raise core.ConcretizationTypeError(
                "Abstract tracer value encountered where concrete value is expected: the size argument of "
                f"jnp.unique() is traced.\n{_UNIQUE_SIZE_HINT}")
        size = operator.index(size)
    arr_shape, flattened = arr.shape, axis is None
    if flattened:
        arr, axis = arr.reshape(-1), 0
    else:
        axis = canonicalize_axis("unique", axis, arr.ndim)
    if arr.shape[axis] == 0 and size and fill_value is None:
        raise ValueError("jnp.unique: for zero-sized input with nonzero size argument, fill_value must be specified")
    aux, mask, perm = _sorted_mask(shape_ops.moveaxis(arr, axis, 0), equal_nan)
    if size is None:
        ind = asarray(np.flatnonzero(np.asarray(mask)).astype(dtypes.default_int_dtype()))
    else:
        ind = _nonzero(mask, size)
    result = aux[ind] if aux.size else aux
    if size is not None and fill_value is not None:
        fill = asarray(fill_value).astype(result.dtype)
        if result.shape[0]:
            valid = (creation_ops.arange(size) < mask.sum()).reshape((size,) + (1,) * (result.ndim - 1))
            result = ufuncs.where(valid, result, fill)
        else:
            result = creation_ops.full((size,) + result.shape[1:], fill, result.dtype)
    outputs = [shape_ops.moveaxis(result, 0, axis)]
    int_dtype = dtypes.default_int_dtype()
    if return_index:
        outputs.append(perm[ind] if aux.size else perm)
    if return_inverse:
        if aux.size:
            inverse = creation_ops.zeros(mask.shape, int_dtype).at[perm].set(
                reductions.cumsum(mask).astype(int_dtype) - 1)
        else:
            inverse = creation_ops.zeros(arr.shape[axis], int_dtype)
        outputs.append(inverse.reshape(arr_shape) if flattened else inverse)
    if return_counts:
        if aux.size:
            if size is None:
                starts = np.append(np.flatnonzero(np.asarray(mask)), mask.shape[0])
                outputs.append(asarray(np.diff(starts).astype(int_dtype)))
            else:
                starts = _nonzero(mask, size + 1)
                starts = shape_ops.concatenate([starts[:1], ufuncs.where(starts[1:] != 0, starts[1:], mask.shape[0])])
                outputs.append((starts[1:] - starts[:-1]).astype(int_dtype))
        elif arr.shape[axis]:
            outputs.append(creation_ops.full((1,), arr.shape[axis], int_dtype))
        else:
            outputs.append(creation_ops.zeros(0, int_dtype))
    return outputs[0] if len(outputs) == 1 else tuple(outputs)


# ---------------------------------------------------------------------------
# Order statistics: JAX's quantile, on a sort along the reduced axis.

_QUANTILE_METHODS = ("linear", "lower", "higher", "midpoint", "nearest", "inverted_cdf")


def _rows(fn_name, a, axis, weights):
    """`a` (and `weights`, of a's shape or of the reduced axes' shape) with
    the reduced axes merged last: (kept..., n). Also the reduced axes."""
    axes = canonicalize_axes(fn_name, axis, a.ndim)
    kept = [d for d in range(a.ndim) if d not in axes]
    if weights is not None and weights.shape != a.shape:
        if axis is None:
            raise ValueError("Weights shape must match 'a' shape when axis is None.")
        if weights.shape != tuple(a.shape[d] for d in axes):
            raise ValueError(f"Weights shape {weights.shape} must match reduction axes "
                             f"{tuple(a.shape[d] for d in axes)}")
        weights = shape_ops.broadcast_to(weights.reshape(tuple(a.shape[d] if d in axes else 1 for d in range(a.ndim))),
                                         a.shape)
    merged = tuple(a.shape[d] for d in kept) + (math.prod(a.shape[d] for d in axes),)  # not -1: a kept axis may be empty
    to_rows = lambda x: shape_ops.transpose(x, kept + list(axes)).reshape(merged)  # noqa: E731
    return to_rows(a), None if weights is None else to_rows(weights), axes


def _quantile(fn_name, a, q, axis, method, keepdims, squash_nans, weights):
    """Each q of `q` (a scalar or 1-D, in [0, 1]) along `axis` (None: all;
    a tuple: those, merged), as JAX computes it. With the sorted values
    v_0 <= ... <= v_{n-1} (n counts the non-NaN ones when `squash_nans`;
    else a NaN in a row makes the row's result NaN) and t = q (n - 1):

        linear      v_floor(t) (1 - (t - floor(t))) + v_ceil(t) (t - floor(t))
        lower, higher, midpoint, nearest      v_floor(t), v_ceil(t), their
                    mean, v_floor(t) if t - floor(t) <= 1/2 else v_ceil(t)
        inverted_cdf    v_i for the least i whose cumulative weight reaches
                    q times the total (weights 1 by default; a negative or
                    NaN weight makes the row's result NaN)

    The result has q's axis first, then a's kept axes."""
    if method not in _QUANTILE_METHODS:
        raise ValueError("method can only be 'linear', 'lower', 'higher', 'midpoint', 'nearest' or 'inverted_cdf'")
    check_arraylike(fn_name, a, q, *(() if weights is None else (weights,)))
    if weights is None:
        (a,) = promote_args_inexact(fn_name, asarray(a))
    else:
        if method != "inverted_cdf":
            raise NotImplementedError(f"{method} doesn't support weights. Only method 'inverted_cdf' supports weights.")
        a, weights = promote_args_inexact(fn_name, asarray(a), asarray(weights))
    if dtypes.is_complex(a.dtype):
        raise ValueError("quantile does not support complex input, as the operation is poorly defined.")
    q = asarray(q).astype(a.dtype)
    if q.ndim > 1:
        raise ValueError(f"q must be have rank <= 1, got shape {q.shape}")
    shape = a.shape
    a, weights, axes = _rows(fn_name, a, axis, weights)
    nan_rows = None
    if squash_nans:
        a = ufuncs.where(ufuncs.isnan(a), np.nan, a)  # one NaN, as JAX's
    else:
        nan_rows = reductions.any(ufuncs.isnan(a), axis=-1, keepdims=True)
        a = ufuncs.where(nan_rows, np.nan, a)
    if method == "inverted_cdf":
        weights = creation_ops.ones_like(a) if weights is None else weights
        a, weights = prims.sort.bind(a, weights, dimension=a.ndim - 1, is_stable=True, num_keys=1)
    else:
        a = sort(a, axis=-1)
    counts = (reductions.sum(~ufuncs.isnan(a), axis=-1, keepdims=True).astype(a.dtype) if squash_nans
              else asarray(a.shape[-1], a.dtype))
    rows = a.reshape((1,) * q.ndim + a.shape)
    q = q.reshape(q.shape + (1,) * a.ndim)  # (q..., 1...)
    last = ufuncs.maximum(counts - 1, 0)
    at = lambda i: indexing_ops.take_along_axis(rows, ufuncs.clip(i, 0, last).astype(np.int32), axis=-1)  # noqa: E731
    if method == "inverted_cdf":
        result = _inverted_cdf(a, weights, q, counts, nan_rows, at)
    else:
        position = q * (counts - 1)  # (q..., kept..., 1)
        low, high = ufuncs.floor(position), ufuncs.ceil(position)
        high_weight = position - low
        low_value, high_value = at(low), at(high)
        result = {
            "linear": lambda: low_value * (1 - high_weight) + high_value * high_weight,
            "lower": lambda: low_value,
            "higher": lambda: high_value,
            "nearest": lambda: ufuncs.where(high_weight <= 0.5, low_value, high_value),
            "midpoint": lambda: (low_value + high_value) * 0.5,
        }[method]()
    result = result[..., 0]
    if keepdims:
        result = result.reshape(q.shape[:q.ndim - a.ndim] + tuple(1 if d in axes else n for d, n in enumerate(shape)))
    return result


def _inverted_cdf(a, weights, q, counts, nan_rows, at):
    """JAX's inverted_cdf on sorted rows `a` with their `weights`."""
    bad = (weights < 0) | ufuncs.isnan(weights)
    clean = ufuncs.where(bad | ufuncs.isnan(a), 0, weights)
    cumulative = reductions.cumsum(clean, axis=-1)
    target = q * cumulative[..., -1:]
    index = reductions.sum(cumulative < target, axis=-1, keepdims=True, dtype=np.int32)
    invalid = reductions.any(bad, axis=-1, keepdims=True)
    invalid = invalid | (counts == 0 if nan_rows is None else nan_rows)
    return ufuncs.where(invalid, np.nan, at(index))


def _reject(fn_name, out, overwrite_input):
    if overwrite_input or out is not None:
        raise ValueError(f"jax.numpy.{fn_name} does not support overwrite_input=True or out != None")


def quantile(a: ArrayLike, q: ArrayLike, axis: Axis = None, out: None = None, overwrite_input: bool = False,
             method: str = "linear", keepdims: bool = False, *, weights: ArrayLike | None = None) -> Array:
    """The q-th quantiles (q in [0, 1], scalar or 1-D) of `a` along `axis`;
    NaN where a row holds a NaN."""
    _reject("quantile", out, overwrite_input)
    return _quantile("quantile", a, q, axis, method, keepdims, squash_nans=False, weights=weights)


def nanquantile(a: ArrayLike, q: ArrayLike, axis: Axis = None, out: None = None, overwrite_input: bool = False,
                method: str = "linear", keepdims: bool = False, *, weights: ArrayLike | None = None) -> Array:
    """`quantile`, ignoring NaNs."""
    _reject("nanquantile", out, overwrite_input)
    return _quantile("nanquantile", a, q, axis, method, keepdims, squash_nans=True, weights=weights)


def _percent(fn_name, q):
    check_arraylike(fn_name, q)
    (q,) = promote_args_inexact(fn_name, asarray(q))
    return q / 100


def percentile(a: ArrayLike, q: ArrayLike, axis: Axis = None, out: None = None, overwrite_input: bool = False,
               method: str = "linear", keepdims: bool = False, *, weights: ArrayLike | None = None) -> Array:
    """`quantile` with q in percent."""
    return quantile(a, _percent("percentile", q), axis, out, overwrite_input, method, keepdims, weights=weights)


def nanpercentile(a: ArrayLike, q: ArrayLike, axis: Axis = None, out: None = None, overwrite_input: bool = False,
                  method: str = "linear", keepdims: bool = False, *, weights: ArrayLike | None = None) -> Array:
    """`nanquantile` with q in percent."""
    return nanquantile(a, _percent("nanpercentile", q), axis, out, overwrite_input, method, keepdims, weights=weights)


def median(a: ArrayLike, axis: Axis = None, out: None = None, overwrite_input: bool = False,
           keepdims: bool = False) -> Array:
    """The median along `axis`: the middle value, or the mean of the two middle ones."""
    return quantile(a, 0.5, axis, out, overwrite_input, "midpoint", keepdims)


def nanmedian(a: ArrayLike, axis: Axis = None, out: None = None, overwrite_input: bool = False,
              keepdims: bool = False) -> Array:
    """`median`, ignoring NaNs."""
    return nanquantile(a, 0.5, axis, out, overwrite_input, "midpoint", keepdims)

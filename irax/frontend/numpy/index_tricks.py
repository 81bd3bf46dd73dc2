"""Index grids and array builders of `irax.numpy`: indices, ix_, mgrid,
ogrid, r_, c_, (un)ravel of multi-indices, logspace, geomspace, the from*
constructors and .npy files (save, savez, load). Grids are shapes known on
the host: iotas, reshaped.

    ravel_multi_index   sum_d i_d stride_d,  stride_d = prod(dims[d+1:])
    unravel_index       i_d = (i // stride_d) mod dims[d]
    logspace            base ** linspace(start, stop)
    geomspace           start (stop / start) ** linspace(0, 1)
"""
from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from irax.frontend import core, dtypes
from irax.frontend.numpy import creation, ufuncs
from irax.frontend.numpy import shape as shape_ops
from irax.frontend.numpy.util import asarray, check_arraylike, promote_args_inexact
from irax.frontend.vmap import vmap
from irax.typing import Array, ArrayLike, DTypeLike, Shape

s_ = np.s_
index_exp = np.index_exp


def indices(dimensions: Sequence[int], dtype: DTypeLike | None = None,
            sparse: bool = False) -> Array | tuple[Array, ...]:
    """out[d][i_0, ..., i_n] = i_d: one grid of indices per axis (stacked),
    or each with only its own axis (sparse)."""
    dimensions = tuple(operator.index(d) for d in dimensions)
    dtype = dtypes.default_int_dtype() if dtype is None else dtype
    grids = []
    for d, n in enumerate(dimensions):
        shape = tuple(n if i == d else 1 for i in range(len(dimensions)))
        grid = creation.arange(n, dtype=dtype).reshape(shape)
        grids.append(grid if sparse else shape_ops.broadcast_to(grid, dimensions))
    if sparse:
        return tuple(grids)
    return shape_ops.stack(grids) if grids else creation.zeros((0,), dtype)


def ix_(*args: ArrayLike) -> tuple[Array, ...]:
    """Open-mesh indices: the k-th 1-D argument reshaped to lie along axis k."""
    check_arraylike("ix_", *args)
    out = []
    for k, a in enumerate(args):
        a = asarray(a)
        if a.ndim != 1:
            raise ValueError(f"Arguments to jax.numpy.ix_ must be 1-dimensional, got shape {a.shape}")
        if a.dtype == np.bool_:
            raise NotImplementedError("Boolean arguments to jax.numpy.ix_ are not implemented")
        out.append(a.reshape(tuple(-1 if i == k else 1 for i in range(len(args)))))
    return tuple(out)


def _slice_values(s: slice):
    """The points of one mgrid slice: arange, or linspace for an imaginary step."""
    start = 0 if s.start is None else s.start
    step = 1 if s.step is None else s.step
    if isinstance(step, complex):
        return creation.linspace(start, s.stop, int(abs(step)), endpoint=True)
    return creation.arange(start, s.stop, step)


class _Mgrid:
    """jnp.mgrid[0:2, 0:3]: the dense grid of the slices, stacked (one slice: its points)."""
    sparse = False

    def __getitem__(self, key: slice | tuple[slice, ...]) -> Array | list[Array]:
        if isinstance(key, slice):
            return _slice_values(key)
        points = [_slice_values(k) for k in key]
        points = [asarray(p, dtypes.result_type(*points)) for p in points]
        grids = [p.reshape(tuple(-1 if i == k else 1 for i in range(len(points)))) for k, p in enumerate(points)]
        if self.sparse:
            return grids
        shape = tuple(p.shape[0] for p in points)
        return shape_ops.stack([shape_ops.broadcast_to(g, shape) for g in grids])


class _Ogrid(_Mgrid):
    """jnp.ogrid[0:2, 0:3]: the open (sparse) grid, a list of arrays."""
    sparse = True


mgrid = _Mgrid()
ogrid = _Ogrid()


class _AxisConcat:
    """r_ and c_: slices (as mgrid's) and arrays concatenated along an axis.
    A leading string 'axis[,ndmin[,trans1d]]' sets them; c_ is r_['-1,2,0', ...]."""

    def __init__(self, axis, ndmin, trans1d):
        self.axis, self.ndmin, self.trans1d = axis, ndmin, trans1d

    def __getitem__(self, key: Any) -> Array:
        key = key if isinstance(key, tuple) else (key,)
        axis, ndmin, trans1d = self.axis, self.ndmin, self.trans1d
        matrix = None  # 'r' / 'c': a 1-D result becomes a row (axis 0 added) / a column (axis 1)
        if key and isinstance(key[0], str):
            directive, key = key[0], key[1:]
            if directive in _MATRIX_DIRECTIVES:
                matrix = _MATRIX_DIRECTIVES[directive]
            else:
                try:
                    parts = [int(p) for p in directive.split(",")]
                except ValueError as err:
                    raise ValueError(f"could not understand directive {directive!r}") from err
                axis, ndmin, trans1d = (parts + [ndmin, trans1d][len(parts) - 1:])[:3]
        pieces = []
        for item in key:
            if isinstance(item, str):
                raise ValueError("string directive must be placed at the beginning")
            a = _slice_values(item) if isinstance(item, slice) else asarray(item)
            if a.ndim < ndmin:
                shape = a.shape if a.ndim else (1,)
                new = ndmin - len(shape)
                position = trans1d if trans1d >= 0 else ndmin + trans1d - len(shape) + 1
                # the array's axes start at `position` among the ndmin ones (NumPy's trans1d)
                position = min(max(position, 0), new)
                a = a.reshape((1,) * position + shape + (1,) * (new - position))
            pieces.append(shape_ops.atleast_1d(a))
        out = shape_ops.concatenate(pieces, axis)
        return shape_ops.expand_dims(out, matrix) if matrix is not None and out.ndim == 1 else out


_MATRIX_DIRECTIVES = {"r": 0, "c": 1}
r_ = _AxisConcat(0, 1, -1)
c_ = _AxisConcat(-1, 2, 0)


def ravel_multi_index(multi_index: Sequence[ArrayLike], dims: Sequence[int], mode: str = "raise",
                      order: str = "C", *, dtype: DTypeLike | None = None) -> Array:
    """The flat index sum_d i_d stride_d of each multi-index; out-of-range
    entries wrap ('wrap') or clip ('clip'); 'raise' checks concrete values."""
    dims = tuple(operator.index(d) for d in dims)
    if len(multi_index) != len(dims):
        raise ValueError(f"parameter multi_index must be a sequence of length {len(dims)}")
    if order not in ("C", "F"):
        raise ValueError("order must be one of ['C', 'F']")
    check_arraylike("ravel_multi_index", *multi_index)
    index = [asarray(i) for i in multi_index]
    for i in index:
        if not dtypes.is_int(i.dtype):
            raise TypeError("only int indices permitted")
    if mode == "raise":  # checkable only on concrete values; traced ones are not checked, as in JAX
        if not any(isinstance(i, core.Tracer) for i in index) and any(
                ((np.asarray(i) < 0) | (np.asarray(i) >= n)).any() for i, n in zip(index, dims)):
            raise ValueError("invalid entry in coordinates array")
    elif mode == "wrap":
        index = [ufuncs.remainder(i, n) for i, n in zip(index, dims)]
    elif mode == "clip":
        index = [ufuncs.clip(i, 0, n - 1) for i, n in zip(index, dims)]
    else:
        raise ValueError(f"invalid mode={mode!r}. Expected 'raise', 'wrap', or 'clip'")
    order_dims = dims if order == "C" else dims[::-1]
    order_index = index if order == "C" else index[::-1]
    strides = np.cumprod((1,) + order_dims[:0:-1])[::-1]
    dtype = dtypes.default_int_dtype() if dtype is None else dtypes.canonicalize_dtype(dtype)
    out = asarray(0, dtype)
    for i, s in zip(order_index, strides):
        out = ufuncs.add(out, ufuncs.multiply(asarray(i, dtype), int(s)))
    return out


def unravel_index(indices: ArrayLike, shape: Shape) -> tuple[Array, ...]:
    """The multi-index (i // stride_d) mod shape[d] of each flat index;
    negative ones count from the end, out-of-range ones are clipped (JAX)."""
    check_arraylike("unravel_index", indices)
    i = asarray(indices)
    shape = shape_ops.shape_tuple(shape)  # (an int too, as JAX)
    size = int(np.prod(shape, dtype=np.int64))
    i = ufuncs.clip(ufuncs.where(ufuncs.less(i, 0), ufuncs.add(i, size), i), 0, max(size - 1, 0))
    strides = np.cumprod((1,) + shape[:0:-1])[::-1]
    return tuple(ufuncs.remainder(ufuncs.floor_divide(i, int(s)), n) for s, n in zip(strides, shape))


def logspace(start: ArrayLike, stop: ArrayLike, num: int = 50, endpoint: bool = True, base: ArrayLike = 10.0,
             dtype: DTypeLike | None = None, axis: int = 0) -> Array:
    """base ** linspace(start, stop, num), the samples along `axis`."""
    exponents = creation.linspace(start, stop, num, endpoint, dtype=None)
    (base,) = promote_args_inexact("logspace", base)
    out = shape_ops.moveaxis(ufuncs.power(asarray(base, exponents.dtype), exponents), 0, axis)
    return out if dtype is None else out.astype(dtype)


def geomspace(start: ArrayLike, stop: ArrayLike, num: int = 50, endpoint: bool = True,
              dtype: DTypeLike | None = None, axis: int = 0) -> Array:
    """num points in geometric progression from start to stop:
    start * (stop / start) ** linspace(0, 1), with the ends exact."""
    start, stop = promote_args_inexact("geomspace", start, stop)
    if dtypes.is_complex(start.dtype):  # principal logarithms: the phase turns evenly too, as in NumPy and JAX
        flip = ufuncs.where((start.real < 0) & (stop.real < 0), -1, 1).astype(start.dtype)
        lo, hi = ufuncs.log10(flip * start), ufuncs.log10(flip * stop)
        out = ufuncs.multiply(flip, logspace(lo, hi, num, endpoint, 10.0))
    else:
        sign = ufuncs.sign(start)
        lo, hi = ufuncs.log10(ufuncs.abs(start)), ufuncs.log10(ufuncs.abs(stop))
        out = ufuncs.multiply(sign, logspace(lo, hi, num, endpoint, 10.0))
    if num > 0:
        out = out.at[0].set(start)
        if endpoint and num > 1:
            out = out.at[-1].set(stop)
    out = shape_ops.moveaxis(out, 0, axis)
    return out if dtype is None else out.astype(dtype)


def fromfunction(function: Callable[..., Array], shape: Any, *, dtype: DTypeLike = float, **kwargs: Any) -> Array:
    """function(i, j, ...) at each index of `shape`, as JAX's: `function` is
    vmapped over each axis, so it sees scalar indices of `dtype` (NumPy's
    calls it once on the index grids; the same for elementwise functions)."""
    shape = creation.canonicalize_shape(shape, "shape argument of jnp.fromfunction()")
    for i in range(len(shape)):
        function = vmap(function, in_axes=tuple(0 if i == j else None for j in reversed(range(len(shape)))))
    return function(*(creation.arange(n, dtype=dtype) for n in shape), **kwargs)


def frombuffer(buffer: bytes | Any, dtype: DTypeLike = float, count: int = -1, offset: int = 0) -> Array:
    """The bytes of `buffer` read as a 1-D array of `dtype`."""
    return asarray(np.frombuffer(buffer, dtype=dtype, count=count, offset=offset))


def fromstring(string: str, dtype: DTypeLike = float, count: int = -1, *, sep: str) -> Array:
    """The numbers in the text `string`, separated by `sep`, as a 1-D array of `dtype`."""
    return asarray(np.fromstring(string, dtype=dtype, count=count, sep=sep))


def save(file: Any, arr: ArrayLike, allow_pickle: bool = True) -> None:
    """`numpy.save` of `arr` to a .npy file (JAX's is NumPy's)."""
    np.save(file, np.asarray(arr), allow_pickle=allow_pickle)


def savez(file: Any, *args: ArrayLike, allow_pickle: bool = True, **kwds: ArrayLike) -> None:
    """`numpy.savez` of the arrays to an uncompressed .npz archive (JAX's is NumPy's)."""
    np.savez(file, *[np.asarray(a) for a in args], allow_pickle=allow_pickle,
             **{name: np.asarray(a) for name, a in kwds.items()})


def load(file: Any, *args: Any, **kwargs: Any) -> Array | Any:
    """`numpy.load`, an array read as an irax array (as JAX's): NumPy saves
    bfloat16 as 2-byte voids ('V2'), read back as bfloat16. Other contents
    (an .npz archive, an unsupported dtype) come back as NumPy gives them."""
    out = np.load(file, *args, **kwargs)
    if not isinstance(out, np.ndarray):
        return out
    if out.dtype == "V2":
        out = out.view(dtypes.bfloat16)
    try:
        return asarray(out)
    except TypeError:  # a dtype irax has no arrays of
        return out


def fromiter(*args: Any, **kwargs: Any) -> Array:
    """Not provided, as in JAX: consuming an iterator is a side effect that a
    traced function would run once, at trace time."""
    raise NotImplementedError(
        "jnp.fromiter() is not implemented because it may be non-pure and thus unsafe for use with JIT and other "
        "JAX transformations. Consider using jnp.asarray(np.fromiter(...)) instead, although care should be taken "
        "if np.fromiter is used within a jax transformations because of its potential side-effect of consuming "
        "the iterable object; for more information see "
        "https://docs.jax.dev/en/latest/notebooks/Common_Gotchas_in_JAX.html#pure-functions")


__all__ = ["c_", "frombuffer", "fromfunction", "fromiter", "fromstring", "geomspace", "index_exp", "indices", "ix_",
           "load", "logspace", "mgrid", "ogrid", "r_", "ravel_multi_index", "s_", "save", "savez", "unravel_index"]

"""Shape functions of `irax.numpy`: reshape, transpose, join, split, pad, ...

Each checks its arguments on the host and binds one of the few primitives of
`irax.frontend.primitives.shape`; most are a reshape or a transpose in
disguise (squeeze, expand_dims, ravel, atleast_*d are reshapes; swapaxes,
moveaxis, matrix_transpose are transposes). A call that would not change
its input returns the input, so it costs no kernel.
"""
from __future__ import annotations

import math
import numbers
import operator
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from irax.frontend import core, extended
from irax.frontend.core import aval_of
from irax.frontend.numpy.util import asarray, canonicalize_axes, canonicalize_axis, check_arraylike, is_array, promote_args
from irax.frontend.primitives import shape as prims
from irax.typing import Array, ArrayLike, Axis, DTypeLike, Shape


def _array(fn_name, x):
    check_arraylike(fn_name, x)
    return asarray(x)


def _elements(fn_name, x):
    """_array, or `x` itself when it is an extended array (typed keys): the
    functions that take it compute with its logical shape and move its
    elements whole (extended.reshape, transpose, rev and broadcast_in_dim)."""
    return x if extended.is_extended(x) else _array(fn_name, x)


def shape_tuple(shape) -> tuple:
    """A shape-like argument (an int, or a sequence of ints, concrete arrays
    too) as a tuple of ints, else JAX's TypeError: a traced value among them
    too, since a shape must be known while a function is traced."""
    if isinstance(shape, (tuple, list)):
        items = tuple(shape)
    elif isinstance(shape, core.Tracer):
        items = (shape,) if shape.ndim == 0 else tuple(shape)
    else:
        items = (shape,) if np.ndim(shape) == 0 else tuple(shape)
    try:
        return tuple(operator.index(d) for d in items)
    except TypeError:  # (a traced value's ConcretizationTypeError is one)
        traced = any(isinstance(d, core.Tracer) for d in items)
        hint = ("\nIf using `jit`, try using `static_argnums` or applying `jit` to smaller subfunctions."
                if traced else "")
        raise TypeError(f"Shapes must be 1D sequences of concrete values of integer type, got {items}.{hint}") from None


def _ints(fn_name, values) -> tuple:
    """An axis-like argument (int or sequence of ints) as a tuple of ints."""
    values = (values,) if np.ndim(values) == 0 else tuple(values)
    try:
        return tuple(operator.index(v) for v in values)
    except TypeError:
        raise TypeError(f"{fn_name}: axes must be integers, got {values}.") from None


def _unpack(args):
    """Method arguments given as x.reshape(2, 3) or as x.reshape((2, 3))."""
    if len(args) == 1 and (args[0] is None or not isinstance(args[0], numbers.Integral)):
        return args[0]
    return args


def _column_major(fn_name, order) -> bool:
    """Whether `order` is 'F' (column-major), after JAX's checks: 'C' or 'F'."""
    if order in ("C", "F"):
        return order == "F"
    if order == "K" and fn_name == "ravel":
        raise NotImplementedError("Ravel not implemented for order='K'.")
    if order == "A":
        raise NotImplementedError("np.reshape order=A is not implemented.")
    raise ValueError(f"Unexpected value for 'order' argument: {order}.")


# ---------------------------------------------------------------------------
# Reshapes

def _reshape(a, shape):
    shape = tuple(shape)
    if shape == a.shape:
        return a
    if extended.is_extended(a):
        return extended.reshape(a, shape)
    return prims.reshape.bind(a, new_shape=shape)


def _cannot_reshape(a, shape):
    return f"cannot reshape array of shape {a.shape} (size {a.size}) into shape {shape}"


def reshape(a: ArrayLike, shape: int | Shape, order: str = "C", *, copy: bool | None = None) -> Array:
    """`a` with a new shape holding its elements in row-major order; one entry
    of `shape` may be -1, the size that makes the element counts agree.
    `copy` is unused, as in JAX: arrays are immutable, so sharing a buffer is
    never visible (jnp.copy makes a new one)."""
    column_major = _column_major("reshape", order)
    a = _elements("reshape", a)
    shape = shape_tuple(shape)
    if shape.count(-1) > 1:
        raise TypeError(f"can only specify one unknown axis size with a `-1` value, got {shape}")
    known = math.prod(d for d in shape if d != -1)
    if any(d < -1 for d in shape):
        raise TypeError(f"{_cannot_reshape(a, shape)} (size {math.prod(shape)})")
    if -1 in shape:
        if known == 0 or a.size % known:
            raise TypeError(f"{_cannot_reshape(a, shape)} because the product of specified axis sizes ({known}) "
                            f"does not evenly divide {a.size}")
        shape = tuple(a.size // known if d == -1 else d for d in shape)
    if column_major:  # the first index fastest: row-major on both shapes reversed
        return transpose(_reshape(transpose(a), shape[::-1]))
    return _reshape(a, shape)


def reshape_method(self, *shape, order="C", copy=None):
    """x.reshape(2, 3) or x.reshape((2, 3))."""
    return reshape(self, _unpack(shape), order=order, copy=copy)


def ravel(a: ArrayLike, order: str = "C") -> Array:
    """The elements of `a` as a 1-D array, in row-major order (column-major
    with order='F')."""
    column_major = _column_major("ravel", order)
    a = _elements("ravel", a)
    return _reshape(transpose(a) if column_major else a, (a.size,))


def flatten(a: ArrayLike, order: str = "C") -> Array:
    """`ravel`, under the name of the array method x.flatten()."""
    return ravel(a, order)


def squeeze(a: ArrayLike, axis: Axis = None) -> Array:
    """`a` without the given axes of size 1 (all of them when axis is None)."""
    a = _elements("squeeze", a)
    if axis is None:
        axes = tuple(i for i, d in enumerate(a.shape) if d == 1)
    else:
        axes = canonicalize_axes("squeeze", axis, a.ndim)
        if any(a.shape[i] != 1 for i in axes):
            raise ValueError(
                "cannot select an axis to squeeze out which has size not equal to one, "
                f"got shape={a.shape} and dimensions={axes}"
            )
    return _reshape(a, [d for i, d in enumerate(a.shape) if i not in axes])


def expand_dims(a: ArrayLike, axis: int | Sequence[int]) -> Array:
    """`a` with new axes of size 1 at the positions `axis` of the result."""
    a = _elements("expand_dims", a)
    axes = (axis,) if np.ndim(axis) == 0 else tuple(axis)
    new = canonicalize_axes("expand_dims", axes, a.ndim + len(axes))
    dims = iter(a.shape)
    return _reshape(a, [1 if i in new else next(dims) for i in range(a.ndim + len(new))])


def _atleast(fn_name, ndim, place) -> Callable[..., Array | list[Array]]:
    """atleast_{ndim}d: each array of lower rank is reshaped by `place(shape)`."""

    def fn(*arys: ArrayLike) -> Array | list[Array]:
        out = []
        for x in arys:
            x = _elements(fn_name, x)
            out.append(x if x.ndim >= ndim else _reshape(x, place(x.shape)))
        return out[0] if len(out) == 1 else out

    fn.__name__ = fn.__qualname__ = fn_name
    fn.__doc__ = f"Each argument viewed with at least {ndim} dimensions, as `numpy.{fn_name}`."
    return fn


atleast_1d = _atleast("atleast_1d", 1, lambda s: (1,))
atleast_2d = _atleast("atleast_2d", 2, lambda s: (1,) * (2 - len(s)) + s)
atleast_3d = _atleast("atleast_3d", 3, lambda s: {0: (1, 1, 1), 1: (1, *s, 1), 2: (*s, 1)}[len(s)])


# ---------------------------------------------------------------------------
# Transposes

def _transpose(a, perm):
    perm = tuple(perm)
    if perm == tuple(range(a.ndim)):
        return a
    if extended.is_extended(a):
        return extended.transpose(a, perm)
    return prims.transpose.bind(a, permutation=perm)


def transpose(a: ArrayLike, axes: Sequence[int] | None = None) -> Array:
    """out.shape[i] = a.shape[axes[i]]; axes=None reverses the axes."""
    a = _elements("transpose", a)
    if axes is None:
        return _transpose(a, reversed(range(a.ndim)))
    return _transpose(a, [canonicalize_axis("transpose", i, a.ndim) for i in _ints("transpose", axes)])


def transpose_method(self, *axes):
    """x.transpose(), x.transpose(1, 0) or x.transpose((1, 0))."""
    return transpose(self, _unpack(axes) if axes else None)


def matrix_transpose(x: ArrayLike, /) -> Array:
    """Swap the last two axes (a stack of matrices transposed)."""
    x = _elements("matrix_transpose", x)
    if x.ndim < 2:
        raise ValueError(f"x must be at least two-dimensional for matrix_transpose; got ndim={x.ndim}")
    return swapaxes(x, -1, -2)


def swapaxes(a: ArrayLike, axis1: int, axis2: int) -> Array:
    """`a` with axes `axis1` and `axis2` interchanged."""
    a = _elements("swapaxes", a)
    perm = list(range(a.ndim))
    i, j = canonicalize_axis("swapaxes", axis1, a.ndim), canonicalize_axis("swapaxes", axis2, a.ndim)
    perm[i], perm[j] = perm[j], perm[i]
    return _transpose(a, perm)


def moveaxis(a: ArrayLike, source: int | Sequence[int], destination: int | Sequence[int]) -> Array:
    """Move axes `source` to positions `destination`; the others keep their order."""
    a = _elements("moveaxis", a)
    source, destination = _ints("moveaxis", source), _ints("moveaxis", destination)
    if len(source) != len(destination):
        raise ValueError(f"Inconsistent number of elements: {len(source)} vs {len(destination)}")
    source = [canonicalize_axis("moveaxis", i, a.ndim) for i in source]
    destination = [canonicalize_axis("moveaxis", i, a.ndim) for i in destination]
    for name, axes in (("source", source), ("destination", destination)):
        if len(set(axes)) != len(axes):
            raise ValueError(f"moveaxis: repeated axis in `{name}` argument")
    perm = [i for i in range(a.ndim) if i not in source]
    for dest, src in sorted(zip(destination, source)):
        perm.insert(dest, src)
    return _transpose(a, perm)


# ---------------------------------------------------------------------------
# Broadcasting

def broadcast_to(array: ArrayLike, shape: int | Shape) -> Array:
    """`array` repeated along new leading axes and along its axes of size 1."""
    a = _elements("broadcast_to", array)
    shape = shape_tuple(shape)
    if len(shape) < a.ndim:
        raise ValueError(f"Cannot broadcast to shape with fewer dimensions: arr_shape={a.shape} shape={shape}")
    if shape == a.shape:
        return a
    return _broadcast_in_dim(a, shape, range(len(shape) - a.ndim, len(shape)))


def _broadcast_in_dim(a, shape, dims):
    dims = tuple(dims)
    if extended.is_extended(a):
        return extended.broadcast_in_dim(a, shape, dims)
    return prims.broadcast_in_dim.bind(a, shape=shape, broadcast_dimensions=dims)


def broadcast_arrays(*args: ArrayLike) -> list[Array]:
    """The arguments broadcast to their common shape (dtypes unchanged)."""
    check_arraylike("broadcast_arrays", *args)
    shapes = [aval_of(x).shape for x in args]
    try:
        shape = np.broadcast_shapes(*shapes)
    except ValueError:
        raise ValueError(f"Incompatible shapes for broadcasting: shapes={shapes}") from None
    return [broadcast_to(x, shape) for x in args]


def tile(A: ArrayLike, reps: int | Sequence[int]) -> Array:
    """`A` repeated `reps[i]` times along axis i: out[k*n + j] = A[j] along
    each axis. A broadcast to (r0, n0, r1, n1, ...), then a merge of pairs."""
    a = _elements("tile", A)
    reps = _ints("tile", reps)
    if any(r < 0 for r in reps):
        raise ValueError(f"tile: reps must be nonnegative, got {reps}")
    rank = max(a.ndim, len(reps))
    reps = (1,) * (rank - len(reps)) + reps
    sizes = (1,) * (rank - a.ndim) + a.shape
    wide, dims = [], []
    for i, (r, n) in enumerate(zip(reps, sizes)):
        if r != 1:  # an axis repeated once needs no broadcast axis
            wide.append(r)
        wide.append(n)
        if i >= rank - a.ndim:
            dims.append(len(wide) - 1)
    if len(wide) > rank:
        a = _broadcast_in_dim(a, tuple(wide), dims)
    return _reshape(a, [r * n for r, n in zip(reps, sizes)])


def repeat(a: ArrayLike, repeats: ArrayLike, axis: int | None = None, *,
           total_repeat_length: int | None = None) -> Array:
    """Each element of `a` repeated `repeats` times along `axis` (the
    flattened array if None). `repeats` is an int or one int per element,
    known on the host: it fixes the shape of the result, unless
    `total_repeat_length` does (then `repeats` may be traced)."""
    a = _elements("repeat", a)
    if axis is None:
        a, axis = ravel(a), 0
    if total_repeat_length is not None:
        return _repeat_to_length(a, repeats, axis, operator.index(total_repeat_length))
    axis = canonicalize_axis("repeat", axis, a.ndim)
    if isinstance(repeats, core.Tracer):  # (np.asarray would blame NumPy)
        raise core.ConcretizationTypeError(
            f"Abstract tracer value encountered where concrete value is expected: traced array with shape "
            f"{repeats.aval.str_short()}\nWhen jit-compiling jnp.repeat, the total number of repeats must be "
            "static. To fix this, either specify a static value for `repeats`, or pass a static value to "
            "`total_repeat_length`.")
    counts = np.asarray(repeats)
    if not (np.issubdtype(counts.dtype, np.integer) or counts.dtype == np.bool_):
        raise TypeError(f"repeat: repeats must be integers, got dtype {counts.dtype}")
    if counts.ndim > 1 or (counts.ndim == 1 and counts.size not in (1, a.shape[axis])):
        raise ValueError(f"repeat: repeats of shape {counts.shape} does not match axis {axis} of size {a.shape[axis]}")
    if (counts < 0).any():
        raise ValueError(f"repeat: repeats may not be negative, got {repeats}")
    if counts.ndim == 1 and len(set(counts.tolist())) > 1:
        index = np.repeat(np.arange(a.shape[axis], dtype=np.int32), counts)
        return _take_axis(a, asarray(index), axis)
    r = int(counts.reshape(-1)[0]) if counts.size else 1
    if r == 1:
        return a
    # x[..., j, ...] -> x[..., j, k, ...] for k < r, then merge j and k
    wide = a.shape[:axis + 1] + (r,) + a.shape[axis + 1:]
    dims = tuple(i for i in range(a.ndim + 1) if i != axis + 1)
    merged = a.shape[:axis] + (a.shape[axis] * r,) + a.shape[axis + 1:]
    return _reshape(_broadcast_in_dim(a, wide, dims), merged)


def _take_axis(a, index, axis):
    """out[.., j, ..] = a[.., index[j], ..] (whole elements of typed keys)."""
    if extended.is_extended(a):
        return a._wrap(prims.take_axis.bind(a._data, index, axis=axis))
    return prims.take_axis.bind(a, index, axis=axis)


def _repeat_to_length(a, repeats, axis, total):
    """`repeat` into `total` elements along `axis`, as JAX computes it: each
    element's first position is marked, and a running count of the marks is
    the index to take; a result longer than the repeats' sum repeats the last
    element taken, a shorter one is cut."""
    repeats = ravel(asarray(repeats, np.int32))
    if a.ndim == 0:
        if repeats.shape != (1,):
            raise ValueError("`repeat` with a scalar parameter `a` is only implemented for scalar values of the "
                             "parameter `repeats`.")
        return broadcast_to(a, (total,))
    axis = canonicalize_axis("repeat", axis, a.ndim)
    if total == 0 or a.shape[axis] == 0:
        index = asarray(np.zeros(0, np.int32))
        return a if a.shape[axis] == 0 else _take_axis(a, index, axis)
    repeats = broadcast_to(repeats, (a.shape[axis],))
    starts = concatenate([asarray(np.zeros(1, np.int32)), repeats[:-1]]).cumsum()
    marks = asarray(np.zeros(total, np.int32)).at[starts].add(1)  # starts at or past `total` are dropped
    return _take_axis(a, marks.cumsum() - 1, axis)


# ---------------------------------------------------------------------------
# Joining and splitting

def _sequence(fn_name, arrays):
    """The arrays to join: a sequence, or the slices of an array along axis 0."""
    if isinstance(arrays, np.ndarray):
        return list(arrays)
    if is_array(arrays):
        if arrays.ndim == 0:
            raise ValueError(f"{fn_name}: zero-dimensional arrays cannot be split into a sequence")
        pieces = split(arrays, arrays.shape[0]) if arrays.shape[0] else []
        return [_reshape(p, arrays.shape[1:]) for p in pieces]
    return list(arrays)


def _joined(fn_name, arrays, dtype):
    """The arrays to join, promoted to one dtype (or converted to `dtype`)."""
    arrays = _sequence(fn_name, arrays)
    if not arrays:
        raise ValueError(f"Need at least one array to {fn_name}.")
    check_arraylike(fn_name, *arrays)
    if dtype is not None:
        return [asarray(x, dtype) for x in arrays]
    return [asarray(x) for x in promote_args(fn_name, *arrays)]


def _concatenate(arrays, axis):
    if arrays[0].ndim == 0:
        raise ValueError("Zero-dimensional arrays cannot be concatenated.")
    axis = canonicalize_axis("concatenate", axis, arrays[0].ndim)
    return arrays[0] if len(arrays) == 1 else prims.concatenate.bind(*arrays, dimension=axis)


def _physical_joined(fn_name, arrays, dtype):
    """(class, physical arrays) to join when the arrays are extended (typed
    keys, joined through their data: axes count from the front), else None."""
    physical = extended.unwrap(_sequence(fn_name, arrays))
    if physical and dtype is not None:
        raise ValueError(f"Cannot convert_element_type from {physical[0].dtype} to {np.dtype(dtype).name}")
    return physical


def concatenate(arrays: ArrayLike | Sequence[ArrayLike], axis: int | None = 0, dtype: DTypeLike | None = None) -> Array:
    """The arrays joined along an existing axis (flattened first if axis is None)."""
    if physical := _physical_joined("concatenate", arrays, dtype):
        cls, datas = physical
        if axis is None:
            t = cls._trailing
            datas, axis = [_reshape(d, (d.size // math.prod(d.shape[d.ndim - t:]), *d.shape[d.ndim - t:]))
                           for d in datas], 0
        if datas[0].ndim == cls._trailing:
            raise ValueError("Zero-dimensional arrays cannot be concatenated.")
        return cls._wrap(_concatenate(datas, canonicalize_axis("concatenate", axis, datas[0].ndim - cls._trailing)))
    arrays = _joined("concatenate", arrays, dtype)
    if axis is None:
        arrays, axis = [ravel(x) for x in arrays], 0
    return _concatenate(arrays, axis)


def stack(arrays: ArrayLike | Sequence[ArrayLike], axis: int = 0, out: None = None, dtype: DTypeLike | None = None) -> Array:
    """Arrays of one shape joined along a new axis."""
    if out is not None:
        raise NotImplementedError("The 'out' argument to stack is not supported.")
    physical = _physical_joined("stack", arrays, dtype)
    arrays = physical[1] if physical else _joined("stack", arrays, dtype)
    trailing = physical[0]._trailing if physical else 0  # typed keys: their data's trailing axes ride along
    shapes = {x.shape for x in arrays}
    if len(shapes) != 1:
        raise ValueError("All input arrays must have the same shape. Got "
                         f"{', '.join(str(x.shape[:x.ndim - trailing]) for x in arrays)}.")
    axis = canonicalize_axis("stack", axis, arrays[0].ndim - trailing + 1)
    out = _concatenate([expand_dims(x, axis) for x in arrays], axis)
    return physical[0]._wrap(out) if physical else out


def _at_least(fn_name, tup, atleast):
    """The arrays of `tup` to join, each made `atleast(x)` (typed keys too:
    concatenate joins their data)."""
    arrays = _sequence(fn_name, tup)
    if not arrays:  # (JAX's wording: its concatenate finds them missing)
        raise ValueError("Need at least one array to concatenate.")
    if not extended.unwrap(arrays):
        check_arraylike(fn_name, *arrays)
    return [atleast(x) for x in arrays]


def hstack(tup: ArrayLike | Sequence[ArrayLike], dtype: DTypeLike | None = None) -> Array:
    """Join along axis 1, or along axis 0 for 1-D arrays (scalars become 1-D)."""
    arrays = _at_least("hstack", tup, atleast_1d)
    return concatenate(arrays, 0 if arrays[0].ndim == 1 else 1, dtype)


def vstack(tup: ArrayLike | Sequence[ArrayLike], dtype: DTypeLike | None = None) -> Array:
    """Join along axis 0 after making every array at least 2-D."""
    return concatenate(_at_least("vstack", tup, atleast_2d), 0, dtype)


def split(ary: ArrayLike, indices_or_sections: int | Sequence[int], axis: int = 0) -> list[Array]:
    """Pieces of `ary` along `axis`: `sections` equal ones, or the pieces
    between the sorted `indices`."""
    a = _elements("split", ary)
    axis = canonicalize_axis("split", axis, a.ndim)
    n = a.shape[axis]
    if np.ndim(indices_or_sections) == 0:
        sections = int(indices_or_sections)
        if sections <= 0:
            raise ValueError("number sections must be larger than 0.")
        if n % sections:
            raise ValueError(f"array split does not result in an equal division: rest is {n % sections}")
        sizes = [n // sections] * sections
    else:
        cuts = [0, *_ints("split", indices_or_sections), n]
        sizes = [hi - lo for lo, hi in zip(cuts, cuts[1:])]
    if len(sizes) == 1 and sizes[0] == n:
        return [a]
    if extended.is_extended(a):
        return extended.split(a, sizes, axis)
    return list(prims.split.bind(a, sizes=tuple(sizes), axis=axis))


# ---------------------------------------------------------------------------
# Reversal and padding

def flip(m: ArrayLike, axis: Axis = None) -> Array:
    """`m` with the order of elements reversed along the given axes (all if None)."""
    a = _elements("flip", m)
    axes = range(a.ndim) if axis is None else (axis,) if np.ndim(axis) == 0 else axis
    dims = tuple(canonicalize_axis("flip", i, a.ndim) for i in axes)
    if not dims:
        return a
    return extended.rev(a, dims) if extended.is_extended(a) else prims.rev.bind(a, dimensions=dims)


# mode -> the keyword arguments it takes (with the only values irax supports)
_PAD_KWARGS = {
    "constant": {"constant_values"},
    "edge": set(),
    "wrap": set(),
    "reflect": {"reflect_type"},
    "symmetric": {"reflect_type"},
}


def _pad_widths(pad_width, ndim):
    """NumPy's pad_width forms as (before, after) lists of length ndim."""
    widths = np.asarray(pad_width)
    if not np.issubdtype(widths.dtype, np.integer):
        raise TypeError("`pad_width` must be of integral type.")
    if widths.shape not in ((), (1,), (2,), (1, 2), (ndim, 2)):
        raise ValueError(
            f"jnp.pad: pad_width with nd={ndim} has unsupported shape {widths.shape}. "
            f"Valid shapes are ({ndim}, 2), (1, 2), (2,), (1,), or ()."
        )
    if widths.ndim < 2:
        widths = widths.reshape(1, 2) if widths.shape == (2,) else widths.reshape(1, 1)
    widths = np.broadcast_to(widths, (ndim, 2))
    if (widths < 0).any():
        raise ValueError("index can't contain negative values")
    return [int(w) for w in widths[:, 0]], [int(w) for w in widths[:, 1]]


def pad(array: ArrayLike, pad_width: int | Sequence[int] | Sequence[Sequence[int]], mode: str = "constant",
        **kwargs: Any) -> Array:
    """`array` with a border of pad_width[i] = (before, after) elements on
    axis i: a constant (constant_values, default 0), or values of the array
    itself: its edge, its reflection with ('symmetric') or without
    ('reflect') the edge repeated, or its periodic continuation ('wrap')."""
    a = _array("pad", array)
    if mode not in _PAD_KWARGS:
        raise NotImplementedError(f"Unimplemented padding mode '{mode}' for np.pad.")
    unsupported = set(kwargs) - _PAD_KWARGS[mode]
    if unsupported:
        raise ValueError(f"unsupported keyword arguments for mode '{mode}': {unsupported}")
    if kwargs.get("reflect_type", "even") != "even":
        raise NotImplementedError("pad: only reflect_type='even' is supported")
    low, high = _pad_widths(pad_width, a.ndim)
    if not any(low + high):
        return a
    if mode != "constant":
        return prims.pad_extend.bind(a, low=tuple(low), high=tuple(high), mode=mode)
    value = _pad_value(kwargs.get("constant_values", 0), a.ndim, a.dtype)
    return prims.pad.bind(a, value, low=tuple(low), high=tuple(high))


def _pad_value(value, ndim, dtype):
    """constant_values as a scalar, or as one value per side, shape (ndim, 2),
    of `dtype`. Host values are shaped on the host, arrays on their device."""
    host = not is_array(value)
    if host:
        value = np.asarray(value)
    if value.ndim > 2 or (value.ndim and value.shape[-1] not in (1, 2)):
        raise ValueError(
            f"jnp.pad: constant_values has unsupported shape {value.shape}. "
            "If the shape is 1D or 2D, the last dimension must be of size 1 or 2."
        )
    if value.ndim:
        value = (np.broadcast_to if host else broadcast_to)(value.reshape(1, -1) if value.ndim == 1 else value, (ndim, 2))
    return asarray(value, dtype)


__all__ = [
    "atleast_1d", "atleast_2d", "atleast_3d", "broadcast_arrays", "broadcast_to", "concatenate", "expand_dims",
    "flatten", "flip", "hstack", "matrix_transpose", "moveaxis", "pad", "ravel", "repeat", "reshape", "split",
    "squeeze", "stack", "swapaxes", "tile", "transpose", "vstack",
]

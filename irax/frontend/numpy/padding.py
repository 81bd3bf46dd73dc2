"""`jnp.pad` with all of NumPy's modes, as JAX has them.

The modes that copy a constant or the array's own values ('constant',
'edge', 'wrap', and 'reflect'/'symmetric' with the default even reflection)
are primitives (shape.pad). The others are composed here, an axis at a time
in order as NumPy and JAX do (so a later axis's padding sees the earlier
axes' padding): statistics of the edge ('maximum', 'minimum', 'mean',
'median', over `stat_length` elements), 'linear_ramp' to `end_values`,
'empty' (zeros), odd reflections (`reflect_type='odd'`: 2 * edge - mirror
image), and a callable mode `f(row, (before, after), axis, kwargs) -> row`
applied to each 1-D slice of the zero-padded array.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from irax.frontend import dtypes, extended
from irax.frontend.lax_structural import slice_in_dim
from irax.frontend.numpy import creation, layout, reductions, sorting, ufuncs
from irax.frontend.numpy import shape as shape_ops
from irax.frontend.numpy.util import asarray, check_arraylike, convert
from irax.typing import Array, ArrayLike

# mode -> the keyword arguments it takes
_KWARGS = {
    "constant": {"constant_values"}, "edge": set(), "wrap": set(), "empty": set(),
    "reflect": {"reflect_type"}, "symmetric": {"reflect_type"},
    "linear_ramp": {"end_values"},
    "maximum": {"stat_length"}, "minimum": {"stat_length"}, "mean": {"stat_length"}, "median": {"stat_length"},
}
_STATS = {"maximum": reductions.max, "minimum": reductions.min, "mean": reductions.mean, "median": sorting.median}


def pad(array: ArrayLike, pad_width: int | Sequence[int] | Sequence[Sequence[int]],
        mode: str | Callable[..., Any] = "constant", **kwargs: Any) -> Array:
    """`array` with a border of pad_width[i] = (before, after) elements on
    axis i, filled as `mode` says (module docstring; NumPy's modes)."""
    if extended.is_extended(array):
        return _pad_elements(array, pad_width, mode, **kwargs)
    check_arraylike("pad", array)
    a = asarray(array)
    if callable(mode):
        return _pad_func(a, pad_width, mode, **kwargs)
    if mode not in _KWARGS:
        raise NotImplementedError(f"Unimplemented padding mode '{mode}' for np.pad.")
    unsupported = set(kwargs) - _KWARGS[mode]
    if unsupported:
        raise ValueError(f"unsupported keyword arguments for mode '{mode}': {unsupported}")
    reflect_type = kwargs.get("reflect_type", "even")
    if reflect_type not in ("even", "odd"):
        raise ValueError(f"reflect_type must be 'even' or 'odd', got {reflect_type!r}")
    if mode in ("constant", "edge", "wrap") or reflect_type == "even" and mode in ("reflect", "symmetric"):
        return shape_ops.pad(a, pad_width, mode, **kwargs)
    low, high = shape_ops._pad_widths(pad_width, a.ndim)
    if a.ndim == 0:
        return a
    widths = list(zip(low, high))
    if mode in _STATS:
        stat_length = kwargs.get("stat_length")
        lengths = None if stat_length is None else _pairs(stat_length, a.ndim, "stat_length")
        return _pad_stats(a, widths, lengths, _STATS[mode])
    if mode == "linear_ramp":
        return _pad_linear_ramp(a, widths, _pairs(kwargs.get("end_values", 0), a.ndim, "end_values"))
    if mode == "empty":
        return shape_ops.pad(a, pad_width)  # irax arrays are never uninitialized: zeros, as JAX's
    return _pad_odd_reflection(a, widths, mode)


_ELEMENT_MODES = ("edge", "wrap", "reflect", "symmetric", "empty")


def _pad_elements(a, pad_width, mode, **kwargs):
    """Typed keys padded as JAX pads them: with copies of their own elements
    (the zero data for 'empty'), moved whole through their data; a constant
    or a statistic of keys is JAX's error."""
    if mode == "constant":
        raise ValueError(f"Cannot convert_element_type from int32 to {a.dtype}")
    if mode not in _ELEMENT_MODES or kwargs.get("reflect_type", "even") != "even":
        raise TypeError(f"Cannot interpret '{a.dtype}' as a data type")
    low, high = shape_ops._pad_widths(pad_width, a.ndim)
    widths = [*zip(low, high), *[(0, 0)] * a._trailing]
    return a._wrap(pad(a._data, widths, "constant" if mode == "empty" else mode))


def _pairs(values, ndim, name):
    """NumPy's forms of a per-side argument (scalar, (v,), (before, after),
    ((before, after),), or one pair per axis) as ndim (before, after) pairs."""
    v = np.asarray(values)
    forms = {(ndim, 2): lambda: v, (1, 2): lambda: np.broadcast_to(v, (ndim, 2)),
             (2,): lambda: np.broadcast_to(v, (ndim, 2)), (1,): lambda: np.broadcast_to(v, (ndim, 2)),
             (): lambda: np.broadcast_to(v, (ndim, 2))}
    if v.shape not in forms:
        raise ValueError(f"jnp.pad: {name} with nd={ndim} has unsupported shape {v.shape}. "
                         f"Valid shapes are ({ndim}, 2), (1, 2), (2,), (1,), or ().")
    return [tuple(pair) for pair in forms[v.shape]().tolist()]


def _empty_axis(a, axis, width, mode):
    """Whether axis `axis` of `a` is empty (nothing to pad from: an error unless no padding)."""
    if a.shape[axis]:
        return False
    if width[0] > 0 or width[1] > 0:
        raise ValueError(f"Cannot apply '{mode}' padding to empty axis")
    return True


def _as_array_dtype(x, a):
    return convert(x, a.dtype, dtypes.dtype_and_weak(a)[1])


def _pad_stats(a, widths, lengths, stat):
    for axis, (before, after) in enumerate(widths):
        if lengths is None:
            stat_before = stat_after = stat(a, axis=axis, keepdims=True)
        else:
            length_before, length_after = lengths[axis]
            if length_before == 0 or length_after == 0:
                raise ValueError("stat_length of 0 yields no value for padding")
            n = a.shape[axis]
            stat_before = stat(slice_in_dim(a, 0, min(length_before, n), axis=axis), axis=axis, keepdims=True)
            stat_after = stat(slice_in_dim(a, -min(length_after, n), None, axis=axis), axis=axis, keepdims=True)
        if dtypes.issubdtype(a.dtype, np.integer):  # a mean or median of integers, rounded to one
            stat_before, stat_after = ufuncs.round(stat_before), ufuncs.round(stat_after)
        stat_before, stat_after = _as_array_dtype(stat_before, a), _as_array_dtype(stat_after, a)
        a = shape_ops.concatenate([shape_ops.repeat(stat_before, before, axis=axis), a,
                                   shape_ops.repeat(stat_after, after, axis=axis)], axis=axis)
    return a


def _pad_linear_ramp(a, widths, end_values):
    for axis, (before, after) in enumerate(widths):
        edges = (slice_in_dim(a, 0, 1, axis=axis), slice_in_dim(a, -1, None, axis=axis))
        ramps = [_as_array_dtype(creation.linspace(end, shape_ops.squeeze(edge, axis), num=n, endpoint=False,
                                                   dtype=a.dtype, axis=axis), a)
                 for end, edge, n in zip(end_values[axis], edges, (before, after))]
        a = shape_ops.concatenate([ramps[0], a, shape_ops.flip(ramps[1], axis)], axis=axis)
    return a


def _pad_odd_reflection(a, widths, mode):
    """JAX's reflect/symmetric padding with reflect_type='odd': each copy of
    the mirror image x becomes 2 * edge - x, the edge moving out with it."""
    for axis, (before, after) in enumerate(widths):
        if _empty_axis(a, axis, (before, after), mode) or not (before or after):
            continue
        size = a.shape[axis]
        offset = 1 if (mode == "reflect" and size > 1) else 0
        for padding, at_start in ((before, True), (after, False)):
            edge = slice_in_dim(a, 0, 1, axis=axis) if at_start else slice_in_dim(a, -1, None, axis=axis)
            while padding > 0:
                step = min(padding, size - offset)
                padding -= step
                if at_start:
                    start, stop = offset, offset + step
                else:
                    start, stop = -(step + offset), None if (mode == "symmetric" or size == 1) else -1
                x = 2 * edge - shape_ops.flip(slice_in_dim(a, start, stop, axis=axis), axis)
                if size > 1:
                    edge = slice_in_dim(x, 0, 1, axis=axis) if at_start else slice_in_dim(x, -1, None, axis=axis)
                a = shape_ops.concatenate([x, a] if at_start else [a, x], axis=axis)
    return a


def _pad_func(a, pad_width, func, **kwargs):
    """NumPy's callable mode, as JAX has it: `func(row, (before, after), axis,
    kwargs)` returns each 1-D slice of the zero-padded array along each axis."""
    low, high = shape_ops._pad_widths(pad_width, a.ndim)
    padded = shape_ops.pad(a, pad_width)
    for axis, width in enumerate(zip(low, high)):
        padded = layout.apply_along_axis(func, axis, padded, width, axis, kwargs)
    return padded


__all__ = ["pad"]

"""Rearranging elements in `irax.numpy`: rolls, rotations, diagonals,
joins, splits, insertions and functional updates. Positions that depend
only on shapes and host arguments are computed on the host with NumPy (an
index table); the data moves by one slice, concatenate, gather or scatter:

    roll         out[i] = a[(i - shift) mod n]: two slices joined (a gather
                 when the shift is traced)
    rot90        k quarter turns: flips and one transpose
    diagonal     a[..., i, i + offset] (a gather of two index vectors)
    insert       the kept elements and the new ones placed by a host table
    put, place   scatters; arrays are immutable, so they need inplace=False
"""
from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from irax.frontend import core, dtypes, extended
from irax.frontend.numpy import creation, indexing, reductions, setops, sorting, ufuncs
from irax.frontend.numpy import shape as shape_ops
from irax.frontend.numpy.util import asarray, canonicalize_axes, canonicalize_axis, check_arraylike, is_array, promote_args
from irax.frontend.vmap import vmap
from irax.typing import Array, ArrayLike, DTypeLike, Shape


def _array(name, a):
    check_arraylike(name, a)
    return asarray(a)


def _index_dtype():
    return dtypes.default_int_dtype()


# ---------------------------------------------------------------------------
# Array API names

def concat(arrays: Sequence[ArrayLike], /, *, axis: int | None = 0) -> Array:
    """The Array API's name of `concatenate`."""
    return shape_ops.concatenate(arrays, axis)


def permute_dims(a: ArrayLike, /, axes: tuple[int, ...]) -> Array:
    """The Array API's name of `transpose`, with the axes required."""
    return shape_ops.transpose(a, axes)


def unstack(x: ArrayLike, /, *, axis: int = 0) -> tuple[Array, ...]:
    """The slices of x along `axis`, each without that axis (the inverse of stack)."""
    x = shape_ops._elements("unstack", x)
    if x.ndim == 0:
        raise ValueError("Unstack requires arrays with rank > 0, however a scalar array was passed.")
    axis = canonicalize_axis("unstack", axis, x.ndim)
    return tuple(x[(slice(None),) * axis + (i,)] for i in range(x.shape[axis]))


# ---------------------------------------------------------------------------
# Rolls, flips, rotations

def roll(a: ArrayLike, shift: ArrayLike | Sequence[int], axis: int | Sequence[int] | None = None) -> Array:
    """out[i] = a[(i - shift) mod n] along each `axis` (of the flattened
    array when None)."""
    a = shape_ops._elements("roll", a)
    if axis is None:
        return shape_ops.reshape(roll(shape_ops.ravel(a), shift, 0), a.shape)
    axes = (axis,) if np.ndim(axis) == 0 else tuple(axis)
    shifts = (shift,) if np.ndim(shift) == 0 else tuple(shift)
    # broadcast against each other, as NumPy and JAX: several shifts of one axis add up
    (size,) = np.broadcast_shapes((len(axes),), (len(shifts),))
    axes, shifts = (t if len(t) == size else t * size for t in (axes, shifts))
    for ax, s in zip(axes, shifts):
        ax = canonicalize_axis("roll", ax, a.ndim)
        n = a.shape[ax]
        if n == 0:
            continue
        if isinstance(s, core.Tracer) or is_array(s):
            index = ufuncs.remainder(ufuncs.subtract(creation.arange(n), s), n)
            a = indexing.take(a, index, axis=ax)
        elif operator.index(s) % n:
            s = operator.index(s) % n
            cut = (slice(None),) * ax
            a = shape_ops.concatenate([a[cut + (slice(n - s, None),)], a[cut + (slice(None, n - s),)]], ax)
    return a


def fliplr(m: ArrayLike) -> Array:
    """m reversed along axis 1."""
    return shape_ops.flip(m, 1)


def flipud(m: ArrayLike) -> Array:
    """m reversed along axis 0."""
    return shape_ops.flip(m, 0)


def rot90(m: ArrayLike, k: int = 1, axes: tuple[int, int] = (0, 1)) -> Array:
    """m turned k quarter turns from axes[0] toward axes[1]."""
    m = shape_ops._elements("rot90", m)
    if len(axes) != 2:
        raise ValueError("len(axes) must be 2.")
    ax1, ax2 = (canonicalize_axis("rot90", i, m.ndim) for i in axes)
    if ax1 == ax2:
        raise ValueError("Axes must be different")
    k = operator.index(k) % 4
    if k == 0:
        return m
    if k == 2:
        return shape_ops.flip(shape_ops.flip(m, ax1), ax2)
    if k == 1:
        return shape_ops.swapaxes(shape_ops.flip(m, ax2), ax1, ax2)
    return shape_ops.flip(shape_ops.swapaxes(m, ax1, ax2), ax2)


def rollaxis(a: ArrayLike, axis: int, start: int = 0) -> Array:
    """NumPy's older moveaxis: `axis` moved to sit before `start`."""
    a = shape_ops._elements("rollaxis", a)
    axis = canonicalize_axis("rollaxis", axis, a.ndim)
    start = operator.index(start)
    if not -a.ndim <= start <= a.ndim:
        raise ValueError(f"{start=} must satisfy {-a.ndim}<=start<={a.ndim}")
    start = start + a.ndim if start < 0 else start
    return shape_ops.moveaxis(a, axis, start - 1 if axis < start else start)


# ---------------------------------------------------------------------------
# Diagonals

def _diagonal_positions(rows, cols, offset):
    n = max(0, min(rows + min(offset, 0), cols - max(offset, 0)))
    i = np.arange(n, dtype=np.int32)
    return i - min(offset, 0), i + max(offset, 0)


def diagonal(a: ArrayLike, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Array:
    """out[..., i] = a[i, i + offset] over axes (axis1, axis2), which become the last one."""
    a = _array("diagonal", a)
    if a.ndim < 2:
        raise ValueError("diagonal requires an array of at least two dimensions.")
    ax1, ax2 = canonicalize_axis("diagonal", axis1, a.ndim), canonicalize_axis("diagonal", axis2, a.ndim)
    if ax1 == ax2:
        raise ValueError("axis1 and axis2 can not be the same")
    x = shape_ops.moveaxis(a, (ax1, ax2), (-2, -1))
    rows, cols = _diagonal_positions(x.shape[-2], x.shape[-1], operator.index(offset))
    return x[..., rows, cols]


def diag(v: ArrayLike, k: int = 0) -> Array:
    """The k-th diagonal of a matrix, or the matrix with 1-D v on its k-th diagonal."""
    v = _array("diag", v)
    k = operator.index(k)
    if v.ndim == 2:
        return diagonal(v, k)
    if v.ndim != 1:
        raise ValueError("diag input must be 1d or 2d")
    n = v.shape[0] + abs(k)
    rows, cols = _diagonal_positions(n, n, k)
    return creation.zeros((n, n), v.dtype).at[rows, cols].set(v)


def diagflat(v: ArrayLike, k: int = 0) -> Array:
    """The matrix with the flattened v on its k-th diagonal."""
    return diag(shape_ops.ravel(_array("diagflat", v)), k)


def trace(a: ArrayLike, offset: int = 0, axis1: int = 0, axis2: int = 1, dtype: DTypeLike | None = None,
          out: None = None) -> Array:
    """The sum along a diagonal."""
    return reductions.sum(diagonal(a, offset, axis1, axis2), -1, dtype, out)


def fill_diagonal(a: ArrayLike, val: ArrayLike, wrap: bool = False, *, inplace: bool = True) -> Array:
    """a with val (repeated as needed) on its main diagonal a[i, i, ..., i]."""
    if inplace:
        raise NotImplementedError("JAX arrays are immutable, must use inplace=False")
    if wrap:
        raise NotImplementedError("wrap=True is not implemented, must use wrap=False")
    a = _array("fill_diagonal", a)
    if a.ndim < 2:
        raise ValueError("array must be at least 2-d")
    if a.ndim > 2 and len(set(a.shape)) != 1:
        raise ValueError("All dimensions of input must be of equal length")
    n = min(a.shape)
    flat = np.arange(n) * sum(int(np.prod(a.shape[i + 1:])) for i in range(a.ndim))
    flat = flat.astype(np.int32)
    values = shape_ops.ravel(asarray(val, a.dtype))
    values = shape_ops.tile(values, -(-len(flat) // max(values.shape[0], 1)))[:len(flat)]
    return shape_ops.reshape(shape_ops.ravel(a).at[flat].set(values), a.shape)


def _index_tuple(host):
    return tuple(asarray(i.astype(_index_dtype())) for i in host)


def tril_indices(n: int, k: int = 0, m: int | None = None) -> tuple[Array, Array]:
    """The (row, column) indices of the lower triangle of an (n, m) array."""
    return _index_tuple(np.tril_indices(operator.index(n), operator.index(k), m))


def triu_indices(n: int, k: int = 0, m: int | None = None) -> tuple[Array, Array]:
    """The (row, column) indices of the upper triangle of an (n, m) array."""
    return _index_tuple(np.triu_indices(operator.index(n), operator.index(k), m))


def tril_indices_from(arr: ArrayLike, k: int = 0) -> tuple[Array, Array]:
    """tril_indices for the shape of the 2-D arr."""
    shape = _matrix_shape("tril_indices_from", arr)
    return tril_indices(shape[0], k, shape[1])


def triu_indices_from(arr: ArrayLike, k: int = 0) -> tuple[Array, Array]:
    """triu_indices for the shape of the 2-D arr."""
    shape = _matrix_shape("triu_indices_from", arr)
    return triu_indices(shape[0], k, shape[1])


def _matrix_shape(name, arr):
    shape = np.shape(arr) if not is_array(arr) else arr.shape
    if len(shape) != 2:
        raise ValueError(f"{name} requires a 2-D array, got ndim={len(shape)}")
    return shape


def diag_indices(n: int, ndim: int = 2) -> tuple[Array, ...]:
    """ndim copies of arange(n): the indices of the main diagonal."""
    return _index_tuple(np.diag_indices(operator.index(n), operator.index(ndim)))


def diag_indices_from(arr: ArrayLike) -> tuple[Array, ...]:
    """diag_indices of an array whose dimensions are all equal."""
    shape = np.shape(arr) if not is_array(arr) else arr.shape
    if len(shape) < 2:
        raise ValueError("input array must be at least 2-d")
    if len(set(shape)) != 1:
        raise ValueError("All dimensions of input must be of equal length")
    return diag_indices(shape[0], len(shape))


def mask_indices(n: int, mask_func: Callable, k: int = 0, *, size: int | None = None) -> tuple[Array, ...]:
    """The indices where mask_func(ones((n, n)), k) is nonzero (tril, triu,
    ...); under a trace, `size` says how many (see nonzero)."""
    return setops.nonzero(mask_func(creation.ones((operator.index(n),) * 2, np.int32), k), size=size)


# ---------------------------------------------------------------------------
# Joining and splitting

def array_split(ary: ArrayLike, indices_or_sections: int | Sequence[int] | ArrayLike, axis: int = 0) -> list[Array]:
    """`split` that also allows sections of unequal size: n mod k of them one longer."""
    a = shape_ops._elements("array_split", ary)
    axis = canonicalize_axis("array_split", axis, a.ndim)
    if np.ndim(indices_or_sections) != 0:
        return shape_ops.split(a, indices_or_sections, axis)
    sections = operator.index(indices_or_sections)
    if sections <= 0:
        raise ValueError("number sections must be larger than 0.")
    length, extra = divmod(a.shape[axis], sections)
    cuts = np.cumsum([0] + extra * [length + 1] + (sections - extra) * [length])
    cut = (slice(None),) * axis
    return [a[cut + (slice(int(lo), int(hi)),)] for lo, hi in zip(cuts[:-1], cuts[1:])]


def _split_on(name, axis, min_ndim):
    def fn(ary: ArrayLike, indices_or_sections: int | Sequence[int] | ArrayLike) -> list[Array]:
        a = shape_ops._elements(name, ary)
        if a.ndim < min_ndim:
            raise ValueError(f"{name} only works on arrays of {min_ndim} or more dimensions")
        return shape_ops.split(a, indices_or_sections, 0 if axis == 1 and a.ndim == 1 else axis)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"`split` along axis {axis}" + (" (axis 0 of a 1-D array)." if axis == 1 else ".")
    return fn


hsplit = _split_on("hsplit", 1, 1)
vsplit = _split_on("vsplit", 0, 1)  # (JAX splits a 1-D array too, where NumPy refuses)
dsplit = _split_on("dsplit", 2, 3)


def _column(x):
    x = shape_ops._elements("column_stack", x)
    return shape_ops.reshape(x, (-1, 1)) if x.ndim < 2 else x


def column_stack(tup: Sequence[ArrayLike]) -> Array:
    """1-D arrays as columns, 2-D ones as they are, joined along axis 1."""
    return shape_ops.concatenate(shape_ops._at_least("column_stack", tup, _column), 1)


def dstack(tup: Sequence[ArrayLike], dtype: DTypeLike | None = None) -> Array:
    """Join along axis 2 after making every array at least 3-D."""
    return shape_ops.concatenate(shape_ops._at_least("dstack", tup, shape_ops.atleast_3d), 2, dtype)


def block(arrays: ArrayLike | list) -> Array:
    """An array assembled from nested lists of blocks: the innermost lists
    join along the last axis, each level out along the one before. Every
    block sits at the same list depth, as JAX (and NumPy) check."""
    def build(x):
        """(x assembled, its list depth + 1)."""
        if isinstance(x, tuple):
            raise ValueError(f"jax.numpy.block does not allow tuples, got {x}")
        if not isinstance(x, list):
            return asarray(x), 1
        if not x:
            raise ValueError("jax.numpy.block does not allow empty list arguments")
        parts, depths = zip(*(build(p) for p in x))
        if any(d != depths[0] for d in depths):
            raise ValueError("Mismatched list depths in jax.numpy.block")
        ndim = max(depths[0], *(p.ndim for p in parts))
        parts = [p.reshape((1,) * (ndim - p.ndim) + p.shape) for p in parts]
        return shape_ops.concatenate(parts, -depths[0]), depths[0] + 1

    return build(arrays)[0]


def append(arr: ArrayLike, values: ArrayLike, axis: int | None = None) -> Array:
    """arr and values joined along `axis` (both flattened when None)."""
    if axis is None:
        return shape_ops.concatenate([shape_ops.ravel(arr), shape_ops.ravel(values)], 0)
    return shape_ops.concatenate([arr, values], axis)


def _positions(name, obj, n):
    """Host positions along an axis of length n from an int, slice or sequence."""
    if isinstance(obj, slice):
        return np.arange(n)[obj], False
    if isinstance(obj, core.Tracer):
        raise core.ConcretizationTypeError(
            f"Abstract tracer value encountered where concrete value is expected: jnp.{name}() needs concrete "
            "positions (obj), since they fix the shape of its result.")
    positions = np.asarray(obj)
    if positions.size and (positions.dtype == bool or not np.issubdtype(positions.dtype, np.integer)):
        raise ValueError(_NOT_POSITIONS[name](obj, positions.dtype))
    return positions.astype(np.int64), positions.ndim == 0


# JAX's errors for positions neither ints nor (delete's) a boolean mask
_NOT_POSITIONS = {
    "delete": lambda obj, dtype: f"np.delete(arr, obj): got obj.dtype={dtype}; must be integer or bool.",
    "insert": lambda obj, dtype: f"jnp.insert(): index array must be integer typed; got {obj}",
}


def delete(arr: ArrayLike, obj: ArrayLike | slice, axis: int | None = None, *,
           assume_unique_indices: bool = False) -> Array:
    """arr without the entries at positions `obj` along `axis` (flattened
    when None), or where the boolean mask `obj` is true. Traced positions need `assume_unique_indices` (their count
    then fixes the result's length, as in JAX)."""
    a = shape_ops._elements("delete", arr)
    if axis is None:
        a, axis = shape_ops.ravel(a), 0
    axis = canonicalize_axis("delete", axis, a.ndim)
    n = a.shape[axis]
    if assume_unique_indices and isinstance(obj, core.Tracer):
        return indexing.take(a, _kept_positions(obj, n), axis=axis)
    if isinstance(obj, bool):  # (a Python int, for JAX too)
        obj = int(obj)
    elif not isinstance(obj, (slice, core.Tracer)) and np.asarray(obj).dtype == bool:  # a mask of the entries to drop
        if np.shape(obj) != (n,):
            raise ValueError("np.delete(arr, obj): for boolean indices, obj must be one-dimensional with length "
                             "matching specified axis.")
        obj = np.flatnonzero(obj)
    positions, _ = _positions("delete", obj, n)
    if ((positions < -n) | (positions >= n)).any():
        raise IndexError(f"index out of bounds for axis {axis} with size {n}")
    keep = np.setdiff1d(np.arange(n), positions % n if n else positions).astype(np.int32)
    return indexing.take(a, asarray(keep), axis=axis)


def _kept_positions(obj, n):
    """The positions in range(n) not among the distinct traced positions
    `obj` (JAX's way): with the sorted positions shifted down by their rank
    (d_k = sorted_k - k), the j-th kept position is j plus the number of d_k <= j."""
    removed = ufuncs.clip(ufuncs.where(obj < 0, obj + n, obj), 0, n).ravel()
    shifted = ufuncs.subtract(sorting.sort(removed), creation.arange(removed.size, dtype=removed.dtype))
    j = creation.arange(n - removed.size, dtype=removed.dtype)
    return j + reductions.sum(j[None, :] >= shifted[:, None], axis=0, dtype=removed.dtype)


def insert(arr: ArrayLike, obj: ArrayLike | slice, values: ArrayLike, axis: int | None = None) -> Array:
    """arr with `values` inserted before the positions `obj` along `axis`
    (flattened when None); one int position inserts values as one slice."""
    a = shape_ops._elements("insert", arr)
    if axis is None:
        a, axis = shape_ops.ravel(a), 0
    axis = canonicalize_axis("insert", axis, a.ndim)
    n = a.shape[axis]
    positions, scalar = _positions("insert", obj, n + 1)
    values = _elements_of(a, values)
    if scalar:  # values as one block: its first axis (after padding to arr's rank) goes to `axis`
        values = shape_ops.moveaxis(values.reshape((1,) * (a.ndim - values.ndim) + values.shape), 0, axis)
        count = values.shape[axis]
        positions = np.full(count, positions)
    else:
        count = positions.size
        positions = positions.reshape(-1)
    if ((positions < -n - 1) | (positions > n)).any():
        raise IndexError(f"index out of bounds for axis {axis} with size {n}")
    positions = np.where(positions < 0, positions + n, positions)
    # the new elements go to positions[order] + rank; the old ones fill the rest, in order
    order = np.argsort(positions, kind="stable")
    new_at = np.empty(count, np.int64)
    new_at[order] = positions[order] + np.arange(count)
    old_at = np.setdiff1d(np.arange(n + count), new_at)
    shape = list(a.shape)
    shape[axis] = count
    values = shape_ops.broadcast_to(values, tuple(shape))
    source = shape_ops.concatenate([a, values], axis)
    gather = np.empty(n + count, np.int32)
    gather[old_at], gather[new_at] = np.arange(n), n + np.arange(count)
    return indexing.take(source, asarray(gather), axis=axis)


def _elements_of(a, values):
    """`values` as elements of a's dtype: typed keys only of keys of theirs."""
    if not extended.is_extended(a):
        return asarray(values, a.dtype)
    if not (extended.is_extended(values) and values.dtype == a.dtype):
        raise ValueError(f"Cannot convert_element_type from {asarray(values).dtype} to {a.dtype}")
    return values


def resize(a: ArrayLike, new_shape: Shape) -> Array:
    """The elements of a, repeated cyclically, in an array of `new_shape`."""
    a = shape_ops._elements("resize", a)
    new_shape = (new_shape,) if np.ndim(new_shape) == 0 else tuple(new_shape)
    if any(d < 0 for d in new_shape):
        raise ValueError("all elements of `new_shape` must be non-negative")
    size = int(np.prod(new_shape, dtype=np.int64))
    flat = shape_ops.ravel(a)
    if a.size == 0 or size == 0:
        return creation.zeros(new_shape, a.dtype)
    return shape_ops.reshape(shape_ops.tile(flat, -(-size // a.size))[:size], new_shape)


def trim_zeros(filt: ArrayLike, trim: str = "fb", axis: int | Sequence[int] | None = None) -> Array:
    """filt without the leading ('f') and trailing ('b') slices that are all
    zero along each axis in `axis` (default: every axis), as NumPy 2.2 and
    JAX; how many is data, so filt must be concrete."""
    a = _array("trim_zeros", filt)
    if isinstance(a, core.Tracer):
        raise core.ConcretizationTypeError(
            "Abstract tracer value encountered where concrete value is expected: jnp.trim_zeros() needs "
            "a concrete array, since the shape of its result depends on its values.")
    axes = canonicalize_axes("trim_zeros", axis, a.ndim)
    front, back = "f" in trim.lower(), "b" in trim.lower()
    nonzero = np.asarray(a) != 0
    slices = [slice(None)] * a.ndim
    for ax in axes if front or back else ():
        kept = np.flatnonzero(nonzero.any(axis=tuple(i for i in range(a.ndim) if i != ax)))
        if not kept.size:
            slices[ax] = slice(0, 0)
            continue
        slices[ax] = slice(int(kept[0]) if front else None, int(kept[-1]) + 1 if back else None)
    return a[tuple(slices)]


# ---------------------------------------------------------------------------
# Choosing among arrays

def choose(a: ArrayLike, choices: Sequence[ArrayLike], out: None = None, mode: str = "raise") -> Array:
    """out = choices[a][...] elementwise: a picks the array to read from;
    indices out of range wrap ('wrap') or are clipped ('clip'); 'raise'
    cannot check traced values and clips as well."""
    if out is not None:
        raise NotImplementedError("The 'out' argument to jnp.choose is not supported.")
    a = _array("choose", a)
    if not dtypes.is_int(a.dtype):
        raise TypeError(f"choose: a must be integers, got {a.dtype}")
    if mode not in ("raise", "wrap", "clip"):
        raise ValueError(f"mode={mode!r} not understood. Must be 'raise', 'wrap', or 'clip'")
    arrays = shape_ops.broadcast_arrays(a, *promote_args("choose", *choices))
    a, arrays = arrays[0], arrays[1:]
    n = len(arrays)
    if mode == "raise" and not isinstance(a, core.Tracer) and bool(((a < 0) | (a >= n)).any()):
        raise ValueError("invalid entry in choice array")
    a = ufuncs.remainder(a, n) if mode == "wrap" else ufuncs.clip(a, 0, n - 1)
    stacked = shape_ops.stack(arrays)
    return indexing.take_along_axis(stacked, a[None], axis=0)[0]


def select(condlist: Sequence[ArrayLike], choicelist: Sequence[ArrayLike], default: ArrayLike = 0) -> Array:
    """choicelist[i] where condlist[i] is the first true condition, else `default`."""
    if len(condlist) != len(choicelist):
        raise ValueError(f"condlist must have length equal to choicelist ({len(condlist)} vs {len(choicelist)})")
    if not condlist:
        raise ValueError("condlist must be non-empty")
    *choices, default = promote_args("select", *choicelist, default)
    out = default
    for cond, choice in zip(reversed(condlist), reversed(choices)):
        cond = asarray(cond)
        if cond.dtype != np.bool_:
            raise ValueError(f"condlist must be boolean arrays, got {cond.dtype}")
        out = ufuncs.where(cond, choice, out)
    return out


def piecewise(x: ArrayLike, condlist: Array | Sequence[ArrayLike], funclist: list[ArrayLike | Callable[..., Array]],
              *args: Any, **kw: Any) -> Array:
    """funclist[i](x) where condlist[i] is true (the last true one wins);
    one function more than conditions is the default, else 0. An array
    `condlist` is a condition per entry along its first axis (JAX's: an
    array of scalar conditions applies each to all of x), or one condition
    if it has x's shape (NumPy's single mask)."""
    x = _array("piecewise", x)
    if not isinstance(condlist, (list, tuple)) and (np.ndim(condlist) == 0 or np.shape(condlist) == x.shape):
        condlist = [condlist]
    conds = [asarray(c, bool) for c in condlist]
    if len(funclist) == len(conds) + 1:
        default, funclist = funclist[-1], funclist[:-1]
        conds_any = conds[0] if len(conds) == 1 else reductions.any(shape_ops.stack(conds), 0)
        conds.append(ufuncs.logical_not(conds_any))
        funclist = list(funclist) + [default]
    elif len(funclist) != len(conds):
        raise ValueError(f"with {len(conds)} condition(s), either {len(conds)} or {len(conds) + 1} functions "
                         "are expected")
    out = creation.zeros_like(x)
    for cond, f in zip(conds, funclist):
        value = f(x, *args, **kw) if callable(f) else f
        out = ufuncs.where(cond, asarray(value, x.dtype), out)
    return out


def apply_along_axis(func1d: Callable, axis: int, arr: ArrayLike, *args: Any, **kwargs: Any) -> Array:
    """func1d applied to each 1-D slice along `axis`, by vmap over the other axes;
    its result's axes take the place of `axis`."""
    a = _array("apply_along_axis", arr)
    axis = canonicalize_axis("apply_along_axis", axis, a.ndim)

    def func(x):
        return func1d(x, *args, **kwargs)

    for i in range(1, a.ndim - axis):
        func = vmap(func, in_axes=i, out_axes=-1)
    for _ in range(axis):
        func = vmap(func, in_axes=0, out_axes=0)
    return func(a)


def apply_over_axes(func: Callable[[ArrayLike, int], Array], a: ArrayLike, axes: Sequence[int]) -> Array:
    """func(a, axis) for each axis in turn, keeping the rank (a reduced axis is kept with size 1)."""
    a = _array("apply_over_axes", a)
    for axis in axes:
        b = func(a, axis)
        a = b if b.ndim == a.ndim else shape_ops.expand_dims(b, axis)
    return a


# ---------------------------------------------------------------------------
# Functional updates: arrays are immutable

def _not_inplace(name, inplace):
    if inplace:
        raise ValueError(f"jax.numpy.{name} cannot modify arrays in-place, because JAX arrays are immutable. "
                         "Pass inplace=False to instead return an updated array.")


def put_along_axis(arr: ArrayLike, indices: ArrayLike, values: ArrayLike, axis: int | None, inplace: bool = True, *,
                   mode: str | None = None) -> Array:
    """arr with values written where take_along_axis(arr, indices, axis) reads."""
    _not_inplace("put_along_axis", inplace)
    a = _array("put_along_axis", arr)
    indices = asarray(indices)
    if axis is None:
        a, axis, shape = shape_ops.ravel(a), 0, a.shape
        return shape_ops.reshape(put_along_axis(a, shape_ops.ravel(indices), values, 0, False, mode=mode), shape)
    axis = canonicalize_axis("put_along_axis", axis, a.ndim)
    grids = np.ogrid[tuple(slice(n) for n in np.broadcast_shapes(indices.shape, tuple(
        1 if i == axis else d for i, d in enumerate(a.shape))))]
    index = tuple(indices if i == axis else asarray(g.astype(np.int32)) for i, g in enumerate(grids))
    return a.at[index].set(values, mode=mode)


def place(arr: ArrayLike, mask: ArrayLike, vals: ArrayLike, *, inplace: bool = True) -> Array:
    """arr with its elements where mask is true replaced, in order, by vals
    (repeated cyclically)."""
    _not_inplace("place", inplace)
    a = _array("place", arr)
    mask = shape_ops.ravel(asarray(mask, bool))
    vals = shape_ops.ravel(asarray(vals, a.dtype))
    rank = ufuncs.subtract(reductions.cumsum(mask), 1)
    picked = indexing.take(vals, ufuncs.remainder(rank, vals.shape[0]))
    return shape_ops.reshape(ufuncs.where(mask, picked, shape_ops.ravel(a)), a.shape)


def put(a: ArrayLike, ind: ArrayLike, v: ArrayLike, mode: str | None = None, *, inplace: bool = True) -> Array:
    """a with the flat positions `ind` set to v (repeated cyclically)."""
    _not_inplace("put", inplace)
    a = _array("put", a)
    ind = shape_ops.ravel(asarray(ind))
    v = shape_ops.ravel(asarray(v, a.dtype))
    if v.shape[0] and v.shape[0] != ind.shape[0]:
        v = shape_ops.tile(v, -(-ind.shape[0] // v.shape[0]))[:ind.shape[0]]
    if mode == "wrap":
        ind = ufuncs.remainder(ind, a.size)
    elif mode in ("clip", None):
        # (None as JAX: its unravel_index takes negatives from the end, then clips)
        ind = ufuncs.clip(ufuncs.where(ufuncs.less(ind, 0), ufuncs.add(ind, a.size), ind) if mode is None else ind,
                          0, a.size - 1)
    elif mode != "raise":
        raise ValueError(f"mode should be one of 'wrap' or 'clip'; got {mode=}")
    return shape_ops.reshape(shape_ops.ravel(a).at[ind].set(v), a.shape)


# ---------------------------------------------------------------------------
# Bits

def _bit_positions(bitorder):
    """The place value exponents of a byte's bits, first bit first."""
    return np.arange(8, dtype=np.uint8) if bitorder == "little" else np.arange(7, -1, -1, dtype=np.uint8)


def packbits(a: ArrayLike, axis: int | None = None, bitorder: str = "big") -> Array:
    """The truth values of `a` (flattened when axis is None) packed eight to
    a uint8 along `axis`, zero-padded: byte = sum_k bit_k 2^(7-k) ('big')
    or 2^k ('little')."""
    a = _array("packbits", a)
    if not (dtypes.is_int(a.dtype) or dtypes.is_bool(a.dtype)):
        raise TypeError("Expected an input array of integer or boolean data type")
    if bitorder not in ("little", "big"):
        raise ValueError("'order' must be either 'little' or 'big'")
    if axis is None:
        a, axis = shape_ops.ravel(a), 0
    axis = canonicalize_axis("packbits", axis, a.ndim)
    bits = asarray(ufuncs.not_equal(shape_ops.moveaxis(a, axis, -1), 0), np.uint8)
    pad = -bits.shape[-1] % 8
    bits = shape_ops.pad(bits, [(0, 0)] * (bits.ndim - 1) + [(0, pad)])
    bits = bits.reshape(bits.shape[:-1] + (-1, 8))
    weights = np.uint8(1) << _bit_positions(bitorder)
    packed = reductions.sum(ufuncs.multiply(bits, weights), -1, dtype=np.uint8)
    return shape_ops.moveaxis(packed, -1, axis)


def unpackbits(a: ArrayLike, axis: int | None = None, count: int | None = None, bitorder: str = "big") -> Array:
    """The bits of the uint8 array `a` along `axis` (flattened when None),
    eight per byte, as uint8 0/1; the first `count` of them if given."""
    a = _array("unpackbits", a)
    if a.dtype != np.uint8:
        raise TypeError("Expected an input array of unsigned byte data type")
    if bitorder not in ("little", "big"):
        raise ValueError("'order' must be either 'little' or 'big'")
    if axis is None:
        a, axis = shape_ops.ravel(a), 0
    axis = canonicalize_axis("unpackbits", axis, a.ndim)
    shifts = _bit_positions(bitorder)
    bits = ufuncs.bitwise_and(ufuncs.right_shift(shape_ops.moveaxis(a, axis, -1)[..., None], shifts), np.uint8(1))
    bits = bits.reshape(bits.shape[:-2] + (-1,))
    if count is not None:
        count = operator.index(count)
        bits = bits[..., :count] if count <= bits.shape[-1] else shape_ops.pad(
            bits, [(0, 0)] * (bits.ndim - 1) + [(0, count - bits.shape[-1])])
    return shape_ops.moveaxis(bits, -1, axis)


__all__ = [
    "append", "apply_along_axis", "apply_over_axes", "array_split", "block", "choose", "column_stack", "concat",
    "delete", "diag", "diag_indices", "diag_indices_from", "diagflat", "diagonal", "dsplit", "dstack",
    "fill_diagonal", "fliplr", "flipud", "hsplit", "insert", "mask_indices", "packbits",
    "permute_dims", "piecewise", "place", "put", "put_along_axis", "resize", "roll", "rollaxis", "rot90", "select",
    "trace", "tril_indices", "tril_indices_from", "trim_zeros", "triu_indices", "triu_indices_from", "unpackbits",
    "unstack", "vsplit",
]

"""`lax`'s dynamic slices and updates (run-time starts), gathers and
scatters, with `jax.lax`'s signatures, over irax's indexing primitives.

gather and scatter are JAX's general forms (`GatherDimensionNumbers`) read as
NumPy advanced indexing: each operand dim in `start_index_map` is indexed by
its start (clamped so the window fits) plus the window offset, every other
dim by the window offset alone (an operand batching dim by the index's own
position along its paired batch dim), and the window dims are then moved to
the output positions JAX gives them. Out-of-bounds windows (mode FILL_OR_DROP)
are filled on a gather and dropped on a scatter, whole, as in JAX.
"""
from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np

from irax.frontend import core, dtypes, eager, extended
from irax.frontend import numpy as jnp
from irax.frontend.lax import stop_cotangent
from irax.frontend.lax_elementwise import _operands, convert_element_type
from irax.frontend.lax_structural import _elements, expand_dims, squeeze
from irax.frontend.numpy.util import asarray, canonicalize_axis
from irax.frontend.primitives.scalar_rules import dtype_kind
from irax.frontend.primitives.indexing import static_slice, update_slice
from irax.typing import Array, ArrayLike, Shape

__all__ = ["GatherDimensionNumbers", "GatherScatterMode", "ScatterDimensionNumbers", "dynamic_index_in_dim",
           "dynamic_slice", "dynamic_slice_in_dim", "dynamic_update_index_in_dim", "dynamic_update_slice",
           "dynamic_update_slice_in_dim", "gather", "index_take", "scatter", "scatter_add", "scatter_apply",
           "scatter_max", "scatter_min", "scatter_mul", "scatter_sub"]


def _check_start_count(x, start_indices) -> None:
    """JAX's ValueError unless there is one start per operand dim."""
    if len(start_indices) != x.ndim:
        raise ValueError(f"Length of slice indices must match number of operand dimensions "
                         f"({len(start_indices)} vs {x.shape})")


def _negative_allowed(x, start_indices, allow_negative_indices) -> list:
    """Per dim, whether a negative start counts from the end; JAX's
    ValueError for a static one (a Python or NumPy int) where it may not."""
    negative = (list(allow_negative_indices) if isinstance(allow_negative_indices, Sequence)
                else [allow_negative_indices] * x.ndim)
    for i, n, neg in zip(start_indices, x.shape, negative):
        if not neg and isinstance(i, (int, np.integer)) and i < 0:
            raise ValueError(f"Index {i} is out of bounds for dimension {n} if allow_negative_indices=False")
    return negative


def _check_index_dtypes(name: str, start_indices, got: str) -> None:
    """JAX's TypeError unless the starts are integers of one dtype (a Python
    int counts as the default int: `(jnp.int8(1), 0)` is an error, as in JAX)."""
    kinds = [dtypes.dtype_and_weak(i)[0] for i in start_indices]
    if any(d != kinds[0] or not dtypes.is_int(d) for d in kinds):
        raise TypeError(f"index arguments to {name} must be integers of the same type, {got} "
                        + ", ".join(d.name for d in kinds))


def _start_operand(x, i):
    """A start as a 0-d index operand: a Python or NumPy int, eager, the
    cached int32 array of eager.index_operand, so that every value runs one
    kernel."""
    if core.current_trace() is None and isinstance(i, (int, np.integer)):
        return eager.index_operand(int(i), extended.physical(x).device)
    return asarray(i)


def _run_time_starts(x, start_indices, allow_negative_indices):
    """The start operands of a static_slice or update_slice at run-time
    `start_indices`, and its `wrap`: whether negative starts count from the
    end. Where a sequence of allow_negative_indices forbids that on some
    dims, their starts are clamped to 0 first (JAX's "implementation
    defined, typically clamped to the first index")."""
    negative = _negative_allowed(x, start_indices, allow_negative_indices)
    starts = [_start_operand(x, i) for i in start_indices]
    wrap = any(negative)
    if wrap and not all(negative):
        starts = [i if neg else jnp.maximum(i, 0) for i, neg in zip(starts, negative)]
    return starts, wrap


def dynamic_slice(operand: ArrayLike, start_indices: ArrayLike | Sequence[ArrayLike], slice_sizes: Shape, *,
                  allow_negative_indices: bool | Sequence[bool] = True) -> Array:
    """The window of `slice_sizes` at run-time `start_indices` (clamped so it
    fits in the operand), as `jax.lax.dynamic_slice`: one static_slice whose
    starts are operands, which counts negative ones from the end and clamps
    them (one eager kernel for every start)."""
    x = _elements(operand)
    sizes = tuple(int(s) for s in slice_sizes)
    start_indices = list(start_indices)
    _check_start_count(x, start_indices)
    if len(sizes) != x.ndim:  # (JAX: a ValueError from its safe_map)
        raise ValueError(f"dynamic_slice needs one slice size per operand dimension, got slice_sizes {sizes} "
                         f"for operand shape {x.shape}.")
    if any(size > n for size, n in zip(sizes, x.shape)):
        raise TypeError(f"slice slice_sizes must be less than or equal to operand shape, got slice_sizes {sizes} "
                        f"for operand shape {x.shape}.")
    if any(size < 0 for size in sizes):
        raise TypeError(f"slice slice_sizes must be greater than or equal to zero, got slice_sizes of {sizes}.")
    _check_index_dtypes("dynamic_slice", start_indices, "got:")
    starts, wrap = _run_time_starts(x, start_indices, allow_negative_indices)
    if extended.is_extended(x):
        return extended.static_slice(x, *starts, starts=(None,) * x.ndim, sizes=sizes, steps=(1,) * x.ndim, wrap=wrap)
    return static_slice.bind(x, *starts, starts=(None,) * x.ndim, sizes=sizes, steps=(1,) * x.ndim,
                             out_dims=tuple(range(x.ndim)), wrap=wrap)


def dynamic_update_slice(operand: ArrayLike, update: ArrayLike, start_indices: ArrayLike | Sequence[ArrayLike], *,
                         allow_negative_indices: bool | Sequence[bool] = True) -> Array:
    """operand with `update` written at run-time `start_indices` (clamped so
    it fits), as `jax.lax.dynamic_update_slice`: one update_slice whose
    starts are operands (an insert_slice, in place where the operand is
    donated; one eager kernel for every start)."""
    x, v = _elements(operand), _elements(update)
    start_indices = list(start_indices)
    _check_start_count(x, start_indices)
    if v.ndim != x.ndim:
        raise TypeError(f"dynamic_update_slice update must have the same rank as operand, got update shape "
                        f"{v.shape} for operand shape {x.shape}.")
    if any(m > n for m, n in zip(v.shape, x.shape)):
        raise TypeError(f"dynamic_update_slice update shape must be smaller than operand shape, got update shape "
                        f"{v.shape} for operand shape {x.shape}.")
    if not extended.unwrap((x, v)):  # (typed keys beside another dtype: unwrap's promotion error)
        _operands("dynamic_update_slice", x, v)
    _check_index_dtypes("dynamic_update_slice", start_indices, "got")
    starts, wrap = _run_time_starts(x, start_indices, allow_negative_indices)
    data, values = extended.physical(x), extended.physical(v)  # (a key's words: a trailing block at 0)
    trailing = (0,) * (data.ndim - x.ndim)
    out = update_slice.bind(data, values, *starts, starts=(None,) * x.ndim + trailing, sizes=values.shape,
                            steps=(1,) * data.ndim, out_dims=tuple(range(data.ndim)), op="set", dtype=data.dtype,
                            mode="clip", wrap=wrap)
    return x._wrap(out) if extended.is_extended(x) else out


def _one_dim(x, axis, index, size):
    """Starts and sizes of a window at `index` along `axis`: the other starts
    are zeros of index's dtype, as JAX's (NumPy scalars: eager, the cached
    index operands of _start_operand)."""
    starts = [dtypes.dtype_and_weak(index)[0].type(0)] * x.ndim
    starts[axis] = index
    sizes = list(x.shape)
    sizes[axis] = size
    return starts, sizes


def dynamic_slice_in_dim(operand: ArrayLike, start_index: ArrayLike, slice_size: int, axis: int = 0, *,
                         allow_negative_indices: bool = True) -> Array:
    """`dynamic_slice` along one axis, as `jax.lax.dynamic_slice_in_dim`."""
    x = _elements(operand)
    axis = canonicalize_axis("dynamic_slice_in_dim", axis, x.ndim)
    starts, sizes = _one_dim(x, axis, start_index, slice_size)
    return dynamic_slice(x, starts, sizes, allow_negative_indices=allow_negative_indices)


def dynamic_index_in_dim(operand: ArrayLike, index: ArrayLike, axis: int = 0, keepdims: bool = True, *,
                         allow_negative_indices: bool = True) -> Array:
    """operand[index] along `axis` at a run-time index, as `jax.lax.dynamic_index_in_dim`."""
    x = _elements(operand)
    axis = canonicalize_axis("dynamic_index_in_dim", axis, x.ndim)
    out = dynamic_slice_in_dim(x, index, 1, axis, allow_negative_indices=allow_negative_indices)
    return out if keepdims else squeeze(out, (axis,))


def dynamic_update_slice_in_dim(operand: ArrayLike, update: ArrayLike, start_index: ArrayLike, axis: int, *,
                                allow_negative_indices: bool = True) -> Array:
    """`dynamic_update_slice` along one axis, as `jax.lax.dynamic_update_slice_in_dim`."""
    x = _elements(operand)
    axis = canonicalize_axis("dynamic_update_slice_in_dim", axis, x.ndim)
    starts, _ = _one_dim(x, axis, start_index, 1)
    return dynamic_update_slice(x, update, starts, allow_negative_indices=allow_negative_indices)


def dynamic_update_index_in_dim(operand: ArrayLike, update: ArrayLike, index: ArrayLike, axis: int, *,
                                allow_negative_indices: bool = True) -> Array:
    """operand with operand[index] along `axis` replaced by `update` (of rank
    one less, or with a unit dim there), as `jax.lax.dynamic_update_index_in_dim`."""
    x, v = _elements(operand), _elements(update)
    axis = canonicalize_axis("dynamic_update_index_in_dim", axis, x.ndim)
    if v.ndim == x.ndim - 1:
        v = expand_dims(v, (axis,))
    return dynamic_update_slice_in_dim(x, v, index, axis, allow_negative_indices=allow_negative_indices)


def index_take(src: ArrayLike, idxs: Sequence[ArrayLike], axes: Sequence[int]) -> Array:
    """src at the points whose coordinates along `axes` are the arrays `idxs`
    (negative ones wrap around): the points' dim first, then src's other
    dims, as `jax.lax.index_take`."""
    x = asarray(src)
    axes = [canonicalize_axis("index_take", a, x.ndim) for a in axes]
    rest = [d for d in range(x.ndim) if d not in axes]
    x = jnp.transpose(x, axes + rest)
    return x[tuple(asarray(i) % x.shape[k] for k, i in enumerate(idxs))]


# ---------------------------------------------------------------------------
# Gather and scatter

class GatherScatterMode(enum.Enum):
    """How gather and scatter treat windows out of bounds, as `jax.lax.GatherScatterMode`."""
    CLIP = 1
    FILL_OR_DROP = 2
    PROMISE_IN_BOUNDS = 3

    @staticmethod
    def from_any(s) -> "GatherScatterMode":
        if isinstance(s, GatherScatterMode):
            return s
        modes = {"clip": GatherScatterMode.CLIP, None: GatherScatterMode.FILL_OR_DROP, "fill": GatherScatterMode.FILL_OR_DROP,
                 "drop": GatherScatterMode.FILL_OR_DROP, "promise_in_bounds": GatherScatterMode.PROMISE_IN_BOUNDS}
        if s not in modes:
            raise ValueError(f'Unknown gather mode "{s}"')
        return modes[s]


class GatherDimensionNumbers(NamedTuple):
    """`jax.lax.GatherDimensionNumbers`."""
    offset_dims: tuple[int, ...]
    collapsed_slice_dims: tuple[int, ...]
    start_index_map: tuple[int, ...]
    operand_batching_dims: tuple[int, ...] = ()
    start_indices_batching_dims: tuple[int, ...] = ()


class ScatterDimensionNumbers(NamedTuple):
    """`jax.lax.ScatterDimensionNumbers`."""
    update_window_dims: Sequence[int]
    inserted_window_dims: Sequence[int]
    scatter_dims_to_operand_dims: Sequence[int]
    operand_batching_dims: Sequence[int] = ()
    scatter_indices_batching_dims: Sequence[int] = ()


# op -> (its name in JAX's errors, the name of its index map)
_INDEX_MAP_NAMES = {"gather": ("Gather", "start_index_map"), "scatter": ("Scatter", "scatter_dims_to_operand_dims")}


def _check_batching(op, x, indices, index_map, window, operand_batching, indices_batching) -> None:
    """JAX's TypeErrors for batching dims that do not pair up: sizes that
    differ, a dim also indexed by a start, a window wider than 1 along one."""
    title, map_name = _INDEX_MAP_NAMES[op]
    if set(index_map) & set(operand_batching):
        raise TypeError(f"{map_name} and operand_batching_dims in {op} op must be disjoint; got: {index_map} and "
                        f"{operand_batching}.")
    sizes = tuple(x.shape[d] for d in operand_batching), tuple(indices.shape[d] for d in indices_batching)
    if sizes[0] != sizes[1]:
        raise TypeError(f"{title} op requires operand batching dimensions and indices batching dimensions to have the "
                        f"same shape, got {sizes[0]} and {sizes[1]}.")
    for k, d in enumerate(operand_batching):
        if window[d] > 1:
            raise TypeError(f"{title} op can only have operand batching dims with bound 0/1, but bound is {window[d]} "
                            f"for index {d} at position {k}.")


def _window_indices(op, x, indices, index_map, window, collapsed, operand_batching, indices_batching):
    """The advanced index (one array per operand dim, shape batch + window
    dims not collapsed) of every element of every window, and whether each
    window lies in bounds (shape batch). An operand batching dim is indexed
    by the position along its paired batch dim of the indices, as if that
    position were one more (always in bounds) start."""
    indices = asarray(indices)
    _check_batching(op, x, indices, index_map, window, operand_batching, indices_batching)
    batch_shape = indices.shape[:-1]
    nb = len(batch_shape)
    kept = [d for d in range(x.ndim) if d not in collapsed and d not in operand_batching]
    in_bounds = jnp.ones(batch_shape, dtype=bool)
    index = []
    for d in range(x.ndim):
        n, size = x.shape[d], window[d]
        offset_shape = [1] * nb + [size if k == d else 1 for k in kept]
        offset = jnp.reshape(jnp.arange(size, dtype=np.int32), offset_shape) if d in kept else jnp.zeros(offset_shape, np.int32)
        if d in operand_batching:
            along = indices_batching[operand_batching.index(d)]
            position = [n if k == along else 1 for k in range(nb)] + [1] * len(kept)
            index.append(jnp.reshape(jnp.arange(n, dtype=np.int32), position))
        elif d in index_map:
            start = convert_element_type(indices[..., index_map.index(d)], np.int32)
            in_bounds = in_bounds & (start >= 0) & (start <= n - size)
            start = jnp.reshape(jnp.clip(start, 0, n - size), batch_shape + (1,) * len(kept))
            index.append(start + offset)
        else:
            index.append(offset)
    return tuple(index), in_bounds, kept


def _window_order(nb, window_dims):
    """The permutation from (batch dims, window dims) to the output's order,
    where the window dims sit at `window_dims`."""
    rank = nb + len(window_dims)
    batch_positions = [p for p in range(rank) if p not in window_dims]
    order = [0] * rank
    for k, p in enumerate(batch_positions):
        order[p] = k
    for k, p in enumerate(window_dims):
        order[p] = nb + k
    return order


# A gather's default fill for windows out of bounds, by dtype kind (JAX's).
_FILL = {"f": lambda d: np.nan, "i": lambda d: np.iinfo(d).min, "u": lambda d: np.iinfo(d).max, "b": lambda d: True}


def gather(operand: ArrayLike, start_indices: ArrayLike, dimension_numbers: GatherDimensionNumbers, slice_sizes: Shape,
           *, unique_indices: bool = False, indices_are_sorted: bool = False, mode: str | GatherScatterMode | None = None,
           fill_value: ArrayLike | None = None) -> Array:
    """Windows of `slice_sizes` at the starts in `start_indices` (last dim: the
    index vector), as `jax.lax.gather`; see the module docstring."""
    x = asarray(operand)
    dn = dimension_numbers
    mode = GatherScatterMode.PROMISE_IN_BOUNDS if mode is None else GatherScatterMode.from_any(mode)  # JAX's default
    index, in_bounds, kept = _window_indices("gather", x, start_indices, tuple(dn.start_index_map),
                                             tuple(slice_sizes), tuple(dn.collapsed_slice_dims),
                                             tuple(dn.operand_batching_dims), tuple(dn.start_indices_batching_dims))
    out = x[index]
    nb = in_bounds.ndim
    in_bounds = jnp.reshape(in_bounds, in_bounds.shape + (1,) * len(kept))
    if mode == GatherScatterMode.FILL_OR_DROP:
        fill = _FILL[dtype_kind(x.dtype)](x.dtype) if fill_value is None else fill_value
        out = jnp.where(in_bounds, out, jnp.asarray(fill, x.dtype))
    elif mode == GatherScatterMode.PROMISE_IN_BOUNDS:  # clamped, but JAX's transpose drops the window
        out = jnp.where(in_bounds, out, stop_cotangent(out))
    return jnp.transpose(out, _window_order(nb, tuple(dn.offset_dims)))


def _scatter(op, operand, scatter_indices, updates, dimension_numbers, mode):
    x, v = asarray(operand), asarray(updates)
    if x.dtype != v.dtype:
        raise TypeError(f"scatter_{op} requires operand and updates of the same dtype, got {x.dtype.name} and {v.dtype.name}.")
    dn, mode = dimension_numbers, GatherScatterMode.from_any(mode)
    window_dims = tuple(dn.update_window_dims)
    nb = v.ndim - len(window_dims)
    kept = [d for d in range(x.ndim) if d not in dn.inserted_window_dims and d not in dn.operand_batching_dims]
    window = [1] * x.ndim
    for d, k in zip(kept, window_dims):
        window[d] = v.shape[k]
    index, in_bounds, kept = _window_indices("scatter", x, scatter_indices, tuple(dn.scatter_dims_to_operand_dims),
                                             window, tuple(dn.inserted_window_dims), tuple(dn.operand_batching_dims),
                                             tuple(dn.scatter_indices_batching_dims))
    if mode == GatherScatterMode.FILL_OR_DROP:  # a window out of bounds is dropped whole: send it past the end
        shift = jnp.where(jnp.reshape(in_bounds, in_bounds.shape + (1,) * len(kept)), 0, x.shape[0] + 1 if x.ndim else 0)
        index = (index[0] + shift,) + index[1:]
    order = _window_order(nb, window_dims)
    v = jnp.transpose(v, [order.index(p) for p in range(v.ndim)])
    ref = x.at[index]
    update_mode = "clip" if mode == GatherScatterMode.CLIP else "drop"
    return {"set": ref.set, "add": ref.add, "sub": ref.subtract, "mul": ref.multiply, "min": ref.min,
            "max": ref.max}[op](v, mode=update_mode)


def _scatter_fn(op, name):
    def fn(operand: ArrayLike, scatter_indices: ArrayLike, updates: ArrayLike, dimension_numbers: ScatterDimensionNumbers,
           *, indices_are_sorted: bool = False, unique_indices: bool = False, mode: str | GatherScatterMode | None = None) -> Array:
        return _scatter(op, operand, scatter_indices, updates, dimension_numbers, mode)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"operand with `updates` combined in by `{op}` at the windows of `scatter_indices`, as `jax.lax.{name}`."
    return fn


scatter = _scatter_fn("set", "scatter")
scatter_add = _scatter_fn("add", "scatter_add")
scatter_sub = _scatter_fn("sub", "scatter_sub")
scatter_mul = _scatter_fn("mul", "scatter_mul")
scatter_min = _scatter_fn("min", "scatter_min")
scatter_max = _scatter_fn("max", "scatter_max")


def scatter_apply(operand: Array, scatter_indices: Array, func: Callable[[Array], Array],
                  dimension_numbers: ScatterDimensionNumbers, *, update_shape: Shape = (), indices_are_sorted: bool = False,
                  unique_indices: bool = False, mode: str | GatherScatterMode | None = None) -> Array:
    """operand with `func` applied to the elements at the windows, as
    `jax.lax.scatter_apply`: func of operand where a ones mask scattered there is set."""
    x = asarray(operand)
    hit = _scatter("set", jnp.zeros(x.shape, x.dtype), scatter_indices, jnp.ones(update_shape, x.dtype),
                   dimension_numbers, mode)
    return jnp.where(hit != 0, func(x), x)

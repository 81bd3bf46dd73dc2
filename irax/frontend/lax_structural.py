"""`lax`'s contractions, reductions, scans, slices, gathers and shape ops, as
thin layers over irax's primitives (and `irax.numpy` where it already does
the work), with `jax.lax`'s signatures: static dims are Python ints, and
operands must share a dtype (no promotion).

gather and scatter are JAX's general forms (`GatherDimensionNumbers`) read as
NumPy advanced indexing: each operand dim in `start_index_map` is indexed by
its start (clamped so the window fits) plus the window offset, every other
dim by the window offset alone, and the window dims are then moved to the
output positions JAX gives them. Out-of-bounds windows (mode FILL_OR_DROP)
are filled on a gather and dropped on a scatter, whole, as in JAX.
"""
from __future__ import annotations

import enum
import operator
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from irax import tree_util
from irax.frontend import dtypes
from irax.frontend import numpy as jnp
from irax.frontend.control_flow import scan
from irax.frontend.lax_elementwise import _operands, add, bitwise_and, bitwise_or, bitwise_xor, convert_element_type
from irax.frontend.lax_elementwise import max as lax_max
from irax.frontend.lax_elementwise import min as lax_min
from irax.frontend.lax_elementwise import mul
from irax.frontend.numpy.util import asarray, canonicalize_axis
from irax.frontend.primitives import creation, linalg, reductions
from irax.frontend.primitives import shape as shape_prims
from irax.frontend.primitives.elementwise import dtype_kind
from irax.frontend.primitives.indexing import static_slice
from irax.frontend.vmap import vmap
from irax.typing import Array, ArrayLike, DTypeLike, PyTree, Shape


__all__ = ["DotDimensionNumbers", "GatherDimensionNumbers", "GatherScatterMode", "Precision",
           "ScatterDimensionNumbers", "argmax", "argmin", "associative_scan", "batch_matmul", "broadcast",
           "broadcast_in_dim", "broadcast_shapes", "broadcast_to_rank", "broadcasted_iota", "collapse",
           "concatenate", "cumlogsumexp", "cummax", "cummin", "cumprod", "cumsum", "dot", "dot_general", "dtype",
           "dynamic_index_in_dim", "dynamic_slice", "dynamic_slice_in_dim", "dynamic_update_index_in_dim",
           "dynamic_update_slice", "dynamic_update_slice_in_dim", "empty", "expand_dims", "full", "full_like",
           "gather", "index_in_dim", "index_take", "iota", "map", "optimization_barrier", "pad", "reduce",
           "reduce_and", "reduce_max", "reduce_min", "reduce_or", "reduce_prod", "reduce_sum", "reduce_xor",
           "reshape", "rev", "scatter", "scatter_add", "scatter_apply", "scatter_max", "scatter_min", "scatter_mul",
           "scatter_sub", "slice", "slice_in_dim", "split", "squeeze", "stack", "tile", "transpose", "unstack"]


class Precision(enum.Enum):
    """`jax.lax.Precision`: accepted and ignored (irax contracts in the operand dtype)."""
    DEFAULT = 0
    HIGH = 1
    HIGHEST = 2


DotDimensionNumbers = tuple[tuple[Sequence[int], Sequence[int]], tuple[Sequence[int], Sequence[int]]]


# ---------------------------------------------------------------------------
# Contractions

def dot_general(lhs: ArrayLike, rhs: ArrayLike, dimension_numbers: DotDimensionNumbers, precision: Precision | str | None = None,
                preferred_element_type: DTypeLike | None = None) -> Array:
    """sum over the contracting dims of lhs * rhs, as `jax.lax.dot_general`:
    `dimension_numbers = ((lhs_contracting, rhs_contracting), (lhs_batch, rhs_batch))`;
    the output's dims are the batch dims, then lhs's free dims, then rhs's.
    `preferred_element_type` is the dtype the operands are converted to and
    accumulated in (int8 operands into int32)."""
    lhs, rhs = asarray(lhs), asarray(rhs)
    dtype = preferred_element_type if preferred_element_type is not None else jnp.result_type(lhs, rhs)
    lhs, rhs = (convert_element_type(x, dtype) if x.dtype != dtype else x for x in (lhs, rhs))
    (lc, rc), (lb, rb) = dimension_numbers
    dims = ((tuple(int(d) for d in lc), tuple(int(d) for d in rc)), (tuple(int(d) for d in lb), tuple(int(d) for d in rb)))
    return linalg.dot_general.bind(lhs, rhs, dimension_numbers=dims)


def dot(lhs: ArrayLike, rhs: ArrayLike, *, dimension_numbers: DotDimensionNumbers | None = None,
        precision: Precision | str | None = None, preferred_element_type: DTypeLike | None = None) -> Array:
    """Vector or matrix product, as `jax.lax.dot`: lhs's last dim contracted
    with rhs's first, or `dot_general` where `dimension_numbers` are given."""
    lhs, rhs = asarray(lhs), asarray(rhs)
    if dimension_numbers is not None:
        return dot_general(lhs, rhs, dimension_numbers, precision, preferred_element_type)
    if lhs.ndim not in (1, 2) or rhs.ndim not in (1, 2):
        raise TypeError(f"Incompatible shapes for dot: got {lhs.shape} and {rhs.shape}.")
    return dot_general(lhs, rhs, (((lhs.ndim - 1,), (0,)), ((), ())), precision, preferred_element_type)


def batch_matmul(lhs: Array, rhs: Array, precision: Precision | str | None = None) -> Array:
    """Matrix products over leading batch dims, as `jax.lax.batch_matmul`:
    (..., m, k) @ (..., k, n) with equal batch dims."""
    lhs, rhs = asarray(lhs), asarray(rhs)
    if lhs.ndim < 2 or lhs.ndim != rhs.ndim:
        raise ValueError(f"Arguments to batch_matmul must be at least 2D and agree on their rank, got {lhs.ndim} and {rhs.ndim}.")
    batch = tuple(range(lhs.ndim - 2))
    return dot_general(lhs, rhs, (((lhs.ndim - 1,), (rhs.ndim - 2,)), (batch, batch)), precision)


# ---------------------------------------------------------------------------
# Reductions

# lax's binary ops (and jnp's) -> the reduction primitive that folds them.
_MONOIDS = {add: "sum", mul: "prod", lax_max: "max", lax_min: "min", jnp.add: "sum", jnp.multiply: "prod",
            jnp.maximum: "max", jnp.minimum: "min", operator.add: "sum", operator.mul: "prod"}
_BOOL_MONOIDS = {bitwise_and: "and", bitwise_or: "or", jnp.logical_and: "and", jnp.logical_or: "or"}


def _axes(name, axes, ndim):
    return tuple(sorted({canonicalize_axis(name, a, ndim) for a in axes}))


def _reduce_monoid(x, monoid, axes):
    return reductions.reduce[monoid].bind(x, axes=_axes(f"reduce_{monoid}", axes, x.ndim), keepdims=False, dtype=x.dtype)


def reduce(operands: PyTree, init_values: PyTree, computation: Callable, dimensions: Sequence[int]) -> PyTree:
    """operands folded by `computation` over `dimensions`, starting from
    `init_values`, as `jax.lax.reduce`. lax's add, mul, max, min (and bitwise
    and/or of bools) are irax's tree reductions, with the init folded in once;
    any other computation, or several operands, is a `scan` over the reduced
    elements (flattened), folding one at a time."""
    flat, tree = tree_util.tree_flatten(operands)
    inits, init_tree = tree_util.tree_flatten(init_values)
    if tree != init_tree:
        raise ValueError(f"reduce: operands {tree} and init_values {init_tree} must have the same structure.")
    flat, inits = [asarray(x) for x in flat], [asarray(v) for v in inits]
    dims = _axes("reduce", dimensions, flat[0].ndim)
    if len(flat) == 1:
        monoid = _MONOIDS.get(computation) or (_BOOL_MONOIDS.get(computation) if dtypes.is_bool(flat[0].dtype) else None)
        if monoid is not None:
            return tree_util.tree_unflatten(tree, [computation(_reduce_monoid(flat[0], monoid, dims), inits[0])])
    kept = [d for d in range(flat[0].ndim) if d not in dims]
    moved = [jnp.reshape(jnp.transpose(x, dims + tuple(kept)), (-1,) + tuple(x.shape[d] for d in kept)) for x in flat]
    carry0 = [jnp.broadcast_to(v, m.shape[1:]) for v, m in zip(inits, moved)]

    def step(carry, xs):
        out = computation(tree_util.tree_unflatten(tree, carry), tree_util.tree_unflatten(tree, xs))
        return tree_util.tree_leaves(out), None

    out, _ = scan(step, carry0, moved)
    return tree_util.tree_unflatten(tree, out)


def reduce_sum(operand: ArrayLike, axes: Sequence[int]) -> Array:
    """Sum over `axes`, in operand's dtype, as `jax.lax.reduce_sum`."""
    return _reduce_monoid(asarray(operand), "sum", axes)


def reduce_prod(operand: ArrayLike, axes: Sequence[int]) -> Array:
    """Product over `axes`, as `jax.lax.reduce_prod`."""
    return _reduce_monoid(asarray(operand), "prod", axes)


def reduce_max(operand: ArrayLike, axes: Sequence[int]) -> Array:
    """Maximum over `axes`, as `jax.lax.reduce_max`."""
    return _reduce_monoid(asarray(operand), "max", axes)


def reduce_min(operand: ArrayLike, axes: Sequence[int]) -> Array:
    """Minimum over `axes`, as `jax.lax.reduce_min`."""
    return _reduce_monoid(asarray(operand), "min", axes)


def _bitwise_reduce(name, monoid_of_bools, computation):
    def fn(operand: ArrayLike, axes: Sequence[int]) -> Array:
        x = asarray(operand)
        if dtypes.is_float(x.dtype):
            raise TypeError(f"logical reduction requires operand dtype bool or int, got {x.dtype.name}.")
        if dtypes.is_bool(x.dtype) and monoid_of_bools:
            return _reduce_monoid(x, monoid_of_bools, axes)
        identity = {"reduce_and": -1, "reduce_or": 0, "reduce_xor": 0}[name]
        return reduce(x, np.asarray(identity).astype(x.dtype), computation, axes)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Bitwise {name[7:]} over `axes` (logical for bools), as `jax.lax.{name}`."
    return fn


reduce_and = _bitwise_reduce("reduce_and", "and", bitwise_and)
reduce_or = _bitwise_reduce("reduce_or", "or", bitwise_or)
reduce_xor = _bitwise_reduce("reduce_xor", None, bitwise_xor)


def argmax(operand: ArrayLike, axis: int, index_dtype: DTypeLike) -> Array:
    """Index of the maximum along `axis` (the first; NaN counts as largest), as `jax.lax.argmax`."""
    x = asarray(operand)
    return reductions.argmax.bind(x, axes=(canonicalize_axis("argmax", axis, x.ndim),), keepdims=False,
                                  index_dtype=dtypes.canonicalize_dtype(index_dtype))


def argmin(operand: ArrayLike, axis: int, index_dtype: DTypeLike) -> Array:
    """Index of the minimum along `axis` (the first; NaN counts as smallest), as `jax.lax.argmin`."""
    x = asarray(operand)
    return reductions.argmin.bind(x, axes=(canonicalize_axis("argmin", axis, x.ndim),), keepdims=False,
                                  index_dtype=dtypes.canonicalize_dtype(index_dtype))


# ---------------------------------------------------------------------------
# Slices

def slice(operand: ArrayLike, start_indices: Sequence[int], limit_indices: Sequence[int],  # noqa: A001
          strides: Sequence[int] | None = None) -> Array:
    """operand[start:limit:stride] along every dim, as `jax.lax.slice`."""
    x = asarray(operand)
    strides = tuple(strides) if strides is not None else (1,) * x.ndim
    if not len(start_indices) == len(limit_indices) == len(strides) == x.ndim:
        raise TypeError(f"slice start_indices, limit_indices and strides must have length {x.ndim} (operand's rank), "
                        f"got {tuple(start_indices)}, {tuple(limit_indices)}, {strides}.")
    for n, lo, hi, st in zip(x.shape, start_indices, limit_indices, strides):
        if not 0 <= lo <= hi <= n or st < 1:
            raise TypeError(f"slice indices must satisfy 0 <= start <= limit <= shape and stride >= 1, got start "
                            f"{tuple(start_indices)}, limit {tuple(limit_indices)}, strides {strides} for shape {x.shape}.")
    sizes = tuple(-(-(hi - lo) // st) for lo, hi, st in zip(start_indices, limit_indices, strides))
    return static_slice.bind(x, starts=tuple(int(s) for s in start_indices), sizes=sizes, steps=strides,
                             out_dims=tuple(range(x.ndim)))


def slice_in_dim(operand: ArrayLike, start_index: int | None, limit_index: int | None, stride: int = 1,
                 axis: int = 0) -> Array:
    """operand[start:limit:stride] along `axis` (negative indices count from the end), as `jax.lax.slice_in_dim`."""
    x = asarray(operand)
    axis = canonicalize_axis("slice_in_dim", axis, x.ndim)
    n = x.shape[axis]
    lo = 0 if start_index is None else start_index + n if start_index < 0 else start_index
    hi = n if limit_index is None else limit_index + n if limit_index < 0 else limit_index
    starts, limits, strides = [0] * x.ndim, list(x.shape), [1] * x.ndim
    starts[axis], limits[axis], strides[axis] = lo, hi, stride
    return slice(x, starts, limits, strides)


def index_in_dim(operand: ArrayLike, index: int, axis: int = 0, keepdims: bool = True) -> Array:
    """operand[index] along `axis` (a negative index counts from the end), as `jax.lax.index_in_dim`."""
    x = asarray(operand)
    axis = canonicalize_axis("index_in_dim", axis, x.ndim)
    index = index + x.shape[axis] if index < 0 else index
    out = slice_in_dim(x, index, index + 1, 1, axis)
    return out if keepdims else squeeze(out, (axis,))


def _clamped_starts(x, start_indices, sizes, allow_negative_indices):
    """Run-time starts as int32 0-d arrays, negative ones counted from the
    end, clamped into [0, n - size] so the window fits (JAX's rule)."""
    if len(start_indices) != x.ndim or len(sizes) != x.ndim:
        raise TypeError(f"dynamic slice needs {x.ndim} start indices and slice sizes (operand's rank), "
                        f"got {len(start_indices)} and {len(sizes)}.")
    negative = allow_negative_indices if isinstance(allow_negative_indices, Sequence) else [allow_negative_indices] * x.ndim
    starts = []
    for i, n, size, neg in zip(start_indices, x.shape, sizes, negative):
        if not 0 <= size <= n:
            raise TypeError(f"slice_sizes must be non-negative and at most the operand's shape {x.shape}, got {tuple(sizes)}.")
        i = convert_element_type(asarray(i), np.int32)
        if neg:
            i = jnp.where(i < 0, i + n, i)
        starts.append(jnp.clip(i, 0, n - size))
    return starts


def dynamic_slice(operand: ArrayLike, start_indices: ArrayLike | Sequence[ArrayLike], slice_sizes: Shape, *,
                  allow_negative_indices: bool | Sequence[bool] = True) -> Array:
    """The window of `slice_sizes` at run-time `start_indices` (clamped so it
    fits in the operand), as `jax.lax.dynamic_slice`."""
    x = asarray(operand)
    sizes = tuple(int(s) for s in slice_sizes)
    starts = _clamped_starts(x, list(start_indices), sizes, allow_negative_indices)
    return static_slice.bind(x, *starts, starts=(None,) * x.ndim, sizes=sizes, steps=(1,) * x.ndim,
                             out_dims=tuple(range(x.ndim)))


def dynamic_update_slice(operand: ArrayLike, update: ArrayLike, start_indices: ArrayLike | Sequence[ArrayLike], *,
                         allow_negative_indices: bool | Sequence[bool] = True) -> Array:
    """operand with `update` written at run-time `start_indices` (clamped so
    it fits), as `jax.lax.dynamic_update_slice`: a scatter at the window's
    open mesh of indices."""
    x, v = asarray(operand), asarray(update)
    _operands("dynamic_update_slice", x, v)
    if v.ndim != x.ndim:
        raise TypeError(f"dynamic_update_slice update must have the same rank as operand, got {v.shape} and {x.shape}.")
    starts = _clamped_starts(x, list(start_indices), v.shape, allow_negative_indices)
    mesh = tuple(jnp.reshape(s + jnp.arange(n, dtype=np.int32), [n if k == d else 1 for k in range(x.ndim)])
                 for d, (s, n) in enumerate(zip(starts, v.shape)))
    return x.at[mesh].set(v)


def _one_dim(x, axis, index, size):
    starts = [0] * x.ndim
    starts[axis] = index
    sizes = list(x.shape)
    sizes[axis] = size
    return starts, sizes


def dynamic_slice_in_dim(operand: ArrayLike, start_index: ArrayLike, slice_size: int, axis: int = 0, *,
                         allow_negative_indices: bool = True) -> Array:
    """`dynamic_slice` along one axis, as `jax.lax.dynamic_slice_in_dim`."""
    x = asarray(operand)
    axis = canonicalize_axis("dynamic_slice_in_dim", axis, x.ndim)
    starts, sizes = _one_dim(x, axis, start_index, slice_size)
    return dynamic_slice(x, starts, sizes, allow_negative_indices=allow_negative_indices)


def dynamic_index_in_dim(operand: ArrayLike, index: ArrayLike, axis: int = 0, keepdims: bool = True, *,
                         allow_negative_indices: bool = True) -> Array:
    """operand[index] along `axis` at a run-time index, as `jax.lax.dynamic_index_in_dim`."""
    x = asarray(operand)
    axis = canonicalize_axis("dynamic_index_in_dim", axis, x.ndim)
    out = dynamic_slice_in_dim(x, index, 1, axis, allow_negative_indices=allow_negative_indices)
    return out if keepdims else squeeze(out, (axis,))


def dynamic_update_slice_in_dim(operand: ArrayLike, update: ArrayLike, start_index: ArrayLike, axis: int, *,
                                allow_negative_indices: bool = True) -> Array:
    """`dynamic_update_slice` along one axis, as `jax.lax.dynamic_update_slice_in_dim`."""
    x = asarray(operand)
    axis = canonicalize_axis("dynamic_update_slice_in_dim", axis, x.ndim)
    starts, _ = _one_dim(x, axis, start_index, 1)
    return dynamic_update_slice(x, update, starts, allow_negative_indices=allow_negative_indices)


def dynamic_update_index_in_dim(operand: ArrayLike, update: ArrayLike, index: ArrayLike, axis: int, *,
                                allow_negative_indices: bool = True) -> Array:
    """operand with operand[index] along `axis` replaced by `update` (of rank
    one less, or with a unit dim there), as `jax.lax.dynamic_update_index_in_dim`."""
    x, v = asarray(operand), asarray(update)
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


def _window_indices(x, indices, index_map, window, collapsed, batching, fn_name):
    """The advanced index (one array per operand dim, shape batch + window
    dims not collapsed) of every element of every window, and whether each
    window lies in bounds (shape batch)."""
    if batching:
        raise NotImplementedError(f"{fn_name}: irax does not support operand_batching_dims yet; vmap a gather "
                                  "without them instead.")
    indices = asarray(indices)
    batch_shape = indices.shape[:-1]
    nb = len(batch_shape)
    kept = [d for d in range(x.ndim) if d not in collapsed]
    in_bounds = jnp.ones(batch_shape, dtype=bool)
    index = []
    for d in range(x.ndim):
        n, size = x.shape[d], window[d]
        offset_shape = [1] * nb + [size if k == d else 1 for k in kept]
        offset = jnp.reshape(jnp.arange(size, dtype=np.int32), offset_shape) if d in kept else jnp.zeros(offset_shape, np.int32)
        if d in index_map:
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
    index, in_bounds, kept = _window_indices(x, start_indices, tuple(dn.start_index_map), tuple(slice_sizes),
                                             tuple(dn.collapsed_slice_dims), dn.operand_batching_dims, "gather")
    out = x[index]
    nb = in_bounds.ndim
    if mode == GatherScatterMode.FILL_OR_DROP:
        fill = _FILL[dtype_kind(x.dtype)](x.dtype) if fill_value is None else fill_value
        out = jnp.where(jnp.reshape(in_bounds, in_bounds.shape + (1,) * len(kept)), out, jnp.asarray(fill, x.dtype))
    return jnp.transpose(out, _window_order(nb, tuple(dn.offset_dims)))


def _scatter(op, operand, scatter_indices, updates, dimension_numbers, mode):
    x, v = asarray(operand), asarray(updates)
    if x.dtype != v.dtype:
        raise TypeError(f"scatter_{op} requires operand and updates of the same dtype, got {x.dtype.name} and {v.dtype.name}.")
    dn, mode = dimension_numbers, GatherScatterMode.from_any(mode)
    window_dims = tuple(dn.update_window_dims)
    nb = v.ndim - len(window_dims)
    kept = [d for d in range(x.ndim) if d not in dn.inserted_window_dims]
    window = [1] * x.ndim
    for d, k in zip(kept, window_dims):
        window[d] = v.shape[k]
    index, in_bounds, kept = _window_indices(x, scatter_indices, tuple(dn.scatter_dims_to_operand_dims), window,
                                             tuple(dn.inserted_window_dims), dn.operand_batching_dims, "scatter")
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


# ---------------------------------------------------------------------------
# Padding and shapes

def _interior(x, value, axis, interior):
    """x with `interior` copies of `value` between its elements along `axis`:
    each element followed by them (a new axis, then a reshape), the last
    ones sliced off."""
    n = x.shape[axis]
    if n == 0 or interior == 0:
        return x
    x = expand_dims(x, (axis + 1,))
    fill_shape = list(x.shape)
    fill_shape[axis + 1] = interior
    spread = concatenate([x, jnp.broadcast_to(value, fill_shape)], axis + 1)
    merged = jnp.reshape(spread, x.shape[:axis] + (n * (1 + interior),) + x.shape[axis + 2:])
    return slice_in_dim(merged, 0, n + (n - 1) * interior, 1, axis)


def pad(operand: ArrayLike, padding_value: ArrayLike, padding_config: Sequence[tuple[int, int, int]]) -> Array:
    """operand with `lo` and `hi` copies of `padding_value` at the ends of each
    dim and `interior` between its elements, as `jax.lax.pad`; a negative
    `lo` or `hi` removes elements from that end."""
    x, value = asarray(operand), asarray(padding_value)
    if x.dtype != value.dtype:
        raise TypeError(f"pad operand and padding_value must be same dtype: got {x.dtype.name} and {value.dtype.name}.")
    if value.ndim:
        raise TypeError(f"padding_value must be a scalar, got shape {value.shape}.")
    if len(padding_config) != x.ndim:
        raise ValueError(f"length of padding_config must equal the number of axes of operand, got padding_config "
                         f"{tuple(padding_config)} for operand shape {x.shape}")
    for axis, (_, _, interior) in enumerate(padding_config):
        if interior < 0:
            raise ValueError(f"interior padding in padding_config must be nonnegative, got padding_config {tuple(padding_config)}")
        x = _interior(x, value, axis, interior)
    low = tuple(max(lo, 0) for lo, _, _ in padding_config)
    high = tuple(max(hi, 0) for _, hi, _ in padding_config)
    if any(low) or any(high):
        x = shape_prims.pad.bind(x, value, low=low, high=high)
    if any(lo < 0 or hi < 0 for lo, hi, _ in padding_config):
        starts = [-lo if lo < 0 else 0 for lo, _, _ in padding_config]
        limits = [n + hi if hi < 0 else n for n, (_, hi, _) in zip(x.shape, padding_config)]
        if any(lim < start for start, lim in zip(starts, limits)):
            raise ValueError(f"Dimension size after padding is not at least 0, got padding_config {tuple(padding_config)}")
        x = slice(x, starts, limits)
    return x


def concatenate(operands: Sequence[ArrayLike], dimension: int) -> Array:
    """The operands joined along `dimension`, as `jax.lax.concatenate` (one dtype, one rank)."""
    xs = _operands("concatenate", *operands)
    if len(xs) == 1:
        return xs[0]
    return shape_prims.concatenate.bind(*xs, dimension=canonicalize_axis("concatenate", dimension, xs[0].ndim))


def broadcast_in_dim(operand: ArrayLike, shape: Shape, broadcast_dimensions: Sequence[int]) -> Array:
    """operand broadcast to `shape`, its dim i becoming dim broadcast_dimensions[i], as `jax.lax.broadcast_in_dim`."""
    x = asarray(operand)
    shape, dims = tuple(int(n) for n in shape), tuple(int(d) for d in broadcast_dimensions)
    if x.shape == shape:
        return x
    return shape_prims.broadcast_in_dim.bind(x, shape=shape, broadcast_dimensions=dims)


def broadcast(operand: ArrayLike, sizes: Sequence[int]) -> Array:
    """operand with new leading dims of `sizes`, as `jax.lax.broadcast`."""
    x = asarray(operand)
    return broadcast_in_dim(x, tuple(sizes) + x.shape, tuple(range(len(sizes), len(sizes) + x.ndim)))


def broadcast_to_rank(x: ArrayLike, rank: int) -> Array:
    """x with leading unit dims up to `rank`, as `jax.lax.broadcast_to_rank`."""
    x = asarray(x)
    return broadcast(x, (1,) * (rank - x.ndim))


def reshape(operand: ArrayLike, new_sizes: Shape, dimensions: Sequence[int] | None = None) -> Array:
    """operand's elements, in row-major order of its dims permuted by
    `dimensions`, in the shape `new_sizes`, as `jax.lax.reshape`."""
    x = asarray(operand)
    if dimensions is not None and tuple(dimensions) != tuple(range(x.ndim)):
        x = transpose(x, dimensions)
    new_sizes = tuple(int(n) for n in new_sizes)
    if int(np.prod(new_sizes)) != x.size:
        raise ValueError(f"reshape total size must be unchanged, got new_sizes {new_sizes} for shape {x.shape}.")
    return x if new_sizes == x.shape else jnp.reshape(x, new_sizes)


def squeeze(array: ArrayLike, dimensions: Sequence[int]) -> Array:
    """array without the unit dims `dimensions`, as `jax.lax.squeeze`."""
    x = asarray(array)
    dims = {canonicalize_axis("squeeze", d, x.ndim) for d in dimensions}
    if any(x.shape[d] != 1 for d in dims):
        raise ValueError(f"cannot select an axis to squeeze out which has size not equal to one, got "
                         f"shape={x.shape} and dimensions={tuple(dimensions)}")
    return reshape(x, tuple(n for d, n in enumerate(x.shape) if d not in dims))


def expand_dims(array: ArrayLike, dimensions: Sequence[int]) -> Array:
    """array with unit dims inserted at `dimensions` (of the result), as `jax.lax.expand_dims`."""
    x = asarray(array)
    rank = x.ndim + len(dimensions)
    dims = {canonicalize_axis("expand_dims", d, rank) for d in dimensions}
    sizes = iter(x.shape)
    return reshape(x, tuple(1 if d in dims else next(sizes) for d in range(rank)))


def rev(operand: ArrayLike, dimensions: Sequence[int]) -> Array:
    """operand reversed along `dimensions`, as `jax.lax.rev`."""
    x = asarray(operand)
    dims = tuple(sorted({canonicalize_axis("rev", d, x.ndim) for d in dimensions}))
    return shape_prims.rev.bind(x, dimensions=dims) if dims else x


def transpose(operand: ArrayLike, permutation: Sequence[int]) -> Array:
    """operand's dims permuted: dim i of the result is dim permutation[i], as `jax.lax.transpose`."""
    x = asarray(operand)
    permutation = tuple(int(p) for p in permutation)
    if sorted(permutation) != list(range(x.ndim)):
        raise TypeError(f"transpose permutation isn't a permutation of operand dimensions, got permutation "
                         f"{permutation} for operand shape {x.shape}.")
    return x if permutation == tuple(range(x.ndim)) else shape_prims.transpose.bind(x, permutation=permutation)


def collapse(operand: ArrayLike, start_dimension: int, stop_dimension: int | None = None) -> Array:
    """operand with dims [start, stop) merged into one, as `jax.lax.collapse`."""
    x = asarray(operand)
    stop = x.ndim if stop_dimension is None else stop_dimension + x.ndim if stop_dimension < 0 else stop_dimension
    start = start_dimension + x.ndim if start_dimension < 0 else start_dimension
    return reshape(x, x.shape[:start] + (int(np.prod(x.shape[start:stop])),) + x.shape[stop:])


def split(operand: ArrayLike, sizes: Sequence[int], axis: int = 0) -> Sequence[Array]:
    """operand cut along `axis` into pieces of `sizes`, as `jax.lax.split`."""
    x = asarray(operand)
    axis = canonicalize_axis("split", axis, x.ndim)
    sizes = tuple(int(s) for s in sizes)
    if sum(sizes) != x.shape[axis]:
        raise ValueError(f"Sum of sizes {sum(sizes)} must be equal to dimension {axis} of the operand shape {list(x.shape)}")
    return list(shape_prims.split.bind(x, sizes=sizes, axis=axis))


def stack(operands: Sequence[ArrayLike], axis: int = 0) -> Array:
    """The operands (one dtype and shape) stacked along a new `axis`, as `jax.lax.stack`."""
    xs = _operands("stack", *operands)
    axis = canonicalize_axis("stack", axis, xs[0].ndim + 1)
    return concatenate([expand_dims(x, (axis,)) for x in xs], axis)


def unstack(x: ArrayLike, axis: int = 0) -> tuple[Array, ...]:
    """x cut into its slices along `axis`, as `jax.lax.unstack`."""
    x = asarray(x)
    axis = canonicalize_axis("unstack", axis, x.ndim)
    return tuple(index_in_dim(x, i, axis, keepdims=False) for i in range(x.shape[axis]))


def tile(operand: ArrayLike, reps: Sequence[int]) -> Array:
    """operand repeated `reps[i]` times along dim i, as `jax.lax.tile`."""
    x = asarray(operand)
    if len(reps) != x.ndim:
        raise ValueError(f"len(reps) must equal the operand's rank, got reps={tuple(reps)} for shape {x.shape}")
    return jnp.tile(x, tuple(reps))


def iota(dtype: DTypeLike, size: int) -> Array:
    """[0, 1, ..., size - 1], as `jax.lax.iota`."""
    return broadcasted_iota(dtype, (size,), 0)


def broadcasted_iota(dtype: DTypeLike, shape: Shape, dimension: int) -> Array:
    """An array of `shape` whose elements are their index along `dimension`, as `jax.lax.broadcasted_iota`."""
    shape = tuple(int(n) for n in shape)
    return creation.iota.bind(shape=shape, dtype=dtypes.canonicalize_dtype(dtype),
                              dimension=canonicalize_axis("broadcasted_iota", dimension, len(shape)))


def full(shape: Shape, fill_value: ArrayLike, dtype: DTypeLike | None = None) -> Array:
    """An array of `shape` filled with `fill_value`, as `jax.lax.full`."""
    value = asarray(fill_value) if dtype is None else convert_element_type(fill_value, dtype)
    if value.ndim:
        raise TypeError(f"full must be called with scalar fill_value, got fill_value.shape {value.shape}.")
    return broadcast(value, (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape))


def full_like(x: ArrayLike, fill_value: ArrayLike, dtype: DTypeLike | None = None, shape: Shape | None = None) -> Array:
    """An array like x (its shape and dtype, unless given) filled with `fill_value`, as `jax.lax.full_like`."""
    x = asarray(x)
    return full(x.shape if shape is None else shape, fill_value, x.dtype if dtype is None else dtype)


def empty(shape: Shape, dtype: DTypeLike) -> Array:
    """An array of `shape` and `dtype` whose values do not matter (irax's are zeros), as `jax.lax.empty`."""
    return full(shape, 0, dtype)


def dtype(x: Any) -> np.dtype:
    """x's dtype as JAX canonicalizes it (a Python float is float32), as `jax.lax.dtype`."""
    return dtypes.dtype_and_weak(x)[0]


def broadcast_shapes(*shapes: Shape) -> tuple[int, ...]:
    """NumPy's broadcast of shapes, as `jax.lax.broadcast_shapes`."""
    try:
        return tuple(int(n) for n in np.broadcast_shapes(*shapes))
    except ValueError:
        raise ValueError(f"Incompatible shapes for broadcasting: shapes={[tuple(s) for s in shapes]}") from None


def optimization_barrier(operand: PyTree, /) -> PyTree:
    """operand, as `jax.lax.optimization_barrier`: irax's compiler does not
    move work across function boundaries in a way the barrier would stop, so
    the values pass through unchanged."""
    return tree_util.tree_map(asarray, operand)


# ---------------------------------------------------------------------------
# Scans and maps

def _interleave(a, b, axis):
    """a[0], b[0], a[1], b[1], ... along `axis`; a has as many elements as b or one more."""
    tail = []
    if a.shape[axis] > b.shape[axis]:
        tail = [slice_in_dim(a, -1, None, axis=axis)]
        a = slice_in_dim(a, 0, -1, axis=axis)
    pairs = concatenate([expand_dims(a, (axis + 1,)), expand_dims(b, (axis + 1,))], axis + 1)
    merged = collapse(pairs, axis, axis + 2)
    return concatenate([merged] + tail, axis) if tail else merged


def associative_scan(fn: Callable, elems: PyTree, reverse: bool = False, axis: int = 0) -> PyTree:
    """The prefix combinations fn(...fn(fn(e[0], e[1]), e[2])..., e[i]) along
    `axis` of a pytree of arrays, for an associative `fn`, as
    `jax.lax.associative_scan` and by its parallel algorithm (Blelloch's):

        r = fn(e[0::2], e[1::2])         pairs combined
        odd = scan(r)                    the results at odd positions
        even = fn(odd[:-1], e[2::2])     those at even positions (even[0] = e[0])

    so ~2 log2(n) calls of fn on slices, each differentiable."""
    flat, tree = tree_util.tree_flatten(elems)
    flat = [asarray(x) for x in flat]
    axis = canonicalize_axis("associative_scan", axis, flat[0].ndim)
    if reverse:
        flat = [rev(x, (axis,)) for x in flat]
    n = flat[0].shape[axis]
    if any(x.shape[axis] != n for x in flat):
        raise ValueError(f"Array inputs to associative_scan must have the same first dimension. "
                         f"(saw: {[x.shape for x in flat]})")

    def combine(a, b):
        return tree_util.tree_leaves(fn(tree_util.tree_unflatten(tree, a), tree_util.tree_unflatten(tree, b)))

    def prefix(xs):
        count = xs[0].shape[axis]
        if count < 2:
            return xs
        odd = prefix(combine([slice_in_dim(x, 0, -1, 2, axis) for x in xs], [slice_in_dim(x, 1, None, 2, axis) for x in xs]))
        rest = [slice_in_dim(x, 2, None, 2, axis) for x in xs]
        if rest[0].shape[axis] == 0:
            even = [slice_in_dim(x, 0, 1, 1, axis) for x in xs]
        else:
            head = [slice_in_dim(o, 0, -1, 1, axis) for o in odd] if count % 2 == 0 else odd
            even = [concatenate([slice_in_dim(x, 0, 1, 1, axis), e], axis) for x, e in zip(xs, combine(head, rest))]
        return [_interleave(e, o, axis) for e, o in zip(even, odd)]

    out = prefix(flat)
    if reverse:
        out = [rev(x, (axis,)) for x in out]
    return tree_util.tree_unflatten(tree, out)


def _cumulative(name, prim=None, combine=None):
    def fn(operand: ArrayLike, axis: int = 0, reverse: bool = False) -> Array:
        x = asarray(operand)
        axis = canonicalize_axis(name, axis, x.ndim)
        if combine is not None:
            return associative_scan(combine, x, reverse, axis)
        x = rev(x, (axis,)) if reverse else x
        out = reductions.cumulative[prim].bind(x, axis=axis, dtype=x.dtype)
        return rev(out, (axis,)) if reverse else out

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"The running {name[3:]} along `axis` (from the end where `reverse`), as `jax.lax.{name}`."
    return fn


cumsum = _cumulative("cumsum", "sum")
cumprod = _cumulative("cumprod", "prod")
cummax = _cumulative("cummax", combine=lax_max)
cummin = _cumulative("cummin", combine=lax_min)
cumlogsumexp = _cumulative("cumlogsumexp", combine=jnp.logaddexp)


def map(f: Callable, xs: PyTree, *, batch_size: int | None = None) -> PyTree:  # noqa: A001 (lax's name)
    """[f(x) for x in xs] along the leading axis, stacked, as `jax.lax.map`:
    a `scan`, one element per step, or `batch_size` elements per step
    (f vmapped over them; the remainder in one last vmapped call)."""
    if batch_size is None:
        return scan(lambda _, x: ((), f(x)), (), xs)[1]
    leaves = [asarray(x) for x in tree_util.tree_leaves(xs)]
    n = leaves[0].shape[0]
    steps, left = divmod(n, batch_size)
    batched = tree_util.tree_map(lambda x: jnp.reshape(asarray(x)[:steps * batch_size],
                                                       (steps, batch_size) + asarray(x).shape[1:]), xs)
    ys = tree_util.tree_map(lambda y: jnp.reshape(y, (-1,) + y.shape[2:]),
                            scan(lambda _, x: ((), vmap(f)(x)), (), batched)[1]) if steps else None
    if not left:
        return ys
    rest = vmap(f)(tree_util.tree_map(lambda x: asarray(x)[steps * batch_size:], xs))
    return rest if ys is None else tree_util.tree_map(lambda a, b: jnp.concatenate([a, b]), ys, rest)

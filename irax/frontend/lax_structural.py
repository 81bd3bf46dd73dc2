"""`lax`'s contractions, reductions, static slices and shape ops, as thin
layers over irax's primitives (and `irax.numpy` where it already does the
work), with `jax.lax`'s signatures: static dims are Python ints, and
operands must share a dtype (no promotion). Dynamic slices, gathers and
scatters are in lax_indexing.py, scans in lax_scans.py.
"""
from __future__ import annotations

import enum
import operator
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from irax import tree_util
from irax.frontend import dtypes, extended
from irax.frontend import numpy as jnp
from irax.frontend.control_flow import scan
from irax.frontend.lax_elementwise import _operands, add, bitwise_and, bitwise_or, bitwise_xor, convert_element_type
from irax.frontend.lax_elementwise import max as lax_max
from irax.frontend.lax_elementwise import min as lax_min
from irax.frontend.lax_elementwise import mul
from irax.frontend.numpy import shape as shape_ops
from irax.frontend.numpy import ufunc_objects, ufuncs
from irax.frontend.numpy.util import asarray, canonicalize_axis
from irax.frontend.primitives import creation, linalg, reductions
from irax.frontend.primitives import shape as shape_prims
from irax.frontend.primitives.indexing import static_slice
from irax.typing import Array, ArrayLike, DTypeLike, PyTree, Shape


__all__ = ["DotDimensionNumbers", "Precision", "argmax", "argmin", "batch_matmul", "broadcast", "broadcast_in_dim",
           "broadcast_like",
           "broadcast_shapes", "broadcast_to_rank", "broadcasted_iota", "collapse", "concatenate", "dot",
           "dot_general", "dtype", "empty", "expand_dims", "full", "full_like", "index_in_dim", "iota",
           "optimization_barrier", "pad", "reduce", "reduce_and", "reduce_max", "reduce_min", "reduce_or",
           "reduce_prod", "reduce_sum", "reduce_xor", "reshape", "rev", "slice", "slice_in_dim", "split", "squeeze",
           "stack", "tile", "transpose", "unstack"]


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
    `preferred_element_type` is the result dtype: the operands are converted
    to it and accumulated in it (int8 operands into int32), except where
    both have one dtype whose values it does not hold (float into int,
    complex into real, float32 into float16): there the products are summed
    in that dtype and the sum converted, as XLA does."""
    lhs, rhs = asarray(lhs), asarray(rhs)
    operand_dtype = jnp.result_type(lhs, rhs)
    dtype = operand_dtype if preferred_element_type is None else dtypes.canonicalize_dtype(preferred_element_type)
    if not dtypes.issubdtype(operand_dtype, np.floating) and _bit_width(dtype) < _bit_width(operand_dtype):
        raise TypeError("`preferred_element_type` must not be narrower than the original type, got "
                        f"preferred_element_type of {dtype} for result type of {operand_dtype}.")
    converts_after = lhs.dtype == rhs.dtype and (_kind(dtype) < _kind(operand_dtype)
                                                 or _bit_width(dtype) < _bit_width(operand_dtype))
    accumulator = operand_dtype if converts_after else dtype
    lhs, rhs = (convert_element_type(x, accumulator) if x.dtype != accumulator else x for x in (lhs, rhs))
    (lc, rc), (lb, rb) = dimension_numbers
    dims = ((tuple(int(d) for d in lc), tuple(int(d) for d in rc)), (tuple(int(d) for d in lb), tuple(int(d) for d in rb)))
    out = linalg.dot_general.bind(lhs, rhs, dimension_numbers=dims)
    if not converts_after:
        return out
    # (a complex sum into a real dtype keeps its real part, as XLA's conversion does, without lax's warning)
    return convert_element_type(jnp.real(out) if _kind(out.dtype) == _COMPLEX > _kind(dtype) else out, dtype)


# dot_general's dtype kinds, each holding the values of the kinds before it
_KINDS = (np.bool_, np.integer, np.floating, np.complexfloating)
_COMPLEX = _KINDS.index(np.complexfloating)


def _kind(dtype) -> int:
    return next(i for i, kind in enumerate(_KINDS) if dtypes.issubdtype(dtype, kind))


def _bit_width(dtype) -> int:
    """The bits of a dtype's values, as lax counts them (complex64's are float32's)."""
    if dtypes.issubdtype(dtype, np.bool_):
        return 1
    return (jnp.finfo if dtypes.is_inexact(dtype) else jnp.iinfo)(dtype).bits


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
# (jnp's are keyed by the functions its ufunc objects call: ufunc_objects.plain_function)
_MONOIDS = {add: "sum", mul: "prod", lax_max: "max", lax_min: "min", ufuncs.add: "sum", ufuncs.multiply: "prod",
            ufuncs.maximum: "max", ufuncs.minimum: "min", operator.add: "sum", operator.mul: "prod"}
_BOOL_MONOIDS = {bitwise_and: "and", bitwise_or: "or", ufuncs.logical_and: "and", ufuncs.logical_or: "or"}


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
        function = ufunc_objects.plain_function(computation)
        monoid = _MONOIDS.get(function) or (_BOOL_MONOIDS.get(function) if dtypes.is_bool(flat[0].dtype) else None)
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
    x = _elements(operand)
    strides = tuple(strides) if strides is not None else (1,) * x.ndim
    if not len(start_indices) == len(limit_indices) == len(strides) == x.ndim:
        raise TypeError(f"slice start_indices, limit_indices and strides must have length {x.ndim} (operand's rank), "
                        f"got {tuple(start_indices)}, {tuple(limit_indices)}, {strides}.")
    for n, lo, hi, st in zip(x.shape, start_indices, limit_indices, strides):
        if not 0 <= lo <= hi <= n or st < 1:
            raise TypeError(f"slice indices must satisfy 0 <= start <= limit <= shape and stride >= 1, got start "
                            f"{tuple(start_indices)}, limit {tuple(limit_indices)}, strides {strides} for shape {x.shape}.")
    sizes = tuple(-(-(hi - lo) // st) for lo, hi, st in zip(start_indices, limit_indices, strides))
    starts = tuple(int(s) for s in start_indices)
    if extended.is_extended(x):
        return extended.static_slice(x, starts=starts, sizes=sizes, steps=strides)
    return static_slice.bind(x, starts=starts, sizes=sizes, steps=strides, out_dims=tuple(range(x.ndim)))


def slice_in_dim(operand: ArrayLike, start_index: int | None, limit_index: int | None, stride: int = 1,
                 axis: int = 0) -> Array:
    """operand[start:limit:stride] along `axis` (negative indices count from the end), as `jax.lax.slice_in_dim`."""
    x = _elements(operand)
    axis = canonicalize_axis("slice_in_dim", axis, x.ndim)
    n = x.shape[axis]
    lo = 0 if start_index is None else start_index + n if start_index < 0 else start_index
    hi = n if limit_index is None else limit_index + n if limit_index < 0 else limit_index
    starts, limits, strides = [0] * x.ndim, list(x.shape), [1] * x.ndim
    starts[axis], limits[axis], strides[axis] = lo, hi, stride
    return slice(x, starts, limits, strides)


def index_in_dim(operand: ArrayLike, index: int, axis: int = 0, keepdims: bool = True) -> Array:
    """operand[index] along `axis` (a negative index counts from the end), as `jax.lax.index_in_dim`."""
    x = _elements(operand)
    axis = canonicalize_axis("index_in_dim", axis, x.ndim)
    index = index + x.shape[axis] if index < 0 else index
    out = slice_in_dim(x, index, index + 1, 1, axis)
    return out if keepdims else squeeze(out, (axis,))


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
    if physical := extended.unwrap(operands):  # typed keys: join their data along a leading axis
        cls, datas = physical
        return cls._wrap(concatenate(datas, canonicalize_axis("concatenate", dimension, datas[0].ndim - cls._trailing)))
    xs = _operands("concatenate", *operands)
    if len(xs) == 1:
        return xs[0]
    return shape_prims.concatenate.bind(*xs, dimension=canonicalize_axis("concatenate", dimension, xs[0].ndim))


def _elements(x):
    """asarray(x), or x itself when it is an extended array (typed keys),
    whose elements the functions that take it move whole (extended.py)."""
    return x if extended.is_extended(x) else asarray(x)


# broadcast_in_dim's shape rule, as JAX's: (what must hold, JAX's TypeError if not), checked in order
# on the operand's shape x, the target shape s and the dims d.
_BROADCAST_IN_DIM_RULES = (
    (lambda x, s, d: all(n >= 0 for n in s), "broadcast_in_dim shape must have every element be nonnegative, got {s}."),
    (lambda x, s, d: len(d) == len(x), "broadcast_in_dim broadcast_dimensions must have length equal to operand ndim; "
                                       "got broadcast_dimensions {d} for operand ndim {n}."),
    (lambda x, s, d: len(s) >= len(x), "broadcast_in_dim target broadcast shape must have equal or higher rank to the "
                                       "operand shape; got operand ndim {n} and target broadcast ndim {r}."),
    (lambda x, s, d: set(d) <= set(range(len(s))), "broadcast_in_dim broadcast_dimensions must be a subset of output "
                                                   "dimensions, got {d} for operand ndim {n} and shape {s}."),
    (lambda x, s, d: all(x[i] in (1, s[k]) for i, k in enumerate(d)),
     "broadcast_in_dim operand dimension sizes must either be 1, or be equal to their corresponding dimensions in the "
     "target broadcast shape; got operand of shape {x}, target broadcast shape {s}, broadcast_dimensions {d} "),
    (lambda x, s, d: len(set(d)) == len(d), "broadcast_in_dim broadcast_dimensions must not contain duplicates, got "
                                            "broadcast_dimensions {d}"),
)


def broadcast_in_dim(operand: ArrayLike, shape: Shape, broadcast_dimensions: Sequence[int]) -> Array:
    """operand broadcast to `shape`, its dim i becoming dim broadcast_dimensions[i], as `jax.lax.broadcast_in_dim`
    (the dims in any order, as JAX's: the operand is transposed to put them in increasing order)."""
    x = _elements(operand)
    shape, dims = tuple(int(n) for n in shape), tuple(int(d) for d in broadcast_dimensions)
    for holds, message in _BROADCAST_IN_DIM_RULES:
        if not holds(x.shape, shape, dims):
            raise TypeError(message.format(x=x.shape, s=shape, d=dims, n=x.ndim, r=len(shape)))
    if len(set(dims)) == len(dims) == x.ndim and list(dims) != sorted(dims):
        order = sorted(range(x.ndim), key=dims.__getitem__)
        x, dims = transpose(x, order), tuple(dims[i] for i in order)
    return x if x.shape == shape else shape_ops._broadcast_in_dim(x, shape, dims)


def broadcast_like(arr: ArrayLike, like_arr: ArrayLike) -> Array:
    """arr broadcast (NumPy's way) to the shape of like_arr, as `jax.lax.broadcast_like`."""
    return shape_ops.broadcast_to(arr, np.shape(like_arr))


def broadcast(operand: ArrayLike, sizes: Sequence[int]) -> Array:
    """operand with new leading dims of `sizes`, as `jax.lax.broadcast`."""
    x = _elements(operand)
    return broadcast_in_dim(x, tuple(sizes) + x.shape, tuple(range(len(sizes), len(sizes) + x.ndim)))


def broadcast_to_rank(x: ArrayLike, rank: int) -> Array:
    """x with leading unit dims up to `rank`, as `jax.lax.broadcast_to_rank`."""
    x = asarray(x)
    return broadcast(x, (1,) * (rank - x.ndim))


def reshape(operand: ArrayLike, new_sizes: Shape, dimensions: Sequence[int] | None = None) -> Array:
    """operand's elements, in row-major order of its dims permuted by
    `dimensions`, in the shape `new_sizes`, as `jax.lax.reshape`."""
    x = _elements(operand)
    if dimensions is not None and tuple(dimensions) != tuple(range(x.ndim)):
        x = transpose(x, dimensions)
    new_sizes = tuple(int(n) for n in new_sizes)
    if int(np.prod(new_sizes)) != x.size:
        raise ValueError(f"reshape total size must be unchanged, got new_sizes {new_sizes} for shape {x.shape}.")
    return x if new_sizes == x.shape else jnp.reshape(x, new_sizes)


def squeeze(array: ArrayLike, dimensions: Sequence[int]) -> Array:
    """array without the unit dims `dimensions`, as `jax.lax.squeeze`."""
    x = _elements(array)
    dims = {canonicalize_axis("squeeze", d, x.ndim) for d in dimensions}
    if any(x.shape[d] != 1 for d in dims):
        raise ValueError(f"cannot select an axis to squeeze out which has size not equal to one, got "
                         f"shape={x.shape} and dimensions={tuple(dimensions)}")
    return reshape(x, tuple(n for d, n in enumerate(x.shape) if d not in dims))


def expand_dims(array: ArrayLike, dimensions: Sequence[int]) -> Array:
    """array with unit dims inserted at `dimensions` (of the result), as `jax.lax.expand_dims`."""
    x = _elements(array)
    rank = x.ndim + len(dimensions)
    dims = {canonicalize_axis("expand_dims", d, rank) for d in dimensions}
    sizes = iter(x.shape)
    return reshape(x, tuple(1 if d in dims else next(sizes) for d in range(rank)))


def rev(operand: ArrayLike, dimensions: Sequence[int]) -> Array:
    """operand reversed along `dimensions`, as `jax.lax.rev`."""
    x = _elements(operand)
    return jnp.flip(x, tuple(sorted({canonicalize_axis("rev", d, x.ndim) for d in dimensions})))


def transpose(operand: ArrayLike, permutation: Sequence[int]) -> Array:
    """operand's dims permuted: dim i of the result is dim permutation[i], as `jax.lax.transpose`."""
    x = _elements(operand)
    permutation = tuple(int(p) for p in permutation)
    if sorted(permutation) != list(range(x.ndim)):
        raise TypeError(f"transpose permutation isn't a permutation of operand dimensions, got permutation "
                         f"{permutation} for operand shape {x.shape}.")
    return jnp.transpose(x, permutation)


def collapse(operand: ArrayLike, start_dimension: int, stop_dimension: int | None = None) -> Array:
    """operand with dims [start, stop) merged into one, as `jax.lax.collapse`."""
    x = _elements(operand)
    stop = x.ndim if stop_dimension is None else stop_dimension + x.ndim if stop_dimension < 0 else stop_dimension
    start = start_dimension + x.ndim if start_dimension < 0 else start_dimension
    return reshape(x, x.shape[:start] + (int(np.prod(x.shape[start:stop])),) + x.shape[stop:])


def split(operand: ArrayLike, sizes: Sequence[int], axis: int = 0) -> Sequence[Array]:
    """operand cut along `axis` into pieces of `sizes`, as `jax.lax.split`."""
    x = _elements(operand)
    axis = canonicalize_axis("split", axis, x.ndim)
    sizes = tuple(int(s) for s in sizes)
    if sum(sizes) != x.shape[axis]:
        raise ValueError(f"Sum of sizes {sum(sizes)} must be equal to dimension {axis} of the operand shape {list(x.shape)}")
    if extended.is_extended(x):
        return extended.split(x, sizes, axis)
    return list(shape_prims.split.bind(x, sizes=sizes, axis=axis))


def stack(operands: Sequence[ArrayLike], axis: int = 0) -> Array:
    """The operands (one dtype and shape) stacked along a new `axis`, as `jax.lax.stack`."""
    xs = _operands("stack", *operands)
    axis = canonicalize_axis("stack", axis, xs[0].ndim + 1)
    return concatenate([expand_dims(x, (axis,)) for x in xs], axis)


def unstack(x: ArrayLike, axis: int = 0) -> tuple[Array, ...]:
    """x cut into its slices along `axis`, as `jax.lax.unstack`."""
    x = _elements(x)
    axis = canonicalize_axis("unstack", axis, x.ndim)
    return tuple(index_in_dim(x, i, axis, keepdims=False) for i in range(x.shape[axis]))


def tile(operand: ArrayLike, reps: Sequence[int]) -> Array:
    """operand repeated `reps[i]` times along dim i, as `jax.lax.tile`."""
    x = _elements(operand)
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
    return tree_util.tree_map_data(asarray, operand)  # (a key array: its data, rebuilt)

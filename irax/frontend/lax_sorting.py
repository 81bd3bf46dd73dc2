"""`irax.lax`'s sorting: `sort`, `sort_key_val` and `top_k`, as in JAX
(the order they sort in: primitives/sorting.py)."""
from __future__ import annotations

from collections.abc import Sequence

from irax.frontend.numpy.util import asarray, canonicalize_axis
from irax.frontend.primitives import sorting as prims
from irax.typing import Array, ArrayLike


def sort(operand: Array | Sequence[Array], dimension: int = -1, is_stable: bool = True,
         num_keys: int = 1) -> Array | tuple[Array, ...]:
    """`operand` sorted along `dimension`; a sequence of operands is permuted
    alike, ordered lexicographically by the first `num_keys` of them. NaNs
    sort to the end, -0.0 and 0.0 are equal; the sort is always stable."""
    if isinstance(operand, Sequence):
        if len(operand) == 0:
            raise TypeError("Sort requires at least one operand")
        if not 1 <= num_keys <= len(operand):
            raise ValueError(f"num_keys={num_keys} must be between 1 and len(operand)={len(operand)}")
        operands = [asarray(x) for x in operand]
        dimension = canonicalize_axis("sort", dimension, operands[0].ndim)
        return tuple(prims.sort.bind(*operands, dimension=dimension, is_stable=bool(is_stable), num_keys=num_keys))
    if num_keys != 1:
        raise ValueError(f"num_keys={num_keys} must equal 1 for a single operand.")
    x = asarray(operand)
    dimension = canonicalize_axis("sort", dimension, x.ndim)
    return prims.sort.bind(x, dimension=dimension, is_stable=bool(is_stable), num_keys=1)[0]


def sort_key_val(keys: ArrayLike, values: ArrayLike, dimension: int = -1,
                 is_stable: bool = True) -> tuple[Array, Array]:
    """`keys` sorted along `dimension`, and `values` permuted the same way."""
    keys, values = asarray(keys), asarray(values)
    dimension = canonicalize_axis("sort_key_val", dimension, keys.ndim)
    k, v = prims.sort.bind(keys, values, dimension=dimension, is_stable=bool(is_stable), num_keys=1)
    return k, v


def top_k(operand: ArrayLike, k: int, *, axis: int = -1) -> list[Array]:
    """`[values, indices]`: the `k` largest entries along `axis` (largest
    first; equal ones in index order, NaN largest) and their int32 indices
    (a list, as JAX returns)."""
    x = asarray(operand)
    if not -x.ndim <= axis < x.ndim:  # a 0-d operand too, as JAX's canonicalize_axis says
        raise ValueError(f"axis {axis} is out of bounds for array of dimension {x.ndim}")
    axis %= x.ndim
    if axis == x.ndim - 1:
        return list(prims.top_k.bind(x, k=int(k)))
    last = x.ndim - 1
    values, indices = prims.top_k.bind(x.swapaxes(axis, last), k=int(k))
    return [values.swapaxes(axis, last), indices.swapaxes(axis, last)]

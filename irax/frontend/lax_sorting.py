"""`irax.lax`'s sorting: `sort`, `sort_key_val` and `top_k`, as in JAX
(the order they sort in: primitives/sorting.py).

`top_k` is the first k of a sort (a bitonic network over the whole row,
~n log² n / 4 compares), which is all a GPU's threads can share well. On
the CPU, a small k of a row takes its native kernel instead
(backends/cpu_kernels_select.py), one pass keeping the k largest so far: 1e6
float32, k = 10, 160-200 ms -> 0.16 ms (JAX 1.1-1.5). Eagerly that kernel is a
program compiled for the row's shape, as JAX's top_k is, where the network
is one kernel for every shape: only rows long enough that the network takes
milliseconds take it eagerly.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from irax.config import config
from irax.frontend import core
from irax.frontend.kernels import kernel_call
from irax.frontend.numpy.util import asarray, canonicalize_axis
from irax.frontend.primitives import sorting as prims
from irax.plugins.registry import get_default_device
from irax.typing import Array, ArrayLike

SELECT_MAX_K = 128  # the largest k the CPU's kernel selects: an ascending row moves k elements each
EAGER_SELECT_ROW = 16384  # the shortest row an eager top_k selects natively (the network: ~2 ms)
# The dtypes the kernel selects in: whether each is unsigned (its key flips the top bit)
_SELECTED = {np.dtype(t): t.startswith("u") for t in ("float32", "float64", "int32", "int64", "uint32", "uint64")}


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
        return _top_k_last(x, int(k))
    last = x.ndim - 1
    values, indices = _top_k_last(x.swapaxes(axis, last), int(k))
    return [values.swapaxes(axis, last), indices.swapaxes(axis, last)]


def _top_k_last(x: Array, k: int) -> list[Array]:
    """top_k along the last axis: the CPU's kernel where it applies (the
    module docstring), else the network."""
    n = x.shape[-1] if x.ndim else 0
    if (x.dtype in _SELECTED and 0 < k <= min(n, SELECT_MAX_K)
            and (core.current_trace() is not None or n >= EAGER_SELECT_ROW)
            and get_default_device().platform == "cpu" and config.irax_cpu_kernels):
        return list(kernel_call("top_k", _network_top_k, x, k=k, unsigned=_SELECTED[x.dtype]))
    return list(prims.top_k.bind(x, k=k))


def _network_top_k(x: Array, k: int, unsigned: bool) -> list[Array]:
    """The portable code of the "top_k" kernel: the network's (`unsigned`
    tells the native kernel how to order the integers x's type leaves
    unsigned)."""
    return list(prims.top_k.bind(x, k=k))

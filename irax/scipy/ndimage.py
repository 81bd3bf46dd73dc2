"""`irax.scipy.ndimage`, as `jax.scipy.ndimage`: `map_coordinates`, the input
sampled at fractional coordinates by nearest-neighbour (order 0) or
multilinear (order 1) interpolation.

Each coordinate axis contributes one (order 0) or two (order 1) neighbouring
indices with their weights; the result sums input[indices] * product of the
weights over every combination of them (2^ndim corners for order 1). Indices
outside the input are mapped back in by the boundary mode; 'constant' instead
gives such a corner the value cval. The weights are differentiable in the
coordinates, the gathers in the input.
"""
from __future__ import annotations

import functools
import itertools
import operator
from collections.abc import Callable, Sequence

import numpy as np

import irax.numpy as jnp
from irax import lax
from irax.frontend.numpy.util import asarray
from irax.typing import Array, ArrayLike


def _mirror(index: Array, size: int) -> Array:
    """'mirror' (d c b | a b c d | c b a): a triangular wave of period 2 (size - 1)."""
    s = size - 1
    return jnp.abs((index + s) % (2 * s) - s)  # size 1: x % 0 is 0 (as JAX), so index 0


def _reflect(index: Array, size: int) -> Array:
    """'reflect' (d c b a | a b c d | d c b a): the mirror of the half-integer
    grid 2 index + 1 on 2 size + 1 points, halved."""
    return jnp.floor_divide(_mirror(2 * index + 1, 2 * size + 1) - 1, 2)


# mode -> where an index outside [0, size) reads from
_INDEX_FIXERS: dict[str, Callable[[Array, int], Array]] = {
    "constant": lambda index, size: index,  # read nowhere: the corner is cval (see _is_valid)
    "nearest": lambda index, size: jnp.clip(index, 0, size - 1),
    "wrap": lambda index, size: index % size,
    "mirror": _mirror,
    "reflect": _reflect,
}


def _round_half_away_from_zero(a: Array) -> Array:
    return a if jnp.issubdtype(a.dtype, jnp.integer) else lax.round(a)


def _nearest(coordinate: Array) -> list[tuple[Array, ArrayLike]]:
    """Order 0: the nearest index, weight 1 (in the coordinates' dtype, as
    JAX: an integer input's result is computed in it, then rounded back)."""
    index = _round_half_away_from_zero(coordinate).astype(np.int32)
    return [(index, np.ones((), coordinate.dtype))]


def _linear(coordinate: Array) -> list[tuple[Array, ArrayLike]]:
    """Order 1: the indices below and above, weighted by the distance to the other."""
    lower = jnp.floor(coordinate)
    upper_weight = coordinate - lower
    index = lower.astype(np.int32)
    return [(index, 1 - upper_weight), (index + 1, upper_weight)]


_INTERPOLATIONS = {0: _nearest, 1: _linear}


def _map_coordinates(input: Array, coordinates: Sequence[Array], order: int, mode: str, cval: Array) -> Array:
    fix_index = _INDEX_FIXERS[mode]
    per_axis = []
    for coordinate, size in zip(coordinates, input.shape):
        per_axis.append([(fix_index(index, size), (index >= 0) & (index < size) if mode == "constant" else None,
                          weight) for index, weight in _INTERPOLATIONS[order](coordinate)])
    total = None
    for corner in itertools.product(*per_axis):
        indices, valid, weights = zip(*corner)
        value = input[indices]
        if mode == "constant":
            value = jnp.where(functools.reduce(operator.and_, valid), value, cval)
        value = value * functools.reduce(operator.mul, weights)
        total = value if total is None else total + value
    if jnp.issubdtype(input.dtype, jnp.integer):
        total = _round_half_away_from_zero(total)  # back to the nearest integer
    return total.astype(input.dtype)


def map_coordinates(input: ArrayLike, coordinates: Sequence[ArrayLike], order: int, mode: str = "constant",
                    cval: ArrayLike = 0.0) -> Array:
    """input sampled at `coordinates` (one array per input axis, all of the
    output's shape), interpolated to `order` 0 or 1; points outside are
    found by `mode` ('constant' with cval, 'nearest', 'wrap', 'mirror',
    'reflect')."""
    input_arr = asarray(input)
    coordinate_arrs = [asarray(c) for c in coordinates]
    cval = asarray(cval, input_arr.dtype)
    if len(coordinate_arrs) != input_arr.ndim:
        raise ValueError("coordinates must be a sequence of length input.ndim, but "
                         f"{len(coordinate_arrs)} != {input_arr.ndim}")
    if mode not in _INDEX_FIXERS:
        raise NotImplementedError(f"jax.scipy.ndimage.map_coordinates does not yet support mode {mode}. "
                                  f"Currently supported modes are {set(_INDEX_FIXERS)}.")
    if order not in _INTERPOLATIONS:
        raise NotImplementedError("jax.scipy.ndimage.map_coordinates currently requires order<=1")
    return _map_coordinates(input_arr, coordinate_arrs, order, mode, cval)


__all__ = ["map_coordinates"]

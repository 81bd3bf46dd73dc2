"""`irax.scipy.interpolate`, as `jax.scipy.interpolate`: `RegularGridInterpolator`,
linear or nearest-neighbour interpolation on a rectilinear grid.

For each query point and grid axis, searchsorted finds the cell [g[i], g[i+1]]
holding the coordinate (the first or last cell beyond the grid: linear
extrapolation) and t = (x - g[i]) / (g[i+1] - g[i]) its place in it. 'linear'
sums the cell's 2^ndim corner values weighted by products of t and 1 - t;
'nearest' takes the corner with every t rounded (t <= 0.5 is the lower).
Points outside the grid get `fill_value` unless it is None. An interpolator
is a pytree (grid, values, fill_value), so it passes through jit and vmap.
"""
from __future__ import annotations

import itertools
from typing import Any

import numpy as np

import irax.numpy as jnp
from irax.frontend.dtypes import default_float_dtype
from irax.frontend.numpy.util import asarray, check_arraylike, promote_args_inexact
from irax.tree_util import register_pytree_node
from irax.typing import Array, ArrayLike

_METHODS = ("linear", "nearest")


def _check_method(method: str) -> None:
    if method not in _METHODS:
        raise ValueError(f"method {method!r} is not defined")


def _points_array(points, ndim: int) -> Array:
    """The query points as one (..., ndim) array: a tuple of coordinate arrays
    (broadcast together, stacked last) or an array whose last axis is ndim (a
    1-d array is a list of points)."""
    if isinstance(points, tuple) and len(points) == 1:
        points = points[0]
    if isinstance(points, tuple):
        parts = jnp.broadcast_arrays(*[asarray(p) for p in points])
        return jnp.stack([p.astype(default_float_dtype()) for p in parts], axis=-1)
    check_arraylike("_ndim_coords_from_arrays", points)
    points = asarray(points)
    return points.reshape(-1, ndim) if points.ndim == 1 else points


class RegularGridInterpolator:
    """Interpolation of `values` (the grid's shape, possibly with trailing
    value axes) on the grid `points` (one increasing 1-d array per axis), by
    `method` 'linear' or 'nearest'; query points outside get `fill_value`
    (NaN by default; None extrapolates). bounds_error=True is not supported
    (it cannot be checked under jit)."""

    def __init__(self, points: Any, values: ArrayLike, method: str = "linear", bounds_error: bool = False,
                 fill_value: ArrayLike | None = np.nan) -> None:
        _check_method(method)
        self.method = method
        self.bounds_error = bounds_error
        if bounds_error:
            raise NotImplementedError("`bounds_error` takes no effect under JIT")
        check_arraylike("RegularGridInterpolator", values)
        values = asarray(values)
        if len(points) > values.ndim:
            raise ValueError(f"there are {len(points)} point arrays, but values has {values.ndim} dimensions")
        (values,) = promote_args_inexact("RegularGridInterpolator", values)
        if fill_value is not None:
            check_arraylike("RegularGridInterpolator", fill_value)
            fill_value = asarray(fill_value)
            if not np.can_cast(fill_value.dtype, values.dtype, casting="same_kind"):
                raise ValueError("fill_value must be either 'None' or of a type compatible with values")
        self.fill_value = fill_value
        check_arraylike("RegularGridInterpolator", *points)
        self.grid = tuple(asarray(p) for p in points)
        self.values = values

    def __call__(self, xi: Any, method: str | None = None) -> Array:
        """The interpolant at the points xi ((..., ndim), or a tuple of ndim
        coordinate arrays): shape xi.shape[:-1] + values' trailing axes."""
        method = self.method if method is None else method
        _check_method(method)
        ndim = len(self.grid)
        xi = _points_array(xi, ndim)
        if xi.shape[-1] != ndim:
            raise ValueError(f"the requested sample points xi have dimension {xi.shape[-1]}, "
                             f"but this RegularGridInterpolator has dimension {ndim}")
        xi_shape = xi.shape
        xi = xi.reshape(-1, ndim)
        cells, fractions, outside = self._find_cells(xi)
        if method == "linear":
            result = self._linear(cells, fractions)
        else:
            result = self.values[tuple(jnp.where(t <= 0.5, i, i + 1) for i, t in zip(cells, fractions))]
        if self.fill_value is not None:
            outside = outside.reshape(outside.shape + (1,) * (result.ndim - 1))
            result = jnp.where(outside, self.fill_value, result)
        return result.reshape(xi_shape[:-1] + self.values.shape[ndim:])

    def _find_cells(self, xi: Array) -> tuple[list[Array], list[Array], Array]:
        """Per axis, each point's cell index and place t in it; and whether the
        point lies outside the grid."""
        cells, fractions = [], []
        outside = jnp.zeros((xi.shape[0],), dtype=bool)
        for x, g in zip(xi.T, self.grid):
            i = jnp.clip(jnp.searchsorted(g, x) - 1, 0, g.size - 2)
            cells.append(i)
            fractions.append((x - g[i]) / (g[i + 1] - g[i]))
            outside = outside | (x < g[0]) | (x > g[-1])
        return cells, fractions, outside

    def _linear(self, cells: list[Array], fractions: list[Array]) -> Array:
        trailing = (slice(None),) + (None,) * (self.values.ndim - len(cells))  # weights over value axes
        total = None
        for upper in itertools.product((False, True), repeat=len(cells)):
            weight = None
            for up, t in zip(upper, fractions):
                w = t if up else 1 - t
                weight = w if weight is None else weight * w
            corner = tuple(i + 1 if up else i for up, i in zip(upper, cells))
            term = self.values[corner] * weight[trailing]
            total = term if total is None else total + term
        return total

    @classmethod
    def _unflatten(cls, aux, children) -> RegularGridInterpolator:
        # no checks: under jit and vmap the leaves are tracers, or placeholders
        obj = object.__new__(cls)
        obj.grid, obj.values, obj.fill_value = children
        obj.method, obj.bounds_error = aux
        return obj


register_pytree_node(
    RegularGridInterpolator,
    lambda obj: ((obj.grid, obj.values, obj.fill_value), (obj.method, obj.bounds_error)),
    RegularGridInterpolator._unflatten,
)

__all__ = ["RegularGridInterpolator"]

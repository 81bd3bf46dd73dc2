"""`rankdata`, as `jax.scipy.stats.rankdata`, by pairwise comparison.

Along each 1-D slice x (length n), with less_i = #{j : x_j < x_i},
leq_i = #{j : x_j <= x_i}:
  min rank = less_i + 1,  max rank = leq_i,  average = (min + max) / 2,
  dense rank = #{distinct values < x_i} + 1,
  ordinal rank = 1 + less_i + #{j < i : x_j == x_i}  (ties in order of appearance).
The n x n comparison needs no sort or scatter and vectorises over the other
axes; it costs O(n^2) memory per slice, fine at the sizes stats are ranked at.
A slice holding a NaN ranks to all-NaN (nan_policy="propagate", as JAX)."""
from __future__ import annotations

import irax.numpy as jnp
from irax.frontend.dtypes import default_float_dtype
from irax.frontend.numpy.util import canonicalize_axis
from irax.scipy.stats._core import _check_nan_policy
from irax.typing import Array, ArrayLike

_METHODS = ("average", "min", "max", "dense", "ordinal")


def _ranks_last_axis(x: Array, method: str) -> Array:
    """Ranks along the last axis of x (see the module docstring)."""
    xi, xj = x[..., :, None], x[..., None, :]
    less = jnp.sum(xj < xi, axis=-1)
    equal = xj == xi
    n = x.shape[-1]
    before = jnp.arange(n)[None, :] < jnp.arange(n)[:, None]  # [i, j]: j < i
    if method == "ordinal":
        return less + 1 + jnp.sum(equal & before, axis=-1)
    if method == "dense":
        first = ~jnp.any(equal & before, axis=-1)  # x_j is its value's first occurrence
        return jnp.sum((xj < xi) & first[..., None, :], axis=-1) + 1
    leq = less + jnp.sum(equal, axis=-1)
    return {"min": lambda: less + 1, "max": lambda: leq, "average": lambda: (less + 1 + leq) / 2}[method]()


def rankdata(a: ArrayLike, method: str = "average", *, axis: int | None = None,
             nan_policy: str = "propagate") -> Array:
    """Ranks 1..n of the data along `axis` (flattened when None), ties by `method`."""
    _check_nan_policy("rankdata", nan_policy)
    if method not in _METHODS:
        raise ValueError(f"unknown method '{method}'")
    x = jnp.asarray(a)
    if axis is None:
        x, axis = jnp.ravel(x), 0
    axis = canonicalize_axis("rankdata", axis, x.ndim)
    x = jnp.moveaxis(x, axis, -1)
    out_dtype = default_float_dtype()
    ranks = _ranks_last_axis(x, method).astype(out_dtype)
    ranks = jnp.where(jnp.any(jnp.isnan(x), axis=-1, keepdims=True), jnp.nan, ranks).astype(out_dtype)
    return jnp.moveaxis(ranks, -1, axis)

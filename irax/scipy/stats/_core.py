"""Module-level functions of `jax.scipy.stats` that are not distributions, and
the constants helper the distributions share."""
from __future__ import annotations

from typing import NamedTuple

import irax.numpy as jnp
from irax.frontend import dtypes
from irax.frontend.dtypes import default_float_dtype
from irax.frontend.numpy.util import canonicalize_axis, convert, promote_args_inexact
from irax.typing import Array, ArrayLike


def lax_const(example: Array, value) -> Array:
    """`value` as JAX's distributions write their constants (lax._const): of
    `example`'s dtype, weakly typed only where `example` is a weakly typed
    scalar, so an array argument makes the result strongly typed."""
    return convert(value, example.dtype, dtypes.is_weakly_typed(example) and example.ndim == 0)


def _check_nan_policy(name: str, nan_policy: str) -> None:
    """JAX's errors: only "propagate" is implemented."""
    if nan_policy not in ("propagate", "omit", "raise"):
        raise ValueError(f"Illegal nan_policy value {nan_policy!r}; expected one of "
                         "{'propagate', 'omit', 'raise'}")
    if nan_policy == "omit":
        raise NotImplementedError(f"Logic for `nan_policy` of {nan_policy} is not implemented")
    if nan_policy == "raise":
        raise NotImplementedError(f"In order to best JIT compile `{name}`, we cannot know whether `x` contains nans. "
                                  f"Please check if nans exist in `x` outside of the `{name}` function.")


def sem(a: ArrayLike, axis: int | None = 0, ddof: int = 1, nan_policy: str = "propagate", *,
        keepdims: bool = False) -> Array:
    """Standard error of the mean: std(a, ddof) / sqrt(n), n the count along `axis`
    (all elements when `axis` is None; the non-NaN ones when nan_policy="omit")."""
    b, = promote_args_inexact("sem", a)
    if nan_policy == "propagate":
        size = b.size if axis is None else b.shape[axis]
        return jnp.std(b, axis, ddof=ddof, keepdims=keepdims) / jnp.sqrt(size).astype(b.dtype)
    if nan_policy == "omit":
        count = jnp.sum(~jnp.isnan(b), axis, keepdims=keepdims)
        return jnp.nanstd(b, axis, ddof=ddof, keepdims=keepdims) / jnp.sqrt(count).astype(b.dtype)
    raise ValueError(f"{nan_policy} is not supported")


class ModeResult(NamedTuple):
    mode: Array
    count: Array


def mode(a: ArrayLike, axis: int | None = 0, nan_policy: str = "propagate", keepdims: bool = False) -> ModeResult:
    """The most common value along `axis` (flattened when None) and its count; ties go
    to the smallest value, NaNs count as one value that sorts last (as jnp.unique).

    count_i = #{j : x_j == x_i} by pairwise comparison (O(n^2) per slice); the mode is
    the first element of the sorted slice whose count is the maximum."""
    _check_nan_policy("mode", nan_policy)
    x = jnp.atleast_1d(a)
    kept_shape = (1,) * x.ndim if axis is None else None
    if axis is None:
        x, axis = jnp.ravel(x), 0
    axis = canonicalize_axis("mode", axis, x.ndim)
    x = jnp.moveaxis(x, axis, -1)
    if x.shape[-1] == 0:
        nan = jnp.full(x.shape[:-1], jnp.nan, default_float_dtype())
        vals, counts = nan, jnp.zeros_like(nan)
    else:
        xi, xj = x[..., :, None], x[..., None, :]
        same = (xj == xi) | (jnp.isnan(xi) & jnp.isnan(xj)) if jnp.issubdtype(x.dtype, jnp.inexact) else xj == xi
        count = jnp.sum(same, axis=-1, dtype=jnp.int32)
        order = jnp.argsort(x, axis=-1)
        first = jnp.argmax(jnp.take_along_axis(count, order, axis=-1) == jnp.max(count, axis=-1, keepdims=True),
                           axis=-1, keepdims=True)
        vals = jnp.take_along_axis(jnp.take_along_axis(x, order, axis=-1), first, axis=-1)[..., 0]
        counts = jnp.max(count, axis=-1)
    if keepdims:
        vals, counts = ((v.reshape(kept_shape) if kept_shape else jnp.expand_dims(v, axis)) for v in (vals, counts))
    return ModeResult(vals, counts)

"""The exponential distribution, as `jax.scipy.stats.expon`."""
from __future__ import annotations

import numpy as np

import irax.numpy as jnp
from irax.frontend.numpy.util import promote_args_inexact
from irax.typing import Array, ArrayLike


def logpdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """-((x - loc) / scale + log(scale)) from loc on, -inf below."""
    x, loc, scale = promote_args_inexact("expon.logpdf", x, loc, scale)
    return jnp.where(x < loc, -np.inf, -((x - loc) / scale + jnp.log(scale)))


def pdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    return jnp.exp(logpdf(x, loc, scale))


def cdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """-expm1(-(x - loc) / scale) from loc on, 0 below."""
    x, loc, scale = promote_args_inexact("expon.cdf", x, loc, scale)
    neg_scaled = (loc - x) / scale
    return jnp.where(x < loc, jnp.zeros_like(neg_scaled), -jnp.expm1(neg_scaled))


def logsf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """-(x - loc) / scale from loc on, 0 below."""
    x, loc, scale = promote_args_inexact("expon.sf", x, loc, scale)
    neg_scaled = (loc - x) / scale
    return jnp.where(x < loc, jnp.zeros_like(neg_scaled), neg_scaled)


def sf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    return jnp.exp(logsf(x, loc, scale))


def logcdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    return jnp.log1p(-sf(x, loc, scale))


def ppf(q: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """loc - scale log1p(-q) for q in [0, 1], NaN elsewhere."""
    q, loc, scale = promote_args_inexact("expon.ppf", q, loc, scale)
    return jnp.where(jnp.isnan(q) | (q < 0) | (q > 1), np.nan, loc - scale * jnp.log1p(-q))

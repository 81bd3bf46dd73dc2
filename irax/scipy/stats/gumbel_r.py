"""The right-skewed Gumbel distribution (of maxima), as `jax.scipy.stats.gumbel_r`;
everything is NaN unless scale > 0."""
from __future__ import annotations

import math

import numpy as np

import irax.numpy as jnp
from irax.frontend.numpy.util import promote_args_inexact
from irax.scipy.special import xlogy
from irax.typing import Array, ArrayLike


def logpdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """-(z + exp(-z)) - log scale, z = (x - loc) / scale."""
    x, loc, scale = promote_args_inexact("gumbel_r.logpdf", x, loc, scale)
    z = (x - loc) / scale
    return jnp.where(scale > 0, xlogy(-1, scale) - (z + jnp.exp(-z)), np.nan)


def pdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    return jnp.exp(logpdf(x, loc, scale))


def logcdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """-exp(-z)."""
    x, loc, scale = promote_args_inexact("gumbel_r.logcdf", x, loc, scale)
    return jnp.where(scale > 0, -jnp.exp(-(x - loc) / scale), np.nan)


def cdf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    return jnp.exp(logcdf(x, loc, scale))


def sf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """1 - exp(-exp(-z))."""
    x, loc, scale = promote_args_inexact("gumbel_r.sf", x, loc, scale)
    return jnp.where(scale > 0, 1 - jnp.exp(-jnp.exp((loc - x) / scale)), np.nan)


def logsf(x: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """log(1 - exp(-exp(-z))), by log1mexp: exact far into the upper tail."""
    x, loc, scale = promote_args_inexact("gumbel_r.logsf", x, loc, scale)
    e = jnp.exp((loc - x) / scale)
    # log(1 - exp(-e)) as irax.nn.log1mexp computes it (which this module cannot import: irax.nn
    # imports irax.random, which imports irax.scipy): expm1 below log 2, log1p above
    log_sf = jnp.where(e < math.log(2.0), jnp.log(-jnp.expm1(-e)), jnp.log1p(-jnp.exp(-e)))
    return jnp.where(scale > 0, log_sf, np.nan)


def ppf(p: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """loc - scale log(-log p) for p in (0, 1), NaN elsewhere."""
    p, loc, scale = promote_args_inexact("gumbel_r.ppf", p, loc, scale)
    return jnp.where((p > 0) & (p < 1), loc - scale * jnp.log(xlogy(-1, p)), np.nan)

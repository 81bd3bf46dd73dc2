"""The chi-squared distribution, as `jax.scipy.stats.chi2`."""
from __future__ import annotations

import math

import numpy as np

import irax.numpy as jnp
from irax import lax
from irax.frontend.numpy.util import promote_args_inexact
from irax.scipy.special import gammainc, gammaincc
from irax.scipy.stats._core import lax_const
from irax.typing import Array, ArrayLike


def logpdf(x: ArrayLike, df: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """(df/2 - 1) log y - y/2 - lgamma(df/2) - df log(2) / 2 - log scale, y = (x - loc) / scale;
    -inf below loc."""
    x, df, loc, scale = promote_args_inexact("chi2.logpdf", x, df, loc, scale)
    y = (x - loc) / scale
    half_df = df / lax_const(x, 2)  # as JAX: an array x makes the result strongly typed
    kernel = (half_df - 1) * jnp.log(y) - y / 2
    normalize = -(lax.lgamma(half_df) + math.log(2.0) * df / 2)
    return jnp.where(x < loc, -np.inf, normalize - jnp.log(scale) + kernel)


def pdf(x: ArrayLike, df: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    return jnp.exp(logpdf(x, df, loc, scale))


def _half_y(name, x, df, loc, scale):
    """The promoted df and (x - loc) / (2 scale) clamped to [0, inf]: the gamma(df/2)'s
    argument. lax.clamp, as JAX's: its derivative is zero below loc, where jnp.clip's
    times gammainc's infinite slope at 0 (df < 2) would be NaN."""
    x, df, loc, scale = promote_args_inexact(name, x, df, loc, scale)
    return df / 2, lax.clamp(lax_const(x, 0), (x - loc) / (scale * 2), lax_const(x, np.inf))


def cdf(x: ArrayLike, df: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """P(df/2, y/2)."""
    return gammainc(*_half_y("chi2.cdf", x, df, loc, scale))


def logcdf(x: ArrayLike, df: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    return jnp.log(cdf(x, df, loc, scale))


def sf(x: ArrayLike, df: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """Q(df/2, y/2)."""
    return gammaincc(*_half_y("chi2.sf", x, df, loc, scale))


def logsf(x: ArrayLike, df: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    return jnp.log(sf(x, df, loc, scale))

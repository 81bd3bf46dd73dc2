"""The beta distribution, as `jax.scipy.stats.beta`."""
from __future__ import annotations

import numpy as np

import irax.numpy as jnp
from irax import lax
from irax.frontend.numpy.util import promote_args_inexact
from irax.scipy.special import betainc, betaln, xlog1py, xlogy
from irax.scipy.stats._core import lax_const
from irax.typing import Array, ArrayLike


def logpdf(x: ArrayLike, a: ArrayLike, b: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """(a-1) log y + (b-1) log(1-y) - log B(a, b) - log scale, y = (x - loc) / scale;
    -inf outside [loc, loc + scale], NaN unless a, b, scale > 0."""
    x, a, b, loc, scale = promote_args_inexact("beta.logpdf", x, a, b, loc, scale)
    y = (x - loc) / scale
    one = lax_const(x, 1)  # as JAX: an array x makes the result strongly typed
    log_probs = -betaln(a, b) + xlogy(a - one, y) + xlog1py(b - one, -y) - jnp.log(scale)
    result = jnp.where((x > loc + scale) | (x < loc), -np.inf, log_probs)
    return jnp.where((a <= 0) | (b <= 0) | (scale <= 0), np.nan, result)


def pdf(x: ArrayLike, a: ArrayLike, b: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    return jnp.exp(logpdf(x, a, b, loc, scale))


def _clipped(x, loc, scale):
    """(x - loc) / scale clamped to [0, 1], by bounds of x's type, as JAX's:
    lax.clamp's derivative is zero outside the bounds, where jnp.clip's times
    betainc's infinite slope at 0 or 1 would be NaN."""
    return lax.clamp(lax_const(x, 0), (x - loc) / scale, lax_const(x, 1))


def cdf(x: ArrayLike, a: ArrayLike, b: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """I_y(a, b), y = (x - loc) / scale clipped to [0, 1]."""
    x, a, b, loc, scale = promote_args_inexact("beta.cdf", x, a, b, loc, scale)
    return betainc(a, b, _clipped(x, loc, scale))


def logcdf(x: ArrayLike, a: ArrayLike, b: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    return jnp.log(cdf(x, a, b, loc, scale))


def sf(x: ArrayLike, a: ArrayLike, b: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """I_(1-y)(b, a)."""
    x, a, b, loc, scale = promote_args_inexact("beta.sf", x, a, b, loc, scale)
    return betainc(b, a, 1 - _clipped(x, loc, scale))


def logsf(x: ArrayLike, a: ArrayLike, b: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    return jnp.log(sf(x, a, b, loc, scale))

"""The gamma distribution, as `jax.scipy.stats.gamma`."""
from __future__ import annotations

import numpy as np

import irax.numpy as jnp
from irax import lax
from irax.frontend.numpy.util import promote_args_inexact
from irax.scipy.special import gammainc, gammaincc, gammaln, xlogy
from irax.scipy.stats._core import lax_const
from irax.typing import Array, ArrayLike


def logpdf(x: ArrayLike, a: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """(a-1) log y - y - log Gamma(a) - log scale, y = (x - loc) / scale; -inf below loc."""
    x, a, loc, scale = promote_args_inexact("gamma.logpdf", x, a, loc, scale)
    ok = x >= loc
    one = lax_const(x, 1)  # as JAX: an array x makes the result strongly typed
    y = jnp.where(ok, (x - loc) / scale, one)
    log_probs = xlogy(a - one, y) - y - (gammaln(a) + jnp.log(scale))
    return jnp.where(ok, log_probs, -np.inf)


def pdf(x: ArrayLike, a: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    return jnp.exp(logpdf(x, a, loc, scale))


def cdf(x: ArrayLike, a: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """P(a, y), y = (x - loc) / scale clamped to [0, inf] by lax.clamp, as JAX's: its
    derivative is zero below loc, where jnp.clip's times gammainc's infinite slope
    at 0 (a < 1) would be NaN."""
    x, a, loc, scale = promote_args_inexact("gamma.cdf", x, a, loc, scale)
    return gammainc(a, lax.clamp(lax_const(x, 0), (x - loc) / scale, lax_const(x, np.inf)))


def logcdf(x: ArrayLike, a: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    return jnp.log(cdf(x, a, loc, scale))


def sf(x: ArrayLike, a: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """Q(a, y), 1 below loc."""
    x, a, loc, scale = promote_args_inexact("gamma.sf", x, a, loc, scale)
    y = (x - loc) / scale
    return jnp.where(y < 0, 1, gammaincc(a, y))


def logsf(x: ArrayLike, a: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    return jnp.log(sf(x, a, loc, scale))

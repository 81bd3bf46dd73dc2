"""The normal distribution truncated to [a, b] (in standard units: the support
is [loc + a scale, loc + b scale]), as `jax.scipy.stats.truncnorm`; NaN where a >= b."""
from __future__ import annotations

import numpy as np

import irax.numpy as jnp
from irax.frontend.numpy.util import promote_args_inexact
from irax.scipy.special import log_ndtr, logsumexp, ndtr
from irax.scipy.stats import norm
from irax.typing import Array, ArrayLike


def _log_diff(x: Array, y: Array) -> Array:
    """log(exp(x) - exp(y)) without overflow, as a signed logsumexp."""
    return logsumexp(jnp.array([x, y]), b=jnp.array([jnp.ones_like(x), -jnp.ones_like(y)]), axis=0)


def _log_gauss_mass(a: Array, b: Array) -> Array:
    """log(Phi(b) - Phi(a)), accurate wherever [a, b] lies: in a tail it is a difference of
    log_ndtr's (the right tail mirrored to the left), across 0 it is log1p(-Phi(a) - Phi(-b))."""
    a, b = jnp.broadcast_arrays(jnp.asarray(a), jnp.asarray(b))
    left, right = b <= 0, a > 0
    a_tail, b_tail = jnp.where(right, -b, a), jnp.where(right, -a, b)
    mass_tail = _log_diff(log_ndtr(b_tail), log_ndtr(a_tail))
    mass_central = jnp.log1p(-ndtr(a) - ndtr(-b))
    return jnp.where(~(left | right), mass_central, mass_tail)


def logpdf(x: ArrayLike, a: ArrayLike, b: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """norm.logpdf(x; loc, scale) - log(Phi(b) - Phi(a)); -inf outside the support."""
    x, a, b, loc, scale = promote_args_inexact("truncnorm.logpdf", x, a, b, loc, scale)
    val = norm.logpdf(x, loc, scale) - _log_gauss_mass(a, b)
    y = (x - loc) / scale
    val = jnp.where((y < a) | (y > b), -np.inf, val)
    return jnp.where(a >= b, np.nan, val)


def pdf(x: ArrayLike, a: ArrayLike, b: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    return jnp.exp(logpdf(x, a, b, loc, scale))


def logcdf(x: ArrayLike, a: ArrayLike, b: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """log mass(a, y) - log mass(a, b), y = (x - loc) / scale; near 1 (above -0.1) it is
    log1p(-sf) instead, which keeps its digits; 0 from b on, -inf up to a."""
    x, a, b, loc, scale = promote_args_inexact("truncnorm.logcdf", x, a, b, loc, scale)
    x, a, b = jnp.broadcast_arrays(x, a, b)
    y = (x - loc) / scale
    lgm_ab = _log_gauss_mass(a, b)
    log_cdf = _log_gauss_mass(a, y) - lgm_ab
    log_sf = _log_gauss_mass(y, b) - lgm_ab
    log_cdf = jnp.select([y >= b, y <= a, log_cdf > -0.1, y > a],
                         [0, -np.inf, jnp.log1p(-jnp.exp(log_sf)), log_cdf])
    return jnp.where(a >= b, np.nan, log_cdf)


def cdf(x: ArrayLike, a: ArrayLike, b: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    return jnp.exp(logcdf(x, a, b, loc, scale))


def logsf(x: ArrayLike, a: ArrayLike, b: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """logcdf of the mirrored distribution: -x in [-b, -a] about -loc."""
    x, a, b, loc, scale = promote_args_inexact("truncnorm.logsf", x, a, b, loc, scale)
    return logcdf(-x, -b, -a, -loc, scale)


def sf(x: ArrayLike, a: ArrayLike, b: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    return jnp.exp(logsf(x, a, b, loc, scale))

"""The Poisson distribution, as `jax.scipy.stats.poisson`."""
from __future__ import annotations

import numpy as np

import irax.numpy as jnp
from irax.frontend.numpy.util import promote_args_inexact
from irax.scipy.special import gammaincc, gammaln, xlogy
from irax.scipy.stats._core import lax_const
from irax.typing import Array, ArrayLike


def logpmf(k: ArrayLike, mu: ArrayLike, loc: ArrayLike = 0) -> Array:
    """x log mu - log x! - mu, x = k - loc; -inf for x < 0 or k not an integer."""
    k, mu, loc = promote_args_inexact("poisson.logpmf", k, mu, loc)
    x = k - loc
    return jnp.where((x < 0) | (jnp.round(k) != k), -np.inf, xlogy(x, mu) - gammaln(x + 1) - mu)


def pmf(k: ArrayLike, mu: ArrayLike, loc: ArrayLike = 0) -> Array:
    return jnp.exp(logpmf(k, mu, loc))


def cdf(k: ArrayLike, mu: ArrayLike, loc: ArrayLike = 0) -> Array:
    """Q(floor(x) + 1, mu), 0 for x < 0."""
    k, mu, loc = promote_args_inexact("poisson.cdf", k, mu, loc)
    x = k - loc
    zero = lax_const(k, 0)  # (JAX's: weakly typed of a scalar k)
    return jnp.where(x < zero, zero, gammaincc(jnp.floor(1 + x), mu))


# entropy: below _ASYMPTOTIC_MU, -sum p_k log p_k over k < _TERMS (for mu < 100
# the pmf beyond k = 249 is below 1e-30); beyond, the asymptotic series
# H = log(2 pi e mu) / 2 - 1/(12 mu) - 1/(24 mu^2) - 19/(360 mu^3), ~1e-8 off at mu = 100.
_ASYMPTOTIC_MU, _TERMS = 100, 250


def entropy(mu: ArrayLike, loc: ArrayLike = 0) -> Array:
    """The Shannon entropy -sum_k p_k log p_k of Poisson(mu), 0 at mu = 0,
    NaN for mu < 0; `loc` (a shift) does not change it, and only takes
    part in the broadcast shape."""
    mu, loc = promote_args_inexact("poisson.entropy", mu, loc)
    shape = jnp.broadcast_shapes(mu.shape, loc.shape)
    m = jnp.ravel(mu)
    # Each branch on the mu it holds for (others get a harmless one), so that
    # no branch's derivative is NaN where where() does not pick it.
    small = jnp.where((m > 0) & (m < _ASYMPTOTIC_MU), m, 1)
    log_p = logpmf(jnp.arange(_TERMS, dtype=m.dtype)[:, None], small)
    summed = -jnp.sum(jnp.exp(log_p) * log_p, axis=0)  # (p log p by log p: finite, where entr(p)'s derivative is not at p = 0)
    big = jnp.maximum(m, _ASYMPTOTIC_MU)
    series = 0.5 * jnp.log(2 * np.pi * np.e * big) - 1 / (12 * big) - 1 / (24 * big**2) - 19 / (360 * big**3)
    h = jnp.where(m < _ASYMPTOTIC_MU, jnp.where(m == 0, 0, summed), series)  # (pmf(0, 0) is 1 only to rounding)
    return jnp.broadcast_to(jnp.where(m < 0, np.nan, h).reshape(mu.shape), shape)

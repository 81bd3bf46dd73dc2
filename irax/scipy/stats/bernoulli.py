"""The Bernoulli distribution, as `jax.scipy.stats.bernoulli`."""
from __future__ import annotations

import numpy as np

import irax.numpy as jnp
from irax.frontend.numpy.util import promote_args_inexact
from irax.scipy.special import xlog1py, xlogy
from irax.scipy.stats._core import lax_const
from irax.typing import Array, ArrayLike


def logpmf(k: ArrayLike, p: ArrayLike, loc: ArrayLike = 0) -> Array:
    """k log p + (1 - k) log(1 - p) for k - loc in [0, 1], -inf elsewhere."""
    k, p, loc = promote_args_inexact("bernoulli.logpmf", k, p, loc)
    x = k - loc
    one = lax_const(k, 1)  # as JAX: an array k makes the result strongly typed
    return jnp.where((x < 0) | (x > 1), -np.inf, xlogy(x, p) + xlog1py(one - x, -p))


def pmf(k: ArrayLike, p: ArrayLike, loc: ArrayLike = 0) -> Array:
    return jnp.exp(logpmf(k, p, loc))


def cdf(k: ArrayLike, p: ArrayLike) -> Array:
    """0 below 0, 1 - p on [0, 1), 1 from 1 on; NaN for p outside [0, 1]."""
    k, p = promote_args_inexact("bernoulli.cdf", k, p)
    zero, one = lax_const(k, 0), lax_const(k, 1)  # (JAX's: weakly typed of a scalar k)
    invalid = jnp.isnan(k) | jnp.isnan(p) | (p < 0) | (p > 1)
    return jnp.where(invalid, np.nan, jnp.where(k < 0, zero, jnp.where(k < 1, one - p, one)))


def ppf(q: ArrayLike, p: ArrayLike) -> Array:
    """0 for q <= 1 - p, else 1; NaN for q or p outside [0, 1]."""
    q, p = promote_args_inexact("bernoulli.ppf", q, p)
    zero, one = lax_const(q, 0), lax_const(q, 1)
    invalid = jnp.isnan(q) | jnp.isnan(p) | (p < 0) | (p > 1) | (q < 0) | (q > 1)
    return jnp.where(invalid, np.nan, jnp.where(q <= one - p, zero, one))

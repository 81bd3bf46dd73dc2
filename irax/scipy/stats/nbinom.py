"""The negative binomial distribution, as `jax.scipy.stats.nbinom`."""
from __future__ import annotations

import numpy as np

import irax.numpy as jnp
from irax.frontend.numpy.util import promote_args_inexact
from irax.scipy.special import gammaln, xlogy
from irax.scipy.stats._core import lax_const
from irax.typing import Array, ArrayLike


def logpmf(k: ArrayLike, n: ArrayLike, p: ArrayLike, loc: ArrayLike = 0) -> Array:
    """lgamma(y + n) - lgamma(n) - lgamma(y + 1) + n log p + y log(1 - p), y = k - loc;
    -inf below loc."""
    k, n, p, loc = promote_args_inexact("nbinom.logpmf", k, n, p, loc)
    y = k - loc
    one = lax_const(k, 1)  # as JAX: an array k makes the result strongly typed
    comb_term = gammaln(y + n) - gammaln(n) - gammaln(y + one)
    return jnp.where(k < loc, -np.inf, comb_term + xlogy(n, p) + xlogy(y, one - p))


def pmf(k: ArrayLike, n: ArrayLike, p: ArrayLike, loc: ArrayLike = 0) -> Array:
    return jnp.exp(logpmf(k, n, p, loc))

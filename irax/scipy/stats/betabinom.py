"""The beta-binomial distribution, as `jax.scipy.stats.betabinom`."""
from __future__ import annotations

import numpy as np

import irax.numpy as jnp
from irax.frontend.numpy.util import promote_args_inexact
from irax.scipy.special import betaln
from irax.scipy.stats._core import lax_const
from irax.typing import Array, ArrayLike


def logpmf(k: ArrayLike, n: ArrayLike, a: ArrayLike, b: ArrayLike, loc: ArrayLike = 0) -> Array:
    """-log(n + 1) - log B(n - y + 1, y + 1) + log B(y + a, n - y + b) - log B(a, b), y = floor(k) - loc;
    0 for y = n = 0, -inf off the support, NaN unless n >= 0 and a, b > 0."""
    k, n, a, b, loc = promote_args_inexact("betabinom.logpmf", k, n, a, b, loc)
    y = jnp.floor(k) - loc
    one = lax_const(y, 1)  # as JAX: an array k makes the result strongly typed
    combiln = -(jnp.log1p(n) + betaln(n - y + one, y + one))
    log_probs = combiln + betaln(y + a, n - y + b) - betaln(a, b)
    log_probs = jnp.where((y == 0) & (n == 0), 0., log_probs)
    # JAX's lower bound is y < -loc (floor(k) < 0), not y < 0: kept, JAX is the oracle
    off_support = (y < -loc) | (y > n) | (y + a <= 0)
    log_probs = jnp.where(off_support, -np.inf, log_probs)
    return jnp.where((n < 0) | (a <= 0) | (b <= 0), np.nan, log_probs)


def pmf(k: ArrayLike, n: ArrayLike, a: ArrayLike, b: ArrayLike, loc: ArrayLike = 0) -> Array:
    return jnp.exp(logpmf(k, n, a, b, loc))

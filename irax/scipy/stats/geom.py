"""The geometric distribution (trials to the first success), as `jax.scipy.stats.geom`."""
from __future__ import annotations

import numpy as np

import irax.numpy as jnp
from irax.frontend.numpy.util import promote_args_inexact
from irax.scipy.special import xlog1py
from irax.scipy.stats._core import lax_const
from irax.typing import Array, ArrayLike


def logpmf(k: ArrayLike, p: ArrayLike, loc: ArrayLike = 0) -> Array:
    """(x - 1) log(1 - p) + log p, x = k - loc; -inf for x <= 0."""
    k, p, loc = promote_args_inexact("geom.logpmf", k, p, loc)
    x = k - loc
    one = lax_const(k, 1)  # as JAX: an array k makes the result strongly typed
    return jnp.where(x <= 0, -np.inf, xlog1py(x - one, -p) + jnp.log(p))


def pmf(k: ArrayLike, p: ArrayLike, loc: ArrayLike = 0) -> Array:
    return jnp.exp(logpmf(k, p, loc))

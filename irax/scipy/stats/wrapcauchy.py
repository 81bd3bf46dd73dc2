"""The wrapped Cauchy distribution on [0, 2 pi], as `jax.scipy.stats.wrapcauchy`."""
from __future__ import annotations

import math

import numpy as np

import irax.numpy as jnp
from irax.frontend.numpy.util import promote_args_inexact
from irax.typing import Array, ArrayLike


def logpdf(x: ArrayLike, c: ArrayLike) -> Array:
    """log(1 - c^2) - log(2 pi) - log(1 + c^2 - 2 c cos x); -inf outside [0, 2 pi],
    NaN unless 0 < c < 1."""
    x, c = promote_args_inexact("wrapcauchy.logpdf", x, c)
    log_probs = jnp.log(1 - c * c) - math.log(2 * np.pi) - jnp.log(1 + c * c - 2 * c * jnp.cos(x))
    inside = jnp.where((x >= 0) & (x <= 2 * np.pi), log_probs, -np.inf)
    return jnp.where((c > 0) & (c < 1), inside, np.nan)


def pdf(x: ArrayLike, c: ArrayLike) -> Array:
    return jnp.exp(logpdf(x, c))

"""The generalized normal distribution, as `jax.scipy.stats.gennorm`."""
from __future__ import annotations

import irax.numpy as jnp
from irax import lax
from irax.frontend.numpy.util import promote_args_inexact
from irax.typing import Array, ArrayLike


def logpdf(x: ArrayLike, beta: ArrayLike) -> Array:
    """log(beta / 2) - lgamma(1 / beta) - |x|^beta."""
    x, beta = promote_args_inexact("gennorm.logpdf", x, beta)
    return jnp.log(0.5 * beta) - lax.lgamma(1 / beta) - jnp.abs(x) ** beta


def pdf(x: ArrayLike, beta: ArrayLike) -> Array:
    return jnp.exp(logpdf(x, beta))


def cdf(x: ArrayLike, beta: ArrayLike) -> Array:
    """(1 + sign(x) P(1 / beta, |x|^beta)) / 2."""
    x, beta = promote_args_inexact("gennorm.cdf", x, beta)
    return 0.5 * (1 + jnp.sign(x) * lax.igamma(1 / beta, jnp.abs(x) ** beta))

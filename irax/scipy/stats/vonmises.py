"""The von Mises distribution on the circle, as `jax.scipy.stats.vonmises`."""
from __future__ import annotations

import numpy as np

import irax.numpy as jnp
from irax import lax
from irax.frontend.numpy.util import promote_args_inexact
from irax.typing import Array, ArrayLike


def logpdf(x: ArrayLike, kappa: ArrayLike) -> Array:
    """kappa (cos x - 1) - log(2 pi i0e(kappa)) (i0e(k) = exp(-k) I0(k): no overflow for large
    kappa); NaN unless kappa > 0."""
    x, kappa = promote_args_inexact("vonmises.logpdf", x, kappa)
    return jnp.where(kappa > 0, kappa * (jnp.cos(x) - 1) - jnp.log(2 * np.pi * lax.bessel_i0e(kappa)), np.nan)


def pdf(x: ArrayLike, kappa: ArrayLike) -> Array:
    return jnp.exp(logpdf(x, kappa))

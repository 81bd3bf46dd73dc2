"""Student's t distribution, as `jax.scipy.stats.t`."""
from __future__ import annotations

import numpy as np

import irax.numpy as jnp
from irax import lax
from irax.frontend.numpy.util import promote_args_inexact
from irax.scipy.stats._core import lax_const
from irax.typing import Array, ArrayLike


def logpdf(x: ArrayLike, df: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    """-(lgamma(df/2) + log(pi df scale^2)/2 - lgamma((df+1)/2) + (df+1)/2 log1p(y^2/df)),
    y = (x - loc) / scale."""
    x, df, loc, scale = promote_args_inexact("t.logpdf", x, df, loc, scale)
    y = (x - loc) / scale
    half_df = df / lax_const(x, 2)  # as JAX: an array x makes the result strongly typed
    half_df_plus_half = half_df + 0.5
    normalize = lax.lgamma(half_df) + jnp.log(scale * scale * np.pi * df) / 2 - lax.lgamma(half_df_plus_half)
    return -(normalize + half_df_plus_half * jnp.log1p(y * y / df))


def pdf(x: ArrayLike, df: ArrayLike, loc: ArrayLike = 0, scale: ArrayLike = 1) -> Array:
    return jnp.exp(logpdf(x, df, loc, scale))

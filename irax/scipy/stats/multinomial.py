"""The multinomial distribution, as `jax.scipy.stats.multinomial`: counts and
probabilities along the last axis."""
from __future__ import annotations

import numpy as np

import irax.numpy as jnp
from irax.frontend import dtypes
from irax.frontend.numpy.util import promote_args, promote_args_inexact
from irax.scipy.special import gammaln, xlogy
from irax.typing import Array, ArrayLike


def logpmf(x: ArrayLike, n: ArrayLike, p: ArrayLike) -> Array:
    """lgamma(n + 1) + sum_i (x_i log p_i - lgamma(x_i + 1)); -inf unless the counts sum to n."""
    p, = promote_args_inexact("multinomial.logpmf", p)
    x, n = promote_args("multinomial.logpmf", x, n)
    if not dtypes.issubdtype(x.dtype, np.integer):
        raise ValueError(f"x and n must be of integer type; got x.dtype={x.dtype}, n.dtype={n.dtype}")
    x, n = x.astype(p.dtype), n.astype(p.dtype)
    logprobs = gammaln(n + 1) + jnp.sum(xlogy(x, p) - gammaln(x + 1), axis=-1)
    # JAX compares the sum of all of x (not per row) with n
    return jnp.where(jnp.sum(x) == n, logprobs, -np.inf)


def pmf(x: ArrayLike, n: ArrayLike, p: ArrayLike) -> Array:
    return jnp.exp(logpmf(x, n, p))

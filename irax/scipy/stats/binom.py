"""The binomial distribution, as `jax.scipy.stats.binom`."""
from __future__ import annotations

import numpy as np

import irax.numpy as jnp
from irax.frontend.numpy.util import promote_args_inexact
from irax.scipy.special import betaln, xlog1py, xlogy
from irax.typing import Array, ArrayLike


def logpmf(k: ArrayLike, n: ArrayLike, p: ArrayLike, loc: ArrayLike = 0) -> Array:
    """log C(n, y) + y log p + (n - y) log(1 - p), y = k - loc; -inf outside [loc, loc + n].
    log C(n, y) = -log(n + 1) - betaln(y + 1, n - y + 1): JAX's lgamma(n + 1) - lgamma(y + 1) -
    lgamma(n - y + 1) cancels (logpmf(3, 1e4, 3e-4) was 40000 ulp off SciPy's; betaln's series does not)."""
    k, n, p, loc = promote_args_inexact("binom.logpmf", k, n, p, loc)
    y = k - loc
    comb_term = -(jnp.log1p(n) + betaln(y + 1, n - y + 1))
    log_linear_term = xlogy(y, p) + xlog1py(n - y, -p)
    # a certain outcome (n = 0, or p in {0, 1} at its end) is exactly 0, not lgamma's rounding
    certain = ((y == 0) & (n == 0)) | (log_linear_term == 0)
    log_probs = jnp.where(certain, 0., comb_term + log_linear_term)
    return jnp.where((k >= loc) & (k < loc + n + 1), log_probs, -np.inf)


def pmf(k: ArrayLike, n: ArrayLike, p: ArrayLike, loc: ArrayLike = 0) -> Array:
    return jnp.exp(logpmf(k, n, p, loc))

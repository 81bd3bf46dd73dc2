"""The Dirichlet distribution, as `jax.scipy.stats.dirichlet`: x's first axis
is the simplex's."""
from __future__ import annotations

import numpy as np

import irax.numpy as jnp
from irax.frontend import dtypes
from irax.frontend.numpy.util import check_arraylike, convert
from irax.scipy.special import betaln, xlogy
from irax.typing import Array, ArrayLike


def _is_simplex(x: Array) -> Array:
    """Positive entries summing to 1 (within 1e-6, as JAX) along axis 0."""
    return jnp.all(x > 0, axis=0) & (abs(jnp.sum(x, axis=0) - 1) < 1e-6)


def logpdf(x: ArrayLike, alpha: ArrayLike) -> Array:
    """sum_i (alpha_i - 1) log x_i - log B(alpha), log B(alpha) = sum_i lgamma(alpha_i) -
    lgamma(sum_i alpha_i); x may leave out its last entry (1 - the others' sum); -inf off the simplex."""
    check_arraylike("dirichlet.logpdf", x, alpha)
    dtype, weak = dtypes.lattice_result_type(x, alpha)
    dtype = dtypes.to_inexact_dtype(dtype)
    x, alpha = (convert(v, dtype, weak) for v in (x, alpha))
    if alpha.ndim != 1:
        raise ValueError(f"`alpha` must be one-dimensional; got alpha.shape={alpha.shape}")
    if x.shape[0] not in (alpha.shape[0], alpha.shape[0] - 1):
        raise ValueError("`x` must have either the same number of entries as `alpha` "
                         f"or one entry fewer; got x.shape={x.shape}, alpha.shape={alpha.shape}")
    if x.shape[0] != alpha.shape[0]:
        x = jnp.concatenate([x, 1 - jnp.sum(x, axis=0, keepdims=True)], axis=0)
    # log B(alpha) = sum_i lgamma(alpha_i) - lgamma(sum_i alpha_i), as sum_(i>1) betaln(alpha_1 + ... +
    # alpha_(i-1), alpha_i) (it telescopes): the lgammas' sum cancels (at alpha = (1e3, 2e3, 3e3) 3600 ulp)
    cumulative = jnp.cumsum(alpha)
    normalize_term = jnp.sum(betaln(cumulative[:-1], alpha[1:]))
    alpha = alpha.reshape(alpha.shape + (1,) * (x.ndim - 1))  # the simplex axis leads in x
    log_probs = jnp.sum(xlogy(alpha - 1, x), axis=0) - normalize_term
    return jnp.where(_is_simplex(x), log_probs, -np.inf)


def pdf(x: ArrayLike, alpha: ArrayLike) -> Array:
    return jnp.exp(logpdf(x, alpha))

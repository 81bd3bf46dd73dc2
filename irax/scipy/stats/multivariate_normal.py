"""The multivariate normal distribution, as `jax.scipy.stats.multivariate_normal`."""
from __future__ import annotations

import numpy as np

import irax.numpy as jnp
from irax.frontend.numpy.util import promote_args_inexact
from irax.typing import Array, ArrayLike


def _cholesky(cov):
    """The lower Cholesky factor L (L L^T = cov) of the last two axes, column
    by column: L[j:, j] = s / sqrt(s[0]) with s = cov[j:, j] - L[j:, :j] L[j, :j]."""
    n = cov.shape[-1]
    columns = []
    for j in range(n):
        s = cov[..., j:, j]
        if j:
            done = jnp.stack(columns, axis=-1)  # (..., n, j)
            s = s - jnp.einsum("...ik,...k->...i", done[..., j:, :], done[..., j, :])
        column = s / jnp.sqrt(s[..., :1])
        columns.append(jnp.concatenate([jnp.zeros(column.shape[:-1] + (j,), column.dtype), column], axis=-1))
    return jnp.stack(columns, axis=-1)


def _forward_substitution(lower, y):
    """z with lower z = y (lower triangular), over the last axis of y."""
    n = y.shape[-1]
    z = []
    for i in range(n):
        total = y[..., i]
        if i:
            total = total - jnp.einsum("...k,...k->...", lower[..., i, :i], jnp.stack(z, axis=-1))
        z.append(total / lower[..., i, i])
    return jnp.stack(z, axis=-1)


def logpdf(x: ArrayLike, mean: ArrayLike, cov: ArrayLike, allow_singular: None = None) -> Array:
    """-|L^-1 (x - mean)|^2 / 2 - n log(2 pi) / 2 - sum log diag(L), L the
    Cholesky factor of cov (a scalar cov: the same with cov I; a scalar mean:
    the univariate density)."""
    if allow_singular is not None:
        raise NotImplementedError("allow_singular argument of multivariate_normal.logpdf")
    x, mean, cov = promote_args_inexact("multivariate_normal.logpdf", x, mean, cov)
    if not mean.shape:
        return -1 / 2 * jnp.square(x - mean) / cov - 1 / 2 * (np.log(2 * np.pi) + jnp.log(cov))
    n = mean.shape[-1]
    y = x - mean
    if not cov.shape:
        return -1 / 2 * jnp.sum(y * y, axis=-1) / cov - n / 2 * (np.log(2 * np.pi) + jnp.log(cov))
    if cov.ndim < 2 or cov.shape[-2:] != (n, n):
        raise ValueError("multivariate_normal.logpdf got incompatible shapes")
    # of cov's symmetric part, as JAX's lax.linalg.cholesky (symmetrize_input): the value
    # for an asymmetric cov, and a symmetric gradient in cov, are JAX's
    lower = _cholesky((cov + jnp.swapaxes(cov, -1, -2).conj()) / 2)
    z = _forward_substitution(lower, jnp.broadcast_to(y, np.broadcast_shapes(y.shape, cov.shape[:-1])))
    log_diagonal = jnp.log(jnp.stack([lower[..., i, i] for i in range(n)], axis=-1))
    return -1 / 2 * jnp.sum(z * z, axis=-1) - n / 2 * np.log(2 * np.pi) - jnp.sum(log_diagonal, axis=-1)


def pdf(x: ArrayLike, mean: ArrayLike, cov: ArrayLike) -> Array:
    return jnp.exp(logpdf(x, mean, cov))

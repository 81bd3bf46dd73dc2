"""`gaussian_kde`, as `jax.scipy.stats.gaussian_kde`: a weighted sum of Gaussians.

With data x_j (d-dimensional, n of them), weights w_j summing to 1, bandwidth
factor h and the weighted data covariance C, the kernel covariance is
S = h^2 C and
  pdf(y) = sum_j w_j N(y; x_j, S)
         = sum_j w_j exp(-|L^T (y - x_j)|^2 / 2) prod(diag L) / (2 pi)^(d/2),
L the lower Cholesky factor of S^-1 (the whitening); logpdf is the same sum
taken by logsumexp so that it stays finite far from the data."""
from __future__ import annotations

import numpy as np

import irax.numpy as jnp
from irax import random
from irax.frontend.numpy.util import promote_args_inexact
from irax.scipy import linalg, special
from irax.tree_util import register_pytree_node_class

# bandwidth factor h from the effective sample size n_eff and the dimension d
_BW_RULES = {
    "scott": lambda neff, d: jnp.power(neff, -1. / (d + 4)),
    "silverman": lambda neff, d: jnp.power(neff * (d + 2) / 4.0, -1. / (d + 4)),
}


@register_pytree_node_class
class gaussian_kde:
    """Gaussian kernel density estimate of `dataset` ((n,) or (d, n)); `bw_method`
    "scott" (default), "silverman", a scalar h, or a callable of the kde giving h;
    optional `weights` (n,), normalised to sum to 1. A pytree of its arrays, as
    JAX's (so it passes through jit, vmap and grad)."""

    def __init__(self, dataset, bw_method=None, weights=None):
        dataset = jnp.atleast_2d(dataset)
        if jnp.issubdtype(dataset.dtype, jnp.complexfloating):
            raise NotImplementedError("gaussian_kde does not support complex data")
        if not dataset.size > 1:
            raise ValueError("`dataset` input should have multiple elements.")
        d, n = dataset.shape
        if weights is None:
            dataset, = promote_args_inexact("gaussian_kde", dataset)
            weights = jnp.full(n, 1.0 / n, dtype=dataset.dtype)
        else:
            dataset, weights = promote_args_inexact("gaussian_kde", dataset, weights)
            weights = jnp.atleast_1d(weights)
            weights = weights / jnp.sum(weights)
            if weights.ndim != 1:
                raise ValueError("`weights` input should be one-dimensional.")
            if len(weights) != n:
                raise ValueError("`weights` input should be of length n")
        self.dataset, self.weights = dataset, weights
        self.neff = 1 / jnp.sum(weights ** 2)
        bw_method = "scott" if bw_method is None else bw_method
        if isinstance(bw_method, str) and bw_method in _BW_RULES:
            factor = _BW_RULES[bw_method](self.neff, d)
        elif jnp.isscalar(bw_method) and not isinstance(bw_method, str):
            factor = bw_method
        elif callable(bw_method):
            factor = bw_method(self)
        else:
            raise ValueError("`bw_method` should be 'scott', 'silverman', a scalar, or a callable.")
        data_covariance = jnp.atleast_2d(jnp.cov(dataset, rowvar=True, bias=False, aweights=weights))
        self.covariance = data_covariance * factor ** 2
        self.inv_cov = jnp.linalg.inv(data_covariance) / factor ** 2

    def tree_flatten(self):
        return (self.neff, self.dataset, self.weights, self.covariance, self.inv_cov), None

    @classmethod
    def tree_unflatten(cls, aux_data, children):
        kde = object.__new__(cls)
        kde.neff, kde.dataset, kde.weights, kde.covariance, kde.inv_cov = children
        return kde

    @property
    def d(self):
        return self.dataset.shape[0]

    @property
    def n(self):
        return self.dataset.shape[1]

    def _log_kernels(self, points):
        """log N(y_i; x_j, S) for every point i and datum j: shape (m, n)."""
        points = self._reshape_points(points)
        whitening = linalg.cholesky(self.inv_cov, lower=True)
        y, x = jnp.dot(points.T, whitening), jnp.dot(self.dataset.T, whitening)
        log_norm = jnp.sum(jnp.log(jnp.diag(whitening))) - 0.5 * self.d * np.log(2 * np.pi)
        return log_norm - 0.5 * jnp.sum(jnp.square(y[:, None, :] - x[None, :, :]), axis=-1)

    def evaluate(self, points):
        """pdf at each of the (d, m) points."""
        return jnp.sum(self.weights * jnp.exp(self._log_kernels(points)), axis=1)

    __call__ = pdf = evaluate

    def logpdf(self, x):
        """log pdf = logsumexp_j(log w_j + log N(y; x_j, S))."""
        return special.logsumexp(jnp.log(self.weights) + self._log_kernels(x), axis=1)

    def integrate_gaussian(self, mean, cov):
        """int pdf(y) N(y; mean, cov) dy = sum_j w_j N(mean; x_j, S + cov)."""
        mean, cov = jnp.atleast_1d(jnp.squeeze(mean)), jnp.atleast_2d(cov)
        if mean.shape != (self.d,):
            raise ValueError(f"mean does not have dimension {self.d}")
        if cov.shape != (self.d, self.d):
            raise ValueError(f"covariance does not have dimension {self.d}")
        return jnp.sum(self._convolved_kernels(cov, mean[:, None]))

    def _convolved_kernels(self, cov, points):
        """w_j N(p_i; x_j, S + cov) for each of the (d, m) points p_i and datum x_j: (m, n)."""
        chol = linalg.cho_factor(self.covariance + cov)
        norm = 1.0 / (jnp.sqrt(2 * np.pi) ** self.d * jnp.prod(jnp.diag(chol[0])))
        diff = jnp.reshape(self.dataset[:, None, :] - points[:, :, None], (self.d, -1))
        mahalanobis = jnp.reshape(jnp.sum(diff * linalg.cho_solve(chol, diff), axis=0), (points.shape[1], self.n))
        return norm * jnp.exp(-0.5 * mahalanobis) * self.weights

    def integrate_kde(self, other: gaussian_kde):
        """int pdf(y) other.pdf(y) dy = sum_ij w_i v_j N(x_i; y_j, S + S_other)."""
        if other.d != self.d:
            raise ValueError("KDEs are not the same dimensionality")
        return jnp.sum(self._convolved_kernels(other.covariance, other.dataset) * other.weights[:, None])

    def integrate_box(self, low_bounds, high_bounds, maxpts=None):
        raise NotImplementedError("only 1D box integrations are supported; use `integrate_box_1d`")

    def set_bandwidth(self, bw_method=None):
        raise NotImplementedError("dynamically changing the bandwidth method is not supported")

    def integrate_box_1d(self, low, high):
        """sum_j w_j (Phi((high - x_j) / s) - Phi((low - x_j) / s)), s = sqrt(S), d = 1."""
        if self.d != 1:
            raise ValueError("integrate_box_1d() only handles 1D pdfs")
        if np.ndim(low) != 0 or np.ndim(high) != 0:
            raise ValueError("the limits of integration in integrate_box_1d must be scalars")
        sigma = jnp.squeeze(jnp.sqrt(self.covariance))
        low, high = jnp.squeeze((low - self.dataset) / sigma), jnp.squeeze((high - self.dataset) / sigma)
        return jnp.sum(self.weights * (special.ndtr(high) - special.ndtr(low)))

    def resample(self, key, shape=()):
        """(d,) + shape draws: a datum chosen by weight plus N(0, S) noise."""
        ind_key, eps_key = random.split(key)
        ind = random.choice(ind_key, self.n, shape=shape, p=self.weights)
        eps = random.multivariate_normal(eps_key, jnp.zeros(self.d, self.covariance.dtype), self.covariance,
                                         shape=shape, dtype=self.dataset.dtype).T
        return self.dataset[:, ind] + eps

    def _reshape_points(self, points):
        """points as (d, m); a flat (d,) vector is one point."""
        points = jnp.atleast_2d(points)
        if jnp.issubdtype(points.dtype, jnp.complexfloating):
            raise NotImplementedError("gaussian_kde does not support complex coordinates")
        d, m = points.shape
        if d != self.d:
            if d == 1 and m == self.d:
                return jnp.reshape(points, (self.d, 1))
            raise ValueError(f"points have dimension {d}, dataset has dimension {self.d}")
        return points

"""`irax.scipy.stats`, as `jax.scipy.stats`: one module per distribution,
each with the functions JAX's has (logpdf, pdf, cdf, ...), written as JAX
writes them on `irax.scipy.special` and `irax.numpy`."""
from irax.scipy.stats import (bernoulli, beta, expon, gamma, laplace, logistic, multivariate_normal, norm,  # noqa: F401
                              poisson, t, uniform)
from irax.scipy.stats._core import mode, sem  # noqa: F401
from irax.scipy.stats._rank import rankdata  # noqa: F401
from irax.scipy.stats.kde import gaussian_kde  # noqa: F401

__all__ = ["bernoulli", "beta", "expon", "gamma", "laplace", "logistic", "multivariate_normal", "norm", "poisson", "t",
           "uniform", "gaussian_kde", "mode", "rankdata", "sem"]

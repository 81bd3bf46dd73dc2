"""`irax.scipy.stats`, as `jax.scipy.stats`: one module per distribution,
each with the functions JAX's has (logpdf, pdf, cdf, ...), written as JAX
writes them on `irax.scipy.special` and `irax.numpy`."""
from irax.scipy.stats import (bernoulli, beta, betabinom, binom, cauchy, chi2, dirichlet, expon, gamma,  # noqa: F401
                              gennorm, geom, gumbel_l, gumbel_r, laplace, logistic, multinomial, multivariate_normal,
                              nbinom, norm, pareto, poisson, t, truncnorm, uniform, vonmises, wrapcauchy)
from irax.scipy.stats._core import mode, sem  # noqa: F401
from irax.scipy.stats._rank import rankdata  # noqa: F401
from irax.scipy.stats.kde import gaussian_kde  # noqa: F401

__all__ = ["bernoulli", "beta", "betabinom", "binom", "cauchy", "chi2", "dirichlet", "expon", "gamma", "gennorm", "geom",
           "gumbel_l", "gumbel_r", "laplace", "logistic", "multinomial", "multivariate_normal", "nbinom", "norm", "pareto",
           "poisson", "t", "truncnorm", "uniform", "vonmises", "wrapcauchy", "gaussian_kde", "mode", "rankdata", "sem"]

"""`irax.scipy.integrate`, as `jax.scipy.integrate`: the trapezoidal rule
(`irax.numpy.trapezoid`, under SciPy's name)."""
from irax.frontend.numpy.statistics import trapezoid

__all__ = ["trapezoid"]

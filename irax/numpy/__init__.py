"""`irax.numpy`: the NumPy API on irax arrays (implemented in irax.frontend.numpy)."""
from irax.frontend.numpy import *  # noqa: F401,F403
from irax.frontend.numpy import __all__ as _frontend_all
from irax.frontend.numpy.math_extra import shape, size  # not in the frontend package: they would hide its modules
from irax.frontend.numpy.polynomial_linalg import poly, polyfit, roots  # they import the frontend package
from irax.numpy import linalg  # noqa: F401 (a namespace, as jax.numpy.linalg)
from irax.numpy import fft  # noqa: F401 (a namespace, as jax.numpy.fft)

__all__ = [*_frontend_all, "poly", "polyfit", "roots", "shape", "size"]

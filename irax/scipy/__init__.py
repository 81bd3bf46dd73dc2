"""`irax.scipy`: the parts of SciPy's API that JAX offers as `jax.scipy`."""
from irax.scipy import linalg, special, stats  # noqa: F401
from irax.scipy import cluster, fft, integrate, interpolate, ndimage, optimize, signal  # noqa: F401

__all__ = ["linalg", "special", "stats"]
__all__ += ["cluster", "fft", "integrate", "interpolate", "ndimage", "optimize", "signal"]

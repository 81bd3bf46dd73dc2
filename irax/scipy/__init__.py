"""`irax.scipy`: the parts of SciPy's API that JAX offers as `jax.scipy`."""
from irax.scipy import (cluster, fft, integrate, interpolate, linalg, ndimage, optimize, signal, sparse,  # noqa: F401
                        special, stats)

__all__ = ["cluster", "fft", "integrate", "interpolate", "linalg", "ndimage", "optimize", "signal", "sparse", "special",
           "stats"]

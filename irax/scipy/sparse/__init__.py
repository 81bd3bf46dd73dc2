"""`irax.scipy.sparse`, as `jax.scipy.sparse`: the iterative solvers of `linalg`."""
from irax.scipy.sparse import linalg  # noqa: F401

__all__ = ["linalg"]

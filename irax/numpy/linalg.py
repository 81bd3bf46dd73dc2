"""`irax.numpy.linalg`: NumPy's linear algebra on irax arrays, as `jax.numpy.linalg`
(implemented in irax.frontend.numpy.linalg_ops, on irax.lax.linalg)."""
from irax.frontend.numpy.linalg import matmul, outer, tensordot
from irax.frontend.numpy.linalg_ops import (cholesky, det, diagonal, inv, matrix_norm, matrix_power, multi_dot, norm,
                                            slogdet, solve, tensorinv, tensorsolve, trace, vecdot, vector_norm)
from irax.frontend.numpy.shape import matrix_transpose

__all__ = ["cholesky", "det", "diagonal", "inv", "matmul", "matrix_norm", "matrix_power", "matrix_transpose",
           "multi_dot", "norm", "outer", "slogdet", "solve", "tensordot", "tensorinv", "tensorsolve", "trace",
           "vecdot", "vector_norm"]

"""`irax.numpy.linalg`: NumPy's linear algebra on irax arrays, as `jax.numpy.linalg`
(implemented in irax.frontend.numpy.linalg_ops, on irax.lax.linalg)."""
from irax.frontend.numpy.linalg import matmul, tensordot
from irax.frontend.numpy.linalg_eig import EigResult, eig, eigvals
from irax.frontend.numpy.linalg_eigh import EighResult, eigh, eigvalsh
from irax.frontend.numpy.linalg_ops import (cholesky, cross, det, diagonal, inv, matrix_norm, matrix_power, multi_dot,
                                            norm, outer, slogdet, solve, tensorinv, tensorsolve, trace, vecdot,
                                            vector_norm)
from irax.frontend.numpy.linalg_qr import QRResult, qr
from irax.frontend.numpy.linalg_svd import SVDResult, cond, lstsq, matrix_rank, pinv, svd, svdvals
from irax.frontend.numpy.shape import matrix_transpose

__all__ = ["EigResult", "EighResult", "QRResult", "SVDResult", "cholesky", "cond", "cross", "det", "diagonal", "eig",
           "eigh", "eigvals", "eigvalsh", "inv", "lstsq", "matmul", "matrix_norm", "matrix_power", "matrix_rank",
           "matrix_transpose", "multi_dot", "norm", "outer", "pinv", "qr", "slogdet", "solve", "svd", "svdvals",
           "tensordot", "tensorinv", "tensorsolve", "trace", "vecdot", "vector_norm"]

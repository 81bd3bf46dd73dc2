"""`irax.lax.linalg`: matrix factorizations and structured solves, as `jax.lax.linalg` (implemented in irax.frontend.lax_linalg)."""
from irax.frontend.lax_eig import EigImplementation, eig, hessenberg, schur
from irax.frontend.lax_eigh import eigh
from irax.frontend.lax_linalg import cholesky, lu, lu_pivots_to_permutation, triangular_solve
from irax.frontend.lax_linalg_structured import cholesky_update, symmetric_product, tridiagonal_solve
from irax.frontend.lax_qdwh import EighImplementation, qdwh
from irax.frontend.lax_qr import householder_product, ormqr, qr
from irax.frontend.lax_svd import SvdAlgorithm, svd
from irax.frontend.lax_tridiagonal import tridiagonal

__all__ = ["EigImplementation", "EighImplementation", "SvdAlgorithm", "cholesky", "cholesky_update", "eig", "eigh",
           "hessenberg", "householder_product", "lu", "lu_pivots_to_permutation", "ormqr", "qdwh", "qr", "schur", "svd",
           "symmetric_product", "triangular_solve", "tridiagonal", "tridiagonal_solve"]

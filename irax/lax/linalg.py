"""`irax.lax.linalg`: matrix factorizations, as `jax.lax.linalg` (implemented in irax.frontend.lax_linalg)."""
from irax.frontend.lax_eig import EigImplementation, eig, hessenberg, schur
from irax.frontend.lax_eigh import eigh
from irax.frontend.lax_linalg import cholesky, lu, lu_pivots_to_permutation, triangular_solve
from irax.frontend.lax_qr import householder_product, qr
from irax.frontend.lax_svd import SvdAlgorithm, svd

__all__ = ["EigImplementation", "SvdAlgorithm", "cholesky", "eig", "eigh", "hessenberg", "householder_product", "lu",
           "lu_pivots_to_permutation", "qr", "schur", "svd", "triangular_solve"]

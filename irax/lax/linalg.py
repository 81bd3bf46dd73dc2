"""`irax.lax.linalg`: matrix factorizations, as `jax.lax.linalg` (implemented in irax.frontend.lax_linalg)."""
from irax.frontend.lax_linalg import cholesky, lu, lu_pivots_to_permutation, triangular_solve

__all__ = ["cholesky", "lu", "lu_pivots_to_permutation", "triangular_solve"]

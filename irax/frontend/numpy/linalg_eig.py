"""`jnp.linalg.eig` and `eigvals`: NumPy's API over lax.linalg.eig (irax/frontend/lax_eig.py)."""
from __future__ import annotations

from typing import NamedTuple

from irax.frontend import lax_eig
from irax.frontend.numpy.util import check_arraylike, promote_args_inexact
from irax.typing import Array, ArrayLike


class EigResult(NamedTuple):
    eigenvalues: Array
    eigenvectors: Array


def eig(a: ArrayLike) -> EigResult:
    """(eigenvalues, eigenvectors) of each square matrix, complex:
    a @ eigenvectors[..., :, i] = eigenvalues[..., i] * eigenvectors[..., :, i],
    each eigenvector of unit norm. The order is the Schur form's, not
    necessarily LAPACK's (lax.linalg.eig)."""
    check_arraylike("jnp.linalg.eig", a)
    (a,) = promote_args_inexact("jnp.linalg.eig", a)
    w, v = lax_eig.eig(a, compute_left_eigenvectors=False)
    return EigResult(w, v)


def eigvals(a: ArrayLike) -> Array:
    """The eigenvalues of each square matrix, complex (see eig)."""
    check_arraylike("jnp.linalg.eigvals", a)
    (a,) = promote_args_inexact("jnp.linalg.eigvals", a)
    return lax_eig.eig(a, compute_left_eigenvectors=False, compute_right_eigenvectors=False)[0]


__all__ = ["EigResult", "eig", "eigvals"]

"""`jnp.linalg.eigh` and `eigvalsh`: NumPy's API over lax.linalg.eigh (irax/frontend/lax_eigh.py)."""
from __future__ import annotations

from typing import NamedTuple

from irax.frontend import lax_eigh
from irax.frontend.numpy.util import promote_args_inexact
from irax.typing import Array, ArrayLike

_LOWER = {None: True, "L": True, "U": False}  # UPLO -> the triangle read


class EighResult(NamedTuple):
    eigenvalues: Array
    eigenvectors: Array


def eigh(a: ArrayLike, UPLO: str | None = None, symmetrize_input: bool = True) -> EighResult:
    """(eigenvalues, eigenvectors) of each symmetric (complex: Hermitian)
    matrix: eigenvalues real and ascending, eigenvectors[..., :, i] the unit
    eigenvector of eigenvalues[..., i].
    Reads the lower ("L", default) or upper ("U") triangle of a, or (a + aᴴ)/2
    when `symmetrize_input`."""
    (a,) = promote_args_inexact("jnp.linalg.eigh", a)
    if UPLO not in _LOWER:
        raise ValueError(f"UPLO must be one of None, 'L', or 'U', got {UPLO}")
    v, w = lax_eigh.eigh(a, lower=_LOWER[UPLO], symmetrize_input=symmetrize_input)
    return EighResult(w, v)


def eigvalsh(a: ArrayLike, UPLO: str | None = "L", *, symmetrize_input: bool = True) -> Array:
    """The eigenvalues of each symmetric (Hermitian) matrix, real and ascending (see eigh)."""
    (a,) = promote_args_inexact("jnp.linalg.eigvalsh", a)
    return eigh(a, UPLO, symmetrize_input=symmetrize_input).eigenvalues


__all__ = ["EighResult", "eigh", "eigvalsh"]

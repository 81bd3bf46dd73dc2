"""`jnp.linalg.qr`: NumPy's modes over lax.linalg.qr (irax/frontend/lax_qr.py)."""
from __future__ import annotations

from typing import NamedTuple

from irax.frontend import lax_qr
from irax.frontend.lax_linalg import _T
from irax.frontend.numpy.util import promote_args_inexact
from irax.typing import Array, ArrayLike


class QRResult(NamedTuple):
    Q: Array
    R: Array


# mode -> full_matrices ("full" is NumPy's deprecated name of "reduced")
_FULL_MATRICES = {"reduced": False, "r": False, "full": False, "complete": True}


def qr(a: ArrayLike, mode: str = "reduced") -> Array | QRResult:
    """(Q, R) with a = Q R, k = min(m, n): "reduced" Q [..., m, k] and
    R [..., k, n]; "complete" Q [..., m, m] and R [..., m, n]; "r" R
    [..., k, n] alone; "raw" LAPACK's geqrf output, transposed, and its taus."""
    (a,) = promote_args_inexact("jnp.linalg.qr", a)
    if mode == "raw":
        h, taus = lax_qr.geqrf(a)
        return QRResult(_T(h), taus)
    if mode not in _FULL_MATRICES:
        raise ValueError(f"Unsupported QR decomposition mode '{mode}'")
    q, r = lax_qr.qr(a, full_matrices=_FULL_MATRICES[mode])
    return r if mode == "r" else QRResult(q, r)


__all__ = ["QRResult", "qr"]

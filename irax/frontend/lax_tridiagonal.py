"""`irax.lax.linalg.tridiagonal`: the reduction of a Hermitian (real
symmetric) matrix to tridiagonal form, T = Qᴴ A Q, with LAPACK's sytrd/hetrd
results (JAX's on CPU).

Only one triangle of A is read (`lower`); the reduction runs on its Hermitian
completion S (A below the diagonal, its conjugate above, Re diag(A) on it).
Step i of hetd2 (lower) reflects S[i+1:, i] onto e_{i+1} with larfg, H_i =
I - tau v vᴴ, and makes S <- H_iᴴ S H_i. A real S runs sytd2's own loop
(lax_eigh_tridiagonal's kernel "symmetric_tridiagonal", native on the CPU:
one symmetric rank-2 update a step). A complex one runs lax_eig's
`_hessenberg_loop`: a step of the Hessenberg reduction (gehrd) is a step of
hetd2, as the Hessenberg form of a Hermitian matrix is tridiagonal (gehrd
updates S from both sides, twice the work, not a different answer). The
reflectors, taus and T are LAPACK's to rounding; d and e are T's real
diagonal and subdiagonal (beta is real, the last step makes a complex
e_{n-2} real, and a real matrix's last tau is 0, as LAPACK's).

`lower=False` reads the upper triangle and, as hetd2 does, reflects from the
last column back, (alpha, x) = (A[i, i+1], A[:i, i+1]) for i = n-2 … 0,
leaving v above the first superdiagonal: that is the lower reduction of
A with its rows and columns reversed, J A J, its outputs reversed back.

The result is LAPACK's packed array: d and e on the diagonal and first
sub(super)diagonal, the reflectors' v (their leading 1 implied) below (above)
it, and the other triangle as given. Like JAX's, it has no derivative.
"""
from __future__ import annotations

import functools

from irax.frontend import dtypes
from irax.frontend.custom_derivatives import no_derivative
from irax.frontend.jit import jit
from irax.frontend.lax_eig import _hessenberg_loop, _indices
from irax.frontend.lax_eigh_tridiagonal import reduced_to_tridiagonal
from irax.frontend.lax_linalg import _H
from irax.frontend.lax_qr import _check_matrix
from irax.frontend.numpy import diagonal, flip, real, where, zeros
from irax.frontend.numpy.util import asarray
from irax.typing import Array, ArrayLike


def _lower_tridiagonal(a):
    """(a, d, e, taus) of hetrd(uplo='L') on each [..., n, n] a."""
    n = a.shape[-1]
    rows, cols = _indices(n)[:, None], _indices(n)
    d = real(diagonal(a, axis1=-2, axis2=-1))
    if n == 1:  # no reflector: a with its diagonal made real
        empty = a.shape[:-2] + (0,)
        return where(rows == cols, d[..., None, :], a), d, zeros(empty, d.dtype), zeros(empty, a.dtype)
    # (selected, not summed from the triangles: an entry of -0.0 keeps its sign, as LAPACK reads it)
    hermitian = where(rows > cols, a, where(rows == cols, d[..., None, :].astype(a.dtype), _H(a)))
    if not dtypes.is_complex(a.dtype):  # sytd2's own loop, a kernel (native on the CPU)
        packed, d, e, taus = reduced_to_tridiagonal(hermitian)
        return where(rows >= cols, packed, a), d, e, taus
    t, reflectors, taus, _ = _hessenberg_loop(hermitian, with_q=False, with_reflectors=True)
    t = real(t)  # T's (real) diagonal and subdiagonal, and rounding errors above
    packed = where(rows > cols + 1, reflectors, where(rows >= cols, t, a))
    return packed, diagonal(t, axis1=-2, axis2=-1), diagonal(t, offset=-1, axis1=-2, axis2=-1), taus


def _upper_tridiagonal(a):
    """hetrd(uplo='U'): the lower reduction of J a J, reversed back."""
    reverse = functools.partial(flip, axis=-1)
    packed, d, e, taus = _lower_tridiagonal(flip(a, axis=(-2, -1)))
    return flip(packed, axis=(-2, -1)), reverse(d), reverse(e), reverse(taus)


@functools.lru_cache(maxsize=None)
def _tridiagonal_fn(lower):
    """tridiagonal as one staged program per triangle, which, as JAX's
    primitive, raises when differentiated."""
    reduce = _lower_tridiagonal if lower else _upper_tridiagonal
    return jit(no_derivative(reduce, NotImplementedError("Differentiation rule for 'tridiagonal' not implemented")))


def tridiagonal(a: ArrayLike, *, lower: bool = True) -> tuple[Array, Array, Array, Array]:
    """jax.lax.linalg.tridiagonal: (a, d, e, taus) of the reduction Qᴴ a Q = T
    of each Hermitian [..., n, n] a (only its `lower` or upper triangle read)
    to the real tridiagonal T, as LAPACK's sytrd/hetrd: d (n) its diagonal,
    e (n - 1) its first sub- and superdiagonal, and in a the Householder
    vectors of Q = H_0 … H_{n-2} (lower) or H_{n-2} … H_0 (upper) beyond
    them, with their n - 1 taus."""
    a = asarray(a)
    _check_matrix("tridiagonal", a)
    if a.shape[-1] != a.shape[-2] or a.shape[-1] == 0:
        raise ValueError(f"The input to tridiagonal must be a square matrix. Got shape {a.shape[-2:]}.")
    if not dtypes.is_inexact(a.dtype):
        raise TypeError(f"tridiagonal does not accept dtype {a.dtype.name} at position 0. Accepted dtypes at "
                        "position 0 are subtypes of floating, complexfloating.")
    return _tridiagonal_fn(bool(lower))(a)

"""`lax.linalg` for structured matrices: `tridiagonal_solve`,
`symmetric_product` and `cholesky_update`, as JAX's.

tridiagonal_solve(dl, d, du, b) solves A x = b for A with sub-, main and
super-diagonals dl, d, du (dl[i] = A[i, i-1], du[i] = A[i, i+1]; dl[0] and
du[-1] unused) by the Thomas algorithm (elimination without pivoting, as
JAX's own implementation away from LAPACK: exact for the diagonally dominant
systems it is meant for), a scan down the rows and one back up. Derivatives
are implicit, as JAX defines them (A x = b differentiated):

    forward:  ∂x = A⁻¹ (∂b - ∂A x)
    reverse:  ct_b = A⁻ᵀ ct_x,  ct_A = -ct_b xᵀ on the three diagonals

Aᵀ is tridiagonal with dl and du swapped and shifted by one.
"""
import numpy as np

from irax.frontend import dtypes
from irax.frontend.control_flow import scan
from irax.frontend.custom_derivatives import custom_vjp_and_jvp
from irax.frontend.lax_linalg import cholesky
from irax.frontend.numpy import concatenate, moveaxis, tril, zeros_like
from irax.frontend.numpy.util import asarray
from irax.typing import Array, ArrayLike

__all__ = ["cholesky_update", "symmetric_product", "tridiagonal_solve"]


def _thomas(dl, d, du, b):
    """x with A x = b, the rows of dl, d, du (..., m) and b (..., m, n) eliminated in order."""
    dl, d, du = (moveaxis(v, -1, 0)[..., None] for v in (dl, d, du))  # (m, ..., 1)
    b = moveaxis(b, -2, 0)  # (m, ..., n)

    def down(carry, row):
        c_prev, y_prev = carry
        a, diag, c, rhs = row
        pivot = diag - a * c_prev
        c_next, y_next = c / pivot, (rhs - a * y_prev) / pivot
        return (c_next, y_next), (c_next, y_next)

    first = (du[0] / d[0], b[0] / d[0])
    _, (c, y) = scan(down, first, (dl[1:], d[1:], du[1:], b[1:]))
    c, y = concatenate([first[0][None], c]), concatenate([first[1][None], y])

    def up(x_next, row):
        c_i, y_i = row
        x = y_i - c_i * x_next
        return x, x

    last = y[-1]
    _, xs = scan(up, last, (c[:-1], y[:-1]), reverse=True)
    return moveaxis(concatenate([xs, last[None]]), 0, -2)


def _matmul_tridiagonal(dl, d, du, x):
    """A x for A given by its diagonals, x of shape (..., m, n)."""
    y = d[..., None] * x
    y = y.at[..., 1:, :].add(dl[..., 1:, None] * x[..., :-1, :])
    return y.at[..., :-1, :].add(du[..., :-1, None] * x[..., 1:, :])


def _transposed(dl, d, du):
    """The diagonals of Aᵀ: its sub-diagonal is A's super-diagonal, one row down."""
    zero = zeros_like(dl[..., :1])
    return concatenate([zero, du[..., :-1]], axis=-1), d, concatenate([dl[..., 1:], zero], axis=-1)


def _solve_fwd(dl, d, du, b):
    x = _solve(dl, d, du, b)
    return x, (dl, d, du, x)


def _solve_bwd(residuals, ct):
    dl, d, du, x = residuals
    ct_b = _solve(*_transposed(dl, d, du), ct)
    zero = zeros_like(ct_b[..., :1, :].sum(-1))
    ct_d = -(ct_b * x).sum(-1)
    ct_dl = concatenate([zero, -(ct_b[..., 1:, :] * x[..., :-1, :]).sum(-1)], axis=-1)
    ct_du = concatenate([-(ct_b[..., :-1, :] * x[..., 1:, :]).sum(-1), zero], axis=-1)
    return ct_dl, ct_d, ct_du, ct_b


def _solve_jvp(primals, tangents):
    dl, d, du, b = primals
    t_dl, t_d, t_du, t_b = tangents
    x = _solve(dl, d, du, b)
    return x, _solve(dl, d, du, t_b - _matmul_tridiagonal(t_dl, t_d, t_du, x))


_solve = custom_vjp_and_jvp(_thomas)
_solve.defvjp(_solve_fwd, _solve_bwd)
_solve.defjvp(_solve_jvp)


def tridiagonal_solve(dl: ArrayLike, d: ArrayLike, du: ArrayLike, b: ArrayLike, *,
                      perturb_singular: bool = False) -> Array:
    """x with A x = b, A tridiagonal with diagonals dl, d, du of shape
    (..., m) and b of shape (..., m, n), as jax.lax.linalg.tridiagonal_solve
    (module docstring). A singular system gives NaN or inf, as JAX's."""
    if perturb_singular:
        raise NotImplementedError("perturb_singular=True is not supported on this platform.")
    dl, d, du, b = (asarray(v) for v in (dl, d, du, b))
    for i, v in enumerate((dl, d, du, b)):
        if v.ndim < (2 if i == 3 else 1):
            raise TypeError(f"Input {i} to tridiagonal_solve must have rank at least {2 if i == 3 else 1}, "
                            f"but got shape={v.shape}")
    batch_dims = [dl.ndim - 1, d.ndim - 1, du.ndim - 1, b.ndim - 2]
    if len(set(batch_dims)) > 1:
        raise TypeError("All inputs to tridiagonal_solve must have the same number of batch dimensions, but got "
                        f"{batch_dims} batch dimensions for the inputs.")
    if not dtypes.is_inexact(dl.dtype):
        raise TypeError(f"tridiagonal_solve does not accept dtype {dl.dtype.name} at position 0. Accepted dtypes "
                        "at position 0 are subtypes of floating, complexfloating.")
    if len({v.dtype for v in (dl, d, du, b)}) > 1:
        raise TypeError("lax.tridiagonal_solve requires arguments to have the same dtypes, got "
                        f"{', '.join(v.dtype.name for v in (dl, d, du, b))}.")
    if not dl.shape == d.shape == du.shape:
        raise TypeError("tridiagonal_solve requires that all diagonal arguments have the same shape.")
    if dl.shape != b.shape[:-1]:
        raise TypeError("tridiagonal_solve requires that the leading ndim-1 dimensions of b equal the dimensions "
                        "of the diagonal arguments.")
    return _solve(dl, d, du, b)


def symmetric_product(a_matrix: ArrayLike, c_matrix: ArrayLike, *, alpha: float = 1.0, beta: float = 0.0,
                      symmetrize_output: bool = False) -> Array:
    """alpha A Aᵀ + beta C for A (..., m, n) and C (..., m, m), as
    jax.lax.linalg.symmetric_product; with `symmetrize_output` the upper
    triangle is the transpose of the lower one (JAX guarantees only the
    lower triangle otherwise; irax computes the whole product)."""
    a, c = asarray(a_matrix), asarray(c_matrix)
    for position, x in enumerate((a, c)):  # real floats only, as JAX (no complex: Aᵀ, not Aᴴ); bfloat16 too
        if not dtypes.issubdtype(x.dtype, np.floating):
            raise TypeError(f"symmetric_product does not accept dtype {x.dtype.name} at position {position}. "
                            f"Accepted dtypes at position {position} are subtypes of floating.")
    if a.dtype != c.dtype:
        raise TypeError(f"lax.symmetric_product requires arguments to have the same dtypes, got {a.dtype.name}, "
                        f"{c.dtype.name}.")
    result = alpha * (a @ a.swapaxes(-1, -2)) + beta * c
    if symmetrize_output:
        result = tril(result) + tril(result, -1).swapaxes(-1, -2)
    return result.astype(np.result_type(a.dtype, c.dtype))


def cholesky_update(r_matrix: ArrayLike, w_vector: ArrayLike) -> Array:
    """The upper-triangular R' with R'ᵀ R' = Rᵀ R + w wᵀ, as
    jax.lax.linalg.cholesky_update (the factor with a positive diagonal is
    unique). irax refactors Rᵀ R + w wᵀ (O(N³), where JAX's rotations are
    O(N²))."""
    r, w = asarray(r_matrix), asarray(w_vector)
    a = r.swapaxes(-1, -2) @ r + w[..., :, None] * w[..., None, :]
    return cholesky(a).swapaxes(-1, -2)

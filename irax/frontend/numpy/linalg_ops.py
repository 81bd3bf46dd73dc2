"""`irax.numpy.linalg`'s solvers, on the factorizations of lax_linalg.py:

    solve(a, b)    P a = L U;  x = U⁻¹ L⁻¹ P b   (two triangular solves)
    inv(a)         solve(a, I)
    det(a)         (-1)^(row swaps) · prod(diag(U)); up to 3x3, as in JAX, the
                   sum over permutations (exactly 0 for singular integer matrices)
    slogdet(a)     sign and sum(log|diag(U)|), up to 2x2 sign and log|det|;
                   a zero pivot (det) gives (0, -inf)

A singular a gives inf/NaN (solve, inv) or 0 (det), not an error, as in JAX.
Complex a works alike (slogdet's sign is then det / |det|, of modulus 1).
Gradients are custom rules, with x = a⁻¹ b (transposes, not adjoints: JAX's
convention for complex numbers, see lax_linalg.py):

    solve   b̄ = a⁻ᵀ x̄,  ā = -b̄ xᵀ;  forward mode ẋ = a⁻¹ (ḃ - ȧ x)
    det     a custom JVP, ḋ = tr(adj(a) ȧ) (so ā = d̄ · adj(a)ᵀ), with an
            adjugate finite at singular a (autodiff up to 3x3)
    slogdet with t = tr(a⁻¹ ȧ): d log|det| = Re t, d sign = i Im(t) sign, so
            ā = (l̄ - i Re(i sign s̄)) · a⁻ᵀ   (a real sign has no gradient)

solve and slogdet carry both rules (`custom_vjp_and_jvp`): a VJP for reverse
mode and the JVP above for forward mode (jvp, jacfwd, hessian), as JAX's do.
"""
from __future__ import annotations

import functools
import itertools
import operator
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from irax.frontend import lax_linalg, lax_qr, lax_svd
from irax.frontend.custom_derivatives import custom_jvp, custom_vjp_and_jvp
from irax.frontend.jit import jit
from irax.frontend.lax_linalg import _H, _T, triangular_solve
from irax.frontend.numpy import linalg as products
from irax.frontend.numpy import (abs, amax, amin, any, arange, argsort, broadcast_shapes, broadcast_to, conj,
                                 expand_dims, eye, iscomplexobj, log, matmul, moveaxis, ones, prod, ravel, real,
                                 reshape, sqrt, squeeze, sum, take_along_axis, where, zeros_like)
from irax.frontend.numpy import sign as signum
from irax.frontend.numpy.util import canonicalize_axis, promote_args, promote_args_inexact
from irax.ir.types import real_dtype
from irax.typing import Array, ArrayLike, Axis, DTypeLike


def _check_square(name, a):
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"Argument to {name} must have shape [..., n, n], got {a.shape}")


def _diagonal(a):
    n = a.shape[-1]
    return sum(where(arange(n)[:, None] == arange(n), a, 0), axis=-1)


@functools.partial(jit, static_argnames=("upper", "symmetrize_input"))
def cholesky(a: ArrayLike, *, upper: bool = False, symmetrize_input: bool = True) -> Array:
    """The Cholesky factor of each matrix: lower L with a = L Lᴴ, or its
    transpose U = Lᴴ (a = Uᴴ U) when `upper`. NaNs where a is not positive definite."""
    (a,) = promote_args_inexact("jnp.linalg.cholesky", a)
    L = lax_linalg.cholesky(a, symmetrize_input=symmetrize_input)
    return _H(L) if upper else L


def _lu_solve(lu, permutation, b, transpose=False, conjugate=False):
    """x with a x = b (or aᵀ x = b, or aᴴ x = b with `conjugate` too) from
    lu, permutation = lax.linalg.lu(a); b is [..., m, k] with a's batch dims."""
    if transpose and conjugate and iscomplexobj(lu):  # aᴴ x = b is aᵀ conj(x) = conj(b)
        return conj(_lu_solve(lu, permutation, conj(b), transpose=True))
    if not transpose:
        pb = take_along_axis(b, permutation[..., :, None], axis=-2)
        y = triangular_solve(lu, pb, left_side=True, lower=True, unit_diagonal=True)
        return triangular_solve(lu, y, left_side=True, lower=False)
    # aᵀ = Uᵀ Lᵀ P: solve with Uᵀ, then Lᵀ, then undo P.
    z = triangular_solve(lu, b, left_side=True, lower=False, transpose_a=True)
    w = triangular_solve(lu, z, left_side=True, lower=True, transpose_a=True, unit_diagonal=True)
    return take_along_axis(w, argsort(permutation)[..., :, None], axis=-2)


@custom_vjp_and_jvp
def _solve(a, b):
    lu, _, permutation = lax_linalg.lu(a)
    return _lu_solve(lu, permutation, b)


def _solve_fwd(a, b):
    lu, _, permutation = lax_linalg.lu(a)
    x = _lu_solve(lu, permutation, b)
    return x, (lu, permutation, x)


def _solve_bwd(residuals, ct):
    lu, permutation, x = residuals
    ct_b = _lu_solve(lu, permutation, ct, transpose=True)
    return -(ct_b @ _T(x)), ct_b


_solve.defvjp(_solve_fwd, _solve_bwd)


@_solve.defjvp
def _solve_jvp(primals, tangents):
    """ẋ = a⁻¹ (ḃ - ȧ x), as calls of _solve itself: tracing them (this rule is
    traced with every solve) costs next to nothing, where an LU here doubled
    the trace of each. Forward mode then factorizes a twice."""
    (a, b), (a_dot, b_dot) = primals, tangents
    x = _solve(a, b)
    return x, _solve(a, b_dot - a_dot @ x)


@jit
def solve(a: ArrayLike, b: ArrayLike) -> Array:
    """x with a @ x = b: a is [..., n, n]; b is [n] (a vector, broadcast
    over a's batch) or [..., n, k], the batch dims broadcasting."""
    a, b = promote_args_inexact("jnp.linalg.solve", a, b)
    if a.ndim < 2:
        raise ValueError(f"left hand array must be at least two dimensional; got a.shape={a.shape}")
    if b.ndim > 1 and a.ndim == b.ndim + 1 and a.shape[-1] == b.shape[-1] and a.shape[-1] != b.shape[-2]:
        raise ValueError(f"Invalid shapes for solve: {a.shape}, {b.shape}. Prior to JAX v0.5.0, this would have "
                         "been treated as a batched 1-dimensional solve. To recover this behavior, use "
                         "solve(a, b[..., None]).squeeze(-1).")
    vector = b.ndim == 1
    rhs = b[:, None] if vector else b
    if a.shape[-1] != a.shape[-2] or rhs.shape[-2] != a.shape[-1]:
        raise ValueError("The arguments to solve must have shapes a=[..., m, m] and b=[..., m, k] or b=[..., m]; "
                         f"got a={a.shape} and b={b.shape}")
    batch = broadcast_shapes(a.shape[:-2], rhs.shape[:-2])
    x = _solve(broadcast_to(a, batch + a.shape[-2:]), broadcast_to(rhs, batch + rhs.shape[-2:]))
    return x[..., 0] if vector else x


@jit
def inv(a: ArrayLike) -> Array:
    """The inverse of each matrix, solve(a, I): inf/NaN where a is singular."""
    (a,) = promote_args_inexact("jnp.linalg.inv", a)
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"Argument to inv must have shape [..., n, n], got {a.shape}.")
    return solve(a, broadcast_to(eye(a.shape[-1], dtype=a.dtype), a.shape))


def _lu_sign_diagonal(a):
    """The sign of the row permutation and diag(U) of a = Pᵀ L U, and (lu,
    permutation) for the gradients' a⁻ᵀ (_inverse_transpose)."""
    lu, pivots, permutation = lax_linalg.lu(a)
    swaps = sum(pivots != arange(pivots.shape[-1], dtype=np.int32), axis=-1)
    # In the real dtype: an int -> complex conversion here made IREE 3.13 fail to compile
    # det's gradient ("streamable op expected to be in an execution region").
    parity = where(swaps % 2 == 0, 1, -1).astype(real_dtype(a.dtype))
    return parity, _diagonal(lu), (lu, permutation)


def _inverse_transpose(factors):
    """a⁻ᵀ from a's (lu, permutation): the gradients reuse the forward LU."""
    lu, permutation = factors
    return _lu_solve(lu, permutation, broadcast_to(eye(lu.shape[-1], dtype=lu.dtype), lu.shape), transpose=True)


# ---------------------------------------------------------------------------
# det. Up to 3x3, as in JAX, the sum over permutations: exactly 0 for a
# singular matrix of small integers (where LU leaves rounding noise), and its
# autodiff gives the cofactors everywhere, singular matrices included.
# Larger matrices use the LU, with a custom JVP d det = tr(adj(a) ȧ) whose
# adjugate stays finite at singular a (det(a) a⁻ᵀ would be 0 · inf = NaN).

_CLOSED_FORM_MAX_N = 3


def _permutation_sign(perm):
    inversions = len([1 for i, x in enumerate(perm) for y in perm[i + 1:] if x > y])
    return -1 if inversions % 2 else 1


def _leibniz_terms(n):
    """(sign, σ) for every permutation σ of range(n), the even ones first (JAX's order for 3x3)."""
    terms = [(_permutation_sign(perm), perm) for perm in itertools.permutations(range(n))]
    return sorted(terms, key=lambda term: -term[0])


def _det_closed_form(a):
    """Σ_σ sign(σ) Π_i a[i, σ(i)]; 1 for a 0x0 matrix."""
    total = None
    for sign, perm in _leibniz_terms(a.shape[-1]):
        entries = [a[..., i, j] for i, j in enumerate(perm)]
        term = functools.reduce(operator.mul, entries) if entries else ones(a.shape[:-2], a.dtype)
        total = term if total is None else total + term if sign > 0 else total - term
    return total


def _lu_det_parts(a):
    """det(a) = leading · last: leading = the row swaps' sign · Π u_ii (i < n),
    last = u_nn, of a = Pᵀ L U; and the factors."""
    parity, diagonal, factors = _lu_sign_diagonal(a)
    return parity * prod(diagonal[..., :-1], axis=-1), diagonal[..., -1], factors


def _lu_det_value(a):
    leading, last, _ = _lu_det_parts(a)
    return leading * last


def _adjugate(leading, last, factors):
    """adj(a) = det(a) a⁻¹, finite where a is singular. From a = Pᵀ L U,
    adj(a) = sign(P) adj(U) L⁻¹ P; and with U = [[U₁, c], [0, u_nn]] and M = U
    with u_nn set to 1, adj(U) = det(U₁) [[u_nn U₁⁻¹, -U₁⁻¹ c], [0, 1]] =
    det(U₁) M⁻¹ diag(u_nn, …, u_nn, 1): nothing divides by u_nn, so a of rank
    n - 1 (u_nn = 0) gets its rank-1 adjugate. Where U₁ is singular too (a zero
    pivot before the last: rank <= n - 2, or rank n - 1 pivoted unluckily) it
    is 0, as in JAX."""
    lu, permutation = factors
    n = lu.shape[-1]
    last_row = arange(n)[:, None] == n - 1
    m = where(last_row & (arange(n) == n - 1), 1, lu)
    p = take_along_axis(broadcast_to(eye(n, dtype=lu.dtype), lu.shape), permutation[..., :, None], axis=-2)
    l_inv_p = triangular_solve(lu, p, left_side=True, lower=True, unit_diagonal=True)
    scaled = where(last_row, l_inv_p, last[..., None, None] * l_inv_p)
    adjugate = leading[..., None, None] * triangular_solve(m, scaled, left_side=True, lower=False)
    return where((leading == 0)[..., None, None], 0, adjugate)


_lu_det = custom_jvp(_lu_det_value)


def _lu_det_jvp(primals, tangents):
    (a,), (a_dot,) = primals, tangents
    leading, last, factors = _lu_det_parts(a)
    adjugate = _adjugate(leading, last, factors)
    return leading * last, sum(_T(adjugate) * a_dot, axis=(-2, -1))


_lu_det.defjvp(_lu_det_jvp)


@jit
def det(a: ArrayLike) -> Array:
    """The determinant of each matrix (0 where a is singular)."""
    (a,) = promote_args_inexact("jnp.linalg.det", a)
    _check_square("_det()", a)
    return _det_closed_form(a) if a.shape[-1] <= _CLOSED_FORM_MAX_N else _lu_det(a)


class SlogdetResult(NamedTuple):
    sign: Array
    logabsdet: Array


# slogdet: from the closed-form det up to 2x2 (a⁻ᵀ = cofactors / det, as in
# JAX: ±inf or NaN where a is singular), from the LU beyond.
_SLOGDET_CLOSED_FORM_MAX_N = 2


def _cofactors_closed_form(a):
    """The cofactor matrix det(a) a⁻ᵀ of 0x0, 1x1 ([[1]]) and 2x2 ([[d, -c], [-b, a]]) matrices."""
    if a.shape[-1] <= 1:
        return ones(a.shape, a.dtype)
    checkerboard = np.array([[1, -1], [-1, 1]], real_dtype(a.dtype))
    return a[..., ::-1, ::-1] * checkerboard


def _slogdet_parts(a):
    """(sign, log|det|), and a function giving a⁻ᵀ (the gradient of log det) for the VJP."""
    if a.shape[-1] <= _SLOGDET_CLOSED_FORM_MAX_N:
        d = _det_closed_form(a)
        unit = where(d == 0, 0, d / abs(d)) if iscomplexobj(d) else signum(d)  # (±1 at ±inf, where d / |d| is NaN)
        return (unit, log(abs(d))), lambda: _cofactors_closed_form(a) / d[..., None, None]
    parity, diagonal, factors = _lu_sign_diagonal(a)
    if iscomplexobj(diagonal):
        unit = prod(where(diagonal == 0, 0, diagonal / abs(diagonal)), axis=-1)
    else:  # by the count of negative entries, as LAPACK and JAX: ±1 where an entry is inf or NaN too
        unit = where(any(diagonal == 0, axis=-1), 0, where(sum(diagonal < 0, axis=-1) % 2 == 0, 1, -1))
    return (parity * unit, sum(log(abs(diagonal)), axis=-1)), lambda: _inverse_transpose(factors)


_slogdet = custom_vjp_and_jvp(lambda a: _slogdet_parts(a)[0])


def _slogdet_fwd(a):
    (sign, logabsdet), inverse_transpose = _slogdet_parts(a)
    return (sign, logabsdet), (inverse_transpose(), sign)


def _slogdet_bwd(residuals, ct):
    inverse_transpose, sign = residuals
    ct_sign, ct_logabsdet = ct
    ct_trace = ct_logabsdet.astype(sign.dtype)
    if iscomplexobj(sign):
        ct_trace = ct_trace - 1j * real(1j * sign * ct_sign)
    return (ct_trace[..., None, None] * inverse_transpose,)


_slogdet.defvjp(_slogdet_fwd, _slogdet_bwd)


@_slogdet.defjvp
def _slogdet_jvp(primals, tangents):
    """JAX's: t = tr(a⁻¹ ȧ) is the tangent of log|det| (its real part) and
    sign's is i Im(t) sign (0 for real a)."""
    (a,), (a_dot,) = primals, tangents
    (sign, logabsdet), inverse_transpose = _slogdet_parts(a)
    t = sum(inverse_transpose() * a_dot, axis=(-2, -1))
    if iscomplexobj(sign):
        return (sign, logabsdet), ((t - real(t).astype(t.dtype)) * sign, real(t))
    return (sign, logabsdet), (zeros_like(sign), t)


def _slogdet_qr(a):
    """(sign, log|det|) from a's Householder QR, as JAX's method="qr": det R
    times -1 for each reflection made (a nonzero tau; the last is never one).
    Real matrices only, as JAX's; differentiated through geqrf."""
    if iscomplexobj(a):
        raise NotImplementedError("slogdet method='qr' not implemented for complex inputs")
    r, taus = lax_qr.geqrf(a)
    diagonal = _diagonal(r)
    reflections = prod(where(taus[..., :a.shape[-1] - 1] != 0, -1, 1), axis=-1).astype(a.dtype)
    return prod(signum(diagonal), axis=-1) * reflections, sum(log(abs(diagonal)), axis=-1)


_SLOGDET_METHODS = {None: _slogdet, "lu": _slogdet, "qr": _slogdet_qr}


@functools.partial(jit, static_argnames="method")
def slogdet(a: ArrayLike, *, method: str | None = None) -> SlogdetResult:
    """(sign, log|det|) of each matrix; (0, -inf) where a is singular."""
    (a,) = promote_args_inexact("jnp.linalg.slogdet", a)
    if method not in _SLOGDET_METHODS:
        raise ValueError(f"Unknown slogdet method '{method}'. Supported methods are 'lu' (`None`), and 'qr'.")
    _check_square("slogdet()", a)
    return SlogdetResult(*_SLOGDET_METHODS[method](a))




# ---------------------------------------------------------------------------
# Built from the above and from matmul.

def diagonal(x: ArrayLike, /, *, offset: int = 0) -> Array:
    """The diagonal of each matrix (the last two axes), shifted by `offset`."""
    (x,) = promote_args("jnp.linalg.diagonal", x)
    m, n = x.shape[-2:]
    length = max(0, min(m + min(offset, 0), n - max(offset, 0)))
    picked = where(arange(m)[:, None] + offset == arange(n), x, 0)
    # summed in x's dtype (a sum of one entry and zeros): bool stays bool, uint8 uint8
    if offset >= 0:  # one entry per column j >= offset: x[j - offset, j]
        return sum(picked, axis=-2, dtype=x.dtype)[..., offset:offset + length]
    return sum(picked, axis=-1, dtype=x.dtype)[..., -offset:-offset + length]  # per row i >= -offset: x[i, i + offset]


def trace(x: ArrayLike, /, *, offset: int = 0, dtype: DTypeLike | None = None) -> Array:
    """The sum of each matrix's diagonal."""
    return sum(diagonal(x, offset=offset), axis=-1, dtype=dtype)


def matrix_power(a: ArrayLike, n: int) -> Array:
    """a @ a @ ... (n times) by repeated squaring; I for n = 0, inv(a)^|n| for n < 0."""
    (a,) = promote_args("jnp.linalg.matrix_power", a)
    _check_square("matrix_power", a)
    if not isinstance(n, (int, np.integer)):
        raise TypeError(f"exponent must be an integer, got {n}")
    if n < 0:
        a, n = inv(a), -n
    result = None
    while n:
        if n & 1:
            result = a if result is None else matmul(result, a)
        n >>= 1
        if n:
            a = matmul(a, a)
    return broadcast_to(eye(a.shape[-1], dtype=a.dtype), a.shape) if result is None else result


def multi_dot(arrays: Sequence[ArrayLike], *, precision: None = None) -> Array:
    """arrays[0] @ arrays[1] @ ...; a 1-D first (last) array is a row (column)."""
    arrays = list(promote_args("jnp.linalg.multi_dot", *arrays))
    if len(arrays) < 2:
        raise ValueError(f"multi_dot requires at least two arrays; got len(arrays)={len(arrays)}")
    shapes = [a.shape for a in arrays]
    if not (arrays[0].ndim in (1, 2) and arrays[-1].ndim in (1, 2) and all(a.ndim == 2 for a in arrays[1:-1])):
        raise ValueError("multi_dot: input arrays must all be two-dimensional, except for the first and last array "
                         f"which may be 1 or 2 dimensional. Got array shapes {shapes}")
    if not all(a.shape[-1] == b.shape[0] for a, b in zip(arrays[:-1], arrays[1:])):
        raise ValueError("multi_dot: last dimension of each array must match first dimension of following array. "
                         f"Got array shapes {shapes}")
    result = arrays[0]
    for x in arrays[1:]:
        result = matmul(result, x)
    return result


def tensorinv(a: ArrayLike, ind: int = 2) -> Array:
    """The tensor y with tensordot(y, a, ind) = I: inv of a reshaped to a square matrix."""
    (a,) = promote_args_inexact("jnp.linalg.tensorinv", a)
    front, back = a.shape[:ind], a.shape[ind:]
    size = int(np.prod(front))
    if size != int(np.prod(back)):
        raise ValueError("tensorinv is only possible when the product of the first `ind` dimensions equals that of "
                         f"the remaining dimensions. got arr.shape={a.shape} with ind={ind}.")
    return reshape(inv(reshape(a, (size, size))), back + front)


def tensorsolve(a: ArrayLike, b: ArrayLike, axes: tuple[int, ...] | None = None) -> Array:
    """x with tensordot(a, x, x.ndim) = b, solved as a square system."""
    a, b = promote_args_inexact("jnp.linalg.tensorsolve", a, b)
    if axes is not None:
        axes = [i % a.ndim for i in axes]
        a = moveaxis(a, axes, [a.ndim - len(axes) + i for i in range(len(axes))])
    out_shape = a.shape[b.ndim:]
    size = int(np.prod(out_shape))
    if a.shape[:b.ndim] != b.shape:
        raise ValueError("After moving axes to end, leading shape of a must match shape of b. "
                         f"got a.shape={a.shape}, b.shape={b.shape}")
    if b.size != size:
        raise ValueError(f"Input arrays must have prod(a.shape[:b.ndim]) == prod(a.shape[b.ndim:]); "
                         f"got a.shape={a.shape}, b.ndim={b.ndim}.")
    return reshape(solve(reshape(a, (size, size)), ravel(b)), out_shape)


def vecdot(x1: ArrayLike, x2: ArrayLike, /, *, axis: int = -1, precision: object = None,
           preferred_element_type: DTypeLike | None = None) -> Array:
    """sum(conj(x1) * x2) along `axis` (of one size in both), the other axes
    broadcasting, in the operands' promoted dtype: jnp.vecdot."""
    return products.vecdot(x1, x2, axis=axis, preferred_element_type=preferred_element_type)


def cross(x1: ArrayLike, x2: ArrayLike, /, *, axis: int = -1) -> Array:
    """The cross product of 3-vectors along `axis`, the other axes broadcasting (jnp.cross)."""
    x1, x2 = promote_args("jnp.linalg.cross", x1, x2)
    if x1.shape[axis] != 3 or x2.shape[axis] != 3:
        raise ValueError("Both input arrays must be (arrays of) 3-dimensional vectors, "
                         f"but they have {x1.shape[axis]=} and {x2.shape[axis]=}")
    return products.cross(x1, x2, axis=axis)


def outer(x1: ArrayLike, x2: ArrayLike, /) -> Array:
    """out[i, j] = x1[i] x2[j] of two vectors (jnp.outer ravels other shapes; this refuses them, as JAX's)."""
    x1, x2 = promote_args("jnp.linalg.outer", x1, x2)
    if x1.ndim != 1 or x2.ndim != 1:
        raise ValueError(f"Input arrays must be one-dimensional, but they are {x1.ndim=} {x2.ndim=}")
    return products.outer(x1, x2)


def vector_norm(x: ArrayLike, /, *, axis: Axis = None, keepdims: bool = False, ord: int | float = 2) -> Array:
    """(sum |x|^ord)^(1/ord) over `axis` (all axes when None); ord inf/-inf
    is the max/min |x|, ord 0 the count of nonzeros."""
    (x,) = promote_args_inexact("jnp.linalg.vector_norm", x)
    if isinstance(ord, str):  # JAX's words, to the letter
        hint = {"inf": "Use 'jax.numpy.inf' instead.", "-inf": "Use '-jax.numpy.inf' instead."}.get(ord, "")
        raise ValueError(f"Invalid order '{ord}' for vector norm.{hint}")
    a = abs(x)
    if ord == np.inf:
        return amax(a, axis=axis, keepdims=keepdims, initial=0)
    if ord == -np.inf:
        return amin(a, axis=axis, keepdims=keepdims)
    if ord == 0:
        return sum(a != 0, axis=axis, keepdims=keepdims).astype(a.dtype)
    if ord == 1:
        return sum(a, axis=axis, keepdims=keepdims)
    if ord == 2:
        return sqrt(sum(a * a, axis=axis, keepdims=keepdims))
    return sum(a ** ord, axis=axis, keepdims=keepdims) ** (1 / ord)


# ord -> the matrix norm over axes (row, col): a reduction of |x| along one axis, then one across.
_MATRIX_NORMS = {
    1: (lambda a, r, c, k: amax(sum(a, axis=r, keepdims=True), axis=c, keepdims=True)),
    -1: (lambda a, r, c, k: amin(sum(a, axis=r, keepdims=True), axis=c, keepdims=True)),
    np.inf: (lambda a, r, c, k: amax(sum(a, axis=c, keepdims=True), axis=r, keepdims=True)),
    -np.inf: (lambda a, r, c, k: amin(sum(a, axis=c, keepdims=True), axis=r, keepdims=True)),
    "fro": (lambda a, r, c, k: sqrt(sum(a * a, axis=(r, c), keepdims=True))),
}
_MATRIX_NORMS["f"] = _MATRIX_NORMS["fro"]  # as JAX

# ord -> the matrix norm from the singular values s (the last axis).
_SINGULAR_VALUE_NORMS = {
    2: (lambda s: amax(s, axis=-1, initial=0)),
    -2: (lambda s: amin(s, axis=-1)),
    "nuc": (lambda s: sum(s, axis=-1)),
}


def matrix_norm(x: ArrayLike, /, *, keepdims: bool = False, ord: int | float | str = "fro") -> Array:
    """The norm of each matrix (the last two axes)."""
    return norm(x, ord=ord, axis=(-2, -1), keepdims=keepdims)


@functools.partial(jit, static_argnames=("ord", "axis", "keepdims"))
def norm(x: ArrayLike, ord: int | float | str | None = None, axis: Axis = None, keepdims: bool = False) -> Array:
    """A vector norm (one axis, or x 1-D with axis None), a matrix norm (two
    axes, or x 2-D), or for ord None the 2-norm of all of x flattened.
    Matrix ords: 'fro', 1, -1, inf, -inf; and from the singular values s
    (irax.lax.linalg.svd): 2 (max s), -2 (min s), 'nuc' (sum s)."""
    (x,) = promote_args_inexact("jnp.linalg.norm", x)
    if axis is None:
        if ord is None:
            return vector_norm(x, axis=None, keepdims=keepdims)
        axis = tuple(range(x.ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    axes = tuple(canonicalize_axis("jnp.linalg.norm", i, x.ndim) for i in axes)
    if len(axes) == 1:
        return vector_norm(x, axis=axes[0], keepdims=keepdims, ord=2 if ord is None else ord)
    if len(axes) != 2:
        raise ValueError(f"Improper number of axes for norm: axis={axis}. Pass one axis to compute a vector-norm, "
                         "or two axes to compute a matrix-norm.")
    ord = "fro" if ord is None else ord
    if ord in _SINGULAR_VALUE_NORMS:
        out = _SINGULAR_VALUE_NORMS[ord](lax_svd.svd(moveaxis(x, axes, (-2, -1)), compute_uv=False))
        return expand_dims(out, axes) if keepdims else out
    if ord not in _MATRIX_NORMS:
        raise ValueError(f"Invalid order '{ord}' for matrix norm.")
    out = _MATRIX_NORMS[ord](abs(x), axes[0], axes[1], keepdims)
    return out if keepdims else squeeze(out, axes)


__all__ = ["SlogdetResult", "cholesky", "det", "diagonal", "inv", "matrix_norm", "matrix_power", "multi_dot", "norm",
           "slogdet", "solve", "tensorinv", "tensorsolve", "trace", "vecdot", "vector_norm"]

"""`irax.lax.linalg`: the matrix factorizations, as in JAX.

IREE has no LAPACK, so each factorization is an `scf.for` over columns
(`fori_loop`) whose body is whole-array irax ops on the batch of matrices
(leading dims are batch dims everywhere). A step reads row or column j
with a one-hot mask and writes it back with `where`, never by multiplying
with a mask, so a NaN or inf in one entry stays where LAPACK leaves it:

    cholesky          column j of L:  v = A[:, j] - L L[j, :]ᴴ,
                      L[j, j] = sqrt(Re v[j]),  L[i, j] = v[i] / L[j, j] (i > j);
                      a pivot Re v[j] <= 0 is LAPACK's failure (info > 0):
                      the whole factor is NaN. A NaN pivot is not one (LAPACK
                      goes on, as JAX's CPU potrf does): the NaN spreads only
                      to the entries that depend on it
    triangular_solve  forward substitution on a lower L:
                      x[i] = (b[i] - L[i, :i] x[:i]) / L[i, i];
                      the other cases become this one by transposing
                      (op(a) = aᵀ, or the right side x op(a) = b) and by
                      reversing rows and columns (upper -> lower)
    lu                Doolittle with partial pivoting (LAPACK's getf2):
                      swap the row of the largest |A[i, j]| (|Re| + |Im| for
                      complex, LAPACK's izamax), i >= j, into
                      row j; A[i, j] /= A[j, j] and A[i, k] -= A[i, j] A[j, k]
                      for i, k > j. A zero pivot leaves its column unscaled.

Matrices larger than BLOCK are factorized by blocks of BLOCK columns
(LAPACK's blocked algorithms), unrolled at trace time: the loops above run
on one block or panel only, and the rest of the matrix is updated by
matmuls, where most of the arithmetic then is:

    cholesky          L11 and L11⁻¹ of the diagonal block by the loops,
                      L21 = A21 L11⁻ᴴ, then A22 -= L21 L21ᴴ
    triangular_solve  x1 = L11⁻¹ b1, then b2 -= L21 x1 (all the L_kk⁻¹ from one loop)
    lu                the panel A[k:, k:k+BLOCK] by the loop; its row swaps
                      applied to the whole rows; U12 = L11⁻¹ A12, A22 -= L21 U12

Each loop is a kernel (frontend/kernels.py): portable code that the CPU
backend runs as native loops in one dispatch (backends/cpu_kernels.py),
where IREE would run it on the host, one step at a time.

Complex matrices take the same steps, with conjugate transposes where the
real ones transpose (Hermitian A = L Lᴴ, L with a real diagonal).

Their derivatives are custom VJPs (JAX's formulas, not the loops'), and
for forward mode the JVPs they transpose (`custom_vjp_and_jvp`; for the
solve ẋ = op(a)⁻¹ (ḃ - op(ȧ) x), ȧ read in a's triangle). A VJP
is the transpose of the JVP, not its adjoint (JAX's convention for complex
numbers), so where the JVP is complex-linear the formulas are the real ones:

    x = op(a)⁻¹ b      b̄ = op(a)⁻ᵀ x̄,  ā = the triangle of -b̄ xᵀ (of op(a); transposed back)
                       (conj(a) of conjugate_a is taken outside, and differentiates as conj)
    L = chol(A)        L̇ = L Φ(L⁻¹ Ȧ L⁻ᴴ), so Ā = L⁻ᵀ Φ(Lᵀ L̄) conj(L)⁻¹,
                       Φ = the lower triangle, diagonal halved; not symmetric, as
                       JAX's with symmetrize_input=False; symmetrize_input's
                       (A + Aᴴ)/2, traced before, makes it sym(Ā) = (Ā + Āᴴ)/2
"""
from __future__ import annotations

import functools

import numpy as np

from irax.frontend import dtypes
from irax.frontend.control_flow import fori_loop
from irax.frontend.custom_derivatives import custom_vjp_and_jvp
from irax.frontend.kernels import kernel_call
from irax.frontend.numpy import (abs, any, arange, argmax, astype, broadcast_to, concatenate, conj, diagonal, eye,
                                 flip, full_like, imag, iscomplexobj, matmul, moveaxis, pad, real, sqrt, stack, sum,
                                 swapaxes, take_along_axis, tril, triu, where)
from irax.frontend.numpy.util import asarray
from irax.typing import Array, ArrayLike


BLOCK = 64  # columns per block; smaller matrices are one block


def _blocks(n):
    return [(k, min(k + BLOCK, n)) for k in range(0, n, BLOCK)]


def _concat(pieces, axis):
    """concatenate, leaving out empty pieces (IREE miscompiles a concat with one)."""
    return concatenate([p for p in pieces if p.shape[axis]], axis=axis)


def _T(x):
    return swapaxes(x, -1, -2)


def _H(x):
    """The conjugate transpose of each matrix (the transpose of a real one)."""
    return conj(_T(x)) if iscomplexobj(x) else _T(x)


def symmetrize(x: Array) -> Array:
    """(x + xᴴ) / 2."""
    return (x + _H(x)) / 2


def _row(x, i):
    """Row i of each matrix, shape (..., n); i is a traced scalar or one
    index per matrix (shape (...))."""
    return sum(where(arange(x.shape[-2])[:, None] == asarray(i)[..., None, None], x, 0), axis=-2)


def _column(x, j):
    return sum(where(arange(x.shape[-1]) == asarray(j)[..., None, None], x, 0), axis=-1)


def _set_row(x, i, row):
    return where(arange(x.shape[-2])[:, None] == i, row[..., None, :], x)


def _zeros(shape, dtype):
    """Zeros as a NumPy constant: IREE 3.13 cannot fill a complex128 tensor
    (`zeros_like` is a linalg.fill, a 'stream.async.splat' of an i128 there)."""
    return np.zeros(shape, dtype)


def _check_float(name, x):
    if not dtypes.issubdtype(x.dtype, np.inexact):
        raise TypeError(f"{name} requires a floating-point or complex input, got {x.dtype}")


def _check_square(name, x):
    if x.ndim < 2 or x.shape[-1] != x.shape[-2]:
        raise ValueError(f"Argument to {name} must have shape [..., n, n], got {x.shape}.")


# ---------------------------------------------------------------------------
# Cholesky.

def _cholesky_loop(a):
    """L of each matrix a, column by column, reading its lower triangle. A
    pivot p <= 0 is kept on the diagonal as it is (not sqrt(p), a NaN), so
    that `_factor` tells LAPACK's failure from a NaN pivot, which a NaN in
    the input makes."""
    rows, cols = arange(a.shape[-2]), arange(a.shape[-1])

    def column(j, L):
        v = _column(a, j) - matmul(L, conj(_row(L, j))[..., None])[..., 0]
        p = real(sum(where(rows == j, v, 0), axis=-1, keepdims=True))
        d = where(p > 0, sqrt(p), p)
        col = where(rows > j, v / d, where(rows == j, d, 0))
        return where(cols == j, col[..., :, None], L)

    return fori_loop(0, a.shape[-1], column, _zeros(a.shape, a.dtype))


def _cholesky_block(a):
    """(L, L⁻¹) of each matrix a (kernel "cholesky_block")."""
    L = _cholesky_loop(a)
    return L, _triangular_inverse(L)


def _cholesky_blocked(a):
    """L by blocks: L11 and L11⁻¹ from the kernel, L21 = A21 L11⁻ᴴ, and the
    rest of the matrix A22 - L21 L21ᴴ factorized the same way."""
    n = a.shape[-1]
    columns = []  # the column blocks of L, from the diagonal block down
    for k, e in _blocks(n):
        L11, L11_inverse = kernel_call("cholesky_block", _cholesky_block, a[..., :e - k, :e - k])
        panel = L11
        if e < n:
            L21 = matmul(a[..., e - k:, :e - k], _H(L11_inverse))
            a = a[..., e - k:, e - k:] - matmul(L21, _H(L21))
            panel = concatenate([L11, L21], axis=-2)
        columns.append(pad(panel, [(0, 0)] * (panel.ndim - 2) + [(k, 0), (0, 0)]))
    return concatenate(columns, axis=-1)


def _factor(a):
    """L, or NaN in its whole lower triangle where a pivot was <= 0 (not
    positive definite: LAPACK's failure, which JAX's CPU cholesky gives as
    NaNs, not a partial factor that looks valid). Inside the custom
    derivatives, so that their L, and the derivatives, are NaN there too."""
    L = _cholesky_blocked(a)
    failed = any(real(diagonal(L, axis1=-2, axis2=-1)) <= 0, axis=-1)[..., None, None]
    return where(failed, tril(full_like(L, np.nan)), L)


@custom_vjp_and_jvp
def _cholesky(a):
    return _factor(a)


@_cholesky.defjvp
def _cholesky_jvp(primals, tangents):
    """JAX's: L̇ = L Φ(L⁻¹ Ȧ L⁻ᴴ). The solves are the substitutions alone
    (`_solve`): this rule is traced with every cholesky, and triangular_solve
    would trace its own rules too (a second derivative differentiates them)."""
    (a,), (a_dot,) = primals, tangents
    L = _cholesky(a)
    n = L.shape[-1]
    phi = where(arange(n)[:, None] == arange(n), 0.5, tril(np.ones((n, n), L.dtype)))
    tmp = _solve(conj(L) if iscomplexobj(L) else L, a_dot, False, True, True, False)  # tmp Lᴴ = Ȧ
    return L, matmul(L, phi * _solve(L, tmp, True, True, False, False))


def _cholesky_fwd(a):
    L = _factor(a)
    return L, L


def _cholesky_bwd(L, ct):
    n = L.shape[-1]
    phi = where(arange(n)[:, None] == arange(n), 0.5, tril(np.ones((n, n), L.dtype)))
    p = phi * matmul(_T(L), ct)
    s = triangular_solve(L, p, left_side=True, lower=True, transpose_a=True)
    return (triangular_solve(L, s, left_side=False, lower=True, conjugate_a=True),)


_cholesky.defvjp(_cholesky_fwd, _cholesky_bwd)


def cholesky(x: ArrayLike, *, symmetrize_input: bool = True) -> Array:
    """The lower Cholesky factor L of each matrix, x = L Lᴴ: only its lower
    triangle is read (after (x + xᴴ)/2 when `symmetrize_input`). Where x is
    not positive definite the factor holds NaNs, as in JAX (`_factor`)."""
    x = asarray(x)
    _check_float("cholesky", x)
    _check_square("cholesky", x)
    if x.size == 0:  # nothing to factorize (and no blocks: _blocks(0) is empty)
        return x
    if symmetrize_input:
        x = symmetrize(x)
    return tril(_cholesky(x))  # as JAX's: a no-op on L, but its tangent's NaNs (not PD) stay below the diagonal


# ---------------------------------------------------------------------------
# Triangular solve.

def _forward_substitution(L, b, unit_diagonal):
    """x with L x = b, by blocks of rows: x_k = L_kk⁻¹ (b_k - L[k, :k] x[:k]),
    with the inverses of all full diagonal blocks from one kernel call on
    their batch (as XLA does on accelerators), so that its loop runs BLOCK
    steps, not n; a matrix of one block, or the partial last block, is
    solved by substitution (kernel "forward_substitution")."""
    blocks = _blocks(L.shape[-1])
    if len(blocks) == 1:
        return _substitute(L, b, unit_diagonal)
    diagonal = stack([L[..., k:e, k:e] for k, e in blocks if e - k == BLOCK], axis=-3)
    inverses = list(moveaxis(triangular_inverse(diagonal, unit_diagonal), -3, 0))
    x = []
    for k, e in blocks:
        rhs = b[..., k:e, :]
        if k:
            rhs = rhs - matmul(L[..., k:e, :k], _concat(x, axis=-2))
        x.append(matmul(inverses[k // BLOCK], rhs) if e - k == BLOCK else _substitute(L[..., k:e, k:e], rhs,
                                                                                       unit_diagonal))
    return _concat(x, axis=-2)


def _substitute(L, b, unit_diagonal):
    return kernel_call("forward_substitution", _forward_substitution_loop, L, b, unit_diagonal=unit_diagonal)


def _triangular_inverse(L, unit_diagonal=False):
    return _forward_substitution_loop(L, broadcast_to(eye(L.shape[-1], dtype=L.dtype), L.shape), unit_diagonal)


def triangular_inverse(L, unit_diagonal=False):
    """L⁻¹ of each lower triangular matrix (kernel "triangular_inverse")."""
    return kernel_call("triangular_inverse", _triangular_inverse, L, unit_diagonal=unit_diagonal)


def _forward_substitution_loop(L, b, unit_diagonal):
    """x with L x = b, reading L's strict lower triangle (and its diagonal
    unless `unit_diagonal`). Rows of x not yet solved are zeros, so the
    product with them adds nothing (no 0 * inf)."""
    n = L.shape[-1]
    idx = arange(n)

    def row(i, x):
        li = _row(L, i)
        s = matmul(where(idx < i, li, 0)[..., None, :], x)[..., 0, :]
        xi = _row(b, i) - s
        if not unit_diagonal:
            xi = xi / sum(where(idx == i, li, 0), axis=-1, keepdims=True)
        return _set_row(x, i, xi)

    return fori_loop(0, n, row, _zeros(b.shape, b.dtype))


def _solve_left(a, b, lower, transpose_a, unit_diagonal):
    if transpose_a:
        a, lower = _T(a), not lower
    if lower:
        return _forward_substitution(a, b, unit_diagonal)
    return flip(_forward_substitution(flip(a, (-2, -1)), flip(b, -2), unit_diagonal), -2)


def _solve(a, b, left_side, lower, transpose_a, unit_diagonal):
    """op(a) x = b, or x op(a) = b, which is op(a)ᵀ xᵀ = bᵀ."""
    if left_side:
        return _solve_left(a, b, lower, transpose_a, unit_diagonal)
    return _T(_solve_left(a, _T(b), lower, not transpose_a, unit_diagonal))


@functools.lru_cache(maxsize=None)
def _triangular_solve_fn(left_side, lower, transpose_a, unit_diagonal):
    """The custom-VJP (and JVP) solve for one set of options (one function per set, so
    its programs are cached)."""
    options = (left_side, lower, transpose_a, unit_diagonal)

    @custom_vjp_and_jvp
    def solve(a, b):
        return _solve(a, b, *options)

    @solve.defjvp
    def jvp(primals, tangents):  # ẋ = op(a)⁻¹ (ḃ - op(ȧ) x), x op(a) = b on the right side
        (a, b), (a_dot, b_dot) = primals, tangents
        x = solve(a, b)
        a_dot = tril(a_dot, -unit_diagonal) if lower else triu(a_dot, unit_diagonal)
        op_a_dot = _T(a_dot) if transpose_a else a_dot
        return x, solve(a, b_dot - (matmul(op_a_dot, x) if left_side else matmul(x, op_a_dot)))

    def fwd(a, b):
        x = _solve(a, b, *options)
        return x, (a, x)

    def bwd(residuals, ct):
        a, x = residuals
        ct_b = _solve(a, ct, left_side, lower, not transpose_a, unit_diagonal)
        ct_op_a = -(matmul(ct_b, _T(x)) if left_side else matmul(_T(x), ct_b))
        ct_a = _T(ct_op_a) if transpose_a else ct_op_a
        ct_a = tril(ct_a, -unit_diagonal) if lower else triu(ct_a, unit_diagonal)
        return ct_a, ct_b

    solve.defvjp(fwd, bwd)
    return solve


def triangular_solve(a: ArrayLike, b: ArrayLike, *, left_side: bool = False, lower: bool = False,
                     transpose_a: bool = False, conjugate_a: bool = False, unit_diagonal: bool = False) -> Array:
    """x with op(a) x = b (`left_side`) or x op(a) = b, where op(a) is a, aᵀ
    (`transpose_a`) or their conjugates (`conjugate_a`); only the `lower` (or
    upper) triangle of a is read, and not its diagonal if `unit_diagonal`
    (taken as ones). a is [..., m, m]; b is [..., m, n] (left) or [..., n, m]."""
    a, b = asarray(a), asarray(b)
    _check_float("triangular_solve", a)
    _check_square("triangular_solve", a)
    if a.ndim != b.ndim or a.shape[:-2] != b.shape[:-2]:
        raise TypeError("triangular_solve requires both arguments to have the same number of dimensions and "
                        f"equal batch dimensions, got {a.shape} and {b.shape}.")
    m = a.shape[-1]
    if (b.shape[-2] if left_side else b.shape[-1]) != m:
        side = "left" if left_side else "right"
        raise TypeError(f"triangular_solve requires the {side} dimension of b to match the dimension of a, "
                        f"got shapes {a.shape} and {b.shape}.")
    dtype = dtypes.result_type(a, b)
    a, b = astype(a, dtype), astype(b, dtype)
    if b.size == 0:  # x is as empty as b (an a with no rows has no blocks to substitute with)
        return b
    if conjugate_a and iscomplexobj(a):
        a = conj(a)
    return _triangular_solve_fn(bool(left_side), bool(lower), bool(transpose_a), bool(unit_diagonal))(a, b)


# ---------------------------------------------------------------------------
# LU with partial pivoting.

def _magnitude(x):
    """|x| as LAPACK's pivot search measures it: |Re x| + |Im x| for complex x."""
    return abs(real(x)) + abs(imag(x)) if iscomplexobj(x) else abs(x)


def _lu_loop(x):
    """lu's loop on one panel (all of x)."""
    m, n = x.shape[-2:]
    k = min(m, n)
    batch = x.shape[:-2]
    rows, cols = arange(m), arange(n)
    rows2 = rows[:, None]

    def step(j, state):
        a, pivots, perm = state
        candidates = where(rows >= j, _magnitude(_column(a, j)), -1)
        p = astype(argmax(candidates, axis=-1), np.int32)
        row_j, row_p = _row(a, j), _row(a, p)
        a = where(rows2 == j, row_p[..., None, :], where(rows2 == p[..., None, None], row_j[..., None, :], a))
        perm_j = sum(where(rows == j, perm, 0), axis=-1, keepdims=True, dtype=np.int32)
        perm_p = sum(where(rows == p[..., None], perm, 0), axis=-1, keepdims=True, dtype=np.int32)
        perm = where(rows == j, perm_p, where(rows == p[..., None], perm_j, perm))
        pivots = where(arange(k) == j, p[..., None], pivots)
        pivot = sum(where(cols == j, row_p, 0), axis=-1, keepdims=True)
        col = _column(a, j)
        multipliers = where(pivot == 0, col, col / where(pivot == 0, 1, pivot))
        below = rows2 > j
        update = a - multipliers[..., :, None] * row_p[..., None, :]
        a = where(below & (cols > j), update, where(below & (cols == j), multipliers[..., :, None], a))
        return a, pivots, perm

    init = (x, np.zeros(batch + (k,), np.int32), np.broadcast_to(np.arange(m, dtype=np.int32), batch + (m,)))
    return fori_loop(0, k, step, init)


def lu(x: ArrayLike) -> tuple[Array, Array, Array]:
    """(lu, pivots, permutation) of each [..., m, n] matrix, P x = L U: L
    (unit diagonal, strictly below lu's diagonal) and U (on and above it);
    row j was swapped with row pivots[j] at step j (int32, min(m, n) of
    them), and permutation is P as the row order, x[permutation] = L U."""
    x = asarray(x)
    _check_float("lu", x)
    if x.ndim < 2:
        raise ValueError(f"Argument to lu must have shape [..., m, n], got {x.shape}.")
    m, n = x.shape[-2:]
    pivots, permutation = [], np.broadcast_to(np.arange(m, dtype=np.int32), x.shape[:-2] + (m,))
    if x.size == 0:  # nothing to pivot (and no blocks where min(m, n) = 0): no swaps, the rows in order
        return x, asarray(np.zeros(x.shape[:-2] + (min(m, n),), np.int32)), asarray(permutation)
    for k, e in _blocks(min(m, n)):
        panel, panel_pivots, panel_permutation = kernel_call("lu_panel", _lu_loop, x[..., k:, k:e])
        rows = take_along_axis(x[..., k:, :], panel_permutation[..., :, None], axis=-2)
        right = rows[..., e:]
        if e < n:
            u12 = matmul(triangular_inverse(panel[..., :e - k, :], unit_diagonal=True), right[..., :e - k, :])
            right = concatenate([u12, right[..., e - k:, :] - matmul(panel[..., e - k:, :], u12)], axis=-2)
        x = _concat([x[..., :k, :], _concat([rows[..., :k], panel, right], axis=-1)], axis=-2)
        permutation = _concat([permutation[..., :k], take_along_axis(permutation[..., k:], panel_permutation,
                                                                     axis=-1)], axis=-1)
        pivots.append(panel_pivots + k)
    return x, concatenate(pivots, axis=-1), permutation


def lu_pivots_to_permutation(pivots: ArrayLike, permutation_size: int) -> Array:
    """The row order that applying the swaps `pivots` (row j with row
    pivots[j], in turn) makes of range(permutation_size)."""
    pivots = astype(asarray(pivots), np.int32)
    if permutation_size < pivots.shape[-1]:
        raise ValueError(f"Output permutation size {permutation_size} has to exceed the trailing dimension of "
                         f"the pivots. Got pivots size {pivots.shape[-1]}")
    # A kernel: the loop is one host step per pivot (~10 us each) where the
    # CPU's native loop takes nanoseconds (backends/cpu_kernels.py).
    return kernel_call("pivots_to_permutation", _pivots_to_permutation, pivots, permutation_size=permutation_size)


def _pivots_to_permutation(pivots, permutation_size):
    """lu_pivots_to_permutation's loop on int32 pivots. A pivot outside
    [0, permutation_size) matches no row: the swap writes 0 at row j."""
    rows = arange(permutation_size, dtype=np.int32)

    def swap(j, perm):
        p = sum(where(arange(pivots.shape[-1]) == j, pivots, 0), axis=-1, keepdims=True, dtype=np.int32)
        perm_j = sum(where(rows == j, perm, 0), axis=-1, keepdims=True, dtype=np.int32)
        perm_p = sum(where(rows == p, perm, 0), axis=-1, keepdims=True, dtype=np.int32)
        return where(rows == j, perm_p, where(rows == p, perm_j, perm))

    init = np.broadcast_to(np.arange(permutation_size, dtype=np.int32), pivots.shape[:-1] + (permutation_size,))
    return fori_loop(0, pivots.shape[-1], swap, init)


__all__ = ["cholesky", "lu", "lu_pivots_to_permutation", "triangular_solve"]

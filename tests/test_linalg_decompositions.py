"""Factorizations and solvers (irax.lax.linalg, irax.numpy.linalg,
irax.scipy.linalg): values against NumPy/JAX, reconstructions, singular
inputs and errors as JAX, gradients against jax.grad.

Two shapes only, a batch (2, 3, 3) and a 3x3, so programs are few.
"""
import re

import numpy as np
import pytest

import irax
import irax.frontend.lax_linalg
import irax.numpy as jnp
from irax import lax

jax = pytest.importorskip("jax")
jjnp = jax.numpy

from helpers import check, x64_mode  # noqa: E402

RNG = np.random.default_rng(0)
X = RNG.standard_normal((2, 3, 3)).astype(np.float32)
W = RNG.standard_normal((2, 3, 3)).astype(np.float32)
SPD = X @ X.transpose(0, 2, 1) + 3 * np.eye(3, dtype=np.float32)
TRIANGULAR = X + 3 * np.eye(3, dtype=np.float32)  # well conditioned in either triangle


def test_cholesky_matches_numpy_and_reads_the_lower_triangle():
    L = lax.linalg.cholesky(SPD)
    check(L, np.linalg.cholesky(SPD))
    check(jnp.linalg.cholesky(SPD, upper=True), np.linalg.cholesky(SPD).transpose(0, 2, 1))
    junk_above = np.tril(SPD) + np.triu(np.ones_like(SPD), 1)
    check(lax.linalg.cholesky(junk_above, symmetrize_input=False), np.linalg.cholesky(SPD))


def test_cholesky_of_an_indefinite_matrix_is_nan_where_jax_is():
    # the whole lower triangle of each matrix that is not positive definite (a pivot <= 0), not a
    # partial factor that looks valid ([[1, 0], [2, nan]] for the second)
    a = np.array([-np.eye(2), [[1.0, 2.0], [2.0, 1.0]], [[1.0, 1.0], [1.0, 1.0]], [[4.0, 2.0], [2.0, 3.0]]],
                 np.float32)
    np.testing.assert_array_equal(np.asarray(jnp.linalg.cholesky(a)), np.asarray(jjnp.linalg.cholesky(a)))


TRIANGULAR_OPTIONS = [
    dict(left_side=True, lower=True),
    dict(left_side=True, lower=False, transpose_a=True),
    dict(left_side=False, lower=False, unit_diagonal=True),
    dict(left_side=False, lower=True, transpose_a=True, conjugate_a=True),
]


@pytest.mark.parametrize("options", TRIANGULAR_OPTIONS, ids=lambda o: "-".join(k for k, v in o.items() if v))
def test_triangular_solve_matches_jax(options):
    check(lax.linalg.triangular_solve(TRIANGULAR, W, **options),
          jax.lax.linalg.triangular_solve(TRIANGULAR, W, **options), tol=1e-5)


def test_lu_matches_jax_and_reconstructs():
    lu, pivots, permutation = lax.linalg.lu(X)
    expected = jax.lax.linalg.lu(X)
    check(lu, expected[0])
    assert pivots.dtype == permutation.dtype == np.int32
    np.testing.assert_array_equal(np.asarray(pivots), np.asarray(expected[1]))
    np.testing.assert_array_equal(np.asarray(permutation), np.asarray(expected[2]))
    p, l, u = irax.scipy.linalg.lu(X[0])
    check(p @ l @ u, X[0])


def test_solvers_match_numpy():
    check(jnp.linalg.solve(X, W), np.linalg.solve(X, W), tol=1e-5)
    check(jnp.linalg.solve(X, W[0, 0]), np.linalg.solve(X, W[0, 0]), tol=1e-5)  # a vector b broadcasts
    check(jnp.linalg.inv(X), np.linalg.inv(X), tol=1e-5)
    check(jnp.linalg.det(X), np.linalg.det(X))
    sign, logabsdet = jnp.linalg.slogdet(X)
    expected = np.linalg.slogdet(X)
    check(sign, expected.sign)
    check(logabsdet, expected.logabsdet)


def test_scipy_factor_then_solve():
    b = W[0]
    check(irax.scipy.linalg.cho_solve(irax.scipy.linalg.cho_factor(SPD[0]), b), np.linalg.solve(SPD[0], b), tol=1e-5)
    check(irax.scipy.linalg.cho_solve(irax.scipy.linalg.cho_factor(SPD[0], lower=True), b),
          np.linalg.solve(SPD[0], b), tol=1e-5)
    lu_and_piv = irax.scipy.linalg.lu_factor(X[0])
    check(irax.scipy.linalg.lu_solve(lu_and_piv, b), np.linalg.solve(X[0], b), tol=1e-5)
    check(irax.scipy.linalg.lu_solve(lu_and_piv, b, trans=1), np.linalg.solve(X[0].T, b), tol=1e-5)
    check(irax.scipy.linalg.solve_triangular(TRIANGULAR[0], b, trans="T", lower=True),
          jax.scipy.linalg.solve_triangular(TRIANGULAR[0], b, trans="T", lower=True), tol=1e-5)


def test_singular_matrix_gives_what_jax_gives():
    a = np.ones((2, 2), np.float32)
    for ours, theirs in [(jnp.linalg.inv, jjnp.linalg.inv), (jnp.linalg.det, jjnp.linalg.det),
                         (lambda m: jnp.linalg.slogdet(m)[0], lambda m: jjnp.linalg.slogdet(m)[0]),
                         (lambda m: jnp.linalg.slogdet(m)[1], lambda m: jjnp.linalg.slogdet(m)[1])]:
        np.testing.assert_array_equal(np.asarray(ours(a)), np.asarray(theirs(a)))


def test_slogdet_qr_method_as_jax():
    """method="qr" (a ValueError before): det R and one sign flip per
    Householder reflection made; a reversed identity, a singular matrix and an
    empty batch too, in one program; its gradient; complex matrices and unknown methods raise
    as JAX's."""
    cases = [X, np.eye(3, dtype=np.float32)[::-1], np.zeros((3, 3), np.float32), np.ones((2, 0, 0), np.float32)]
    ours = irax.jit(lambda cases: [jnp.linalg.slogdet(a, method="qr") for a in cases])(cases)
    for a, (sign, logabsdet) in zip(cases, ours):
        theirs = jjnp.linalg.slogdet(a, method="qr")
        np.testing.assert_array_equal(np.asarray(sign), np.asarray(theirs.sign))
        check(logabsdet, theirs.logabsdet, tol=1e-5)
    log_det = lambda m: lambda a: m.linalg.slogdet(a, method="qr")[1].sum()
    check(irax.grad(log_det(jnp))(X), jax.grad(log_det(jjnp))(X), tol=1e-4)
    for a, method in [(X.astype(np.complex64), "qr"), (X, "svd")]:
        with pytest.raises(Exception) as expected:
            jjnp.linalg.slogdet(a, method=method)
        with pytest.raises(type(expected.value), match=re.escape(str(expected.value))):
            jnp.linalg.slogdet(a, method=method)


SHAPE_ERRORS = {  # name -> a call JAX refuses with a ValueError
    "multi_dot-3d": lambda m: m.linalg.multi_dot([np.ones((2, 2, 2)), np.ones((2, 2))]),  # irax broadcast it
    "multi_dot-sizes": lambda m: m.linalg.multi_dot([np.ones((2, 3)), np.ones((2, 2))]),
    "multi_dot-one": lambda m: m.linalg.multi_dot([np.ones(2), np.ones(2), np.ones(2)]),
    "tensorsolve-leading": lambda m: m.linalg.tensorsolve(np.ones((3, 2, 6)), np.ones((2, 3))),  # irax solved it
    "tensorsolve-size": lambda m: m.linalg.tensorsolve(np.ones((6, 2, 3)), np.ones((6, 2))),
    "tensorinv": lambda m: m.linalg.tensorinv(np.ones((2, 3, 5)), ind=2),
    "norm-axes": lambda m: m.linalg.norm(np.ones((2, 3, 3)), ord=2),
}


@pytest.mark.parametrize("name", SHAPE_ERRORS)
def test_linalg_shape_errors_as_jax(name):
    """JAX's ValueError and wording; multi_dot of a 3-D operand and tensorsolve
    of a whose leading shape is not b's (of the same size) returned values before."""
    with pytest.raises(ValueError) as expected:
        SHAPE_ERRORS[name](jjnp)
    with pytest.raises(ValueError, match=re.escape(str(expected.value))):
        SHAPE_ERRORS[name](jnp)


@pytest.mark.parametrize("name", ["inv", "det", "slogdet"])
def test_non_square_raises_as_jax(name):
    a = np.ones((2, 3), np.float32)
    with pytest.raises(ValueError) as expected:
        getattr(jjnp.linalg, name)(a)
    with pytest.raises(ValueError, match=re.escape(str(expected.value))):
        getattr(jnp.linalg, name)(a)


def test_solve_shape_errors_as_jax():
    with pytest.raises(ValueError, match="left hand array must be at least two dimensional"):
        jnp.linalg.solve(np.ones(3, np.float32), np.ones(3, np.float32))
    with pytest.raises(ValueError, match="Invalid shapes for solve"):
        jnp.linalg.solve(np.ones((2, 3, 3), np.float32), np.ones((2, 3), np.float32))


GRADIENTS = {
    "cholesky": (lambda m, a: (m.linalg.cholesky(a) * W).sum(), SPD),
    "solve": (lambda m, a: (m.linalg.solve(a, W) * W).sum(), X),
    "inv": (lambda m, a: (m.linalg.inv(a) * W).sum(), X),
    "det": (lambda m, a: m.linalg.det(a).sum(), X),
    "slogdet": (lambda m, a: m.linalg.slogdet(a)[1].sum(), X),
}


@pytest.mark.parametrize("name", GRADIENTS)
def test_gradient_matches_jax(name):
    f, a = GRADIENTS[name]
    check(irax.grad(lambda a: f(jnp, a))(a), jax.grad(lambda a: f(jjnp, a))(a), tol=1e-4)


def test_triangular_solve_gradient_matches_jax():
    options = dict(left_side=True, lower=False, transpose_a=True)
    ours = irax.grad(lambda a, b: (lax.linalg.triangular_solve(a, b, **options) * W).sum(), argnums=(0, 1))
    theirs = jax.grad(lambda a, b: (jax.lax.linalg.triangular_solve(a, b, **options) * W).sum(), argnums=(0, 1))
    for got, want in zip(ours(TRIANGULAR, W), theirs(TRIANGULAR, W)):
        check(got, want, tol=1e-4)


@pytest.mark.parametrize("name", GRADIENTS)
def test_forward_mode_matches_jax_and_finite_differences(name):
    # jvp of solve, inv, cholesky and slogdet raised "can't apply forward-mode
    # autodiff (jvp) to a custom_vjp function": their rules were VJPs only.
    f, a = GRADIENTS[name]
    tangent = W + W.transpose(0, 2, 1) if name == "cholesky" else W  # cholesky reads a symmetric input
    _, got = irax.jvp(lambda a: f(jnp, a), (a,), (tangent,))
    check(got, jax.jvp(lambda a: f(jjnp, a), (a,), (tangent,))[1], tol=1e-4)
    a64, t64, eps = a.astype(np.float64), tangent.astype(np.float64), 1e-4
    numeric = (f(np, a64 + eps * t64) - f(np, a64 - eps * t64)) / (2 * eps)  # NumPy's linalg in float64
    np.testing.assert_allclose(np.asarray(got), numeric, rtol=1e-3, atol=1e-3)


def test_triangular_solve_forward_mode_and_hessian_match_jax():
    for options in TRIANGULAR_OPTIONS[1:3]:
        ours = irax.jvp(lambda a, b: lax.linalg.triangular_solve(a, b, **options), (TRIANGULAR, W), (X, W))[1]
        theirs = jax.jvp(lambda a, b: jax.lax.linalg.triangular_solve(a, b, **options), (TRIANGULAR, W), (X, W))[1]
        check(ours, theirs, tol=1e-4)
    # forward over reverse: the VJP's own solves differentiated by the JVP rule
    check(irax.hessian(lambda a: jnp.linalg.slogdet(a)[1])(X[0]),
          jax.hessian(lambda a: jjnp.linalg.slogdet(a)[1])(X[0]), tol=1e-3)


def _same_as_jax(ours, theirs):
    """Equal shapes, dtypes and values, leaf by leaf."""
    ours, theirs = jax.tree_util.tree_leaves(ours), jax.tree_util.tree_leaves(theirs)
    assert len(ours) == len(theirs)
    for x, y in zip(ours, theirs):
        assert (x.shape, x.dtype) == (y.shape, y.dtype)
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


# name -> fn(m, a), m the linalg module (irax's or JAX's): each on matrices with no entries.
EMPTY_CASES = {
    "cholesky": lambda m, a: m.numpy.linalg.cholesky(a),
    "inv": lambda m, a: m.numpy.linalg.inv(a),
    "solve": lambda m, a: m.numpy.linalg.solve(a, a[..., :1]),
    "det": lambda m, a: m.numpy.linalg.det(a),  # 1 for a 0x0 matrix (the empty product)
    "slogdet": lambda m, a: m.numpy.linalg.slogdet(a),
    "matrix_power": lambda m, a: m.numpy.linalg.matrix_power(a, -2),
    "eigh": lambda m, a: m.numpy.linalg.eigh(a),
    "lu": lambda m, a: m.lax.linalg.lu(a),
    "lu wide": lambda m, a: m.lax.linalg.lu(np.ones(a.shape[:-1] + (3,), a.dtype)),
    "lu tall": lambda m, a: m.lax.linalg.lu(np.ones(a.shape[:-2] + (3,) + a.shape[-1:], a.dtype)),
    "triangular_solve": lambda m, a: m.lax.linalg.triangular_solve(a, a[..., :1], left_side=True, lower=True),
    "triangular_solve right": lambda m, a: m.lax.linalg.triangular_solve(a, np.ones(a.shape[:-2] + (2,) + a.shape[-1:], a.dtype)),
}


@pytest.mark.parametrize("shape", [(0, 0), (2, 0, 0), (0, 3, 3)])
def test_empty_matrices_as_jax(shape):
    """0x0 matrices (whose factorizations have no blocks) and batches of
    none: JAX's empty results, det 1, and float eigenvalues of complex ones."""
    for dtype in (np.float32, np.complex64):
        a = np.ones(shape, dtype)
        for name, fn in EMPTY_CASES.items():
            try:
                _same_as_jax(fn(irax, a), fn(jax, a))
            except Exception as e:
                raise AssertionError((name, dtype)) from e


def test_solve_under_jit_and_vmap():
    check(irax.jit(jnp.linalg.solve)(X, W), np.linalg.solve(X, W), tol=1e-5)
    check(irax.vmap(jnp.linalg.det)(X), np.linalg.det(X))
    # b a strided slice, gathered by the row permutation: IREE failed to compile it
    # ("LLVM Translation failed for operation: builtin.unrealized_conversion_cast")
    check(irax.jit(lambda a, b: jnp.linalg.solve(a, b[..., ::2]))(X, W), np.linalg.solve(X, W[..., ::2]), tol=1e-5)


def test_norms_and_helpers_match_numpy():
    for ord in [None, "fro", 1, -1, np.inf, -np.inf]:
        check(jnp.linalg.norm(X, ord=ord, axis=(1, 2)), np.linalg.norm(X, ord=ord, axis=(1, 2)))
    check(jnp.linalg.norm(X, ord=3, axis=-1, keepdims=True), np.linalg.norm(X, ord=3, axis=-1, keepdims=True))
    check(jnp.linalg.norm(X), np.linalg.norm(X))
    check(jnp.linalg.matrix_power(X, 3), np.linalg.matrix_power(X, 3), tol=1e-4)
    check(jnp.linalg.multi_dot([X[0], X[1], W[0]]), np.linalg.multi_dot([X[0], X[1], W[0]]), tol=1e-5)
    check(jnp.linalg.trace(X), np.trace(X, axis1=-2, axis2=-1))
    check(jnp.linalg.diagonal(X, offset=-1), np.diagonal(X, offset=-1, axis1=-2, axis2=-1))
    check(jnp.linalg.tensorinv(X[0], ind=1), np.linalg.tensorinv(X[0], ind=1), tol=1e-5)


def test_norm_orders_as_jax():
    """A string ord of a vector norm is JAX's ValueError; 'f' is 'fro'; the
    inf-norm of no elements is 0 (max's initial), as in JAX."""
    for ord in ["fro", "nuc", "inf"]:
        with pytest.raises(ValueError) as theirs:
            jjnp.linalg.norm(X, ord, axis=-1)
        with pytest.raises(ValueError, match=re.escape(str(theirs.value))):
            jnp.linalg.norm(X, ord, axis=-1)
    check(jnp.linalg.norm(X, "f", axis=(1, 2)), jjnp.linalg.norm(X, "f", axis=(1, 2)))
    check(jnp.linalg.norm(X[:, :, :0], np.inf, axis=-1), jjnp.linalg.norm(X[:, :, :0], np.inf, axis=-1))


def test_blocked_factorizations_match_numpy(monkeypatch):
    """Matrices wider than BLOCK go by blocks (a 5x5 with BLOCK 2: two full
    blocks and a partial one), with pivoting across the blocks. Under jit, all
    in one program: eagerly each block's slices and updates were programs of
    their own (~50); the blocks eagerly: the test below."""
    monkeypatch.setattr(irax.frontend.lax_linalg, "BLOCK", 2)
    a = RNG.standard_normal((5, 5)).astype(np.float32)
    b = RNG.standard_normal((5, 4)).astype(np.float32)
    spd = a @ a.T + 5 * np.eye(5, dtype=np.float32)
    (lu, pivots, permutation), x, L = irax.jit(
        lambda a, b, spd: (lax.linalg.lu(a), jnp.linalg.solve(a, b), jnp.linalg.cholesky(spd)))(a, b, spd)
    expected = jax.lax.linalg.lu(a)
    check(lu, expected[0], tol=1e-5)
    np.testing.assert_array_equal(np.asarray(permutation), np.asarray(expected[2]))
    check(x, np.linalg.solve(a, b), tol=1e-4)
    check(L, np.linalg.cholesky(spd), tol=1e-5)


def test_blocked_factorizations_of_several_blocks_match_jax(monkeypatch):
    """Several blocks (a batch of 20x20 with BLOCK 9: two full blocks and a
    partial one): cholesky, lu, solve (complex too) and gradients, eagerly."""
    monkeypatch.setattr(irax.frontend.lax_linalg, "BLOCK", 9)
    a = RNG.standard_normal((2, 20, 20)).astype(np.float32)
    b = RNG.standard_normal((2, 20, 5)).astype(np.float32)
    spd = a @ a.transpose(0, 2, 1) + 20 * np.eye(20, dtype=np.float32)
    check(jnp.linalg.cholesky(spd), np.linalg.cholesky(spd), tol=1e-5)
    lu, pivots, permutation = lax.linalg.lu(a)
    expected = jax.lax.linalg.lu(a)
    check(lu, expected[0], tol=1e-4)
    np.testing.assert_array_equal(np.asarray(pivots), np.asarray(expected[1]))
    np.testing.assert_array_equal(np.asarray(permutation), np.asarray(expected[2]))
    check(jnp.linalg.solve(a, b), np.linalg.solve(a, b), tol=1e-4)
    c = (a[0] + 1j * RNG.standard_normal((20, 20))).astype(np.complex64)
    check(jnp.linalg.solve(c, b[0]), np.linalg.solve(c, b[0]), tol=1e-4)
    w = RNG.standard_normal((2, 20, 20)).astype(np.float32)
    losses = [(lambda m, x: (m.linalg.cholesky(x) * w).sum(), spd), (lambda m, x: (m.linalg.solve(x, b) * b).sum(), a)]
    for loss, x in losses:
        check(irax.grad(lambda x: loss(jnp, x))(x), jax.grad(lambda x: loss(jjnp, x))(x), tol=1e-3)


@pytest.mark.parametrize("options", [dict(lower=True, unit_diagonal=True), dict(lower=False)], ids=["unit", "upper"])
def test_triangular_solves_by_blocks_match_jax(monkeypatch, options):
    """A batch over several blocks (BLOCK 9), and one block with 9 right-hand
    sides: their row reductions, read back broadcast, were wrong on Vulkan."""
    monkeypatch.setattr(irax.frontend.lax_linalg, "BLOCK", 9)
    a = RNG.standard_normal((2, 20, 20)).astype(np.float32) + 5 * np.eye(20, dtype=np.float32)
    b = RNG.standard_normal((2, 20, 5)).astype(np.float32)
    for a, b in [(a, b), (a[0, :9, :9], a[1, :9, :9])]:
        check(lax.linalg.triangular_solve(a, b, left_side=True, **options),
              jax.lax.linalg.triangular_solve(a, b, left_side=True, **options), tol=1e-4)


def test_float64_in_x64_mode():
    with x64_mode(True):
        a = X[0].astype(np.float64)
        x = jnp.linalg.solve(a, W[0, 0].astype(np.float64))
        assert x.dtype == np.float64
        check(x, np.linalg.solve(a, W[0, 0].astype(np.float64)), tol=1e-12)
        assert lax.linalg.lu(a)[1].dtype == np.int32


def _with_nans(spd, positions):
    """Copies of `spd`, each with a NaN at one (row, column) of `positions`."""
    out = np.repeat(spd[None], len(positions), axis=0)
    for k, (i, j) in enumerate(positions):
        out[k, i, j] = np.nan
    return out


NAN_POSITIONS = [(0, 0), (1, 1), (2, 2), (3, 3), (1, 0), (2, 1), (3, 0), (0, 2), (1, 3)]


@pytest.mark.parametrize("block", [64, 2], ids=["one_block", "blocks"])
def test_cholesky_of_a_matrix_with_a_nan_is_nan_where_jax_is(monkeypatch, block):
    """A NaN pivot is no failure (LAPACK goes on, as JAX's CPU potrf): the NaN
    reaches only the entries that depend on it (it used to make the whole
    factor NaN). A pivot <= 0 before it still fails the whole matrix (the last
    one: [1, 1] negative, NaN at [3, 3]); so on one block and across blocks."""
    monkeypatch.setattr(irax.frontend.lax_linalg, "BLOCK", block)
    a = RNG.standard_normal((4, 4)).astype(np.float32)
    spd = a @ a.T + 4 * np.eye(4, dtype=np.float32)
    batch = _with_nans(spd, NAN_POSITIONS + [(3, 3)])
    batch[-1, 1, 1] = -1.0
    check(jnp.linalg.cholesky(batch), jjnp.linalg.cholesky(batch), tol=1e-5)  # NaNs in the same places


def test_cholesky_tangent_of_an_indefinite_matrix_is_nan_where_jax_is():
    """Not positive definite: the tangent is NaN in the lower triangle, as JAX's
    (it was zeros: the NaN fill was outside the derivative rules)."""
    a = np.array([[1.0, 2.0], [2.0, 1.0]], np.float32)
    ours = irax.jvp(jnp.linalg.cholesky, (a,), (np.eye(2, dtype=np.float32),))[1]
    theirs = jax.jvp(jjnp.linalg.cholesky, (a,), (np.eye(2, dtype=np.float32),))[1]
    np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))

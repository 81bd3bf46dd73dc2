"""`irax.lax.custom_root` and `custom_linear_solve` against `jax.lax`'s:
values, and derivatives by the implicit function theorem (forward and
reverse, jit, vmap, second order), which finite differences check too.

Each case runs the same function with L = irax (lax, numpy) and L = jax;
the matrices are 3x3 and the vectors have 3 elements throughout."""
import numpy as np
import pytest

import irax
import irax.numpy as inp
from tests.helpers import check_central_differences

jax = pytest.importorskip("jax")
import jax.numpy as jnp  # noqa: E402

IRAX, JAX = (irax, irax.lax, inp), (jax, jax.lax, jnp)
A = np.array([[4.0, 1.0, 0.0], [1.0, 3.0, 1.0], [0.0, 2.0, 5.0]], np.float32)
S = A + A.T  # symmetric positive definite
B = np.array([1.0, 2.0, 3.0], np.float32)
W = np.arange(3.0, dtype=np.float32)  # weights turning a solution into a scalar


def _close(actual, expected, tol=2e-5):
    for a, e in zip(jax.tree.leaves(actual), jax.tree.leaves(expected)):
        assert np.asarray(a).shape == np.asarray(e).shape
        np.testing.assert_allclose(np.asarray(a), np.asarray(e), rtol=tol, atol=tol)


def sqrt_by_newton(L):
    """The cookbook's example: the root of x² - a by Newton's method in a loop."""
    _, lax, np_ = L

    def sqrt(a):
        def f(x):
            return x ** 2 - a

        def solve(f, x0):
            return lax.fori_loop(0, 20, lambda i, x: x - f(x) / (2 * x), x0)

        return lax.custom_root(f, np_.float32(1.0), solve, lambda g, y: y / g(1.0))
    return sqrt


def vector_root(L, has_aux=False):
    """The root u of A u - b(m) = 0 for b = m², solved directly; the tangent
    system solved with the Jacobian, as JAX's docstring suggests."""
    ad, lax, np_ = L

    def fun(matrix, m):
        def f(u):
            return np_.dot(matrix, u) - m ** 2

        def solve(f, u0):
            u = np_.linalg.solve(matrix, m ** 2)
            return (u, np_.sum(u)) if has_aux else u

        def tangent_solve(g, y):
            return np_.linalg.solve(ad.jacobian(g)(y), y)

        out = lax.custom_root(f, np_.zeros(3, np_.float32), solve, tangent_solve, has_aux=has_aux)
        u = out[0] if has_aux else out
        return np_.sum(np_.sin(u) * W)
    return fun


def linear(L, symmetric=False, has_aux=False, transpose=True):
    """sum(W * sin(x)) for x solving matrix @ x = b, by a direct solve."""
    _, lax, np_ = L

    def fun(matrix, b):
        def solve_with(m):
            def solve(_, b):
                x = np_.linalg.solve(m, b)
                return (x, np_.sum(x)) if has_aux else x
            return solve

        solve = solve_with(matrix)
        transpose_solve = None if symmetric or not transpose else solve_with(matrix.T)
        out = lax.custom_linear_solve(lambda x: np_.dot(matrix, x), b, solve, transpose_solve,
                                      symmetric=symmetric, has_aux=has_aux)
        x = out[0] if has_aux else out
        return np_.sum(np_.sin(x) * W)
    return fun


def test_custom_root_scalar_values_and_derivatives():
    ours, theirs = sqrt_by_newton(IRAX), sqrt_by_newton(JAX)
    _close(ours(2.0), theirs(2.0))
    for transform in (lambda L, f: L[0].grad(f), lambda L, f: L[0].jit(L[0].grad(f)),
                      lambda L, f: L[0].grad(L[0].grad(f)), lambda L, f: L[0].vmap(L[0].grad(f))):
        a = np.array([2.0, 3.0], np.float32) if transform.__code__.co_names.count("vmap") else np.float32(2.0)
        _close(transform(IRAX, ours)(a), transform(JAX, theirs)(a), 1e-4)
    _close(irax.jvp(ours, (2.0,), (1.0,)), jax.jvp(theirs, (2.0,), (1.0,)))


@pytest.mark.parametrize("has_aux", [False, True])
def test_custom_root_vector_derivatives(has_aux):
    ours, theirs = vector_root(IRAX, has_aux), vector_root(JAX, has_aux)
    _close(ours(A, B), theirs(A, B))
    _close(irax.grad(ours, (0, 1))(A, B), jax.grad(theirs, (0, 1))(A, B), 1e-4)
    _close(irax.jvp(ours, (A, B), (S, B))[1], jax.jvp(theirs, (A, B), (S, B))[1], 1e-4)
    if not has_aux:
        grads = irax.grad(ours, 1)(A, B)
        check_central_differences({"m": grads}, irax.jit(lambda p: {"m": ours(A, p["m"])}), {"m": B}, (3,))


@pytest.mark.parametrize("symmetric,has_aux", [(False, False), (True, False), (False, True)])
def test_custom_linear_solve_derivatives(symmetric, has_aux):
    matrix = S if symmetric else A
    ours, theirs = linear(IRAX, symmetric, has_aux), linear(JAX, symmetric, has_aux)
    _close(ours(matrix, B), theirs(matrix, B))
    _close(irax.grad(ours, (0, 1))(matrix, B), jax.grad(theirs, (0, 1))(matrix, B), 1e-4)
    _close(irax.jit(irax.grad(ours, (0, 1)))(matrix, B), jax.grad(theirs, (0, 1))(matrix, B), 1e-4)
    _close(irax.jvp(ours, (matrix, B), (S, B)), jax.jvp(theirs, (matrix, B), (S, B)), 1e-4)


def test_custom_linear_solve_second_order_vmap_and_differences():
    ours, theirs = linear(IRAX), linear(JAX)
    _close(irax.hessian(ours, 1)(A, B), jax.hessian(theirs, 1)(A, B), 1e-4)
    mixed = (lambda L, f: L[0].grad(lambda m: L[0].grad(f, 1)(m, B).sum()))
    _close(mixed(IRAX, ours)(A), mixed(JAX, theirs)(A), 1e-4)
    bs = np.stack([B, 2 * B])
    _close(irax.vmap(irax.grad(ours, 1), (None, 0))(A, bs), jax.vmap(jax.grad(theirs, 1), (None, 0))(A, bs), 1e-4)
    grads = irax.grad(ours, 0)(A, B)
    check_central_differences({"A": grads}, irax.jit(lambda p: {"A": ours(p["A"], B)}), {"A": A}, (3, 3))


def test_custom_linear_solve_without_transpose_solve_forward_mode():
    ours, theirs = linear(IRAX, transpose=False), linear(JAX, transpose=False)
    _close(irax.jvp(ours, (A, B), (S, B)), jax.jvp(theirs, (A, B), (S, B)), 1e-4)


def test_custom_linear_solve_pytree_and_eager_value():
    def fun(L):
        _, lax, np_ = L
        matvec = lambda x: {"a": 2.0 * x["a"], "b": x["b"] + x["a"]}  # noqa: E731
        solve = lambda mv, y: {"a": y["a"] / 2.0, "b": y["b"] - y["a"] / 2.0}  # noqa: E731
        return lax.custom_linear_solve(matvec, {"a": np_.asarray(B), "b": np_.asarray(W)}, solve, symmetric=True)
    _close(fun(IRAX), fun(JAX))


@pytest.mark.parametrize("case", ["tree", "shape", "aux"])
def test_errors_match_jax(case):
    def call(L):
        _, lax, np_ = L
        b = np_.asarray(B)
        if case == "tree":
            return lax.custom_linear_solve(lambda x: (x, x), b, lambda mv, y: y)
        if case == "shape":
            return lax.custom_linear_solve(lambda x: x[:2], b, lambda mv, y: y)
        return lax.custom_root(lambda x: x, b, lambda f, x: x, lambda g, y: y, has_aux=True)
    with pytest.raises(Exception) as expected:
        call(JAX)
    with pytest.raises(type(expected.value)) as actual:
        call(IRAX)
    assert str(actual.value).split(",")[0] == str(expected.value).split(",")[0]

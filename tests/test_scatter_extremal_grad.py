"""Derivatives of x.at[idx].max(v) and .min(v) against JAX's (its
scatter-max/min JVP rule: the derivative of each result element is shared
equally among dest and the updates equal to it, so ties and repeated
indices split it), in reverse and forward mode, and against finite
differences where the function is differentiable (no ties)."""
import numpy as np
import pytest

import irax
import irax.numpy as jnp
from irax.test_util import check_grads

jax = pytest.importorskip("jax")

X = np.array([1., 5., 3., 2., 4.], np.float32)
V = np.array([2., 5., 7., 3., 4.], np.float32)
M = np.arange(12., dtype=np.float32).reshape(3, 4)


def _cases(np_):
    return {
        "max_unique": (lambda x, v: x.at[np_.array([0, 1, 2, 3, 4])].max(v), (X, V)),
        "max_repeated": (lambda x, v: x.at[np_.array([0, 0, 2, 2, 4])].max(v), (X, V)),
        "min_repeated": (lambda x, v: x.at[np_.array([0, 0, 2, 2, 4])].min(v), (X, V)),
        "max_ties_repeated": (lambda x, v: x.at[np_.array([3, 3, 3, 1, 1])].max(v * 0 + np_.array(
            [2., 2., 1., 5., 5.])), (X, V)),
        "max_out_of_bounds": (lambda x, v: x.at[np_.array([0, 9, 1, -1, 1])].max(v), (X, V)),
        "max_rows_repeated": (lambda m, v: m.at[np_.array([1, 1, 0])].max(v[:4] + 3.), (M, V)),
        "min_2d_index": (lambda m, v: m.at[np_.array([0, 2, 0]), np_.array([1, 3, 1])].min(v[:3] + 1.), (M, V)),
        "max_scalar_tie": (lambda x, v: x.at[1].max(v[1]), (X, V)),
        "max_nan_update": (lambda x, v: x.at[np_.array([0, 0, 2, 2, 4])].max(
            v * np_.array([1., np.nan, 1., 1., 1.])), (X, V)),
    }


IRAX, JAX = _cases(jnp), _cases(jax.numpy)


def _weighted(m, f):
    # weights so that each output element's cotangent differs
    return lambda *a: (f(*a) * m.arange(1., 1. + f(*a).size).reshape(f(*a).shape)).sum()


@pytest.mark.parametrize("argnum", [0, 1], ids=["x", "v"])
@pytest.mark.parametrize("name", sorted(JAX))
def test_grad_of_scatter_max_and_min_as_jax(name, argnum):
    (f, args), (g, _) = IRAX[name], JAX[name]
    got = irax.grad(_weighted(jnp, f), argnums=argnum)(*map(jnp.asarray, args))
    want = jax.grad(_weighted(jax.numpy, g), argnums=argnum)(*map(jax.numpy.asarray, args))
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", sorted(JAX))
def test_jvp_of_scatter_max_and_min_as_jax(name):
    (f, args), (g, _) = IRAX[name], JAX[name]
    tangents = tuple(np.full_like(a, i + 1.5) for i, a in enumerate(args))
    _, got = irax.jvp(f, tuple(map(jnp.asarray, args)), tuple(map(jnp.asarray, tangents)))
    _, want = jax.jvp(g, tuple(map(jax.numpy.asarray, args)), tangents)
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-6, atol=1e-7)


def test_grad_of_scatter_max_under_jit_as_jax():
    f, args = IRAX["max_repeated"]
    g = JAX["max_repeated"][0]
    got = irax.jit(irax.grad(_weighted(jnp, f), argnums=(0, 1)))(*map(jnp.asarray, args))
    want = jax.grad(_weighted(jax.numpy, g), argnums=(0, 1))(*map(jax.numpy.asarray, args))
    for a, b in zip(got, want):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6)


@pytest.mark.parametrize("op", ["max", "min"])
def test_scatter_max_and_min_gradients_match_finite_differences(op):
    # distinct values everywhere, so the function is differentiable here
    x = jnp.array([1.0, 5.5, 3.25, 2.5, 4.75])
    v = jnp.array([2.0, 6.5, 0.5, 3.75, 1.25, 7.0])
    idx = jnp.array([0, 0, 2, 2, 4, 1])
    check_grads(lambda x, v: getattr(jnp.asarray(x).at[idx], op)(v) * jnp.arange(1.0, 6.0), (x, v), order=1, eps=1e-3)


def test_per_example_gradients_of_scatter_max_as_jax():
    x = np.array([[1., 5., 3.], [2., 4., 0.]], np.float32)
    v = np.array([[2., 5., 7.], [3., 3., 1.]], np.float32)

    def loss(m):
        return lambda x, v: (x.at[m.array([0, 0, 2])].max(v) * m.arange(1., 4.)).sum()

    got = irax.vmap(irax.grad(loss(jnp), argnums=(0, 1)))(jnp.asarray(x), jnp.asarray(v))
    want = jax.vmap(jax.grad(loss(jax.numpy), argnums=(0, 1)))(x, v)
    for a, b in zip(got, want):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6)


def test_hessian_through_scatter_max_as_jax():
    def f(m):
        return lambda x: (x.at[m.array([0, 0, 2])].max(x[::-1] * 2) ** 2).sum()

    x = np.array([1., 5., 3.], np.float32)
    np.testing.assert_allclose(np.asarray(irax.hessian(f(jnp))(jnp.asarray(x))),
                               np.asarray(jax.hessian(f(jax.numpy))(x)), rtol=1e-6)


def test_jvp_of_an_update_of_a_computed_array_reads_the_old_slice():
    """The tangent of `(2 * y).at[1].max(2.5)` compares the old element with
    the bound; IREE 3.13 ran that comparison after the in-place update and
    read 2.5 (a tie: the tangent came out halved), eagerly and under jit
    (barrier-self-updates)."""
    y = np.array([0.5, -1.0, 2.0], np.float32)

    def f(np_, module):
        return lambda y: module.jvp(lambda y: (2 * y).at[1].max(2.5), (y,), (np_.cos(y),))

    want = jax.jit(f(jax.numpy, jax))(y)
    for got in (f(jnp, irax)(y), irax.jit(f(jnp, irax))(y)):
        for g, w in zip(got, want):
            np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-6)

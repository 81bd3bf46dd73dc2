"""Matrix-vector products and reductions along rows on the CPU
(irax/backends/cpu_vector_products.py): static f32 `A @ v`, `w @ A` and
sums, maxima and minima along the last axis become folds that stream the
matrix once; which ops do, and that their values are right at sizes that
are no multiple of the tiles, NaNs and infinities included."""
import numpy as np
import pytest

import irax
import irax.numpy as jnp
from irax.backends import cpu_tiles

jax = pytest.importorskip("jax")

rng = np.random.default_rng(0)
pytestmark = pytest.mark.skipif(cpu_tiles.host_f32_lanes() is None,
                                reason="the CPU rewrites products only for the x86 vectors it was measured on")
CPU = irax.devices("cpu")[0]
FORMS = {"A @ v": lambda a, x: a @ x, "w @ A": lambda a, x: x @ a, "dot(v, A.T)": lambda a, x: jnp.dot(x, a.T)}


def _iree_input(f, *args):
    return irax.jit(f).lower(*args).iree_input("cpu")


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("m, k", [(37, 48), (1000, 1008)])
def test_matrix_vector_products_are_folds_and_right(form, m, k):
    """Rows and columns that are no multiple of the register tiles (8 rows,
    8 vectors of columns); a NaN and an infinity in the matrix, a zero
    times the infinity."""
    a = rng.normal(size=(m, k)).astype(np.float32)
    a[3, 5], a[7, 9] = np.inf, np.nan
    x = rng.normal(size=m if form == "w @ A" else k).astype(np.float32)
    x[5 if form != "w @ A" else 3] = 0
    assert "math.fma" in _iree_input(FORMS[form], a, x)
    with np.errstate(invalid="ignore"):
        expected = FORMS[form](a.astype(np.float64), x.astype(np.float64))
    actual = np.asarray(irax.jit(FORMS[form], device=CPU)(a, x))
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected))
    finite = np.isfinite(expected)
    np.testing.assert_allclose(actual[finite], expected[finite], rtol=1e-5, atol=1e-5 * np.sqrt(k))


def test_rows_of_no_whole_vectors_and_unit_dims_keep_iree_s_way():
    a, v = np.ones((8, 37), np.float32), np.ones(37, np.float32)
    assert "math.fma" not in _iree_input(lambda a, v: a @ v, a, v)
    assert "math.fma" not in _iree_input(lambda a, v: a @ v, a[:1, :32], v[:32])
    assert "math.fma" not in _iree_input(lambda a, v: a @ v, a.astype(np.float64), v.astype(np.float64))


def test_products_of_computed_matrices_keep_iree_s_way():
    """IREE fuses an elementwise producer into the fold as a new op without
    its strategy: the patches jnp.convolve gathers for its product ran 3.5x
    slower as a fold (4096 by 64 taps)."""
    a, v = rng.normal(size=256).astype(np.float32), rng.normal(size=32).astype(np.float32)
    assert "math.fma" not in _iree_input(jnp.convolve, a, v)
    assert "math.fma" not in _iree_input(lambda m, v: jnp.tanh(m) @ v, np.ones((8, 32), np.float32), v)
    np.testing.assert_allclose(irax.jit(jnp.convolve, device=CPU)(a, v), np.convolve(a, v), rtol=1e-5, atol=1e-5)


def test_the_gradient_of_a_matrix_vector_product_is_two_folds_and_right():
    """The backward pass's A.T @ g is a `w @ A`."""
    a = rng.normal(size=(96, 64)).astype(np.float32)
    v = rng.normal(size=64).astype(np.float32)

    def loss(np_mod):
        return lambda a, v: np_mod.sum(np_mod.tanh(a @ v))

    grad = irax.grad(loss(jnp), argnums=(0, 1))
    assert _iree_input(grad, a, v).count("math.fma") == 2
    for mine, theirs in zip(irax.jit(grad, device=CPU)(a, v), jax.grad(loss(jax.numpy), argnums=(0, 1))(a, v)):
        np.testing.assert_allclose(mine, theirs, rtol=1e-4, atol=1e-5)


ROW_FOLDS = {"sum": lambda np_, x: np_.sum(x, axis=1), "max": lambda np_, x: np_.max(x, axis=1),
             "min": lambda np_, x: np_.min(x, axis=1), "sum from 5": lambda np_, x: np_.sum(x, axis=1, initial=5.0),
             "mean of squares": lambda np_, x: np_.mean(x * x, axis=1)}


@pytest.mark.parametrize("name", ROW_FOLDS)
def test_reductions_along_rows_are_folds_and_right(name):
    """A sum, max or min along the contiguous axis of a static f32 matrix
    (rows no multiple of the 8-row tiles), NaN in a row, a row of -0.0
    (the lanes start at the exact identity, -0.0 for a sum), an initial
    value (kept in the accumulator, not in every lane); the squares of a
    mean of squares moved into the fold."""
    x = rng.normal(size=(37, 64)).astype(np.float32)
    x[3, 7], x[5] = np.nan, -0.0
    fn = ROW_FOLDS[name]
    lanes = cpu_tiles.host_f32_lanes()
    assert f"37x{64 // lanes}x{lanes}xf32>" in _iree_input(lambda x: fn(jnp, x), x)  # (the rows in chunks of lanes)
    actual, expected = np.asarray(irax.jit(lambda x: fn(jnp, x), device=CPU)(x)), fn(np, x.astype(np.float64))
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected))
    np.testing.assert_array_equal(np.signbit(actual[5]), np.signbit(np.float32(expected[5])))
    finite = ~np.isnan(expected)
    np.testing.assert_allclose(actual[finite], expected[finite], rtol=1e-5, atol=1e-5)


def test_a_product_of_a_product_reads_the_new_one():
    """The vector of `(A @ v) @ B` is a product rewritten before it: its
    operands were read before that rewrite, the erased op's result (the
    jit(grad) of three sparse solvers failed IREE's verifier)."""
    a, v, b = (rng.normal(size=s).astype(np.float32) for s in [(32, 48), 48, (32, 48)])
    assert _iree_input(lambda a, v, b: (a @ v) @ b, a, v, b).count("math.fma") == 2
    np.testing.assert_allclose(irax.jit(lambda a, v, b: (a @ v) @ b, device=CPU)(a, v, b), (a @ v) @ b,
                               rtol=1e-4, atol=1e-4)

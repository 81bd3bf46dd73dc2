"""The CPU compiles small f32 matrix products without data tiling
(irax/backends/matmul_tiles.py): which ones, and that their values are right
at sizes that are no multiple of the 6 x 16 register tiles."""
import numpy as np
import pytest

import irax
import irax.numpy as jnp
from irax.backends import matmul_tiles

rng = np.random.default_rng(0)


def _iree_input(f, *args):
    return irax.jit(f).lower(*args).iree_input("cpu")


@pytest.mark.parametrize("m, k, n", [(1, 7, 5), (6, 16, 33), (37, 41, 29), (256, 256, 256)])
def test_small_products_skip_data_tiling_and_stay_right(m, k, n):
    a = rng.normal(size=(m, k)).astype(np.float32)
    b = rng.normal(size=(k, n)).astype(np.float32)
    f = irax.jit(lambda a, b: a @ b, device=irax.devices("cpu")[0])
    assert "compilation_info" in _iree_input(lambda a, b: a @ b, a, b)
    np.testing.assert_allclose(f(a, b), a @ b, rtol=2e-5, atol=2e-5 * k)


def test_transposed_operands_and_the_gradient_are_right():
    a = rng.normal(size=(24, 40)).astype(np.float32)
    b = rng.normal(size=(40, 12)).astype(np.float32)

    def loss(a, b):
        return jnp.sum(jnp.tanh(a @ b))

    grad = irax.jit(irax.grad(loss, argnums=(0, 1)), device=irax.devices("cpu")[0])
    text = _iree_input(irax.grad(loss, argnums=(0, 1)), a, b)
    assert text.count("{compilation_info") == 3  # the forward product and both backward ones
    t = 1 - np.tanh(a @ b) ** 2
    ga, gb = grad(a, b)
    np.testing.assert_allclose(ga, t @ b.T, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(gb, a.T @ t, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("shapes, dtype", [(((257, 256), (256, 256)), np.float32),  # above SMALL
                                           (((8, 8), (8, 8)), np.float16),
                                           (((8, 8), (8, 8)), np.int32)])
def test_big_and_non_f32_products_keep_irax_s_text(shapes, dtype):
    a, b = (np.ones(s, dtype) for s in shapes)
    assert "compilation_info" not in _iree_input(lambda a, b: a @ b, a, b)


def test_text_without_a_matmul_is_returned_as_is():
    text = "func.func @main(%a: tensor<2xf32>) -> tensor<2xf32> {\n  return %a : tensor<2xf32>\n}"
    assert matmul_tiles.small_matmuls_untiled(text) is text

"""Complex numbers where irax used to raise: running sums (cumsum,
cumulative_sum) of complex arrays, values against NumPy, dtypes and
gradients against JAX. (Complex ordering -- sort, max, argmax -- is not done yet.)"""
import numpy as np
import pytest

import irax
import irax.numpy as jnp

jax = pytest.importorskip("jax")

Z = np.array([[1 + 2j, 1 - 1j, 5j], [2, 3j, -1 - 0.5j]], np.complex64)


@pytest.mark.parametrize("axis", [None, 0, 1])
def test_cumsum_of_complex_matches_numpy(axis):
    got = jnp.cumsum(Z, axis=axis)
    assert got.dtype == jax.numpy.cumsum(Z, axis=axis).dtype
    np.testing.assert_allclose(np.asarray(got), np.cumsum(Z, axis=axis), rtol=1e-6)
    if axis is not None:
        np.testing.assert_allclose(np.asarray(jnp.cumulative_sum(Z, axis=axis)), np.cumsum(Z, axis=axis), rtol=1e-6)


def test_grad_of_a_real_loss_of_complex_cumsum_matches_jax():
    def loss(m):
        return lambda z: m.sum(m.abs(m.cumsum(z, axis=1)) ** 2)

    g = np.asarray(irax.grad(loss(jnp))(Z))
    np.testing.assert_allclose(g, np.asarray(jax.grad(loss(jax.numpy))(Z)), rtol=1e-5, atol=1e-5)
    # finite differences (float64 NumPy): JAX's gradient of a real loss is dL/dx - i dL/dy
    f, h, z = loss(np), 1e-6, Z.astype(np.complex128)
    for step, part in ((h, np.real), (1j * h, lambda v: -np.imag(v))):
        bumped = z.copy()
        bumped[0, 1] += step
        np.testing.assert_allclose((f(bumped) - f(z)) / h, part(g[0, 1]), rtol=1e-4)

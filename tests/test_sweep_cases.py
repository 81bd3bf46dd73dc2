"""Bugs a sweep of every jnp function on small arrays of one dtype family
(int8, uint8, bool, float16) found against NumPy (values) and JAX (dtypes,
errors). Shapes: (4,)."""
import re

import numpy as np
import pytest

import irax.numpy as jnp

jax = pytest.importorskip("jax")

F = np.array([1, 3, 250, 0], np.uint8)
X = np.array([2, 5, 1, 3], np.uint8)  # sample points that go down once: 5 -> 1


# gradient and trapezoid promoted the samples but not the sample points, so
# differences of uint8 points wrapped (1 - 5 = 252): JAX promotes them
# together (NumPy's gradient agrees; its trapezoid wraps in uint8 throughout).
@pytest.mark.parametrize("name", ["gradient", "trapezoid"])
def test_sample_points_promote_with_the_samples(name):
    want = getattr(jax.numpy, name)(F, X)
    got = getattr(jnp, name)(F, X)
    assert got.dtype == want.dtype
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-6)
    if name == "gradient":
        np.testing.assert_allclose(np.asarray(got), np.gradient(F, X), rtol=1e-6)


def test_unravel_index_takes_an_int_shape_as_jax():
    got = jnp.unravel_index(np.array([1, 3]), 4)
    assert len(got) == 1
    np.testing.assert_array_equal(got[0], [1, 3])


# A scalar took a cumulative sum or product (JAX refuses it); the message for
# a 2-D input without an axis was irax's own.
@pytest.mark.parametrize("call", [
    lambda m: m.cumulative_sum(np.float32(2)), lambda m: m.cumulative_prod(np.float32(2), axis=0),
    lambda m: m.cumulative_sum(np.ones((2, 2))),
], ids=["sum", "prod", "rank 2"])
def test_cumulative_sum_and_prod_refuse_as_jax(call):
    with pytest.raises(ValueError) as want:
        call(jax.numpy)
    with pytest.raises(ValueError, match=re.escape(str(want.value))):
        call(jnp)


# bincount refused bools, which JAX and NumPy count as 0 and 1; delete refused
# a boolean mask of the entries to drop, and a Python bool (an int) with it.
def test_bools_as_bincount_counts_and_delete_masks():
    flags = np.array([True, False, True, True])
    np.testing.assert_array_equal(jnp.bincount(flags), np.bincount(flags))
    np.testing.assert_array_equal(jnp.delete(np.arange(4), flags), np.delete(np.arange(4), flags))
    np.testing.assert_array_equal(jnp.delete(np.arange(4), True), jax.numpy.delete(np.arange(4), True))
    for wrong in (flags[:2], np.array(True)):
        with pytest.raises(ValueError, match="for boolean indices, obj must be one-dimensional"):
            jnp.delete(np.arange(4), wrong)
    with pytest.raises(ValueError, match=r"jnp.insert\(\): index array must be integer typed"):
        jnp.insert(np.arange(4), flags, 9)

"""vmap's arguments not mapped (in_axes None) that are no traced values: as
JAX's vmap, it gives them to the function as they are, so NumPy functions
and Python control flow work on a NumPy array there (irax traced them)."""
import numpy as np
import pytest

import irax
from irax.frontend import core

jax = pytest.importorskip("jax")


def _branching(seen):
    def f(x, a, params):
        seen.append(type(a))
        scale = float(np.sum(a))  # NumPy on it
        return x * scale + params["b"] if a[0] > 0 else x - a  # Python control flow on it
    return f


def test_unmapped_numpy_arrays_are_given_as_they_are_like_jax():
    x = np.arange(6, dtype=np.float32).reshape(3, 2)
    params = {"b": np.float32([1.0, 2.0])}
    in_axes = (0, None, {"b": None})
    for a in (np.float32([1.0, 2.0]), np.float32([-1.0, 2.0]), np.float32([3.0, 2.0])):
        seen, seen_j = [], []
        want = jax.vmap(_branching(seen_j), in_axes)(x, a, params)
        ours = irax.vmap(_branching(seen), in_axes)
        # (eagerly irax traces the function with `a` traced first, then, as its values are needed, as it is)
        for got in (ours(x, a, params), irax.jit(lambda x: ours(x, a, params))(x)):
            np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-6)
            assert seen[-1] is seen_j[-1] is np.ndarray


def test_control_flow_on_a_mapped_argument_is_still_an_error():
    with pytest.raises(core.TracerBoolConversionError):
        irax.vmap(lambda x, a: x if x > 0 else a, in_axes=(0, None))(np.ones(3, np.float32), np.ones(3, np.float32))

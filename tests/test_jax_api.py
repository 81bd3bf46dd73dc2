"""JAX's top-level utilities that irax has, against JAX itself: devices and
processes, moving values to the host, clearing caches."""
import numpy as np
import pytest

import irax
import irax.numpy as jnp

jax = pytest.importorskip("jax")


def test_devices_and_processes_like_jax():
    for name in ("device_count", "local_device_count", "process_index", "process_count"):
        ours, theirs = getattr(irax, name)(), getattr(jax, name)()
        assert type(ours) is type(theirs) is int, name
    assert irax.device_count() == len(irax.devices()) and irax.local_devices() == irax.devices()
    assert (irax.process_index(), irax.process_count()) == (jax.process_index(), jax.process_count()) == (0, 1)


def test_device_get_returns_numpy_arrays_like_jax():
    tree = {"a": np.arange(3, dtype=np.float32), "b": [np.float32(2.0), 7]}
    ours = irax.device_get(irax.device_put(tree))
    theirs = jax.device_get(jax.device_put(tree))
    assert irax.tree_util.tree_structure(ours) == irax.tree_util.tree_structure(tree)
    for o, t in zip(irax.tree_util.tree_leaves(ours), jax.tree_util.tree_leaves(theirs)):
        assert type(o) is type(t) and np.asarray(o).dtype == np.asarray(t).dtype
        np.testing.assert_array_equal(o, t)
    assert irax.device_get("label") == "label"  # not an array: as it is


def test_clear_caches_makes_the_next_call_trace_again():
    traces = []
    f = irax.jit(lambda x: traces.append(1) or x * 2)
    f(jnp.ones(2))
    f(jnp.ones(2))
    assert len(traces) == 1
    irax.clear_caches()
    np.testing.assert_array_equal(f(jnp.ones(2)), [2, 2])
    assert len(traces) == 2

"""Shared by the test modules: random inputs and a NumPy comparison."""
import ml_dtypes
import numpy as np
import pytest

import irax
from irax import Array, device_put
from irax.plugins.registry import get_default_device

rng = np.random.default_rng(0)
TOL = {np.dtype(np.float32): 1e-5, np.dtype(np.float16): 2e-3, np.dtype(ml_dtypes.bfloat16): 2e-2}


def sample(shape, dtype=np.float32):
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return rng.integers(0, 2, shape).astype(bool)
    if np.issubdtype(dtype, np.unsignedinteger):
        return rng.integers(0, 256, shape).astype(dtype)
    if np.issubdtype(dtype, np.integer):
        return rng.integers(-9, 10, shape).astype(dtype)
    return rng.uniform(-2, 2, shape).astype(dtype)


def check(actual, expected, tol=TOL[np.dtype(np.float32)]):
    expected = np.asarray(expected)
    assert isinstance(actual, Array)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    np.testing.assert_allclose(np.asarray(actual).astype(np.float64), expected.astype(np.float64), rtol=tol, atol=tol)


def run_module(module, inputs, out_avals, device=None) -> list:
    """Compile an MLIR module (or its text) irax-style and run its `@main` on
    `inputs` (irax or NumPy arrays) on `device` (default: the default one):
    one Array per aval of `out_avals`."""
    device = device or get_default_device()
    program = device.load(device.backend.compile(str(module)))
    buffers = [device_put(x, device)._buffer for x in inputs]
    results, ready = program(buffers, len(out_avals))
    return [Array(b, a, device, ready=ready) for b, a in zip(results, out_avals)]


def device_or_skip(name):
    """The first device of platform `name`, or a skip saying why there is none."""
    try:
        return irax.devices(name)[0]
    except RuntimeError as e:
        pytest.skip(str(e))

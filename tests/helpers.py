"""Shared by the test modules: random inputs and a NumPy comparison."""
import ml_dtypes
import numpy as np

from irax import Array

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

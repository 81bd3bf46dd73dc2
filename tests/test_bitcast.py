"""Bits read as another dtype: lax.bitcast_convert_type and Array.view,
between dtypes of one width and of different widths, against JAX (values,
dtypes, shapes and errors), eagerly and under jit."""
import numpy as np
import pytest

import irax
import irax.numpy as jnp

jax = pytest.importorskip("jax")

F = np.array([1.0, -2.5, np.inf, 0.0, -0.0, np.nan], np.float32)
CASES = {  # name -> (function of a library, operand)
    "float32-uint32": (lambda lib, x: lib.lax.bitcast_convert_type(x, np.uint32), F),
    "uint32-float32": (lambda lib, x: lib.lax.bitcast_convert_type(x, np.float32), F.view(np.uint32)),
    "float32-uint16": (lambda lib, x: lib.lax.bitcast_convert_type(x, np.uint16), F),
    "int32-int8": (lambda lib, x: lib.lax.bitcast_convert_type(x, np.int8),
                   np.array([258, -1, 2**31 - 1, -2**31], np.int32)),
    "int8-int32": (lambda lib, x: lib.lax.bitcast_convert_type(x, np.int32),
                   np.array([[1, 0, 0, 1], [-1, -1, -1, -128]], np.int8)),
    "uint16-float32": (lambda lib, x: lib.lax.bitcast_convert_type(x, np.float32),
                       np.array([[0, 16256], [0, 49152]], np.uint16)),
    "float16-int8": (lambda lib, x: lib.lax.bitcast_convert_type(x, np.int8), np.array([1.5, -65504], np.float16)),
    "view-int32-int8": (lambda lib, x: x.view(np.int8), np.arange(-2, 4, dtype=np.int32).reshape(2, 3)),
    "view-int8-int16": (lambda lib, x: x.view(np.int16), np.arange(-4, 4, dtype=np.int8).reshape(2, 4)),
    "view-float32-int32": (lambda lib, x: x.view(np.int32), F),
    "view-bool-uint8": (lambda lib, x: x.view(np.uint8), np.array([True, False, True])),
    "view-uint8-bool": (lambda lib, x: x.view(bool), np.array([1, 0, 1, 1], np.uint8)),
    "view-complex-float32": (lambda lib, x: x.view(np.float32), np.array([1 + 2j, 3 - 1j], np.complex64)),
    "view-float32-complex": (lambda lib, x: x.view(np.complex64), np.array([[1, 2, 3, 4]], np.float32)),
    "view-0d": (lambda lib, x: x.view(np.uint32), np.float32(-1.5)),
}


@pytest.mark.parametrize("name", CASES)
def test_bits_read_as_another_dtype_like_jax(name):
    fn, x = CASES[name]
    want = fn(jax, jax.numpy.asarray(x))
    for got in (fn(irax, jnp.asarray(x)), irax.jit(lambda x: fn(irax, x))(x)):
        assert (got.dtype, got.shape) == (want.dtype, want.shape)
        np.testing.assert_array_equal(np.asarray(got).reshape(-1).view(np.uint8), np.asarray(want).reshape(-1).view(np.uint8))


ERRORS = {
    "too-few-pieces": lambda lib: lib.lax.bitcast_convert_type(lib.numpy.ones(3, np.int8), np.int32),
    "0d-widening": lambda lib: lib.lax.bitcast_convert_type(lib.numpy.int8(1), np.int32),
    "bool": lambda lib: lib.lax.bitcast_convert_type(lib.numpy.array([True]), np.uint8),
    "complex": lambda lib: lib.lax.bitcast_convert_type(lib.numpy.array([1j], np.complex64), np.uint64),
    "view-0d-width": lambda lib: lib.numpy.zeros((), np.int32).view(np.int8),
    "view-last-axis": lambda lib: lib.numpy.arange(3, dtype=np.int8).view(np.int16),
}


@pytest.mark.parametrize("name", ERRORS)
def test_errors_like_jax(name):
    raised = []
    for lib in (irax, jax):
        with pytest.raises(Exception) as error:
            ERRORS[name](lib)
        raised.append((type(error.value), str(error.value)))
    assert raised[0] == raised[1]

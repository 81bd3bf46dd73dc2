"""lax.fori_loop's bounds against JAX's rules: equal dtypes (float and bool
too), or a Python int beside a signed integer of another width; any other
mix is its TypeError. Static bounds count as Python ints (int(0.5) is 0, the
index a weakly typed int32); traced float bounds make a float index.
Eagerly, under jit (static and traced bounds), under grad and jvp."""
import numpy as np
import pytest

import irax
import irax.numpy as jnp
from irax import lax

jax = pytest.importorskip("jax")


def _bounds(m):
    np_ = m.numpy
    return {
        "python_floats": lambda: (0., 3.),
        "float_and_fraction": lambda: (0.5, 3.5),
        "numpy_float32": lambda: (np.float32(0), np.float32(3)),
        "array_float32": lambda: (np_.float32(0.5), np_.float32(3)),
        "int_and_float": lambda: (0, 3.),
        "float_and_int": lambda: (0.5, 3),
        "int32_int8": lambda: (np_.int32(0), np_.int8(3)),
        "int8_int16": lambda: (np_.int8(0), np_.int16(3)),
        "uint8_int32": lambda: (np_.uint8(0), np_.int32(3)),
        "uint32_python_int": lambda: (np_.uint32(0), 3),
        "python_int_int16": lambda: (0, np_.int16(3)),
        "numpy_int8_int16": lambda: (np.int8(0), np.int16(3)),
        "bools": lambda: (False, True),
        "int64s": lambda: (np.int64(0), np.int64(3)),
    }


IRAX, JAX = _bounds(irax), _bounds(jax)


def _body(i, c):
    return c * 1.5 + i


def _run(m, bounds, mode):
    x = m.numpy.float32(1.)
    lo, hi = bounds
    if mode == "eager":
        return m.lax.fori_loop(lo, hi, _body, x)
    if mode == "jit":
        return m.jit(lambda x: m.lax.fori_loop(lo, hi, _body, x))(x)
    if mode == "jit_traced_bounds":
        return m.jit(lambda lo, hi, x: m.lax.fori_loop(lo, hi, _body, x))(lo, hi, x)
    if mode == "grad":
        return m.grad(lambda x: m.lax.fori_loop(lo, hi, _body, x))(x)
    return m.jvp(lambda x: m.lax.fori_loop(lo, hi, _body, x), (x,), (x,))[1]


def _outcome(m, bounds, mode):
    try:
        r = _run(m, bounds, mode)
    except TypeError as e:
        return "TypeError", str(e).split("\n")[0]
    return np.asarray(r).item(), str(r.dtype)


@pytest.mark.parametrize("mode", ["eager", "jit", "jit_traced_bounds", "grad", "jvp"])
@pytest.mark.parametrize("name", sorted(JAX))
def test_fori_loop_bounds_of_mixed_and_float_types_as_jax(name, mode):
    assert _outcome(irax, IRAX[name](), mode) == _outcome(jax, JAX[name](), mode)


@pytest.mark.parametrize("bounds, traced_dtype", [((0., 3.), "float32"), ((0, 3), "int32"),
                                                  ((np.int16(0), 3), "int16")])
def test_fori_loop_index_types_as_jax(bounds, traced_dtype):
    seen = []

    def body(i, c):
        seen.append((i.dtype, i.aval.weak_type))
        return c + i

    lax.fori_loop(*bounds, body, jnp.float32(0))  # static bounds: a weak int32 index
    irax.jit(lambda lo, hi: lax.fori_loop(lo, hi, body, jnp.float32(0)))(*bounds)
    assert seen[0] == (np.dtype("int32"), True)
    assert seen[-1][0] == np.dtype(traced_dtype)

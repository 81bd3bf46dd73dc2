"""Array creation: values against NumPy, dtypes, weak types and errors against JAX.

Eager creation computes on the host (no compile), so most tests here are
cheap. The traced path (the `iota` and `full` primitives) is checked by
building one module that creates many arrays, compiling it once, and
comparing every output with the eager result.
"""
import ml_dtypes
import numpy as np
import pytest

import irax
import irax.numpy as jnp
from irax.frontend import core
from irax.frontend.primitives import creation as prims

from helpers import run_module
from plugin_fakes import sync

jax = pytest.importorskip("jax")
jjnp = jax.numpy

bf16 = ml_dtypes.bfloat16
DTYPES = [np.bool_, np.int32, np.uint8, np.float32, np.float16, bf16]


def same_kind(ours, theirs):
    """Shape, dtype and weak type of an irax array equal JAX's."""
    assert (ours.shape, ours.dtype, ours.weak_type) == (theirs.shape, theirs.dtype, theirs.weak_type)


def check(ours, theirs, rtol=0.0):
    """irax result against JAX: same kind and (up to rtol) the same values."""
    same_kind(ours, theirs)
    np.testing.assert_allclose(np.asarray(ours, np.float64), np.asarray(theirs, np.float64), rtol=rtol, atol=rtol)


# ---------------------------------------------------------------------------
# array / asarray

ARRAY_INPUTS = {
    "py_float": 1.5, "py_int": 3, "py_bool": True, "int_list": [1, 2, 3], "mixed_list": [1, 2.5],
    "bool_list": [True, False], "nested": [[1, 2], [3, 4]], "tuple": (1, 2.0), "empty": [], "empty2d": [[]],
    "np_int64": np.arange(3), "np_float64": np.linspace(0, 1, 3), "np_uint8": np.arange(3, dtype=np.uint8),
    "np_bf16": np.ones(2, bf16), "np_scalar": np.float64(2.5), "np_int8_scalar_in_list": [np.int8(1), 2],
    "np_f32_scalar_with_int": [np.float32(1), 2], "np_0d": np.array(7, np.int16), "float16": np.ones((2, 1), np.float16),
}


@pytest.mark.parametrize("name", sorted(ARRAY_INPUTS))
def test_array_dtype_and_weak_type_like_jax(name):
    value = ARRAY_INPUTS[name]
    check(jnp.array(value), jjnp.array(value))
    check(jnp.asarray(value), jjnp.asarray(value))


def test_array_of_irax_arrays():
    a, b = jnp.array([1, 2], dtype=jnp.int8), jnp.array([3, 4], dtype=jnp.int8)
    check(jnp.array([a, b]), jjnp.array([jjnp.array([1, 2], jjnp.int8), jjnp.array([3, 4], jjnp.int8)]))
    mixed = jnp.array([jnp.array(1.5), 2, np.float32(3)])
    check(mixed, jjnp.array([jjnp.array(1.5), 2, np.float32(3)]))
    weak = jnp.array(1.0) + 1
    check(jnp.array(weak), jjnp.array(jjnp.array(1.0) + 1))  # a weak array stays weak
    check(jnp.array([weak]), jjnp.array([jjnp.array(1.0) + 1]))  # a list of it does not


@pytest.mark.parametrize("dtype", DTYPES)
def test_array_with_dtype(dtype):
    value = [[0, 1.5], [-2.7, 3]]
    if dtype == np.uint8:
        value = [[0, 1.5], [2.7, 3]]
    check(jnp.array(value, dtype=dtype), jjnp.array(value, dtype=dtype))
    check(jnp.array(2.5, dtype=dtype), jjnp.array(2.5, dtype=dtype))  # an explicit dtype is strong


def test_array_dtype_of_irax_array_converts_and_drops_weak_type():
    x = jnp.array([1.7, -2.5])
    check(jnp.asarray(x, dtype=jnp.int32), jjnp.asarray(jjnp.array([1.7, -2.5]), dtype=jjnp.int32))
    check(jnp.array(jnp.array(1.0), dtype=jnp.float32), jjnp.array(jjnp.array(1.0), dtype=jjnp.float32))
    check(jnp.array(x, dtype=jnp.float16), jjnp.array(jjnp.array([1.7, -2.5]), dtype=jjnp.float16), 1e-3)


def test_array_ndmin():
    check(jnp.array([1, 2], ndmin=3), jjnp.array([1, 2], ndmin=3))
    check(jnp.array(1.0, ndmin=2), jjnp.array(1.0, ndmin=2))
    x = jnp.array([[1, 2]])
    assert jnp.array(x, ndmin=1, copy=False) is x
    check(jnp.asarray(x, dtype=jnp.float32), jjnp.asarray(jjnp.array([[1, 2]]), dtype=jjnp.float32))
    check(jnp.array(x, ndmin=4), jjnp.array(jjnp.array([[1, 2]]), ndmin=4))


def test_asarray_returns_its_input_and_array_copies():
    x = jnp.array([1.0, 2.0])
    assert jnp.asarray(x) is x
    assert jnp.asarray(x, dtype=jnp.float32) is x
    y = jnp.array(x)
    assert y is not x and y._buffer is not x._buffer
    np.testing.assert_array_equal(y, x)
    z = jnp.copy(x)
    assert z is not x and z._buffer is not x._buffer
    assert (z.dtype, z.weak_type) == (x.dtype, x.weak_type)


def test_array_from_jax_array_and_objects_with___array__():
    check(jnp.array(jjnp.arange(3.0)), jjnp.array(jjnp.arange(3.0)))


def test_array_is_a_snapshot_of_numpy_data():
    data = np.arange(3, dtype=np.float32)
    x = jnp.asarray(data)
    data[0] = 99
    assert float(np.asarray(x)[0]) == 0.0


@pytest.mark.parametrize("bad, error", [
    (None, ValueError), ([1, None], ValueError), ([1, [2, 3]], ValueError), ("abc", TypeError),
    (object(), TypeError), ({1: 2}, TypeError), (2**40, OverflowError),
    ([2**40], OverflowError),
])
def test_array_errors_like_jax(bad, error):
    for np_mod in (jnp, jjnp):
        with pytest.raises(error):
            np_mod.array(bad)


def test_array_errors_without_a_jax_twin():
    with pytest.raises(OverflowError):
        jnp.array(300, dtype=jnp.uint8)


# ---------------------------------------------------------------------------
# zeros, ones, full, empty and the *_like family

@pytest.mark.parametrize("shape", [3, (2, 3), (), (2, 0), [1, 2], np.int64(2), (np.int32(2), 1)])
@pytest.mark.parametrize("fn", ["zeros", "ones", "empty"])
def test_zeros_ones_empty_shapes(fn, shape):
    ours, theirs = getattr(jnp, fn)(shape), getattr(jjnp, fn)(shape)
    same_kind(ours, theirs)
    if fn != "empty":
        np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("dtype", DTYPES + [int, float, bool, "int8"])
def test_zeros_ones_dtypes(dtype):
    check(jnp.zeros((2, 2), dtype), jjnp.zeros((2, 2), dtype))
    check(jnp.ones(3, dtype=dtype), jjnp.ones(3, dtype=dtype))


def test_shape_given_as_a_0d_array():
    check(jnp.zeros(jnp.array(2)), jjnp.zeros(jjnp.array(2)))


@pytest.mark.parametrize("shape, error", [
    (-1, TypeError), ((2, -1), TypeError), (2.5, TypeError), ((2, "a"), TypeError),
])
def test_bad_shapes_like_jax(shape, error):
    for fn in (jnp.zeros, jjnp.zeros):
        with pytest.raises(error):
            fn(shape)
    with pytest.raises(error):
        jnp.full(shape, 1)


@pytest.mark.parametrize("make", [
    lambda np_, n: np_.ones((n,)), lambda np_, n: np_.zeros(n), lambda np_, n: np_.empty((2, n)),
    lambda np_, n: np_.reshape(np_.ones(6), (n, 2)), lambda np_, n: np_.broadcast_to(1.0, (n,)),
])
def test_a_traced_shape_is_jaxs_type_error(make):
    """A shape from a traced value (docs/control-flow.md's `jnp.ones((length,))`
    under jit) was NumPy's __array__ on a tracer: a TracerArrayConversionError."""
    messages = []
    for np_, jit in ((jnp, irax.jit), (jjnp, jax.jit)):
        with pytest.raises(TypeError) as error:
            jit(lambda n: make(np_, n))(3)
        messages.append(str(error.value).split("\nThe error occurred")[0])
    assert type(error.value) is TypeError and messages[0] == messages[1]

def test_bad_dtype():
    with pytest.raises(TypeError):
        jnp.zeros(3, dtype="U")


@pytest.mark.parametrize("fill", [2, 2.0, True, np.float64(2), np.int8(3), np.uint8(7), np.nan])
def test_full_scalar_fill_dtype_and_weak_type_like_jax(fill):
    check(jnp.full((2, 3), fill), jjnp.full((2, 3), fill))


@pytest.mark.parametrize("dtype", DTYPES)
def test_full_with_dtype(dtype):
    check(jnp.full(3, 2.7, dtype=dtype), jjnp.full(3, 2.7, dtype=dtype))
    check(jnp.full((), 1, dtype=dtype), jjnp.full((), 1, dtype=dtype))


def test_full_wraps_out_of_range_integers_like_jax():
    check(jnp.full(3, 300, dtype=jnp.uint8), jjnp.full(3, 300, dtype=jjnp.uint8))
    check(jnp.full(2, -1, dtype=jnp.uint8), jjnp.full(2, -1, dtype=jjnp.uint8))


def test_full_with_array_fill_broadcasts():
    check(jnp.full((2, 3), jnp.arange(3)), jjnp.full((2, 3), jjnp.arange(3)))
    check(jnp.full((2, 3), np.arange(3.0)), jjnp.full((2, 3), np.arange(3.0)))
    check(jnp.full((2, 2), jnp.array(1.0) + 1), jjnp.full((2, 2), jjnp.array(1.0) + 1))  # weak stays weak
    check(jnp.full((2, 3), jnp.arange(3), dtype=jnp.float16), jjnp.full((2, 3), jjnp.arange(3), dtype=jjnp.float16))


def test_full_errors_like_jax():
    for np_mod in (jnp, jjnp):
        with pytest.raises(ValueError):
            np_mod.full((2, 3), np_mod.arange(2))
        with pytest.raises(ValueError):
            np_mod.full((3,), np_mod.ones((2, 3)))
        with pytest.raises(TypeError):
            np_mod.full((2, 2), [1, 2])  # lists are not array-like arguments


LIKE_INPUTS = {
    "int32": lambda m: m.arange(3), "weak": lambda m: m.array(1.0) + 1, "py_float": lambda m: 3.0,
    "bf16": lambda m: m.ones((2, 1), m.bfloat16), "bool": lambda m: m.array([True]), "np_uint8": lambda m: np.ones(2, np.uint8),
}


@pytest.mark.parametrize("name", sorted(LIKE_INPUTS))
def test_like_functions_follow_jax(name):
    make = LIKE_INPUTS[name]
    a, ja = make(jnp), make(jjnp)
    check(jnp.zeros_like(a), jjnp.zeros_like(ja))
    check(jnp.ones_like(a), jjnp.ones_like(ja))
    check(jnp.full_like(a, 2.5), jjnp.full_like(ja, 2.5))
    same_kind(jnp.empty_like(a), jjnp.empty_like(ja))
    check(jnp.ones_like(a, dtype=jnp.float16), jjnp.ones_like(ja, dtype=jjnp.float16))
    check(jnp.zeros_like(a, shape=(2, 2)), jjnp.zeros_like(ja, shape=(2, 2)))
    check(jnp.full_like(a, 7, shape=3, dtype=jnp.int8), jjnp.full_like(ja, 7, shape=3, dtype=jjnp.int8))


def test_full_like_with_array_fill_and_errors():
    check(jnp.full_like(jnp.zeros((2, 3)), jnp.arange(3)), jjnp.full_like(jjnp.zeros((2, 3)), jjnp.arange(3)))
    with pytest.raises(TypeError):
        jnp.zeros_like("a")
    with pytest.raises(TypeError):
        jnp.full_like([1, 2], 2)


# ---------------------------------------------------------------------------
# arange and linspace

ARANGE_ARGS = [
    (5,), (0,), (-3,), (2, 7), (5, 1), (0, 1, 0.25), (10, 0, -3), (1, 2, 0.1), (3.0,), (0.5, 3), (1, None),
    (np.int8(3),), (np.uint8(3),), (np.float64(2),), (-2.5, 2.5, 0.5),
]


@pytest.mark.parametrize("args", ARANGE_ARGS, ids=str)
def test_arange_like_jax(args):
    check(jnp.arange(*args), jjnp.arange(*args), rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.int32, np.uint8, np.float32, np.float16, bf16, float, int])
def test_arange_with_dtype(dtype):
    check(jnp.arange(5, dtype=dtype), jjnp.arange(5, dtype=dtype))
    check(jnp.arange(0, 1, 0.1, dtype=dtype), jjnp.arange(0, 1, 0.1, dtype=dtype), rtol=1e-6)
    check(jnp.arange(0.5, 3, dtype=dtype), jjnp.arange(0.5, 3, dtype=dtype))


def test_arange_wraps_like_jax_and_takes_concrete_arrays():
    check(jnp.arange(-1, 3, dtype=jnp.uint8), jjnp.arange(-1, 3, dtype=jjnp.uint8))
    check(jnp.arange(jnp.array(3)), jjnp.arange(jjnp.array(3)))
    check(jnp.arange(jnp.array(3, dtype=jnp.int8)), jjnp.arange(jjnp.array(3, dtype=jjnp.int8)))


@pytest.mark.parametrize("args, error", [
    ((0, 5, 0), ZeroDivisionError), ((None,), TypeError), ((True,), TypeError), ((np.arange(2),), ValueError),
    (([1, 2],), TypeError),
])
def test_arange_errors_like_jax(args, error):
    for np_mod in (jnp, jjnp):
        with pytest.raises(error):
            np_mod.arange(*args)


def test_arange_bool_dtype_is_an_error_like_jax():
    for np_mod in (jnp, jjnp):
        with pytest.raises(TypeError, match="iota does not accept dtype bool"):
            np_mod.arange(2, dtype=bool)


LINSPACE_CASES = [
    dict(start=0, stop=1, num=5), dict(start=-3.3, stop=7.1, num=13), dict(start=2, stop=-5, num=7, endpoint=False),
    dict(start=0, stop=1, num=1), dict(start=0, stop=1, num=0), dict(start=0, stop=10, num=4, dtype=int),
    dict(start=-1, stop=1, num=4, dtype=int), dict(start=0, stop=1, num=3, dtype=bf16), dict(start=0, stop=1, num=4, dtype=np.float16),
    dict(start=np.int8(0), stop=10, num=5), dict(start=np.array([0.0, 1.0]), stop=2, num=3),
    dict(start=np.zeros((2, 1)), stop=np.ones(3), num=2), dict(start=0, stop=100, num=50),
]


@pytest.mark.parametrize("kwargs", LINSPACE_CASES, ids=str)
def test_linspace_like_jax(kwargs):
    dtype = np.dtype(kwargs.get("dtype", np.float32))
    rtol = 1e-2 if dtype.itemsize == 2 else 1e-6
    check(jnp.linspace(**kwargs), jjnp.linspace(**kwargs), rtol)
    (ours, ours_step), (theirs, theirs_step) = jnp.linspace(**kwargs, retstep=True), jjnp.linspace(**kwargs, retstep=True)
    check(ours, theirs, rtol)
    check(ours_step, theirs_step, rtol)
    if dtype.kind == "f" and dtype.itemsize == 4 and kwargs["num"] > 0:
        np.testing.assert_allclose(ours, np.linspace(**kwargs), rtol=1e-6, atol=1e-6)


def test_linspace_hits_the_end_points_exactly():
    x = np.asarray(jnp.linspace(-3.3, 7.1, 11))
    assert x[0] == np.float32(-3.3) and x[-1] == np.float32(7.1)


def test_linspace_steps_are_jax_s_last_bit():
    """t = i * (1 / div), as XLA folds JAX's division by the constant div:
    linspace(0, 1, 11)[9] is 0.90000004 in JAX and NumPy, so 0.9 falls in
    histogram bin 8 there, not 9; and stop * t is i * (stop / div), fused
    into the sum: linspace(0, 25, 6)[3] is 15, not 15.000001 (jnp.histogram's
    docstring: 15 falls in bin 3)."""
    for args in ((0.0, 1.0, 11), (0.0, 2.0, 7), (0.0, 1.0, 10, False), (0.0, 25.0, 6), (2.0, 7.0, 11), (-3.0, 17.0, 50)):
        np.testing.assert_array_equal(np.asarray(jnp.linspace(*args)), np.asarray(jjnp.linspace(*args)))
        np.testing.assert_array_equal(np.asarray(irax.jit(lambda: jnp.linspace(*args))()), np.asarray(jjnp.linspace(*args)))


def test_histogram_of_values_on_the_edges_like_jax():
    """jnp.histogram's docstring example: its bin edges come from linspace."""
    a = np.array([1, 2, 3, 10, 11, 15, 19, 25], np.int32)
    for ours, theirs in zip(jnp.histogram(a, range=(0, 25), bins=5), jjnp.histogram(a, range=(0, 25), bins=5)):
        np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))


def test_linspace_errors():
    with pytest.raises(ValueError, match="must be non-negative"):
        jnp.linspace(0, 1, -1)
    with pytest.raises(TypeError):
        jnp.linspace(0, 1, 2.5)
    with pytest.raises(IndexError, match="out of bounds"):  # (JAX's is an IndexError too)
        jnp.linspace(np.zeros(2), 1, 3, axis=2)
    with pytest.raises(ValueError):
        jnp.linspace(np.zeros(2), np.ones(3), 3)
    with pytest.raises(TypeError):
        jnp.linspace([0, 1], 2, 3)


# ---------------------------------------------------------------------------
# eye, identity, tri, tril, triu, meshgrid

@pytest.mark.parametrize("args", [(3,), (2, 3), (3, 2, 1), (3, 4, -2), (2, None, 5), (0,), (1,)], ids=str)
@pytest.mark.parametrize("dtype", [None, np.int32, np.bool_, bf16])
def test_eye_and_tri(args, dtype):
    check(jnp.eye(*args, dtype=dtype), jjnp.eye(*args, dtype=dtype))
    check(jnp.tri(*args, dtype=dtype), jjnp.tri(*args, dtype=dtype))


@pytest.mark.parametrize("k", [2**40, -2**40, 2**70, 4, -3], ids=str)
def test_eye_and_tri_with_k_beyond_the_matrix(k):
    """An off-matrix k, however large, is all zeros (eye) and all ones or
    zeros (tri), not an overflow of the index dtype."""
    check(jnp.eye(3, 4, k), jjnp.eye(3, 4, k))
    np.testing.assert_array_equal(jnp.tri(3, 4, k, dtype=int), np.full((3, 4), k > 0))  # JAX and NumPy overflow


def test_identity():
    check(jnp.identity(3), jjnp.identity(3))
    check(jnp.identity(2, dtype=jnp.int8), jjnp.identity(2, dtype=jjnp.int8))


def test_eye_errors():
    with pytest.raises(ValueError, match="negative dimensions"):
        jnp.eye(-1)
    with pytest.raises(ValueError, match="negative dimensions"):
        jnp.tri(2, -2)
    with pytest.raises(TypeError):
        jnp.eye(2.5)


@pytest.mark.parametrize("k", [0, 1, -1, 5])
def test_tril_triu(k):
    m = np.arange(1, 13, dtype=np.float32).reshape(3, 4)
    check(jnp.tril(m, k), jjnp.tril(m, k))
    check(jnp.triu(jnp.asarray(m), k), jjnp.triu(m, k))
    np.testing.assert_array_equal(jnp.triu(m, k), np.triu(m, k))


def test_tril_triu_batched_and_other_dtypes():
    m = np.arange(18, dtype=np.int8).reshape(2, 3, 3)
    check(jnp.tril(m, -1), jjnp.tril(m, -1))
    b = np.ones((2, 2), bool)
    check(jnp.triu(b), jjnp.triu(b))


def test_tril_of_a_1d_array_is_an_error():
    for np_mod in (jnp, jjnp):
        with pytest.raises(ValueError, match="at least 2D"):
            np_mod.tril(np_mod.arange(3))


@pytest.mark.parametrize("kwargs", [{}, {"indexing": "ij"}, {"sparse": True}, {"sparse": True, "indexing": "ij"}], ids=str)
def test_meshgrid(kwargs):
    xs = [np.arange(2, dtype=np.int32), np.arange(3.0, dtype=np.float32), np.arange(4, dtype=np.uint8)]
    for n in (1, 2, 3):
        ours, theirs = jnp.meshgrid(*xs[:n], **kwargs), jjnp.meshgrid(*xs[:n], **kwargs)
        assert len(ours) == len(theirs) == n
        for o, t, w in zip(ours, theirs, np.meshgrid(*xs[:n], **kwargs)):
            check(o, t)
            np.testing.assert_array_equal(o, w)
    assert jnp.meshgrid() == []


def test_meshgrid_errors():
    for np_mod in (jnp, jjnp):
        with pytest.raises(ValueError, match="1D"):
            np_mod.meshgrid(np_mod.ones((2, 2)))
    with pytest.raises(ValueError, match="indexing"):
        jnp.meshgrid(np.arange(2), indexing="foo")


# ---------------------------------------------------------------------------
# The traced path: inside a trace, creation binds the iota and full primitives.

def compile_and_run(trace, outputs, args=()):
    """Finish `trace` returning `outputs`, compile it, run it on `args`
    (irax arrays for its arguments, then its lifted arrays)."""
    module = trace.finish(outputs)
    inputs = list(args) + [x for x, _ in trace.lifted.values()]
    return run_module(module, inputs, [o.aval for o in outputs]), str(module)


TRACED = {
    "arange": lambda: jnp.arange(5), "arange_step": lambda: jnp.arange(0, 1, 0.25),
    "arange_uint8": lambda: jnp.arange(-1, 3, dtype=jnp.uint8), "arange_f16": lambda: jnp.arange(1, 2, 0.1, dtype=jnp.float16),
    "arange_bf16": lambda: jnp.arange(3, dtype=jnp.bfloat16), "linspace": lambda: jnp.linspace(-3.3, 7.1, 11),
    "linspace_int": lambda: jnp.linspace(-1, 1, 4, dtype=int), "linspace_arrays": lambda: jnp.linspace(np.array([0.0, 1.0]), 2, 3),
    "eye": lambda: jnp.eye(3, 4, k=1), "eye_bool": lambda: jnp.eye(2, dtype=bool), "tri": lambda: jnp.tri(2, 3, -1, dtype=int),
    "tril": lambda: jnp.tril(np.arange(9, dtype=np.float32).reshape(3, 3)), "triu": lambda: jnp.triu(np.ones((2, 3), np.int8), 1),
    "full_weak": lambda: jnp.full(3, 2), "full_array": lambda: jnp.full((2, 3), np.arange(3)),
    "zeros_bf16": lambda: jnp.zeros((2, 2), jnp.bfloat16), "ones_bool": lambda: jnp.ones(3, bool),
    "full_uint8": lambda: jnp.full(3, 300, jnp.uint8), "full_nan": lambda: jnp.full((), np.nan),
    "empty": lambda: jnp.zeros((0, 2)), "array": lambda: jnp.array([[1, 2], [3, 4]]),
    "array_weak": lambda: jnp.array(1.5), "meshgrid": lambda: jnp.meshgrid(np.arange(2), np.arange(3.0))[1],
    "meshgrid_sparse": lambda: jnp.meshgrid(np.arange(2), np.arange(3.0), sparse=True)[0],
    "ndmin": lambda: jnp.array(np.arange(2), ndmin=3), "float16": lambda: jnp.full((2,), 0.1, jnp.float16),
    "eye_huge_k": lambda: jnp.eye(2, k=-2**40), "tri_huge_k": lambda: jnp.tri(2, 3, 2**40, dtype=bool),
    "device": lambda: jnp.ones(2, device=irax.devices()[0]),  # means nothing in a trace
}


def test_traced_creation_emits_iota_and_fill_and_matches_eager():
    trace = core.Trace()
    with trace.active():
        outs = [make() for make in TRACED.values()]
    assert all(isinstance(o, core.Tracer) for o in outs)
    results, text = compile_and_run(trace, outs)
    assert "linalg.fill" in text and "linalg.index" in text
    for name, got in zip(TRACED, results):
        want = TRACED[name]()  # eager: computed on the host
        assert (got.shape, got.dtype, got.weak_type) == (want.shape, want.dtype, want.weak_type), name
        np.testing.assert_allclose(np.asarray(got, np.float64), np.asarray(want, np.float64), rtol=1e-6, err_msg=name)


def test_traced_creation_from_traced_values():
    trace = core.Trace()
    with trace.active():
        a = trace.new_argument(core.ShapedArray((), np.float32))
        b = trace.new_argument(core.ShapedArray((2,), np.float32))
        outs = [
            jnp.full((2, 2), a), jnp.full((2, 2), a, dtype=jnp.int32), jnp.full((3, 2), b), jnp.zeros_like(b),
            jnp.linspace(a, b, 3), jnp.array(b, ndmin=3), jnp.array(b, dtype=jnp.float16), jnp.asarray(b),
            jnp.array([a, a * 2]), jnp.array([[a], [1.0]], dtype=jnp.int32),
        ]
        assert outs[-3] is b  # asarray of a tracer is the tracer
    results, text = compile_and_run(trace, outs[:-3] + outs[-2:], [jnp.array(1.5), jnp.array([3.0, 4.0])])
    assert "linalg.fill" in text  # zeros_like; a traced scalar is broadcast by a generic (differentiable)
    a, b = np.float32(1.5), np.array([3.0, 4.0], np.float32)
    expected = [
        np.full((2, 2), a), np.full((2, 2), 1, np.int32), np.broadcast_to(b, (3, 2)), np.zeros(2, np.float32),
        np.linspace(a, b, 3), b.reshape(1, 1, 2), b.astype(np.float16), np.array([a, 2 * a]), np.array([[1], [1]], np.int32),
    ]
    for got, want in zip(results, expected):
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-6)


def test_traced_sizes_must_be_concrete():
    trace = core.Trace()
    with trace.active():
        n = trace.new_argument(core.ShapedArray((), np.int32))
        with pytest.raises(core.ConcretizationTypeError, match="arange"):
            jnp.arange(n)
        with pytest.raises(TypeError, match="Shapes must be 1D sequences of concrete values"):  # JAX's
            jnp.zeros(n)
        with pytest.raises(core.ConcretizationTypeError):
            jnp.linspace(0, 1, n)


def test_primitive_checks():
    with pytest.raises(TypeError, match="iota does not accept dtype bool"):
        prims.iota.bind(shape=(2,), dtype=np.dtype(bool), dimension=0)
    with pytest.raises(ValueError, match="dimension"):
        prims.iota.bind(shape=(2, 3), dtype=np.dtype(np.int32), dimension=2)
    with pytest.raises(TypeError, match="fill_value"):
        prims.full.bind(shape=(2,), dtype=np.dtype(np.int32), weak_type=False)
    with pytest.raises(TypeError, match="0-d"):
        prims.full.bind(jnp.arange(2), shape=(2,), dtype=np.dtype(np.int32), weak_type=False)


def test_primitives_run_eagerly_too():
    got = prims.iota.bind(shape=(2, 3), dtype=np.dtype(np.float32), dimension=1)
    np.testing.assert_array_equal(got, np.broadcast_to(np.arange(3, dtype=np.float32), (2, 3)))
    got = prims.full.bind(jnp.array(7, dtype=jnp.uint8), shape=(2,), dtype=np.dtype(np.uint8), weak_type=False)
    np.testing.assert_array_equal(got, np.full(2, 7, np.uint8))


# ---------------------------------------------------------------------------
# device=: the result is built on the device and committed to it, as in JAX

PLACED = {  # name -> make(numpy module, device)
    "array": lambda m, d: m.array([[1, 2]], device=d), "asarray": lambda m, d: m.asarray(np.arange(3.0), device=d),
    "zeros": lambda m, d: m.zeros((2, 3), device=d), "ones": lambda m, d: m.ones(2, jnp.int8, device=d),
    "empty": lambda m, d: m.empty(2, device=d), "full": lambda m, d: m.full(2, 7, device=d),
    "zeros_like": lambda m, d: m.zeros_like(np.ones(2, np.uint8), device=d),
    "ones_like": lambda m, d: m.ones_like(np.ones(2), device=d),
    "empty_like": lambda m, d: m.empty_like(prototype=np.ones(3, np.int32), device=d),
    "full_like": lambda m, d: m.full_like(np.ones(2), 2.5, device=d), "arange": lambda m, d: m.arange(1, 4, device=d),
    "linspace": lambda m, d: m.linspace(0, 1, 5, device=d), "eye": lambda m, d: m.eye(2, k=1, device=d),
    "astype": lambda m, d: m.astype(np.arange(3), np.float16, device=d),
}


@pytest.mark.parametrize("name", PLACED)
def test_creation_on_a_device(name):
    other = sync.devices()[0]
    ours = PLACED[name](jnp, other)
    assert ours.device is other and ours.committed and PLACED[name](jjnp, jax.devices()[0]).committed
    # The device changes no dtype or weak type. (JAX's full and full_like
    # with a device lose the weak type on lax.full's sharding path, an
    # accident of implementation irax does not copy.)
    check(ours, PLACED[name](jjnp, None))
    default = PLACED[name](jnp, None)
    assert default.device is irax.devices()[0] and not default.committed


def test_device_moves_arrays_and_reaches_every_output():
    other = sync.devices()[0]
    x = irax.device_put(np.arange(3.0), irax.devices()[0])
    for y in (jnp.asarray(x, device=other), jnp.array(x, jnp.int32, device=other), x.astype(jnp.int32, device=other),
              jnp.zeros_like(x, device=other)):
        assert y.device is other and y.committed and x.device is not other
    out, step = jnp.linspace(0, 1, 3, retstep=True, device=other)
    assert out.device is step.device is other and out.committed and step.committed
    np.testing.assert_array_equal(jnp.sum(out * 2), 3.0)  # computed where its operands are committed


# ---------------------------------------------------------------------------
# 64-bit mode

def test_x64_mode_creation_dtypes(x64):
    assert jnp.arange(3).dtype == np.int64
    assert jnp.array(1.0).dtype == np.float64 and jnp.array(1.0).weak_type
    assert jnp.array(np.arange(2)).dtype == np.int64
    assert jnp.zeros(2).dtype == jnp.linspace(0, 1, 3).dtype == jnp.eye(2).dtype == np.float64
    np.testing.assert_array_equal(jnp.arange(3) + 1, np.arange(1, 4))


def test_x64_mode_is_read_at_call_time(x64):
    irax.config.update("irax_enable_x64", False)
    assert jnp.arange(3).dtype == np.int32 and jnp.array(1.0).dtype == np.float32


def test_x64_mode_float64_kernels_run(x64):
    np.testing.assert_array_equal(jnp.array([1.0, 2.0]) * 2, np.array([2.0, 4.0]))


def _spaced_along_axes(m):
    return [m.linspace(np.zeros(2), np.ones(2), 3, axis=1), m.linspace(np.zeros((2, 1)), np.ones(3), 2, axis=-1),
            m.logspace(np.zeros(2), np.ones(2), 3, axis=1),
            m.logspace(np.zeros((2, 3)), 2.0, 3, axis=1, base=np.array([2.0, 3.0, 10.0])),
            m.geomspace(np.ones(2), 8 * np.ones(2), 4, axis=-1)]


def test_linspace_logspace_geomspace_along_any_axis_as_jax():
    """(axis other than 0 was a NotImplementedError.)"""
    jax = pytest.importorskip("jax")
    for ours, theirs in zip(_spaced_along_axes(jnp), _spaced_along_axes(jax.numpy)):
        assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
        np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=1e-6)

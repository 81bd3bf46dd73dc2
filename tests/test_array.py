"""`irax.Array` itself: attributes, conversion to Python and NumPy, printing,
operators, and the protocols (hash, pickle, item assignment), against JAX.

Every case below is compared with jax.numpy doing the same thing, so the
strings and error types are JAX's, not what we think they should be.
"""
import pickle

import ml_dtypes
import numpy as np
import pytest

import irax
import irax.numpy as jnp
from irax.frontend.array import Array

jax = pytest.importorskip("jax")
jjnp = jax.numpy

def both(expr):
    """`expr(numpy_module)` evaluated with irax.numpy and with jax.numpy."""
    return expr(jnp), expr(jjnp)


def raises_like_jax(expr, match=None):
    """`expr` raises the same exception type with irax.numpy as with jax.numpy."""
    with pytest.raises(Exception) as theirs:
        expr(jjnp)
    with pytest.raises(theirs.type, match=match):
        expr(jnp)


# ---------------------------------------------------------------------------
# Attributes and host conversion

def test_attributes():
    x = jnp.zeros((2, 3), jnp.int8)
    assert (x.shape, x.dtype, x.ndim, x.size, x.weak_type) == ((2, 3), np.int8, 2, 6, False)
    assert isinstance(x, Array) and isinstance(x, jnp.ndarray)
    assert x.device is irax.devices()[0]
    s = jnp.array(1.0)
    assert (s.shape, s.ndim, s.size, s.weak_type) == ((), 0, 1, True)
    assert jnp.zeros((0, 4)).size == 0


def test_numpy_conversion_is_a_read_only_view():
    x = jnp.array([[1.5, 2.0]])
    host = np.asarray(x)
    assert isinstance(host, np.ndarray) and host.dtype == np.float32
    np.testing.assert_array_equal(host, [[1.5, 2.0]])
    assert not host.flags.writeable
    with pytest.raises(ValueError):
        host[0, 0] = 3
    copied = np.array(x)
    assert copied.flags.writeable
    copied[0, 0] = 3  # a copy: x is unchanged
    assert float(np.asarray(x)[0, 0]) == 1.5


@pytest.mark.parametrize("dtype", [np.float64, np.int32, np.float16, ml_dtypes.bfloat16, bool])
def test___array___with_dtype(dtype):
    x, jx = both(lambda m: m.array([0.0, 1.5, -2.0]))
    np.testing.assert_array_equal(np.asarray(x, dtype=dtype), np.asarray(jx, dtype=dtype))
    assert np.asarray(x, dtype=dtype).dtype == np.dtype(dtype)
    assert x.__array__(dtype).dtype == np.dtype(dtype)


def test_bfloat16_to_numpy():
    x = jnp.array([1.5, -2.25], dtype=jnp.bfloat16)
    assert np.asarray(x).dtype == ml_dtypes.bfloat16
    np.testing.assert_array_equal(np.asarray(x).astype(np.float32), [1.5, -2.25])


def test_block_until_ready_returns_the_array():
    x = jnp.arange(3) + 1
    assert x.block_until_ready() is x


@pytest.mark.parametrize("make", [
    lambda m: m.array(3), lambda m: m.array(2.5), lambda m: m.array(True), lambda m: m.arange(6.0).reshape(2, 3),
    lambda m: m.array([[True, False]]), lambda m: m.zeros((0, 2)), lambda m: m.array(1.5, dtype=m.bfloat16),
], ids=["int", "float", "bool", "matrix", "bool2d", "empty", "bf16"])
def test_item_and_tolist_like_jax(make):
    x, jx = make(jnp), make(jjnp)
    assert x.tolist() == jx.tolist()
    assert type(x.tolist()) is type(jx.tolist())
    if jx.size == 1:
        assert x.item() == jx.item() and type(x.item()) is type(jx.item())


def test_item_with_index():
    x, jx = both(lambda m: m.arange(6.0).reshape(2, 3))
    assert x.item(4) == jx.item(4) == 4.0
    assert x.item((1, 2)) == jx.item((1, 2))
    raises_like_jax(lambda m: m.arange(6.0).item())


# ---------------------------------------------------------------------------
# Python scalars from arrays

@pytest.mark.parametrize("make", [lambda m: m.array(2.7), lambda m: m.array(-2.7), lambda m: m.array(3, m.uint8),
                                  lambda m: m.array(True), lambda m: m.array(0.0), lambda m: m.array(np.nan)],
                         ids=["2.7", "-2.7", "uint8", "True", "zero", "nan"])
def test_scalar_conversions(make):
    x, jx = make(jnp), make(jjnp)
    for convert in (float, bool, complex):
        assert convert(x) == convert(jx) or (np.isnan(convert(jx)) and np.isnan(convert(x)))
        assert type(convert(x)) is convert
    if not np.isnan(float(jx)):
        assert int(x) == int(jx) and type(int(x)) is int


def test_index_of_integer_scalars():
    assert [10, 11, 12][jnp.array(1)] == 11
    assert jnp.array(3, dtype=jnp.uint8).__index__() == 3
    assert range(10)[jnp.array(-1, dtype=jnp.int8)] == 9


@pytest.mark.parametrize("expr", [
    lambda m: float(m.ones((2, 3))), lambda m: int(m.ones((2, 3))), lambda m: complex(m.ones((2, 3))),
    lambda m: m.ones((2, 3)).__index__(), lambda m: m.array(2.0).__index__(),
], ids=["float", "int", "complex", "index", "index_of_float"])
def test_scalar_conversion_errors_on_arrays_like_jax(expr):
    raises_like_jax(expr)


@pytest.mark.parametrize("expr", [
    lambda m: float(m.array([2.5])), lambda m: int(m.array([[2]])), lambda m: m.array([2]).__index__(),
    lambda m: m.array(True).__index__(), lambda m: bool(m.array([])), lambda m: bool(m.array([1, 2])),
    lambda m: bool(m.ones((2, 3))),
], ids=["float_of_1d", "int_of_2d", "index_of_1d", "index_of_bool", "bool_of_empty", "bool_of_two", "bool_of_2d"])
def test_scalar_conversion_of_non_scalars_like_jax(expr):
    raises_like_jax(expr)


def test_bool_of_a_one_element_array_is_allowed_like_jax():
    assert bool(jnp.array([True])) is bool(jjnp.array([True])) is True
    assert bool(jnp.array([[0]])) is False


# ---------------------------------------------------------------------------
# Sequence protocol

def test_len():
    assert len(jnp.zeros((4, 2))) == 4
    assert len(jnp.zeros((0,))) == 0
    raises_like_jax(lambda m: len(m.array(1.0)), match="unsized")


def test_iterating_a_0d_array_is_a_type_error():
    raises_like_jax(lambda m: iter(m.array(1.0)), match="0-d")


def test_iteration_and_unpacking():
    w, b = jnp.array([1.0, 2.0])
    assert (float(w), float(b)) == (1.0, 2.0)
    assert w.shape == () and w.dtype == np.float32
    rows = list(jnp.arange(6).reshape(3, 2))
    assert [r.tolist() for r in rows] == [[0, 1], [2, 3], [4, 5]]
    assert list(jnp.zeros((0, 2))) == []


# ---------------------------------------------------------------------------
# Formatting and printing

def test_format_of_scalars():
    assert f"{jnp.array(1.2345):<.2f}|" == f"{jjnp.array(1.2345):<.2f}|" == "1.23|"
    assert f"{jnp.array(1.2345):>10.3e}" == f"{jjnp.array(1.2345):>10.3e}"
    assert f"{jnp.array(7):04d}" == "0007"
    assert f"{jnp.array(True)}" == "True"


def test_format_of_arrays():
    x, jx = both(lambda m: m.arange(6.0).reshape(2, 3))
    assert f"{x}" == f"{jx}"
    raises_like_jax(lambda m: f"{m.arange(2):>5}")


PRINT_CASES = {
    "int": lambda m: m.array(1), "float": lambda m: m.array(1.0), "bool": lambda m: m.array(True),
    "weak_float_sum": lambda m: m.array(1.0) + 1, "weak_int_product": lambda m: m.array(2) * 3,
    "ints": lambda m: m.array([1, 2, 3]), "floats": lambda m: m.array([1.5, 2, -3]), "bools": lambda m: m.array([True, False]),
    "bfloat16": lambda m: m.array([1.5, 2.25], dtype=m.bfloat16), "bfloat16_scalar": lambda m: m.array(1.5, dtype=m.bfloat16),
    "float16": lambda m: m.array([1.5, 2.25, 1e-3], dtype=m.float16), "uint8_2d": lambda m: m.array([[1, 2], [3, 4]], dtype=m.uint8),
    "int8_scalar": lambda m: m.array(3, dtype=m.int8), "empty": lambda m: m.zeros((0,)),
    "empty_2d_int": lambda m: m.zeros((2, 0), m.int32), "empty_bool": lambda m: m.zeros((0, 3), bool),
    "wrapping_rows": lambda m: m.arange(100.0).reshape(4, 25), "long_summarized": lambda m: m.arange(2000),
    "summarized_2d": lambda m: m.arange(2000.0).reshape(40, 50), "wide_ints": lambda m: m.arange(30) * 1000000,
    "small_and_large": lambda m: m.array([1e-8, 1e8]), "non_finite": lambda m: m.array([np.nan, np.inf, -np.inf]),
    "nan_scalar": lambda m: m.array(np.nan), "negative_zero": lambda m: m.array(-0.0), "3d": lambda m: m.arange(24).reshape(2, 3, 4),
    "1e10": lambda m: m.array([1e10]), "bf16_matrix": lambda m: m.array([[1.5]], dtype=m.bfloat16),
    "bf16_long": lambda m: m.arange(20, dtype=m.bfloat16), "float16_thirds": lambda m: m.ones((3, 3), m.float16) / 3,
    "bool_compare": lambda m: m.arange(4) > 1, "zeros_2d": lambda m: m.zeros((2, 2)), "eye": lambda m: m.eye(3),
}


@pytest.mark.parametrize("name", sorted(PRINT_CASES))
def test_repr_and_str_equal_jax(name):
    x, jx = PRINT_CASES[name](jnp), PRINT_CASES[name](jjnp)
    assert repr(x) == repr(jx)
    assert str(x) == str(jx)


# ---------------------------------------------------------------------------
# Operators

@pytest.mark.parametrize("expr", [
    lambda m, x: 1 - x, lambda m, x: x - 1, lambda m, x: 2 ** x, lambda m, x: x ** 2, lambda m, x: x / 2,
    lambda m, x: 2 / x, lambda m, x: 3 * x, lambda m, x: x + 0.5, lambda m, x: 7 // x, lambda m, x: 7 % x,
    lambda m, x: -x, lambda m, x: +x, lambda m, x: abs(-x), lambda m, x: 2.5 - x, lambda m, x: x * True,
], ids=["rsub", "sub", "rpow", "pow", "div", "rdiv", "rmul", "add_float", "rfloordiv", "rmod", "neg", "pos",
        "abs", "rsub_float", "mul_bool"])
@pytest.mark.parametrize("dtype", [np.int32, np.float32])
def test_operators_with_python_scalars(expr, dtype):
    data = np.array([1, 2, 4], dtype)
    ours, theirs = expr(jnp, jnp.asarray(data)), expr(jjnp, jjnp.asarray(data))
    assert (ours.dtype, ours.weak_type, ours.shape) == (theirs.dtype, theirs.weak_type, theirs.shape)
    np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=1e-6)


@pytest.mark.parametrize("op", ["__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__"])
def test_comparisons_return_bool_arrays(op):
    data = np.array([1.0, 2.0, 3.0], np.float32)
    ours = getattr(jnp.asarray(data), op)(2)
    assert isinstance(ours, Array) and ours.dtype == np.bool_ and ours.shape == (3,)
    np.testing.assert_array_equal(ours, getattr(data, op)(2))
    reflected = 2 < jnp.asarray(data)  # Python swaps to x.__gt__(2)
    np.testing.assert_array_equal(reflected, 2 < data)


def test_numpy_ufuncs_on_irax_arrays_give_numpy_results():
    x, jx = both(lambda m: m.arange(6.0).reshape(2, 3))
    out = np.sin(x)
    assert type(out) is np.ndarray and out.dtype == np.sin(jx).dtype
    np.testing.assert_allclose(out, np.sin(jx), rtol=1e-6)
    assert np.sum(x) == 15.0


def test_numpy_operands_defer_to_irax_like_jax():
    x, jx = both(lambda m: m.arange(3.0))
    assert x.__array_priority__ == jx.__array_priority__ == 100
    for expr in (lambda a: np.ones(3, np.float32) + a, lambda a: np.float32(2) * a, lambda a: np.ones(3) < a,
                 lambda a: np.arange(3) - a):
        ours, theirs = expr(x), expr(jx)
        assert isinstance(ours, Array)
        assert (ours.dtype, ours.weak_type) == (theirs.dtype, theirs.weak_type)
        np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))


def test_lists_are_not_operands():
    raises_like_jax(lambda m: [1.0, 2.0] + m.arange(2.0))


# ---------------------------------------------------------------------------
# Protocols: immutability, hashing, pickling

def test_arrays_are_unhashable():
    raises_like_jax(lambda m: hash(m.arange(3)))
    raises_like_jax(lambda m: {m.array(1): 1})


def test_item_assignment_points_to_at():
    x = jnp.arange(3)
    with pytest.raises(TypeError, match=r"\.at"):
        x[0] = 5
    raises_like_jax(lambda m: m.arange(3).__setitem__(0, 5))


@pytest.mark.parametrize("make", [lambda m: m.arange(6.0).reshape(2, 3), lambda m: m.array([1, 2], m.uint8),
                                  lambda m: m.array([1.5], m.bfloat16), lambda m: m.zeros((0, 2))],
                         ids=["float", "uint8", "bf16", "empty"])
def test_pickle_keeps_the_values(make):
    x = make(jnp)
    back = pickle.loads(pickle.dumps(x))
    assert back.dtype == x.dtype and back.shape == x.shape
    np.testing.assert_array_equal(np.asarray(back), np.asarray(x))


def test_pickle_round_trip_gives_an_irax_array_like_jax():
    for make in (lambda m: m.arange(3.0), lambda m: m.array(1.0) + 1):
        x, jx = make(jnp), make(jjnp)
        back, jback = pickle.loads(pickle.dumps(x)), pickle.loads(pickle.dumps(jx))
        assert isinstance(back, Array)
        assert repr(back) == repr(jback)


# ---------------------------------------------------------------------------
# Errors: tracers that leak out of their trace, broadcasting

LIBS = {"irax": (irax, jnp), "jax": (jax, jjnp)}


def leak(lib, m, transform):
    """An intermediate value of a function traced by `lib.<transform>`, stored
    outside it (a side effect): a tracer whose trace has ended."""
    box = []

    def leaky(x):
        box.append(x * 2)
        return m.sum(x)

    getattr(lib, transform)(leaky)(m.ones(3))
    return box[0]


LEAKED_USES = {
    "add": lambda lib, m, t: t + 1,
    "jnp function": lambda lib, m, t: m.sin(t),
    "index": lambda lib, m, t: t[0],
    "float of an element": lambda lib, m, t: float(t[1]),
    "iterate": lambda lib, m, t: list(t),
    "jit argument": lambda lib, m, t: lib.jit(lambda a: a + 1)(t),
    "closed over by jit": lambda lib, m, t: lib.jit(lambda a: a + t)(1.0),
}


@pytest.mark.parametrize("use", sorted(LEAKED_USES))
@pytest.mark.parametrize("transform", ["jit", "grad"])
def test_leaked_tracer_is_an_unexpected_tracer_error_like_jax(transform, use):
    with pytest.raises(jax.errors.UnexpectedTracerError, match="Encountered an unexpected tracer"):
        LEAKED_USES[use](jax, jjnp, leak(jax, jjnp, transform))
    with pytest.raises(irax.errors.UnexpectedTracerError, match="Encountered an unexpected tracer") as ours:
        LEAKED_USES[use](irax, jnp, leak(irax, jnp, transform))
    assert isinstance(ours.value, TypeError)  # as JAX's: a TypeError
    message = str(ours.value)
    assert "float32[3]" in message and "explicitly return their outputs" in message
    assert f"The function being traced when the value leaked was leaky at {__file__}:" in message
    assert "(leaky): `box.append(x * 2)`" in message


def test_what_a_leaked_tracer_still_allows_like_jax():
    """Its static properties and its repr need no trace; bool() and
    conversion to NumPy fail as they would inside it."""
    t = leak(irax, jnp, "jit")
    assert (t.shape, t.dtype, t.ndim, len(t)) == ((3,), np.float32, 1, 3)
    assert repr(t) == str(t) == repr(leak(jax, jax.numpy, "jit")) == "JitTracer(float32[3])"
    with pytest.raises(irax.errors.ConcretizationTypeError):
        np.asarray(t)


@pytest.mark.parametrize("expr", [
    lambda m: m.ones((2, 3)) + m.ones((4,)),
    lambda m: m.maximum(m.ones((2, 3)), m.ones((2,))),
    lambda m: m.broadcast_arrays(m.ones((2, 3)), m.ones((4,))),
    lambda m: m.ones((2, 3)) * m.ones((2, 4)),  # same rank: lax's TypeError, naming the op
], ids=["add", "maximum", "broadcast_arrays", "same rank"])
def test_broadcast_errors_like_jax(expr):
    with pytest.raises(Exception) as theirs:
        expr(jjnp)
    with pytest.raises(theirs.type) as ours:
        expr(jnp)
    assert str(ours.value) == str(theirs.value)


METHODS = [lambda x: x.sort(), lambda x: x.argsort(axis=0), lambda x: x.copy(), lambda x: x.real, lambda x: x.imag,
           lambda x: x.conj(), lambda x: x.cumprod(1), lambda x: x.trace(), lambda x: x.diagonal(),
           lambda x: x.nonzero(), lambda x: x.ptp(), lambda x: x.ravel().sort().searchsorted(2.5),
           lambda x: divmod(x, 4), lambda x: divmod(7, x + 1), lambda x: round(x / 3, 1), lambda x: x.conjugate(),
           lambda x: x.compress(x[0] > 1, axis=1), lambda x: x.argpartition(1, axis=1)[:, 1:]]


@pytest.mark.parametrize("method", METHODS)
def test_array_methods_and_operators_as_jax_s(method):
    """(Each was an AttributeError or a TypeError.)"""
    jax = pytest.importorskip("jax")
    x = np.array([[3.0, 1.0, 2.0], [0.0, 5.0, 4.0]], np.float32)
    ours, theirs = method(jnp.asarray(x)), method(jax.numpy.asarray(x))
    for a, b in zip(irax.tree_util.tree_leaves(ours), jax.tree_util.tree_leaves(theirs)):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6)


def test_operators_defer_to_what_they_do_not_know_as_jax_s():
    """`x == None` is False and `x != None` True (Python's fallback), as in JAX;
    other operands an array cannot be are Python's TypeError."""
    x = jnp.arange(3)
    assert (x == None) is False and (x != None) is True  # noqa: E711
    for bad in (lambda: x + None, lambda: x < None, lambda: x + [1, 2, 3]):
        with pytest.raises(TypeError, match="not supported|unsupported operand"):
            bad()


@pytest.mark.parametrize("other", [[0, 1, 5], (0, 1, 5), {0}, {0: 1}], ids=lambda o: type(o).__name__)
def test_equality_with_containers_is_a_type_error_as_jax_s(other):
    """JAX refuses `x == [0, 1, 5]` (and !=, either side), where irax fell back
    on Python's identity comparison: a silent False NumPy users don't expect."""
    for library in (jnp, jax.numpy):
        x = library.arange(3)
        for compare in (lambda: x == other, lambda: x != other, lambda: other == x):
            with pytest.raises(TypeError, match="unsupported operand type\\(s\\) for ==: '.*' and '"
                               + type(other).__name__):
                compare()


@pytest.mark.parametrize("value, ndigits", [(np.float32(2.5), None), (np.array([1.5, -2.5], np.float32), None),
                                            (np.int8(3), None), (np.float32(2.567), 1)])
def test_builtin_round_as_jax(value, ndigits):
    """round(x) is an integer array as round(7.5) is an int (irax kept floats); round(x, n) keeps the dtype."""
    ours, theirs = round(jnp.asarray(value), ndigits), round(jax.numpy.asarray(value), ndigits)
    assert (ours.dtype, ours.weak_type) == (theirs.dtype, theirs.weak_type)
    np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=1e-6)  # (JAX's 2.6000001 is 2.6)


def test_jax_array_queries_of_a_one_device_array():
    """jax.Array's clone, tobytes, platform, on_device_size_in_bytes,
    addressable_data and is_fully_* were missing; flat raises JAX's error."""
    jax = pytest.importorskip("jax")
    mine, theirs = jnp.arange(6.0).reshape(2, 3), jax.numpy.arange(6.0).reshape(2, 3)
    assert mine.tobytes() == theirs.tobytes()
    assert (mine.on_device_size_in_bytes(), mine.platform()) == (theirs.on_device_size_in_bytes(), theirs.platform())
    assert mine.is_fully_addressable and mine.is_fully_replicated and mine.addressable_data(0) is mine
    clone = mine.clone()
    assert clone is not mine
    np.testing.assert_array_equal(clone, theirs)
    with pytest.raises(NotImplementedError, match="consider arr.flatten"):
        mine.flat  # noqa: B018

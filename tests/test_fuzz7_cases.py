"""jax.numpy and Python-operator bugs a differential fuzzer found, each
against JAX (values, shapes, dtypes, weak types; error types). Shapes: (3, 4),
(2, 0) and the 1-D (10,) and (5,) of the set operations."""
import numpy as np
import pytest

import irax
import irax.numpy as jnp
from helpers import check_central_differences, same_as_jax as same

jax = pytest.importorskip("jax")
jjnp = jax.numpy

rng = np.random.default_rng(0)
X = rng.normal(size=(3, 4)).astype(np.float32)
IDX = np.array([[1, -1, 5, -7]] * 3, np.int32)  # in bounds, from the end, out of bounds both ways
V = np.array([3.0, np.nan, -1.0, 2.0, np.nan, -0.0, 0.0, -np.inf, 5.0, 2.0], np.float32)


def same_error(ours, theirs):
    with pytest.raises(Exception) as theirs_error:
        theirs()
    with pytest.raises(type(theirs_error.value)):
        ours()


# A Python int outside the default int (int32 here) is an OverflowError in
# every jnp operation, whatever the other operand's dtype: JAX parses it as an
# int32 before promoting. irax raised only beside integer arrays and quietly
# computed float32(x) + 2**31.
BIG_INT_OPERATIONS = {
    "add": lambda np_, x: x + 2**31,
    "radd_complex": lambda np_, x: 2**40 * x.astype(np_.complex64),
    "compare": lambda np_, x: x >= -2**31 - 1,
    "where": lambda np_, x: np_.where(x > 0, x, 2**32),
    "clip": lambda np_, x: np_.clip(x, 0, 2**63),
    "initial": lambda np_, x: np_.sum(x, initial=2**31),
}


@pytest.mark.parametrize("name", BIG_INT_OPERATIONS)
@pytest.mark.parametrize("jit", [False, True])
def test_python_int_beyond_int32_overflows_beside_floats(name, jit):
    f = BIG_INT_OPERATIONS[name]
    ours = (irax.jit if jit else (lambda g: g))(lambda x: f(jnp, x))
    same_error(lambda: ours(jnp.asarray(X)), lambda: f(jjnp, jjnp.asarray(X)))


# Where JAX converts the int itself its wording is "Python int 2147483648 too
# large to convert to int32"; irax gave NumPy's "Python integer ... out of
# bounds for int32" (or "... to C long" past 2**63).
OVERFLOW_WORDING = {
    "asarray": lambda np_, lax_, x: np_.asarray(2**31),
    "array_huge": lambda np_, lax_, x: np_.array(2**64),
    "lax_add": lambda np_, lax_, x: lax_.add(x, -2**31 - 1),
    "at_set": lambda np_, lax_, x: x.at[0].set(2**63),
}


@pytest.mark.parametrize("name", OVERFLOW_WORDING)
def test_python_int_overflow_wording(name):
    f = OVERFLOW_WORDING[name]
    with pytest.raises(OverflowError) as theirs:
        f(jjnp, jax.lax, jjnp.asarray(X))
    with pytest.raises(OverflowError) as ours:
        f(jnp, irax.lax, jnp.asarray(X))
    assert str(ours.value) == str(theirs.value)


def test_python_int_at_the_int32_limit():
    with pytest.raises(OverflowError, match="Python int 2147483648 too large to convert to int32"):
        jnp.asarray(X) + 2**31
    same(jnp.asarray(X) + (2**31 - 1), jjnp.asarray(X) + (2**31 - 1))
    same(jnp.full((2,), 2**31, dtype=jnp.float32), jjnp.full((2,), 2**31, dtype=jjnp.float32))


# setxor1d: NaNs never match (NumPy and JAX compare neighbours of
# sort(unique(ar1) ++ unique(ar2))), so each array's NaN is in the result;
# irax counted NaNs equal and dropped them.
SETXOR = {
    "nan_in_both": (V, V[2:7]),
    "nan_in_one": (V[:1], V[2:]),
    "complex": ((V + 1j).astype(np.complex64), (V[2:7] + 1j).astype(np.complex64)),
    "ints": (np.arange(10, dtype=np.int32), np.arange(5, dtype=np.int32) * 3),
    "unique": (V[[0, 1, 2, 7, 8]], V[[3, 4, 5, 2]]),
}


@pytest.mark.parametrize("name", SETXOR)
def test_setxor1d_keeps_each_arrays_nan(name):
    a, b = SETXOR[name]
    same(jnp.setxor1d(a, b), jjnp.setxor1d(a, b))
    if all(np.unique(x).size == x.size for x in (a, b)):
        same(jnp.setxor1d(a, b, assume_unique=True), jjnp.setxor1d(a, b, assume_unique=True))
    ours = irax.jit(lambda a, b: jnp.setxor1d(a, b, size=11, fill_value=0))(a, b)
    same(ours, jjnp.setxor1d(a, b, size=11, fill_value=0))


# take_along_axis takes lax.gather's modes: "promise_in_bounds" (no wrapping of
# negative indices: -1 clamps to 0) raised in irax; "wrap" and "raise" are
# ValueErrors in JAX ("Unknown gather mode"), which irax computed or called
# NotImplementedError.
@pytest.mark.parametrize("mode", [None, "fill", "drop", "clip", "promise_in_bounds"])
@pytest.mark.parametrize("axis", [1, None])
def test_take_along_axis_modes(mode, axis):
    i = IDX if axis is not None else IDX[0]
    for ours in (jnp.take_along_axis, irax.jit(jnp.take_along_axis, static_argnames=("axis", "mode"))):
        same(ours(X, i, axis=axis, mode=mode), jjnp.take_along_axis(X, i, axis=axis, mode=mode))


@pytest.mark.parametrize("mode", ["wrap", "raise", "foo"])
def test_take_along_axis_rejects_take_only_modes(mode):
    with pytest.raises(ValueError, match=f'Unknown gather mode "{mode}"'):
        jnp.take_along_axis(X, IDX, axis=1, mode=mode)
    same_error(lambda: jnp.take_along_axis(X, IDX, axis=1, mode=mode),
               lambda: jjnp.take_along_axis(X, IDX, axis=1, mode=mode))


def test_take_along_axis_promise_in_bounds_gradient():
    """As JAX: no cotangent from an index out of bounds (the value clamps);
    in bounds, the central differences."""
    def loss(np_, i):
        return lambda x: np_.sum(np_.sin(np_.take_along_axis(x, i, axis=1, mode="promise_in_bounds")))

    same(irax.grad(loss(jnp, IDX))(X), jax.grad(loss(jjnp, IDX))(X))
    inside = np.abs(IDX) % 4
    ours = irax.grad(loss(jnp, inside))(X)
    values = irax.jit(lambda p: {"x": loss(jnp, inside)(p["x"])})
    check_central_differences({"x": np.asarray(ours)}, values, {"x": X}, X.shape)


# median/quantile over an axis of a (2, 0) array: the rows reshape used -1
# beside an empty kept axis (TypeError: cannot reshape ... (0, -1)); JAX
# returns an empty result.
QUANTILE_OF_EMPTY = {
    "median": lambda np_, e: np_.median(e, axis=0),
    "nanmedian_keepdims": lambda np_, e: np_.nanmedian(e, axis=0, keepdims=True),
    "quantile": lambda np_, e: np_.quantile(e, np.array([0.2, 0.5], np.float32), axis=0),
    "percentile": lambda np_, e: np_.percentile(e.T, 30.0, axis=1),
}


@pytest.mark.parametrize("name", QUANTILE_OF_EMPTY)
def test_quantiles_with_an_empty_kept_axis(name):
    f, e = QUANTILE_OF_EMPTY[name], np.zeros((2, 0), np.float32)
    same(f(jnp, e), f(jjnp, e))
    same(irax.jit(lambda e: f(jnp, e))(e), f(jjnp, e))


# A jitted function called inside another trace got its Python scalar
# arguments as Python numbers, so its arithmetic ran in Python: (2**30 * 3) // 2
# was 1610612736, where JAX's int32 arguments wrap to -536870912.
NESTED_JIT_SCALARS = {
    "int_wraps": (lambda a: (a * 3) // 2, (2**30,)),
    "int_is_an_array": (lambda a: a + 1, (2**31 - 1,)),
    "float_weak": (lambda a, b: a * b, (1.5, 2)),
}


@pytest.mark.parametrize("name", NESTED_JIT_SCALARS)
def test_nested_jit_passes_python_scalars_as_weak_arrays(name):
    f, args = NESTED_JIT_SCALARS[name]
    same(irax.jit(lambda: irax.jit(f)(*args))(), jax.jit(lambda: jax.jit(f)(*args))())


def test_nested_jit_python_int_beyond_int32_overflows():
    with pytest.raises(OverflowError, match="argument path is a. Got <class 'int'> with value -2147483649"):
        irax.jit(lambda: irax.jit(lambda a: a + 1)(-2**31 - 1))()  # (JAX's wording)


# Complex ramps: linspace worked in the default float for a complex dtype
# (creation._inexact), dropping imaginary parts (so did pad's linear_ramp,
# built on it); geomspace took |start| and |stop|, losing the phase.
Z = (X[0] + 2j * X[1]).astype(np.complex64)
COMPLEX_RAMPS = {
    "linspace": lambda np_, z: np_.linspace(0, 1j, 3),
    "linspace_dtype_retstep": lambda np_, z: np_.linspace(0, 2 + 2j, 4, dtype=np_.complex64, retstep=True),
    "linspace_arrays": lambda np_, z: np_.linspace(z[:2], 2, 4, axis=1, endpoint=False),
    "pad_linear_ramp": lambda np_, z: np_.pad(z, ((3, 4),), mode="linear_ramp", end_values=(1j, 2)),
    "geomspace": lambda np_, z: np_.geomspace(1, 1j, 3),
    "geomspace_negative": lambda np_, z: np_.geomspace(-1 + 0.5j, -2 - 1j, 4),
}


@pytest.mark.parametrize("name", COMPLEX_RAMPS)
def test_complex_ramps_keep_imaginary_parts(name):
    f = COMPLEX_RAMPS[name]
    same(f(jnp, jnp.asarray(Z)), f(jjnp, jjnp.asarray(Z)))
    same(irax.jit(lambda z: f(jnp, z))(Z), f(jjnp, jjnp.asarray(Z)))


def test_eager_checkpoint_passes_python_scalars_as_weak_arrays():
    """(Eagerly irax.checkpoint called fun on the Python int: 1610612736.)"""
    f = lambda a: (a * 3) // 2  # noqa: E731
    same(irax.checkpoint(f)(2**30), jax.checkpoint(f)(2**30))
    g = lambda a, n: a * n  # noqa: E731
    same(irax.checkpoint(g, static_argnums=1)(2.0, 3), jax.checkpoint(g, static_argnums=1)(2.0, 3))


def test_lcm_multiplies_the_magnitudes_as_jax():
    """lcm(int8(-37), 4) is 148, which wraps to -108 in NumPy and JAX; irax
    took |-37 * 4| after the wrapping multiply: 108."""
    x = np.array([-37, 37, -6, 0, -128], np.int8)
    for fn in (jnp.lcm, irax.jit(jnp.lcm)):
        same(fn(x, np.int8(4)), jax.numpy.lcm(x, np.int8(4)))
    np.testing.assert_array_equal(np.asarray(jnp.lcm(x, np.int8(4))), np.lcm(x, np.int8(4)))

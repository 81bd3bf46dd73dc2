"""Bugs a differential fuzzer of indexing, reductions and elementwise
semantics found, each against NumPy (values) or JAX (error types and
wording). Shapes: (4,)."""
import numpy as np
import pytest

import irax
import irax.numpy as jnp

jax = pytest.importorskip("jax")

X = np.array([33.0, 1.5, 2.0, 3.0], np.float32)


# ldexp narrowed its exponent to int32 before clipping it: a uint32 of 2**31
# or more wrapped to a negative exponent, so 33 * 2**(2**31) came out 0.
def test_ldexp_of_a_large_unsigned_exponent_overflows_to_inf():
    e = np.array([2**31, 2**32 - 1, 5, 0], np.uint32)
    np.testing.assert_array_equal(np.asarray(jnp.ldexp(X, e)), np.ldexp(X, e.astype(np.int64)))


# lax's cumulative reductions took bool (and cumlogsumexp an int, failing
# inside with an error about concatenate): JAX's TypeError names the dtype.
@pytest.mark.parametrize("name,dtype,accepted", [("cumsum", bool, "number"), ("cummax", bool, "number"),
                                                 ("cumprod", bool, "number"), ("cumlogsumexp", np.int32, "floating")])
def test_lax_cumulative_reductions_reject_dtypes_as_jax(name, dtype, accepted):
    message = f"{name} does not accept dtype {np.dtype(dtype).name}. Accepted dtypes are subtypes of {accepted}."
    with pytest.raises(TypeError, match=message):
        getattr(irax.lax, name)(jnp.ones(4, dtype))
    if dtype is bool:  # JAX's own wording, where JAX raises a TypeError
        with pytest.raises(TypeError, match=message):
            getattr(jax.lax, name)(jax.numpy.ones(4, dtype))


# lax.nextafter had a second implementation beside jnp's, which took
# x1 + x2 != x1 + x2 for "either is NaN": at x1 = -inf, x2 = inf the sum is
# NaN, so the step from -inf came out NaN (NumPy's and JAX's -max). One
# implementation now, jnp's.
@pytest.mark.parametrize("dtype", [np.float16, np.float32])
def test_lax_nextafter_steps_from_an_infinity_towards_the_other(dtype):
    x1 = np.array([-np.inf, np.inf, np.nan, 1.0], dtype)
    x2 = np.array([np.inf, -np.inf, 1.0, np.nan], dtype)
    np.testing.assert_array_equal(np.asarray(irax.lax.nextafter(x1, x2)), np.nextafter(x1, x2))


# copysign returned x1's weak type: promote_args leaves an operand already of
# the common dtype as it is, weak, where JAX's result is weak only when both
# operands are (a weak float32 and np.float32(-2) give a strong float32).
def test_copysign_is_weak_only_where_both_operands_are():
    weak = jnp.asarray(3.0) * 1
    for x1, x2 in ((weak, np.float32(-2)), (weak, weak), (np.float32(2), weak)):
        ours, theirs = jnp.copysign(x1, x2), jax.numpy.copysign(*(jax.numpy.asarray(3.0) * 1 if x is weak else x
                                                                    for x in (x1, x2)))
        assert (ours.dtype, ours.aval.weak_type, float(ours)) == (theirs.dtype, theirs.weak_type, float(theirs))


# Complex operands went through where JAX refuses them: heaviside and hypot
# returned numbers, copysign raised a ValueError from signbit.
@pytest.mark.parametrize("name,args,error,message", [
    ("copysign", (1j, X), TypeError, "copysign does not support complex-valued inputs"),
    ("hypot", (True, 1j), ValueError, "jnp.hypot is not well defined for complex-valued inputs"),
    ("heaviside", (X.astype(np.complex64), 1.0), TypeError, "lt does not accept dtype complex64 at position 0"),
])
def test_complex_operands_are_refused_as_jax_refuses_them(name, args, error, message):
    for library in (jnp, jax.numpy):
        with pytest.raises(error, match=message):
            getattr(library, name)(*args)


# Weak types of composed functions: hypot ended in a where with a weak inf
# (JAX's inf is a strong constant: strong, but a 0-d result of weak operands
# stays weak); a float to a weak integer power under jit converted the
# exponent to a strong float, so the result was strong where lax.pow's is
# weak when both operands are.
def _weak_type_cases(library, jit):
    weak_float, weak_int = library.asarray(3.0) * 1, library.asarray(3) * 1
    return [jit(lambda a, b: a ** b)(weak_float, weak_int), jit(lambda a, b: a ** b)(weak_float, np.int32(2)),
            library.hypot(np.int16(2), weak_float), library.hypot(weak_float, library.ones(4, "int8")),
            library.hypot(2.0, 3.0)]


def test_weak_types_of_hypot_and_power_are_jax_s():
    ours = [(x.dtype, x.aval.weak_type) for x in _weak_type_cases(jnp, irax.jit)]
    assert ours == [(x.dtype, x.weak_type) for x in _weak_type_cases(jax.numpy, jax.jit)]


# jnp.equal and jnp.not_equal refused typed keys (a TypeError: "requires
# ndarray or scalar arguments"), where JAX compares their data, broadcast,
# as `==` already did.
def test_typed_keys_compare_with_equal_and_not_equal():
    ours, theirs = irax.random.split(irax.random.key(0), 3), jax.random.split(jax.random.key(0), 3)
    for name in ("equal", "not_equal"):
        for a, b in ((0, slice(None)), (0, 1), (slice(None), 0)):
            np.testing.assert_array_equal(getattr(jnp, name)(ours[a], ours[b]),
                                          getattr(jax.numpy, name)(theirs[a], theirs[b]))


# slogdet took a real sign as d / |d|: NaN where a determinant (2x2) or an
# entry of U (LU, beyond) is infinite, where JAX and NumPy give ±1. Beyond
# 2x2 the sign also counts a NaN entry of U as positive, as LAPACK does.
@pytest.mark.parametrize("matrix", [
    [[np.inf, 1], [2, 3]],
    [[-np.inf, 1], [2, 3]],
    [[np.inf, 1, 0], [0, -1, 0], [0, 0, 1]],
    [[np.nan, 1, 0], [0, 1, 0], [0, 0, 1]],
], ids=["2x2 inf", "2x2 -inf", "3x3 inf", "3x3 nan"])
def test_slogdet_sign_of_infinite_and_nan_matrices_is_jax_s(matrix):
    a = np.array(matrix, np.float32)
    sign, logabsdet = jnp.linalg.slogdet(a)
    expected = jax.numpy.linalg.slogdet(a)
    np.testing.assert_array_equal([sign, logabsdet], np.array(expected))
    assert sign.dtype == expected.sign.dtype

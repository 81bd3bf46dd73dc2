"""Bugs a sweep of every jnp function on small arrays of one dtype family
(int8, uint8, bool, float16) found against NumPy (values) and JAX (dtypes,
errors). Shapes: (4,)."""
import re

import numpy as np
import pytest

import irax.numpy as jnp

jax = pytest.importorskip("jax")

F = np.array([1, 3, 250, 0], np.uint8)
X = np.array([2, 5, 1, 3], np.uint8)  # sample points that go down once: 5 -> 1


# gradient and trapezoid promoted the samples but not the sample points, so
# differences of uint8 points wrapped (1 - 5 = 252): JAX promotes them
# together (NumPy's gradient agrees; its trapezoid wraps in uint8 throughout).
@pytest.mark.parametrize("name", ["gradient", "trapezoid"])
def test_sample_points_promote_with_the_samples(name):
    want = getattr(jax.numpy, name)(F, X)
    got = getattr(jnp, name)(F, X)
    assert got.dtype == want.dtype
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-6)
    if name == "gradient":
        np.testing.assert_allclose(np.asarray(got), np.gradient(F, X), rtol=1e-6)


def test_unravel_index_takes_an_int_shape_as_jax():
    got = jnp.unravel_index(np.array([1, 3]), 4)
    assert len(got) == 1
    np.testing.assert_array_equal(got[0], [1, 3])


# A scalar took a cumulative sum or product (JAX refuses it); the message for
# a 2-D input without an axis was irax's own.
@pytest.mark.parametrize("call", [
    lambda m: m.cumulative_sum(np.float32(2)), lambda m: m.cumulative_prod(np.float32(2), axis=0),
    lambda m: m.cumulative_sum(np.ones((2, 2))),
], ids=["sum", "prod", "rank 2"])
def test_cumulative_sum_and_prod_refuse_as_jax(call):
    with pytest.raises(ValueError) as want:
        call(jax.numpy)
    with pytest.raises(ValueError, match=re.escape(str(want.value))):
        call(jnp)


# bincount refused bools, which JAX and NumPy count as 0 and 1; delete refused
# a boolean mask of the entries to drop, and a Python bool (an int) with it.
def test_bools_as_bincount_counts_and_delete_masks():
    flags = np.array([True, False, True, True])
    np.testing.assert_array_equal(jnp.bincount(flags), np.bincount(flags))
    np.testing.assert_array_equal(jnp.delete(np.arange(4), flags), np.delete(np.arange(4), flags))
    np.testing.assert_array_equal(jnp.delete(np.arange(4), True), jax.numpy.delete(np.arange(4), True))
    for wrong in (flags[:2], np.array(True)):
        with pytest.raises(ValueError, match="for boolean indices, obj must be one-dimensional"):
            jnp.delete(np.arange(4), wrong)
    with pytest.raises(ValueError, match=r"jnp.insert\(\): index array must be integer typed"):
        jnp.insert(np.arange(4), flags, 9)


# angle of a 0-d float (float16 too) or of a Python number is JAX's strong
# default float; irax kept float16 and weak types.
@pytest.mark.parametrize("value", [1.5, np.float16(1.5), np.array(-1.0, np.float16), 2, np.float16([1.5, -2])],
                         ids=["python float", "float16 scalar", "0-d float16", "python int", "float16 array"])
def test_angle_dtypes_are_jax_s(value):
    got, want = jnp.angle(value), jax.numpy.angle(value)
    assert (got.dtype, got.weak_type) == (want.dtype, want.weak_type)
    np.testing.assert_allclose(np.asarray(got), np.asarray(want))


# setdiff1d returned the promoted dtype of both operands; JAX and NumPy
# return ar1's values in ar1's dtype.
def test_setdiff1d_keeps_the_dtype_of_its_first_operand():
    got = jnp.setdiff1d(np.array([1, 2, 3], np.int8), np.array([2.5, 3], np.float32))
    assert got.dtype == np.int8
    np.testing.assert_array_equal(got, [1, 2])
    assert jnp.setdiff1d(2, np.array([1.0], np.float16)).dtype == jax.numpy.setdiff1d(2, np.array([1.0], np.float16)).dtype


# An axis of 1.5 was rounded to axis 1 where it was not a sequence; JAX
# (and Python) refuse a float.
@pytest.mark.parametrize("call", [lambda m: m.expand_dims(np.ones(3), 1.5), lambda m: m.sum(np.ones((2, 3)), axis=1.5),
                                  lambda m: m.take(np.ones((2, 3)), 0, axis=1.5)], ids=["expand_dims", "sum", "take"])
def test_a_float_axis_is_a_type_error(call):
    with pytest.raises(TypeError):
        call(jax.numpy)
    with pytest.raises(TypeError):
        call(jnp)


# hard_sigmoid and sparse_sigmoid added 3.0 (1.0) to x before making it an
# array: NumPy's sum, whose bfloat16 + float is float32.
@pytest.mark.parametrize("name", ["hard_sigmoid", "sparse_sigmoid"])
def test_nn_functions_of_numpy_bfloat16_stay_bfloat16(name):
    import irax

    x = np.array([0.5, -1.5, 2.0, 0.25], jnp.bfloat16)
    got, want = getattr(irax.nn, name)(x), getattr(jax.nn, name)(x)
    assert got.dtype == want.dtype == jnp.bfloat16
    np.testing.assert_allclose(np.asarray(got, np.float32), np.asarray(want, np.float32))


# jnp.linalg.outer took any shapes (jnp.outer ravels them); JAX's refuses all but vectors.
def test_linalg_outer_takes_only_vectors():
    for a, b in ((np.ones(3), 2.0), (np.ones((2, 2)), np.ones(2))):
        with pytest.raises(ValueError) as want:
            jax.numpy.linalg.outer(a, b)
        with pytest.raises(ValueError, match=re.escape(str(want.value))):
            jnp.linalg.outer(a, b)
    np.testing.assert_array_equal(jnp.linalg.outer(np.arange(2.0), np.arange(3.0)), np.outer(np.arange(2), np.arange(3)))


# An irax array (or, under jit, a tracer) as a dtype was read as its dtype;
# JAX refuses it.
def test_an_array_is_not_a_dtype():
    import irax

    x = np.ones(2, np.float32)
    message = re.escape("Passing an array as a dtype argument is no longer supported; instead of dtype=arr use "
                        "dtype=arr.dtype.")
    with pytest.raises(ValueError, match=message):
        jnp.asarray(x, jnp.asarray(x))
    with pytest.raises(ValueError, match=message):
        irax.jit(lambda a, b: jnp.zeros_like(a, b))(x, x)


# lax's special functions made a Python int (an int32) a float, took operands
# of two float dtypes, and any number of operands; jax.lax refuses all three.
@pytest.mark.parametrize("name, args", [
    ("igamma", (np.ones(2, np.float32), 2)), ("betainc", (np.ones(2, np.float32), 1.0, 1)),
    ("zeta", (np.ones(2, np.float32), np.ones(2, np.float16))), ("igamma", (1.0, 2.0, 3.0)), ("erf", (np.int32(1),)),
], ids=["int", "int at 2", "two dtypes", "three operands", "unary int"])
def test_lax_special_functions_check_operands_as_jax(name, args):
    import irax

    with pytest.raises(TypeError) as want:
        getattr(jax.lax, name)(*args)
    with pytest.raises(TypeError, match=re.escape(str(want.value))):
        getattr(irax.lax, name)(*args)


# jnp's contractions took no `precision` or `preferred_element_type` (a
# TypeError for JAX code that passes precision=lax.Precision.HIGHEST), and
# jax.scipy.linalg's det and inv no SciPy flags.
@pytest.mark.parametrize("name", ["dot", "vdot", "inner", "matmul", "tensordot", "linalg.vecdot"])
def test_contractions_take_precision_and_preferred_element_type(name):
    import irax

    def call(m, lax):
        fn = m.linalg.vecdot if name == "linalg.vecdot" else getattr(m, name)
        b = np.arange(4, dtype=np.int8).reshape(2, 2)
        return fn(b, b, precision=lax.Precision.HIGHEST, preferred_element_type=np.float32)

    got, want = call(jnp, irax.lax), call(jax.numpy, jax.lax)
    assert got.dtype == want.dtype == np.float32
    np.testing.assert_array_equal(np.asarray(got), np.asarray(want))


def test_scipy_linalg_det_and_inv_take_scipy_s_flags():
    import irax

    a = np.array([[2.0, 1.0], [1.0, 3.0]], np.float32)
    np.testing.assert_allclose(irax.scipy.linalg.det(a, overwrite_a=True, check_finite=False), 5.0, rtol=1e-6)
    np.testing.assert_allclose(irax.scipy.linalg.inv(a, False, True), np.linalg.inv(a), rtol=1e-6)


# lax's and scipy.special's special functions took only positional operands
# (their parameters were *args): JAX's names as keywords were a TypeError.
def test_special_functions_take_jax_s_parameter_names():
    import irax

    a, x = np.float32(2.0), np.float32(0.5)
    for mine, theirs, kwargs in [
        (irax.lax.igamma, jax.lax.igamma, {"a": a, "x": x}), (irax.lax.zeta, jax.lax.zeta, {"x": a, "q": x}),
        (irax.lax.betainc, jax.lax.betainc, {"a": a, "b": a, "x": x}),
        (irax.scipy.special.gammainc, jax.scipy.special.gammainc, {"a": a, "x": x}),
        (irax.scipy.special.erf, jax.scipy.special.erf, {"x": x}),
    ]:
        np.testing.assert_allclose(mine(**kwargs), theirs(**kwargs), rtol=1e-6)


# The windows refused a float M (operator.index); JAX truncates it (int(M)).
@pytest.mark.parametrize("name", ["bartlett", "blackman", "hamming", "hanning"])
def test_windows_take_a_float_length_as_jax(name):
    for m in (np.float32(4.5), 3.0):
        np.testing.assert_allclose(getattr(jnp, name)(m), getattr(jax.numpy, name)(m), atol=1e-6)


# take refused bool indices, which NumPy and JAX take as positions 0 and 1.
def test_take_reads_bool_indices_as_positions():
    import irax

    a, flags = np.array([10.0, 20.0, 30.0]), np.array([False, True, True])
    np.testing.assert_array_equal(jnp.take(a, flags), np.take(a, flags))
    np.testing.assert_array_equal(irax.jit(jnp.take)(a, flags), np.take(a, flags))

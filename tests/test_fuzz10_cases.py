"""Bugs a differential fuzzer of lax's convolutions, windowed reductions and
contractions found, each against JAX (shapes, dtypes, weak types, errors;
its values are NumPy's here)."""
import numpy as np
import pytest

import irax
import irax.numpy as jnp

jax = pytest.importorskip("jax")

C, F, I = np.complex64, np.float32, np.int32


@pytest.mark.parametrize("groups", [1, 2])
def test_convolution_with_no_windows_that_fit(groups):
    """A convolution whose dilated window is longer than its input has no
    output elements, but linalg's verifier still wants the input to hold a
    whole window along that dim: the program was refused (MLIRError)."""
    lhs, rhs = np.ones((1, groups, 3, 5), F), np.ones((2, 1, 3, 2), F)

    def conv(lax_):
        return lax_.conv_general_dilated(lhs, rhs, (1, 2), "VALID", rhs_dilation=(2, 1), feature_group_count=groups)

    out = conv(irax.lax)
    assert (out.shape, out.dtype) == (conv(jax.lax).shape, F) == ((1, 2, 0, 2), F)


@pytest.mark.parametrize("name,init,rows", [("add", 0.0, 3), ("max", -np.inf, 3), ("mul", 1.0, 5)])
def test_windowed_reduction_with_no_windows_that_fit(name, init, rows):
    """reduce_window had the same fault with a window dilation (the one-op
    path of add/max/min); its general path (any other computation) sliced
    each window offset with a stop of start - 1 for an empty output dim,
    which wrapped around: "mul got incompatible shapes for broadcasting"."""
    x = np.arange(rows * 4, dtype=F).reshape(rows, 4)

    def windows(lax_):
        return lax_.reduce_window(x, init, getattr(lax_, name), (3, 1), (2, 1), "VALID", window_dilation=(3, 1))

    out = windows(irax.lax)
    assert (out.shape, out.dtype) == (windows(jax.lax).shape, F) == ((0, 4), F)


@pytest.mark.parametrize("lhs,rhs,preferred,expected", [
    (np.array([1.7, -2.6], F), np.array([1.5, 2.0], F), np.int32, int(1.7 * 1.5 - 2.6 * 2.0)),
    (np.array([1 + 2j, 3 - 1j], C), np.array([1 + 2j, 3 - 1j], C), np.float32, 5.0),
    (np.array([1e5, 1 - 1e5], F), np.array([1.0, 1.0], F), np.float16, 1.0),
    (np.array([2, -3], I), np.array([1.9, 0.9], F), np.int32, 2),
])
def test_dot_general_into_a_narrower_kind_converts_the_sum(lhs, rhs, preferred, expected):
    """dot_general converted its operands to preferred_element_type before the
    products: floats into int32 were truncated first (1.7 * 1.5 gave 1, not
    int(2.55) = 2), complex into float32 lost the imaginary parts first
    ((1+2j)**2 + (3-1j)**2 gave 10, not real(5-2j) = 5), float32 into float16
    overflowed (1e5 -> inf). XLA sums in the operands' dtype there and
    converts the sum; operands of two dtypes it does convert first (the last
    case, int32 and float32 into int32: 2*1 - 3*0, as before)."""
    dn = (((0,), (0,)), ((), ()))
    out = irax.lax.dot_general(lhs, rhs, dn, preferred_element_type=preferred)
    assert out.dtype == preferred and out == expected
    assert jax.lax.dot_general(lhs, rhs, dn, preferred_element_type=preferred) == expected


@pytest.mark.parametrize("dtype,preferred", [(np.int32, np.int16), (np.int32, np.float16), (np.complex64, np.float16)])
def test_dot_general_refuses_a_narrower_preferred_type(dtype, preferred):
    """dot_general took a preferred_element_type narrower than an integer or
    complex operand dtype, where JAX raises a TypeError."""
    message = "`preferred_element_type` must not be narrower than the original type"
    for lax_, lib in ((irax.lax, jnp), (jax.lax, jax.numpy)):
        with pytest.raises(TypeError, match=message):
            lax_.dot_general(lib.ones(2, dtype), lib.ones(2, dtype), (((0,), (0,)), ((), ())),
                             preferred_element_type=preferred)


@pytest.mark.parametrize("padding", ["SAME", "SAME_LOWER"])
def test_same_padding_of_a_base_dilated_window(padding):
    """reduce_window's 'SAME' padding was worked out for the base-dilated
    operand; JAX pads for the operand's own shape (a (4, 3) operand, base
    dilation 2, windows of 3 with stride 2 down the first dim: JAX's result
    is (3, 5), irax's was (4, 5))."""
    x = np.arange(12, dtype=F).reshape(4, 3)

    def windows(lax_):
        return lax_.reduce_window(x, np.inf, lax_.min, (3, 1), (2, 1), padding, base_dilation=(2, 2))

    np.testing.assert_array_equal(np.asarray(windows(irax.lax)), np.asarray(windows(jax.lax)))


@pytest.mark.parametrize("jit", [False, True])
def test_folded_windows_of_padding_only_are_strong(jit):
    """A reduce_window by any computation but the three monoids starts from
    its initial value broadcast, so a Python number's weak type came out
    where no window held an operand element (all padding or dilation
    holes): JAX's result has the operand's type, strong."""
    def windows(lax_):
        return lambda x: lax_.reduce_window(x, 1.0, lax_.mul, (1,), (2,), [(1, 0)], base_dilation=(2,))

    x = np.array([3.0, 5.0], F)
    ours = (irax.jit if jit else lambda f: f)(windows(irax.lax))(x)
    theirs = windows(jax.lax)(x)
    assert (ours.dtype, ours.weak_type) == (theirs.dtype, theirs.weak_type) == (F, False)
    np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))

"""Complex numbers: dtypes and promotion, creation and printing against JAX,
the ops against NumPy, and gradients against JAX."""
import re
import warnings

import numpy as np
import pytest

import irax
import irax.numpy as jnp
from irax import lax
from irax.frontend import dtypes

from helpers import x64_mode

jax = pytest.importorskip("jax")
jjnp = jax.numpy

# One shape for the ops: every value a kernel per op, not per test.
Z = np.array([1 + 2j, -0.5 + 0.25j, 3 - 1j, 0.1 - 0.7j], np.complex64)
W = np.array([2 - 1j, 1 + 1j, -1 + 0.5j, 0.3 + 2j], np.complex64)
R = np.array([0.5, -2.0, 1.5, 3.0], np.float32)


def _same(got, want, rtol=2e-6, atol=1e-6):
    """Equal values and dtypes (JAX's dtype, NumPy's values)."""
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=rtol, atol=atol)


# ---------------------------------------------------------------------------
# Dtypes

PROMOTED = [np.bool_, np.int8, np.uint8, np.int32, np.uint32, np.int64, np.float16, jnp.bfloat16, np.float32,
            np.float64, np.complex64, np.complex128, int, float, complex]


@pytest.mark.parametrize("mode", ["x32", "x64"])
def test_promote_types_matches_jax(mode):
    with x64_mode(mode == "x64"):
        for a in PROMOTED:
            for b in PROMOTED:
                want = jjnp.promote_types(a, b)  # not canonicalized, in either mode
                assert dtypes.promote_types(a, b) == want, (a, b)


@pytest.mark.parametrize("mode", ["x32", "x64"])
def test_weak_complex_promotes_as_in_jax(mode):
    """A Python complex is weakly typed: float16 * 1j is complex64, and
    int32 * 1j a weak complex64, as in JAX."""
    with x64_mode(mode == "x64"):
        for dtype in (np.bool_, np.int32, np.float16, jnp.bfloat16, np.float32, np.float64, np.complex64):
            for other in (1j, 2.0, 3):
                got = jnp.ones(2, dtype) * other
                want = jjnp.ones(2, dtype) * other
                assert (got.dtype, got.weak_type) == (want.dtype, want.weak_type), (dtype, other)
        for args in [(np.float32, 1j), (np.int8, complex), (1j,), (1j, 2.0)]:
            assert dtypes.result_type(*args) == jax.dtypes.result_type(*args), args


def test_complex128_is_narrowed_outside_x64():
    assert dtypes.canonicalize_dtype(np.complex128) == np.complex64
    assert jnp.array(np.ones(2, np.complex128)).dtype == np.complex64
    with x64_mode(True):
        x = jnp.array(np.array([1 + 2j], np.complex128))
        assert x.dtype == np.complex128
        z = np.complex128(1 + 2j)
        _same(jnp.exp(x) * jnp.sqrt(x) / x, np.exp(z) * np.sqrt(z) / z, rtol=1e-6)  # transcendentals in complex64
        assert jnp.abs(x).dtype == np.float64 and (x + np.float32(1)).dtype == np.complex128


def test_dtype_queries_match_jax():
    assert jnp.complex64 == np.complex64 and jnp.complex128 == np.complex128 and jnp.complex_ == np.complex128
    assert jnp.complexfloating is np.complexfloating
    for dtype in (jnp.complex64, np.float32, np.int32):
        for kind in (jnp.complexfloating, jnp.inexact, jnp.floating, jnp.number):
            assert jnp.issubdtype(dtype, kind) == jjnp.issubdtype(dtype, kind), (dtype, kind)
    z = jnp.array(Z)
    assert jnp.iscomplexobj(z) and not jnp.isrealobj(z) and not jnp.iscomplexobj(jnp.array(R))
    assert jnp.finfo(jnp.complex64).dtype == jjnp.finfo(jjnp.complex64).dtype == np.float32
    assert jnp.finfo(jnp.complex64).eps == jjnp.finfo(jjnp.complex64).eps
    assert repr(jnp.complex64(3)) == repr(jjnp.complex64(3))


# ---------------------------------------------------------------------------
# Arrays: creation, transfer, printing

MADE = {
    "list": lambda m: m.array([1 + 2j, -3.5j]),
    "scalar": lambda m: m.array(1j),
    "times_1j": lambda m: 1j * m.arange(3.0),
    "int_times_1j": lambda m: m.arange(2) * 1j,
    "float32_times_1j": lambda m: m.float32(2) * 1j,
    "numpy": lambda m: m.asarray(Z),
    "zeros": lambda m: m.zeros(2, m.complex64),
    "special": lambda m: m.array([[1.5 + 2j, -3e-5j], [1e10, complex(np.nan, np.inf)]]),
    "real_to_complex": lambda m: m.array([1.0, -2.0]).astype(m.complex64),
}


@pytest.mark.parametrize("name", list(MADE))
def test_creation_and_printing_match_jax(name):
    got, want = MADE[name](jnp), MADE[name](jjnp)
    assert repr(got) == repr(want)
    assert str(got) == str(want)
    np.testing.assert_array_equal(np.asarray(got), np.asarray(want))


def test_transfer_round_trips():
    x = irax.device_put(Z)
    assert x.dtype == np.complex64
    np.testing.assert_array_equal(irax.device_get(x), Z)
    np.testing.assert_array_equal(np.asarray(jnp.array(x)[::-1]), Z[::-1])
    assert complex(jnp.array(1 + 2j)) == 1 + 2j


# ---------------------------------------------------------------------------
# Ops against NumPy

UNARY = {
    "negative": np.negative, "real": np.real, "imag": np.imag, "conj": np.conj, "conjugate": np.conjugate,
    "abs": np.abs, "angle": np.angle, "exp": np.exp, "log": np.log, "sqrt": np.sqrt, "sin": np.sin,
    "cos": np.cos, "tan": np.tan, "tanh": np.tanh, "expm1": np.expm1, "log1p": np.log1p, "square": np.square,
    "reciprocal": np.reciprocal, "sign": lambda z: z / np.abs(z), "isfinite": np.isfinite, "isnan": np.isnan,
    "isinf": np.isinf, "exp2": np.exp2, "log2": np.log2, "log10": np.log10, "sinh": np.sinh, "cosh": np.cosh,
    "arcsin": np.arcsin, "arccos": np.arccos, "arctan": np.arctan, "arcsinh": np.arcsinh, "arccosh": np.arccosh,
    "arctanh": np.arctanh,
}


@pytest.mark.parametrize("name", list(UNARY))
def test_unary_matches_numpy(name):
    _same(getattr(jnp, name)(jnp.array(Z)), UNARY[name](Z).astype(getattr(jjnp, name)(Z).dtype), rtol=5e-6)


BINARY = {
    "add": lambda m, a, b: a + b, "subtract": lambda m, a, b: a - b, "multiply": lambda m, a, b: a * b,
    "divide": lambda m, a, b: a / b, "power": lambda m, a, b: m.power(a, b), "equal": lambda m, a, b: a == b,
    "not_equal": lambda m, a, b: a != b,
}


@pytest.mark.parametrize("name", list(BINARY))
@pytest.mark.parametrize("other", ["complex", "real", "python"])
def test_binary_matches_numpy(name, other):
    """With a complex, a float32 or a Python operand: promoted as JAX does."""
    b = {"complex": W, "real": R, "python": 2 - 1j}[other]
    want_dtype = BINARY[name](jjnp, jjnp.asarray(Z), jjnp.asarray(b) if other != "python" else b).dtype
    got = BINARY[name](jnp, jnp.array(Z), jnp.array(b) if other != "python" else b)
    _same(got, BINARY[name](np, Z, b).astype(want_dtype), rtol=1e-5)


def test_special_values():
    """inf and NaN parts, and the corner cases of angle, sign and power at 0."""
    z = np.array([complex(np.inf, 1), complex(np.nan, 0), 0j, -0.0 + 0j], np.complex64)
    x = jnp.array(z)
    np.testing.assert_array_equal(np.asarray(jnp.isfinite(x)), np.isfinite(z))
    np.testing.assert_array_equal(np.asarray(jnp.isnan(x)), np.isnan(z))
    np.testing.assert_array_equal(np.asarray(jnp.isinf(x)), np.isinf(z))
    np.testing.assert_array_equal(np.asarray(jnp.angle(x[2:])), np.angle(z[2:]))
    np.testing.assert_array_equal(np.asarray(jnp.sign(x[2:])), [0, 0])
    np.testing.assert_array_equal(np.asarray(jnp.power(x[2:], jnp.array([0j, 2 + 0j]))), [1, 0])
    np.testing.assert_array_equal(np.asarray(jnp.power(jnp.array(Z), 3)), Z ** 3)  # exact: multiplications


# C99 Annex G's special values, as the Array API standard lists them: ±0, a
# finite part, ±inf and NaN in each part; expm1, where NumPy computes exp(z) - 1,
# is checked against exp's values less 1 where those are exact.
PARTS = [0.0, -0.0, 0.5, -2.0, 5000.0, -3e20, np.inf, -np.inf, np.nan]
SPECIAL = np.array([complex(a, b) for a in PARTS for b in PARTS], np.complex64)
ANNEX_G = ["exp", "log", "log1p", "sqrt", "sinh", "cosh", "tanh", "arcsinh", "arccosh", "arctanh", "arcsin",
           "arccos", "arctan", "abs", "sin", "cos", "tan"]


def _same_ieee(got, want, rtol=1e-5):
    """NaN where want is NaN, infinities as want's, finite parts within rtol
    of |want| (a part that is ~0 next to a larger one is rounding); an
    infinite part next to a NaN one may have either sign (Annex G leaves it
    unspecified: sinh(inf + inf j) is ±inf + NaN j)."""
    got, want = np.atleast_1d(got).astype(np.complex128), np.atleast_1d(want).astype(np.complex128)
    for g, w in zip(got, want):
        either_sign = np.isnan(w.real) or np.isnan(w.imag)
        scale = abs(w) if np.isfinite(w) else 0.0
        for p, q in ((g.real, w.real), (g.imag, w.imag)):
            p, q = (abs(p), abs(q)) if either_sign and np.isinf(q) else (p, q)
            close = np.isclose(p, q, rtol=rtol, atol=rtol * scale + 1e-30)
            assert np.isnan(q) == np.isnan(p) and (np.isnan(q) or close), (g, w)


@pytest.mark.parametrize("name", ANNEX_G)
def test_annex_g_special_values_match_numpy(name):
    with np.errstate(all="ignore"):
        want = getattr(np, name)(SPECIAL.astype(np.complex128))
    _same_ieee(np.asarray(getattr(jnp, name)(jnp.array(SPECIAL))), want)


def test_complex64_trig_power_and_rsqrt_keep_small_parts_and_signed_zeros():
    """complex64 sin, cos, tan, rsqrt and pow took the complex dialect's
    formulas: sin(1e-30j) was 0 (sinh b as (e^b - e^-b)/2: sinc(1e-30j) 0,
    sinc(1e-3j) 5e-6 off), sin(0 + inf j) NaN + inf j, and (-2 - 0j) ** 0.5
    and rsqrt(-2 - 0j) lost the sign of the zero (the other side of the cut).
    They are complex_rules' now, as complex128's were; rsqrt's infinities
    with a NaN part are XLA's ±0 ∓ 0j."""
    z = np.array([1e-30j, 1e-3j, complex(0.0, np.inf), 0.3 - 5j, complex(-2, -0.0), complex(-2, 0.0)], np.complex64)
    with np.errstate(all="ignore"):
        for name in ("sin", "cos", "tan", "sinc"):
            _same_ieee(np.asarray(getattr(jnp, name)(z[:4])), getattr(np, name)(z[:4].astype(np.complex128)), rtol=2e-6)
        _same_ieee(np.asarray(jnp.power(z[3:], 0.5)), z[3:].astype(np.complex128) ** 0.5)
    edges = np.array([complex(-2, -0.0), complex(-2, 0.0), complex(np.inf, np.nan), complex(-np.inf, np.nan),
                      complex(-np.inf, 0.0), complex(np.nan, np.inf)], np.complex64)
    got, want = np.asarray(lax.rsqrt(edges)), np.asarray(jax.lax.rsqrt(edges))
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(np.signbit(got.imag), np.signbit(want.imag))


def test_fmax_and_fmin_of_complex_skip_nan_operands_as_jax():
    """A complex NaN (a NaN part) loses to a number, as a float NaN does; the
    complex maximum it took kept it."""
    a = np.array([1 + 1j, 2 + 0j, complex(np.nan, 1)], np.complex64)
    b = np.array([complex(1, np.nan), complex(np.nan, 5), 3j], np.complex64)
    for name in ("fmax", "fmin"):
        np.testing.assert_array_equal(np.asarray(getattr(jnp, name)(a, b)), getattr(jjnp, name)(a, b))
        np.testing.assert_array_equal(np.asarray(getattr(jnp, name)(a, b)), getattr(np, name)(a, b))


def test_expm1_special_values():
    inf, nan = np.inf, np.nan
    cases = {complex(inf, 0): complex(inf, 0), complex(-inf, inf): -1 + 0j, complex(-inf, nan): -1 + 0j,
             complex(inf, inf): complex(inf, nan), complex(nan, 0): complex(nan, 0), complex(0.0, 0.0): 0j,
             complex(-inf, 0.5): -1 + 0j, complex(1.0, inf): complex(nan, nan)}
    z = np.array(list(cases), np.complex64)
    _same_ieee(np.asarray(jnp.expm1(jnp.array(z))), np.array(list(cases.values())))


def test_expm1_of_a_signed_zero_real_part_is_plus_zero():
    """e^a cos b - 1 is +0 where it is 0 (a = ±0, b = ±0 or tiny): JAX's
    and the Array API's expm1(-0 + 0j) = +0 + 0j, which expm1(a) cos b = -0
    made -0."""
    z = np.array([complex(-0.0, 0.0), 0j, complex(-0.0, 1e-30), complex(0.0, -1e-30)], np.complex64)
    got, want = np.asarray(jnp.expm1(jnp.array(z))).real, np.asarray(jjnp.expm1(z)).real
    np.testing.assert_array_equal(np.signbit(got), np.signbit(want))
    np.testing.assert_array_equal(got, want)
    assert not np.signbit(np.asarray(jnp.expm1(complex(-0.0, 0.0))).real)
    assert irax.grad(lambda x: jnp.real(jnp.expm1(x + 0j)))(np.float32(-0.0)) == 1  # and its slope there stays


def test_reductions_and_contractions():
    z, w = jnp.array(Z), jnp.array(W)
    _same(jnp.sum(z), Z.sum())
    _same(jnp.mean(z), Z.mean())
    _same(jnp.prod(z), Z.prod(), rtol=1e-5)
    _same(jnp.sum(jnp.ones(3000, jnp.complex64) * (1 + 1j)), np.complex64(3000 + 3000j))  # staged reduction
    a, b = Z.reshape(2, 2), W.reshape(2, 2)
    _same(jnp.array(a) @ jnp.array(b), a @ b, rtol=1e-5)
    _same(jnp.dot(z, w), np.dot(Z, W), rtol=1e-5)
    _same(jnp.where(jnp.array(R) > 1, z, 5), np.where(R > 1, Z, 5).astype(np.complex64))
    _same(irax.jit(lambda x, y: jnp.sum(x * jnp.conj(y)))(z, w), np.sum(Z * np.conj(W)), rtol=1e-5)


def test_conversions_warn_as_jax():
    z = jnp.array(Z)
    with pytest.warns(DeprecationWarning, match="Casting from complex to real dtypes will soon raise"):
        _same(z.astype(jnp.float32), Z.real)
    with pytest.warns(np.exceptions.ComplexWarning, match="Casting complex values to real discards"):
        _same(lax.convert_element_type(z, jnp.int32), jax.lax.convert_element_type(Z, jjnp.int32))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _same(jnp.array(R).astype(jnp.complex64), R.astype(np.complex64))


def test_lax_matches_jax():
    x, y = jnp.array(R), jnp.array(R[::-1].copy())
    _same(lax.complex(x, y), jax.lax.complex(R, R[::-1]))
    assert repr(lax.complex(1.0, 2.0)) == repr(jax.lax.complex(1.0, 2.0))
    for name in ("real", "imag", "conj", "abs"):
        _same(getattr(lax, name)(jnp.array(Z)), getattr(jax.lax, name)(Z))
    assert repr(lax.conj(jnp.float32(1))) == repr(jax.lax.conj(jjnp.float32(1)))


# NumPy has neither for complex numbers; JAX's are the oracle. logaddexp's
# real formula (max and |x1 - x2|) gave wrong complex values, and arctan2
# refused complex operands.
@pytest.mark.parametrize("name", ["logaddexp", "logaddexp2", "arctan2"])
def test_complex_functions_numpy_lacks_match_jax(name):
    _same(getattr(jnp, name)(jnp.array(Z), jnp.array(W)), getattr(jjnp, name)(Z, W), rtol=1e-5)
    if name == "arctan2":
        _same(lax.atan2(jnp.array(Z), jnp.array(W)), jax.lax.atan2(Z, W), rtol=1e-5)


@pytest.mark.parametrize("call, message", [
    (lambda m, l, z: m.floor(z), "floor does not accept dtype complex64"),
    (lambda m, l, z: m.remainder(z, z), "rem does not accept dtype complex64"),
    (lambda m, l, z: l.real(m.float32(1)),
     "real does not accept dtype float32. Accepted dtypes are subtypes of complexfloating."),
    (lambda m, l, z: l.complex(m.float16(1), m.float16(1)),
     "complex does not accept dtype float16 at position 0. Accepted dtypes at position 0 are subtypes of "
     "float32, float64."),
], ids=["floor", "remainder", "lax_real", "lax_complex"])
def test_errors_match_jax(call, message):
    for m, l in ((jnp, lax), (jjnp, jax.lax)):
        with pytest.raises(TypeError, match=message):
            call(m, l, m.array(Z))


# ---------------------------------------------------------------------------
# Gradients against JAX

GRADS = {
    # a real loss of a real input through complex intermediates
    "real_through_complex": (lambda m, x: m.sum(m.abs(x * (1 + 2j)) ** 2), R, {}),
    "parts": (lambda m, x: m.sum(m.real(m.exp(1j * x)) + m.imag(m.conj(x * (2 - 1j)) ** 2)), R, {}),
    # a real loss of a complex input: the conjugate of its gradient, as in JAX
    "abs_squared": (lambda m, z: m.sum(m.abs(z) ** 2), Z, {}),
    "nonholomorphic": (lambda m, z: m.real(m.sum(m.abs(m.sqrt(W.reshape(2, 2) @ z.reshape(2, 2))) ** 2)
                                           / m.mean(z * z)), Z, {}),
    "angle_log": (lambda m, z: m.sum(m.angle(z) * m.real(m.log(z) * m.conj(z))), Z, {}),
    "gather": (lambda m, z: m.sum(m.abs(z[m.array([0, 2, 2])] * 1j) ** 2), Z, {}),
    # holomorphic: f'(z)
    "holomorphic": (lambda m, z: m.sum(m.exp(z) * z / (1 + m.tanh(z)) - m.sin(z) * m.cos(z)), Z,
                    {"holomorphic": True}),
    "inverse_and_hyperbolic": (lambda m, z: m.sum(m.arcsinh(z) * m.cosh(z) + m.arccos(z) - m.arctanh(z) * m.log10(z)),
                               Z, {"holomorphic": True}),
    "logaddexp_arctan2": (lambda m, z: m.sum(m.logaddexp(z, W) + m.logaddexp2(W, z) * m.arctan2(z, W)), Z,
                          {"holomorphic": True}),
}


@pytest.mark.parametrize("name", list(GRADS))
def test_grad_matches_jax(name):
    f, x, kwargs = GRADS[name]
    want = jax.grad(lambda v: f(jjnp, v), **kwargs)(x)
    _same(irax.grad(lambda v: f(jnp, v), **kwargs)(jnp.array(x)), want, rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("f", [lambda m, z: m.real(z), lambda m, z: m.imag(z), lambda m, z: m.real(z) ** 2,
                               lambda m, z: m.real(z * m.conj(z))])
def test_grad_of_a_real_function_of_a_python_complex_prints_as_jax(f):
    """docs/complex-differentiation.md's grad(f)(3. + 4j): JAX's gradient is
    strongly typed (its transposes of re and im build it from NumPy zeros)
    and 1+0j, where irax's was weak and 1-0j."""
    assert repr(irax.grad(lambda z: f(jnp, z))(3.0 + 4j)) == repr(jax.grad(lambda z: f(jjnp, z))(3.0 + 4j))

def test_arccosh_derivative_is_its_principal_branch():
    """acosh'(z) = 1 / (√(z + 1) √(z - 1)); JAX's differs in sign at -0.5 + 0.25j
    (its 1 / √(z² - 1) is on the other branch there)."""
    want = 1 / (np.sqrt(Z.astype(np.complex128) + 1) * np.sqrt(Z.astype(np.complex128) - 1))
    got = irax.vmap(irax.grad(jnp.arccosh, holomorphic=True))(jnp.array(Z))
    np.testing.assert_allclose(np.asarray(got), want, rtol=2e-5)


def test_grad_of_complex_output_needs_holomorphic():
    for grad in (irax.grad, jax.grad):
        with pytest.raises(TypeError, match="grad requires real-valued outputs .* but got complex64. For holomorphic "
                                            "differentiation, pass holomorphic=True"):
            grad(lambda z: z * z)(jnp.complex64(1j) if grad is irax.grad else jjnp.complex64(1j))
        with pytest.raises(TypeError, match="grad with holomorphic=True requires outputs with complex dtype"):
            grad(lambda z: abs(z), holomorphic=True)(jnp.complex64(1j) if grad is irax.grad else jjnp.complex64(1j))


def test_python_complex_arguments_are_traced_as_in_jax():
    """docs/complex-differentiation.md's `grad(f)(3. + 4j)`: a Python complex is a
    (weakly typed complex64) traced value for grad and jit, as a float is."""
    f = lambda m: (lambda z: m.abs(z) ** 2)  # noqa: E731
    _same(irax.grad(f(jnp))(3. + 4j), jax.grad(f(jjnp))(3. + 4j), rtol=1e-6)
    _same(irax.grad(lambda z: z * z, holomorphic=True)(1. + 1j), jax.grad(lambda z: z * z, holomorphic=True)(1. + 1j))
    got = irax.jit(lambda z: z * 2)(1 + 2j)
    assert got.weak_type and got.dtype == np.complex64 and complex(got) == 2 + 4j
    assert complex(irax.jit(lambda: 1 + 2j)()) == 1 + 2j  # a Python complex result


def test_other_transformations_match_jax():
    """Forward mode, vjp with a complex cotangent, linear_transpose and vmap of grad."""
    f = lambda m: (lambda z: m.exp(z) * m.conj(z) + m.abs(z))  # noqa: E731
    z, t = jnp.array(Z), jnp.array(W)
    for got, want in zip(irax.jvp(f(jnp), (z,), (t,)), jax.jvp(f(jjnp), (Z,), (W,))):
        _same(got, want, rtol=1e-5)
    _same(irax.vjp(f(jnp), z)[1](t)[0], jax.vjp(f(jjnp), Z)[1](W)[0], rtol=1e-5)
    _same(irax.linear_transpose(lambda v: (1 + 2j) * v, z)(t)[0],
          jax.linear_transpose(lambda v: (1 + 2j) * v, Z)(W)[0])
    _same(irax.vmap(irax.grad(lambda v: jnp.abs(v) ** 2))(z), jax.vmap(jax.grad(lambda v: jjnp.abs(v) ** 2))(Z))


@pytest.mark.parametrize("name", ["sum", "mean", "sum of axis 0"])
def test_forward_mode_through_complex_sums_matches_jax(name):
    """jvp of a complex sum accumulated its tangent with arith.addf, which
    MLIR refuses on complex numbers (an MLIRError, eagerly and under jit)."""
    f = {"sum": lambda m: m.sum, "mean": lambda m: m.mean, "sum of axis 0": lambda m: lambda z: m.sum(z, 0)}[name]
    z, t = jnp.array(Z), jnp.array(W)
    want = jax.jvp(f(jjnp), (Z,), (W,))
    for got in (irax.jvp(f(jnp), (z,), (t,)), irax.jit(lambda a, b: irax.jvp(f(jnp), (a,), (b,)))(z, t)):
        for g, w in zip(got, want):
            _same(g, w, rtol=1e-5)


def test_reductions_that_are_real_or_by_parts_match_jax():
    """var and std of complex numbers are real; isclose compares |a - b|; round rounds each part."""
    z = jnp.array(Z)
    for name in ("var", "std"):
        _same(getattr(jnp, name)(z), getattr(jjnp, name)(Z), rtol=1e-5)
    np.testing.assert_array_equal(np.asarray(jnp.isclose(z, z + 1e-7j)), np.asarray(jjnp.isclose(Z, Z + 1e-7j)))
    _same(jnp.round(z * 3.3, 1), jjnp.round(Z * 3.3, 1))


@pytest.mark.parametrize("n", [3, -2])
def test_integer_power_under_jit(n):
    """z ** n for a Python int n multiplies out under jit too (a ufunc abs(n) there was a tracer)."""
    _same(irax.jit(lambda z: z ** n)(Z), jjnp.asarray(Z) ** n, rtol=1e-5)


def test_vdot_and_vecdot_conjugate_their_first_operand():
    a = np.array([1 + 2j, 3 - 1j], np.complex64)
    b = np.array([2 - 1j, 1 + 1j], np.complex64)
    for name in ("vdot", "vecdot"):
        np.testing.assert_allclose(getattr(jnp, name)(a, b), getattr(jjnp, name)(a, b), rtol=1e-6)


def test_gathers_of_complex_arrays_and_vmapped_loops_with_complex_carries():
    """A gather's out-of-bounds fill was np.iinfo of a complex dtype (a
    ValueError at trace time); a vmapped while loop selected its complex
    carries with one arith.select, which Vulkan cannot lower."""
    x = np.array([1 + 2j, 3 - 1j, 0.5j], np.complex64)
    np.testing.assert_array_equal(np.asarray(jnp.asarray(x)[jnp.array([2, 0])]), x[[2, 0]])
    np.testing.assert_array_equal(np.asarray(jnp.take_along_axis(jnp.asarray(x), jnp.array([2, 1]), axis=0)), x[[2, 1]])
    filled = jnp.take(jnp.asarray(x), jnp.array([1, 5]), mode="fill")
    np.testing.assert_array_equal(np.asarray(filled), np.asarray(jax.numpy.take(x, np.array([1, 5]), mode="fill")))

    def halve_until_small(z):
        return irax.lax.while_loop(lambda z: jnp.abs(z) > 1, lambda z: z / 2, z)

    np.testing.assert_allclose(np.asarray(irax.vmap(halve_until_small)(x)), [0.25 + 0.5j, 0.75 - 0.25j, 0.5j])


def test_complex128_fills_under_jit_compile_and_are_right():
    """IREE 3.13 made a complex fill a splat of its bits, an i128 for
    complex128, which has no splat: zeros did not compile under jit
    (transforms/complex_fills.py)."""
    with x64_mode(True):
        z = irax.jit(lambda x: jnp.zeros(3, jnp.complex128).at[1].set(x))(0.5j)
        assert z.dtype == np.complex128
        np.testing.assert_array_equal(np.asarray(z), [0, 0.5j, 0])


# ---------------------------------------------------------------------------
# Products: a reduction that combines with complex.mul

PRODUCTS = {  # the derivative counts the zeros among the factors, as the real one
    "no zero": Z.reshape(2, 2),
    "one zero": np.array([[1 + 2j, 0], [0.5j, 2 - 1j]], np.complex64),
    "two zeros": np.array([[1 + 2j, 0], [0, 2 - 1j]], np.complex64),
}


def _product_loss(m, name):
    """A real loss of products over all and over each axis (and |prod|
    where it is not 0: there |.| has no derivative to compare)."""
    def loss(z):
        parts = m.real(m.prod(z) * (1 - 2j)) + m.sum(m.imag(m.prod(z, axis=0) * m.array([2 + 1j, -1j])))
        return parts + m.sum(m.real(m.prod(z, axis=1))) + (m.abs(m.prod(z)) if name == "no zero" else 0.0)
    return loss


@pytest.mark.parametrize("name", list(PRODUCTS))
def test_forward_mode_through_complex_products_matches_jax(name):
    """jvp of a complex prod was NotDifferentiable (autodiff knew only arith.mulf
    products), eagerly and under jit."""
    z, t = PRODUCTS[name], W.reshape(2, 2)
    for f in (lambda m: m.prod, lambda m: lambda z: m.prod(z, axis=1)):
        want = jax.jvp(f(jjnp), (z,), (t,))
        for got in (irax.jvp(f(jnp), (z,), (t,)), irax.jit(lambda a, b: irax.jvp(f(jnp), (a,), (b,)))(z, t)):
            for g, w in zip(got, want):
                _same(g, w, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", list(PRODUCTS))
def test_grad_through_complex_products_matches_jax_and_finite_differences(name):
    z = PRODUCTS[name]
    want = jax.grad(_product_loss(jjnp, name))(z)
    g = irax.grad(_product_loss(jnp, name))(z)
    _same(g, want, rtol=1e-5, atol=1e-5)
    _same(irax.jit(irax.grad(_product_loss(jnp, name)))(z), want, rtol=1e-5, atol=1e-5)
    _same(irax.grad(lambda v: jnp.prod(v * (1 + 1j)), holomorphic=True)(z),
          jax.grad(lambda v: jjnp.prod(v * (1 + 1j)), holomorphic=True)(z), rtol=1e-5, atol=1e-5)
    # finite differences (float64 NumPy): the gradient of a real loss is dL/dx - i dL/dy
    f, h, z = _product_loss(np, name), 1e-6, z.astype(np.complex128)
    g = np.asarray(g)
    for at in np.ndindex(z.shape):
        for step, part in ((h, np.real), (1j * h, lambda v: -np.imag(v))):
            bumped = z.copy()
            bumped[at] += step
            np.testing.assert_allclose((f(bumped) - f(z)) / h, part(g[at]), rtol=1e-4, atol=1e-4)


def test_complex128_products_under_jit_and_their_gradient():
    """A complex128 fill (a product's initial 1) was written as its parts, a
    constant that IREE 3.13 let both products below update in place: they
    came out wrong (-50, 0). The fill stays where it is an init."""
    with x64_mode(True):
        z = Z.astype(np.complex128)
        got = irax.jit(lambda x: (jnp.prod(x), jnp.prod(x[:2])))(z)
        for g, w in zip(got, (np.prod(z), np.prod(z[:2]))):
            _same(g, np.asarray(w), rtol=1e-12, atol=0)
        loss = lambda m: lambda v: m.abs(m.prod(v)) + m.real(m.prod(v[:2]) * 1j)  # noqa: E731
        _same(irax.grad(loss(jnp))(z), jax.grad(loss(jjnp))(z), rtol=1e-12, atol=1e-12)


def test_two_updates_of_complex_zeros_are_two_arrays():
    """CSE makes one complex64 fill of the zeros two updates start from (the
    cotangents of x[0, 0] and x[1, 1], each added into zeros), and IREE 3.13
    gave both updates one buffer: the gradient of re(x[0, 0] x[1, 1]) came
    out twice JAX's, and `zeros.at[0].set(a), zeros.at[1].set(b)` did not
    compile ("used resource not listed in explicit captures"). Their parts,
    a float splat, are copied for each (transforms/complex_fills.py)."""
    z = Z.reshape(2, 2)
    for loss in (lambda m: lambda v: m.abs(v[0, 0] * v[1, 1]), lambda m: lambda v: m.sum(m.real(v[0] * v[1] * 1j))):
        want = jax.grad(loss(jjnp))(z)
        _same(irax.grad(loss(jnp))(z), want, rtol=1e-5, atol=1e-6)
        _same(irax.jit(irax.grad(loss(jnp)))(z), want, rtol=1e-5, atol=1e-6)
    got = irax.jit(lambda a, b: (jnp.zeros(3, jnp.complex64).at[0].set(a), jnp.zeros(3, jnp.complex64).at[1].set(b)))(
        1j, 2 + 0j)
    for g, w in zip(got, ([1j, 0, 0], [0, 2, 0])):
        np.testing.assert_array_equal(np.asarray(g), np.asarray(w, np.complex64))


def _set(x, index, value):
    """NumPy's `x.at[index].set(value)`: a copy of `x` with `value` there."""
    x = np.array(x)
    x[index] = value
    return x


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
def test_two_updates_of_a_complex_fill_with_unequal_parts_are_two_arrays(dtype):
    """A complex fill whose parts differ (`1 + 2j`, and ones: 1 + 0j) updated
    at two places in one program: IREE 3.13 made its parts one dispatch with
    no operands that both updates wrote into (complex128: the second update
    came out zeros, the first held both), and complex64's i64 splat did not
    compile ("used resource not listed in explicit captures"). Behind a
    barrier each update gets its own copy (transforms/complex_fills.py)."""
    with x64_mode(dtype == np.complex128):
        a, b = dtype(5j), dtype(7 - 1j)
        cases = [  # (the function, its arrays as NumPy has them)
            (lambda a, b: (jnp.full(3, 1 + 2j, dtype).at[0].set(a), jnp.full(3, 1 + 2j, dtype).at[1].set(b)),
             [_set(np.full(3, 1 + 2j, dtype), 0, a), _set(np.full(3, 1 + 2j, dtype), 1, b)]),
            (lambda a, b: (jnp.ones(3, dtype).at[0].set(a), jnp.ones(3, dtype).at[2].add(b), jnp.ones(3, dtype) * a),
             [_set(np.ones(3, dtype), 0, a), _set(np.ones(3, dtype), 2, 1 + b), np.ones(3, dtype) * a]),
            (lambda a, b: (jnp.full((2, 3), 2 - 1j, dtype).at[0, 1].set(a), jnp.full((2, 3), 2 - 1j, dtype).at[1].set(b)),
             [_set(np.full((2, 3), 2 - 1j, dtype), (0, 1), a), _set(np.full((2, 3), 2 - 1j, dtype), 1, b)]),
        ]
        for f, want in cases:
            for run in (f, irax.jit(f)):
                got = run(a, b)
                assert len(got) == len(want)
                for g, w in zip(got, want):
                    _same(g, w, rtol=0, atol=0)


# Complex operands JAX refuses, which irax took: fmod gave zeros, fabs, i0
# and bitwise_count numbers of |z|.
@pytest.mark.parametrize("call, error, message", [
    (lambda m, z: m.fabs(z), TypeError, "ufunc 'fabs' does not support complex dtypes"),
    (lambda m, z: m.fmod(z, 2.0), TypeError, "rem does not accept dtype complex64 at position 0. Accepted dtypes at "
                                             "position 0 are subtypes of integer, floating."),
    (lambda m, z: m.i0(z), ValueError, "Unsupported input type to jax.numpy.i0: complex64"),
    (lambda m, z: m.bitwise_count(z), TypeError, "population_count does not accept dtype float32. Accepted dtypes are "
                                                 "subtypes of integer."),
    (lambda m, z: m.bitwise_count(m.real(z)), TypeError, "population_count does not accept dtype float32"),
], ids=["fabs", "fmod", "i0", "bitwise_count", "bitwise_count_of_floats"])
def test_complex_operands_refused_as_jax_refuses_them(call, error, message):
    for m in (jnp, jjnp):
        with pytest.raises(error, match=re.escape(message)):
            call(m, m.array(Z))

"""float64 functions in 64-bit mode are float64-accurate (the pass
expand-float64-math, irax/transforms/float64_math.py), on every backend:
within a few ulp of NumPy's (C's libm), IEEE's special values included.
Before it, irax computed them in float32 (exp(1.0000000001) was 1e-7 off)."""
import math

import numpy as np
import pytest

import irax
import irax.numpy as jnp
from irax import lax

pytestmark = pytest.mark.usefixtures("x64")

TINY, HUGE = 5e-324, 1.7e308
SPECIAL = [0.0, -0.0, np.inf, -np.inf, np.nan]


def _points(*groups):
    return np.concatenate([np.asarray(g, np.float64).ravel() for g in groups])


rng = np.random.default_rng(0)
UNARY = {  # name: (irax function, NumPy's, points, ulp allowed)
    "exp": (jnp.exp, np.exp, _points(rng.uniform(-745, 709.7, 24), [1e-300, -1e-300, 709.78, -745.13, 1.0], SPECIAL), 2),
    "exp2": (jnp.exp2, np.exp2, _points(rng.uniform(-1074, 1023.9, 24), [0.5, 3.0, -1074.0, 1023.0], SPECIAL), 2),
    "expm1": (jnp.expm1, np.expm1, _points(rng.uniform(-40, 40, 20), [1e-300, -1e-17, 0.34, -0.35, 0.4, 700.0], SPECIAL), 2),
    "log": (jnp.log, np.log, _points(np.exp(rng.uniform(-744, 709, 20)), [TINY, 1e-310, 1.0, 1 + 2**-52, 0.5, 2.0**100,
                                                                             HUGE, -1.0], SPECIAL), 2),
    "log2": (jnp.log2, np.log2, _points(np.exp(rng.uniform(-744, 709, 20)), [TINY, 2.0**-1060, 8.0, 2.0**-3, 3.0, HUGE,
                                                                               -1.0], SPECIAL), 2),
    "log1p": (jnp.log1p, np.log1p, _points(rng.uniform(-0.99, 50, 20), [-1.0, -1e-17, 1e-10, 1e-300, 1e300, -2.0],
                                           SPECIAL), 2),
    "sin": (jnp.sin, np.sin, _points(rng.uniform(-1e5, 1e5, 16), [np.pi, np.pi / 2, 2 * np.pi, 1e-10, 1e-300, 0.7853,
                                                                   355.0, 1e5 * np.pi], rng.uniform(-4, 4, 6), SPECIAL), 2),
    "cos": (jnp.cos, np.cos, _points(rng.uniform(-1e5, 1e5, 16), [np.pi / 2, 3 * np.pi / 2, 1e-10, 0.7854, 355.0, 1.5],
                                     rng.uniform(-4, 4, 7), SPECIAL), 2),
    "tan": (jnp.tan, np.tan, _points(rng.uniform(-1e5, 1e5, 16), [np.pi / 4, 1.57, 1e-10, 355.0, 3.0],
                                     rng.uniform(-4, 4, 8), SPECIAL), 3),
    "arcsin": (jnp.arcsin, np.arcsin, _points(rng.uniform(-1, 1, 20), [1.0, -1.0, 1e-10, 0.9999999, 0.5, 1.5], SPECIAL), 3),
    "arccos": (jnp.arccos, np.arccos, _points(rng.uniform(-1, 1, 20), [1.0, -1.0, 1e-10, 0.9999999, 0.5, 1.5], SPECIAL), 3),
    "arctan": (jnp.arctan, np.arctan, _points(rng.uniform(-3, 3, 16), [1e-300, 0.2679, 0.268, 0.5773, 1.0, 2.5, 1e8,
                                                                        1e300, -1.0, 0.1], SPECIAL), 2),
    "sinh": (jnp.sinh, np.sinh, _points(rng.uniform(-30, 30, 18), [1e-10, 1e-5, 21.9, 22.1, 700.0, 710.4, 711.0],
                                        SPECIAL), 3),
    "cosh": (jnp.cosh, np.cosh, _points(rng.uniform(-30, 30, 18), [1e-10, 1e-5, 21.9, 22.1, 700.0, 710.4, 711.0],
                                        SPECIAL), 3),
    "tanh": (jnp.tanh, np.tanh, _points(rng.uniform(-10, 10, 18), [1e-10, 1e-5, 0.5, 21.9, 22.1, 700.0, -3.0],
                                        SPECIAL), 3),
    "arcsinh": (jnp.arcsinh, np.arcsinh, _points(rng.uniform(-100, 100, 18), [1e-10, 1e-5, 4096.0, 1e10, 1e300, -1e9,
                                                                               0.5], SPECIAL), 3),
    "arccosh": (jnp.arccosh, np.arccosh, _points(rng.uniform(1, 100, 18), [1.0, 1 + 1e-10, 4096.0, 1e10, 1e300, 0.5,
                                                                            2.0], SPECIAL), 3),
    "arctanh": (jnp.arctanh, np.arctanh, _points(rng.uniform(-1, 1, 18), [1e-10, 0.5, 0.99999, 1.0, -1.0, 1.5,
                                                                           1e-300], SPECIAL), 3),
    "erf": (irax.scipy.special.erf, np.vectorize(math.erf), _points(rng.uniform(-7, 7, 18), [1e-300, 0.99, 1.0, 1.01, 5.99,
                                                                                          6.01, 30.0], SPECIAL[:4]), 4),
    "cbrt": (jnp.cbrt, np.cbrt, _points(rng.uniform(-1e3, 1e3, 18), [27.0, -8.0, TINY, 1e-300, 1e300, HUGE, 2.0],
                                        SPECIAL), 2),
    "rsqrt": (lax.rsqrt, lambda x: 1 / np.sqrt(x), _points(np.exp(rng.uniform(-700, 700, 20)), [4.0, 1e-300, 2.0, -1.0,
                                                                                                 TINY, 3.0, 5.0],
                                                          SPECIAL), 2),
}


def _ulps(got, want):
    """|got - want| in units of want's last place; 0 where both are the same
    special value, and where want is subnormal and got 0: the CPU flushes
    subnormal results to zero, as XLA's does (JAX's exp(-720.0) is 0.0)."""
    flushed = (got == 0) & (np.abs(want) < np.finfo(np.float64).tiny)
    same = (got == want) | (np.isnan(got) & np.isnan(want)) | flushed
    spacing = np.spacing(np.where(np.isfinite(want), np.abs(want), 1.0))
    return np.where(same, 0.0, np.abs(got - want) / spacing)


def _flushed(x):
    """x with subnormals read as zero, as the CPU reads them (JAX's log(5e-324) is -inf)."""
    return np.where(np.abs(x) < np.finfo(np.float64).tiny, np.copysign(0.0, x), x)


@pytest.fixture(scope="module")
def all_at_once():
    """Every function of UNARY on its points, in one program (one compile per device)."""
    names = list(UNARY)
    program = irax.jit(lambda xs: [UNARY[n][0](x) for n, x in zip(names, xs)])
    return lambda: dict(zip(names, program([jnp.asarray(UNARY[n][2]) for n in names])))


@pytest.mark.parametrize("name", list(UNARY))
def test_unary_functions_are_float64_accurate(name, all_at_once):
    _, oracle, points, allowed = UNARY[name]
    got = np.asarray(all_at_once()[name])
    with np.errstate(all="ignore"):
        want, want_flushed = oracle(points), oracle(_flushed(points))
    assert got.dtype == np.float64
    ulps = np.minimum(_ulps(got, want), _ulps(got, want_flushed))
    worst = int(np.argmax(ulps))
    assert ulps.max() <= allowed, f"{name}({points[worst]!r}) = {got[worst]!r}, NumPy: {want[worst]!r}"


HUGE_ANGLES = _points(np.exp(rng.uniform(np.log(1e6), 709, 40)) * rng.choice([-1, 1], 40),
                      [1e10, 1e22, 3e38, 3.5e38, -3e15, 2.0**60, 1e300, -1e300, HUGE, np.pi * 2**19, 2.0**20,
                       1686629713.0])
# 6381956970095103 2^797 is the float64 closest to a multiple of π/2 (Kahan
# and McDonald): r ~ 4.7e-19 there, where 2/π needs ~120 bits past |x|'s.
# Its values, correctly rounded (mpmath, 300 bits; NumPy's cos is 17 ulp off):
CLOSEST = (6381956970095103 * 2.0**797, {"sin": 1.0, "cos": -4.687165924254628e-19, "tan": -2.133485385753704e+18})


@pytest.mark.parametrize("name, allowed", [("sin", 2), ("cos", 2), ("tan", 3)])
def test_trigonometry_of_huge_arguments_keeps_float64_accuracy(name, allowed):
    """Payne-Hanek's reduction for |x| >= 2^20 π: sin(3.5e38) was NaN (a
    float32 split of x), sin(1e22) 1e-14 off."""
    x, exact = CLOSEST
    got = np.asarray(irax.jit(getattr(jnp, name))(_points(HUGE_ANGLES, [x, -x])))
    want = _points(getattr(np, name)(HUGE_ANGLES), [exact[name], exact[name] * (1 if name == "cos" else -1)])
    ulps = _ulps(got, want)
    worst = int(np.argmax(ulps))
    assert ulps.max() <= allowed, f"{name}({_points(HUGE_ANGLES, [x, -x])[worst]!r}) = {got[worst]!r}, NumPy: {want[worst]!r}"


def test_fmod_is_exact_for_any_quotient():
    """fmod is exact in IEEE arithmetic, for every finite a and b: fmod(1e17, 3)
    was 4 (a / b past 2^53), NumPy's is 1. (Normal b: the CPU reads a
    subnormal as 0, as XLA's does.)"""
    r = np.random.default_rng(1)
    a = _points(np.exp(r.uniform(-700, 709, 300)) * r.choice([-1, 1], 300), [1e17, HUGE, -1e300, 1e-300, 3e-308])
    b = _points(np.exp(r.uniform(-700, 709, 300)) * r.choice([-1, 1], 300), [3.0, 1e-300, 7e-301, -HUGE, 2.3e-308])
    a, b = np.concatenate([a, np.where(np.abs(b) < 1e300, b * 1e5, b / 3)]), np.concatenate([b, b])
    got = irax.jit(lambda a, b: (jnp.fmod(a, b), lax.rem(a, b), a % b, jnp.remainder(a, b)))(a, b)
    for g, want in zip(got, [np.fmod(a, b)] * 2 + [np.remainder(a, b)] * 2):
        g = np.asarray(g)
        flushed = (g == 0) & (np.abs(want) < np.finfo(np.float64).tiny)  # a subnormal result, flushed on the CPU
        np.testing.assert_array_equal(np.where(flushed, want, g), want)
        np.testing.assert_array_equal(np.signbit(g[~flushed]), np.signbit(want[~flushed]))
    assert float(jnp.fmod(1e17, 3.0)) == 1.0  # 10^17 = 1 (mod 3)


BINARY = {  # name: (irax function, NumPy's, (a, b), ulp allowed)
    "power": (jnp.power, np.power, ([2.0, 10.0, 0.5, 1.0000001, 3.3, 7.0, 0.0, -2.0, -8.0, 1e-300, np.inf, 2.0, 1e-300,
                                     0.99999, 1.3, 0.7, 1e300, 2.5e-300, 1.0 - 2**-53, 3.0],
                                    [0.5, -3.0, 100.0, 1e7, 3.0, 1 / 3, 0.0, 3.0, 1 / 3, 0.5, -1.0, 1023.5, 0.9,
                                     -7e7, 2700.0, -1980.0, -1.02, 0.5, 7e18, -677.5]), 2),
    "arctan2": (jnp.arctan2, np.arctan2, ([1.0, -1.0, 1.0, -1.0, 0.0, -0.0, 0.0, 1e-300, 3.0, np.inf, 1.0, 5.0],
                                          [1.0, 1.0, -1.0, -1.0, -1.0, -1.0, 1.0, 1e300, -1e-300, 2.0, 0.0, -0.0]), 2),
    "fmod": (jnp.fmod, np.fmod, ([1e10, 5.5, -7.0, 7.0, -0.0, 1e15 + 3, 0.3, 1.0, np.inf, 2.0, 3e15, -4.0, 1e17, np.nan],
                                 [3.0, 2.5, 3.0, -3.0, 2.0, 3.0, 0.1, np.inf, 2.0, 0.0, 0.7, 2.0, 3.0, 1.0]), 0),
    "remainder": (jnp.remainder, np.remainder, ([1e10, 5.5, -7.0, 7.0, -0.0, 1e15, 0.3, 1.0, -1.0, 2.0, 3e15, -4.0],
                                                [3.0, 2.5, 3.0, -3.0, 2.0, -7.0, 0.1, np.inf, np.inf, 0.5, 0.7, 2.0]), 0),
}


@pytest.mark.parametrize("name", list(BINARY))
def test_binary_functions_are_float64_accurate(name):
    fn, oracle, (a, b), allowed = BINARY[name]
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    got = np.asarray(irax.jit(fn)(a, b))
    with np.errstate(all="ignore"):
        want = oracle(a, b)
    assert got.dtype == np.float64
    np.testing.assert_array_equal(np.signbit(got[got == 0]), np.signbit(want[got == 0]))
    ulps = _ulps(got, want)  # power too, as exp(y log x) of a log in extended precision: 1e-300 ** 0.5 was 118 ulp off
    worst = int(np.argmax(ulps - allowed))
    assert (ulps <= allowed).all(), f"{name}({a[worst]!r}, {b[worst]!r}) = {got[worst]!r}, NumPy: {want[worst]!r}"


def test_eager_kernels_are_float64_accurate_too():
    x = np.array([1.0000000001, 3.14159265358979, 0.1], np.float64)
    np.testing.assert_array_max_ulp(np.asarray(jnp.exp(x)), np.exp(x), 2)
    np.testing.assert_array_max_ulp(np.asarray(jnp.sin(x)), np.sin(x), 2)


def test_gradients_are_float64_accurate():
    jax = pytest.importorskip("jax")
    x = np.array([0.3, 1.7, -2.2], np.float64)

    def f(np_):
        return lambda x: np_.sum(np_.exp(np_.sin(x)) * np_.arctan(x) + np_.log1p(x * x))

    got = np.asarray(irax.jit(irax.grad(f(jnp)))(x))
    want = np.asarray(jax.grad(f(jax.numpy))(x))
    np.testing.assert_allclose(got, want, rtol=1e-14)


COMPLEX = ["exp", "exp2", "expm1", "log", "log1p", "log2", "log10", "sqrt", "sinh", "cosh", "tanh", "arcsinh",
           "arccosh", "arctanh", "arcsin", "arccos", "arctan", "sin", "cos", "tan"]


def test_complex128_functions_are_float64_accurate():
    """complex128's functions built from float parts (complex_rules) are
    float64-accurate too (they computed in complex64 before)."""
    z = np.array([0.3 + 0.4j, -1.7 + 2.2j, 1e-9 - 3e-9j, 5000.0 + 1.0j, -0.5 - 0.9j, 2.0 - 1e3j, 0.999 + 1e-8j])
    got = irax.jit(lambda z: [getattr(jnp, name)(z) for name in COMPLEX])(z)
    for name, g in zip(COMPLEX, got):
        g = np.asarray(g)
        assert g.dtype == np.complex128, name
        want = _ACCURATE.get(name, getattr(np, name))(z)
        np.testing.assert_allclose(g, want, rtol=2e-14, atol=0, err_msg=name)


def test_complex128_rsqrt_and_power_are_float64_accurate():
    """They computed in complex64 (rsqrt(1e300 + 1e300j) was 0)."""
    z = np.array([0.3 + 0.4j, -1.7 + 2.2j, 1e-9 - 3e-9j, 5000.0 + 1.0j, -4.0 + 0j, 1e300 + 1e300j, 1e-300 + 0j])
    y = np.array([0.5 + 0.1j, 2.0 + 0j, -1.3 + 0.2j, 0.1j, 3.0 - 1j, 0.25 + 0j, 1.5 + 0j])
    got_rsqrt, got_power = (np.asarray(v) for v in irax.jit(lambda z, y: (lax.rsqrt(z), z ** y))(z, y))
    assert got_rsqrt.dtype == got_power.dtype == np.complex128
    np.testing.assert_allclose(got_rsqrt, 1 / np.sqrt(z), rtol=2e-16 * 4, atol=0)
    np.testing.assert_allclose(got_power, np.power(z, y), rtol=1e-14, atol=0)  # exp(y log z): |y log z| amplifies
    special = np.asarray(lax.rsqrt(np.array([0j, complex(np.inf, 0)])))  # XLA's: inf + nan j, 0 - 0j
    assert np.isinf(special[0].real) and np.isnan(special[0].imag) and special[1] == 0 and np.signbit(special[1].imag)


def test_complex128_trigonometry_rsqrt_and_power_gradients():
    jax = pytest.importorskip("jax")
    z = np.array([0.3 + 0.4j, -1.7 + 2.2j, 0.5 - 0.9j])
    y = np.array([0.5 + 0.1j, 2.0 + 0j, -1.3 + 0.2j])

    def f(np_, lax_):
        return lambda z: np_.sum(np_.real(np_.sin(z) * np_.cos(z) + np_.tan(z) + z ** y) + np_.imag(lax_.rsqrt(z)))

    got = np.asarray(irax.jit(irax.grad(f(jnp, lax)))(z))
    want = np.asarray(jax.grad(f(jax.numpy, jax.lax))(z))
    np.testing.assert_allclose(got, want, rtol=1e-13)


def _complex_log1p(z):
    """NumPy's log1p of a complex is log(1 + z), which loses 1 + z's rounding."""
    a, b = z.real, z.imag
    return _parts(0.5 * np.log1p(2 * a + a * a + b * b), np.arctan2(b, 1 + a))


def _complex_expm1(z):
    a, b = z.real, z.imag
    return _parts(np.expm1(a) * np.cos(b) - 2 * np.sin(b / 2) ** 2, np.exp(a) * np.sin(b))


def _parts(re, im):
    """re + i im, without 1j * inf's NaN real part."""
    z = np.empty(re.shape, np.complex128)
    z.real, z.imag = re, im
    return z


_ACCURATE = {"log1p": _complex_log1p, "expm1": _complex_expm1}


def test_lgamma_and_digamma_are_float64_accurate():
    scipy_special = pytest.importorskip("scipy.special")
    x = np.array([0.1, 0.5, 2.5, 3.7, 10.3, 25.5, 120.7, 0.01, 7.0, -2.5])
    got = irax.jit(lambda x: (lax.lgamma(x), lax.digamma(x)))(x)
    want = (scipy_special.gammaln(x), scipy_special.digamma(x))
    for name, g, w in zip(["lgamma", "digamma"], got, want):
        np.testing.assert_allclose(np.asarray(g), w, rtol=5e-14, err_msg=name)

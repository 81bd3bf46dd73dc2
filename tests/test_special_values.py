"""IEEE 754's special values through every elementwise function, against NumPy.

Each function gets one array of the special inputs (±0, ±inf, NaN, ±1, ±0.5,
..., a large value; for a binary function every pair of them) per float
dtype, eagerly and under jit; subnormals, a matter of the platform, have
their own test. The results must be NumPy's
as IEEE values: NaN where NumPy has NaN, infinities and zeros with NumPy's
sign, other numbers within rounding. These are the special cases the Array
API standard lists per function, where NumPy and the standard agree; where
they do not, NumPy (and JAX) decide, as noted at MAXIMUM_MINIMUM.
"""
import operator

import ml_dtypes
import numpy as np
import pytest

import irax
import irax.numpy as jnp

FLOATS = {"float32": np.dtype(np.float32), "float16": np.dtype(np.float16), "bfloat16": np.dtype(ml_dtypes.bfloat16)}
# Rounding of the finite, nonzero results (IREE's approximations, and GPU math on Vulkan).
RTOL = {"float32": 1e-5, "float16": 2e-3, "bfloat16": 2e-2, "float64": 1e-5}

UNARY = {
    "abs": np.abs, "negative": np.negative, "positive": np.positive, "sign": np.sign, "square": np.square,
    "reciprocal": np.reciprocal, "floor": np.floor, "ceil": np.ceil, "trunc": np.trunc, "rint": np.rint,
    "round": np.round, "round_1": lambda x: np.round(x, 1), "clip": lambda x: np.clip(x, -1, 1),
    "exp": np.exp, "exp2": np.exp2, "expm1": np.expm1, "log": np.log, "log1p": np.log1p, "log2": np.log2,
    "log10": np.log10, "sqrt": np.sqrt, "cbrt": np.cbrt, "sin": np.sin, "cos": np.cos, "tan": np.tan,
    "arcsin": np.arcsin, "arccos": np.arccos, "arctan": np.arctan, "sinh": np.sinh, "cosh": np.cosh,
    "tanh": np.tanh, "arcsinh": np.arcsinh, "arccosh": np.arccosh, "arctanh": np.arctanh,
    "isnan": np.isnan, "isinf": np.isinf, "isfinite": np.isfinite,
}
BINARY = {
    "add": np.add, "subtract": np.subtract, "multiply": np.multiply, "divide": np.divide,
    "floor_divide": np.floor_divide, "remainder": np.remainder, "power": np.power, "arctan2": np.arctan2,
    "maximum": np.maximum, "minimum": np.minimum, "equal": np.equal, "not_equal": np.not_equal,
    "less": np.less, "less_equal": np.less_equal, "greater": np.greater, "greater_equal": np.greater_equal,
}
OPERATORS = {
    "add": operator.add, "subtract": operator.sub, "multiply": operator.mul, "divide": operator.truediv,
    "floor_divide": operator.floordiv, "remainder": operator.mod, "power": operator.pow,
}


def irax_unary(name):
    if name == "round_1":
        return lambda x: jnp.round(x, 1)
    if name == "clip":
        return lambda x: jnp.clip(x, -1, 1)
    return getattr(jnp, name)


def specials(dtype, subnormals=False):
    """The special inputs. The large value is 1e30, whose square overflows
    (float16: its max); float64's is 1e10, as its transcendental functions
    compute in float32 (irax.frontend.primitives.scalar_rules._in_f32)."""
    large = {"float16": 65504.0, "float64": 1e10}.get(dtype.name, 1e30)
    values = [0.0, -0.0, np.inf, -np.inf, np.nan, 1, -1, 0.5, -0.5, 1.5, -1.5, 2, -2, 3, -3, large, -large]
    if subnormals:
        values += [float(ml_dtypes.finfo(dtype).smallest_subnormal) * s for s in (1, -1)]
    return np.array(values, dtype)


def pairs(dtype, subnormals=False):
    x = specials(dtype, subnormals=subnormals)
    return [a.ravel() for a in np.meshgrid(x, x, indexing="ij")]


def numpy_result(fn, dtype, *args):
    """NumPy's answer: float64 natively, the narrower floats in float32, rounded
    to the dtype once (as NumPy's float16 ufuncs and XLA compute)."""
    with np.errstate(all="ignore"):
        if dtype == np.float64:
            return np.asarray(fn(*args))
        out = np.asarray(fn(*[a.astype(np.float32) for a in args]))
        return out.astype(dtype) if out.dtype == np.float32 else out


def flush(x, dtype):
    """x with its float32 (float64) subnormals flushed to zero of the same sign.
    IREE's CPU runtime, as XLA's, runs with denormals flushed to zero (FTZ and
    DAZ); bfloat16 computes in float32, and float16's subnormals are float32
    normals, so only they survive."""
    if dtype == np.float16 or x.dtype == np.bool_:
        return x
    tiny = np.finfo(np.float64 if dtype == np.float64 else np.float32).tiny
    wide = x.astype(np.float64)
    return np.where(np.abs(wide) < tiny, np.copysign(0.0, wide), wide).astype(x.dtype)


def same_ieee_values(actual, expected, rtol):
    """Elementwise: both NaN; or equal with the same sign bit (so -0.0 is not
    0.0 and inf is exact); or finite, nonzero, same sign and within rtol."""
    a, e = np.asarray(actual).astype(np.float64), np.asarray(expected).astype(np.float64)
    both_nan = np.isnan(a) & np.isnan(e)
    same_sign = np.signbit(a) == np.signbit(e)
    close = np.isfinite(e) & (e != 0) & np.isclose(a, e, rtol=rtol, atol=0)
    return both_nan | (same_sign & ((a == e) | close))


def check(name, actual, fn, dtype, *inputs, platform=None):
    """actual is NumPy's answer, or NumPy's answer at the inputs flushed to zero
    and then flushed itself (FTZ), elementwise; see also `maximum_minimum`."""
    rtol = RTOL[dtype.name]
    actual = np.asarray(actual)
    expected = numpy_result(fn, dtype, *inputs)
    assert actual.dtype == expected.dtype, (name, actual.dtype, expected.dtype)
    flushed = flush(numpy_result(fn, dtype, *[flush(x, dtype) for x in inputs]), dtype)
    ok = same_ieee_values(actual, expected, rtol) | same_ieee_values(actual, flushed, rtol)
    if platform == "vulkan" and fn in MAXIMUM_MINIMUM.values():
        ok |= (inputs[0] == 0) & (inputs[1] == 0) & (actual == 0)
    if platform == "vulkan" and fn is np.remainder:
        ok |= vulkan_frem_is_inexact(*inputs) & (np.abs(actual) < np.abs(inputs[1]))
    if not ok.all():
        rows = [f"  {tuple(float(x[i]) for x in inputs)}: got {actual[i]}, NumPy {expected[i]}" for i in np.flatnonzero(~ok)]
        pytest.fail(f"{name} ({dtype.name}) differs from NumPy at {len(rows)} inputs:\n" + "\n".join(rows[:20]))


def vulkan_frem_is_inexact(x, y):
    """Vulkan defines frem (the fmod in remainder) as x - y * trunc(x / y),
    exact only while |x / y| < 2**24 (float32): past that, remainder(1e30, 1.5)
    is 0.0 there, not 1.0. Any value below |y| passes there."""
    with np.errstate(all="ignore"):
        quotient = np.abs(x.astype(np.float64) / y.astype(np.float64))
    return np.isfinite(quotient) & (quotient >= 2**24)


def maximum_minimum(fn):
    """IEEE 754-2019's maximum and minimum order -0.0 below +0.0, so
    maximum(0.0, -0.0) = 0.0 and minimum = -0.0 in either order, as in JAX.
    NumPy returns its second operand for equal zeros (the Array API leaves
    it unspecified); these are JAX's answers, and the CPU's. SPIR-V's FMax
    and FMin leave the choice between two zeros to the GPU, so on Vulkan
    either zero passes."""

    def ieee(x, y):
        zeros = (x == 0) & (y == 0)
        signed = np.where(np.signbit(x) & np.signbit(y) if fn is np.maximum else np.signbit(x) | np.signbit(y), -0.0, 0.0)
        return np.where(zeros, signed.astype(x.dtype), fn(x, y))

    return ieee


MAXIMUM_MINIMUM = {"maximum": maximum_minimum(np.maximum), "minimum": maximum_minimum(np.minimum)}


def numpy_binary(name):
    return MAXIMUM_MINIMUM.get(name, BINARY[name])


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", UNARY)
def test_unary(name, dtype):
    dtype = FLOATS[dtype]
    x = specials(dtype)
    check(name, irax_unary(name)(jnp.asarray(x)), UNARY[name], dtype, x)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", BINARY)
def test_binary(name, dtype, platform):
    dtype = FLOATS[dtype]
    x, y = pairs(dtype)
    check(name, getattr(jnp, name)(jnp.asarray(x), jnp.asarray(y)), numpy_binary(name), dtype, x, y, platform=platform)
    if name in OPERATORS:
        got = OPERATORS[name](jnp.asarray(x), jnp.asarray(y))
        check(f"x {name} y", got, numpy_binary(name), dtype, x, y, platform=platform)


def run_jitted(dtype, platform, subnormals=False):
    """Every function under one jit per arity: one program each."""
    x = specials(dtype, subnormals=subnormals)
    unary = irax.jit(lambda x: {n: irax_unary(n)(x) for n in UNARY})(x)
    for name, out in unary.items():
        check(f"jit {name}", out, UNARY[name], dtype, x)
    x, y = pairs(dtype, subnormals)
    binary = irax.jit(lambda x, y: {n: getattr(jnp, n)(x, y) for n in BINARY})(x, y)
    for name, out in binary.items():
        check(f"jit {name}", out, numpy_binary(name), dtype, x, y, platform=platform)


@pytest.mark.parametrize("dtype", FLOATS)
def test_under_jit(dtype, platform):
    run_jitted(FLOATS[dtype], platform)


@pytest.mark.parametrize("dtype", FLOATS)
def test_subnormals_under_jit(dtype, platform):
    """The smallest subnormals among the inputs: results are NumPy's, or NumPy's
    with subnormals flushed to zero (see `flush`)."""
    run_jitted(FLOATS[dtype], platform, subnormals=True)


def test_float64_under_jit(x64, platform):
    run_jitted(np.dtype(np.float64), platform)


@pytest.mark.parametrize("name", ["power", "floor_divide", "remainder", "arctan2"])
def test_float64_eagerly(name, x64, platform):
    dtype = np.dtype(np.float64)
    x, y = pairs(dtype)
    check(name, getattr(jnp, name)(jnp.asarray(x), jnp.asarray(y)), numpy_binary(name), dtype, x, y, platform=platform)


def test_derivatives_survive_the_special_value_selects():
    """The selects touch only the special values: arctan2's derivative in y at
    y = ±0, x ** y's at x = 1 and at y = 0, and sin's at ±0 stay JAX's."""
    jax = pytest.importorskip("jax")
    y = np.array([0.0, -0.0, 0.0, 1.0], np.float32)
    x = np.array([2.0, -1.0, 1.0, 1.0], np.float32)

    def f(m, x, y):
        return m.sum(m.arctan2(y, x) + m.abs(x) ** y + m.sin(y) + m.arcsinh(y))

    ours = irax.grad(lambda x, y: f(jnp, x, y), argnums=(0, 1))(x, y)
    theirs = jax.grad(lambda x, y: f(jax.numpy, x, y), argnums=(0, 1))(x, y)
    for g, gj in zip(ours, theirs):
        np.testing.assert_allclose(g, gj, rtol=1e-6)


def test_derivatives_at_kinks_and_zeros_are_jax_s(platform):
    """|x|' is 1 at 0 and -0 (the L1 norm's gradient at 0), -1 at NaN, as
    JAX's select(x >= 0, t, -t); so x ** y's, through |x| ** y, is y 0 ** (y - 1)
    at 0 (inf for y = 1/2, -inf for y = -1), not 0 * inf."""
    jax = pytest.importorskip("jax")
    x = np.array([0.0, -0.0, np.nan, 0.0, 0.0, 0.0, -2.0], np.float32)
    y = np.array([1.0, 1.0, 1.0, 0.5, -1.0, 2.0, 3.0], np.float32)

    def f(m, x):
        return m.abs(x[:3]).sum() + (x[3:] ** y[3:]).sum()

    ours = irax.jit(irax.grad(lambda x: f(jnp, x)))(x)
    theirs = jax.grad(lambda x: f(jax.numpy, x))(x)
    np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))
    np.testing.assert_array_equal(irax.grad(lambda v: jnp.linalg.norm(v, 1))(np.array([-1.0, 0.0, 2.0], np.float32)),
                                  [-1, 1, 1])


def test_gradient_of_a_nan_max_is_nan_as_in_jax(platform):
    """max/min's gradient shares 1 among the elements equal to the result;
    where none is (a NaN result) it is 0/0, NaN, as JAX's (was 0)."""
    jax = pytest.importorskip("jax")
    x = np.array([[np.nan, 1.0], [0.0, 2.0]], np.float32)
    for name in ("max", "min"):
        ours = irax.grad(lambda v: getattr(jnp, name)(v, axis=0).sum())(x)
        theirs = jax.grad(lambda v: getattr(jax.numpy, name)(v, axis=0).sum())(x)
        np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))

"""`lax`'s elementwise ops: irax's elementwise primitives without NumPy's promotion.

A lax op takes operands of one dtype and raises JAX's TypeError otherwise
(`lax.add(float32, int32)`); a Python scalar is an array of its default
dtype, weakly typed, so `lax.add(x_f32, 2.0)` works and `lax.add(x_f32, 2)`
does not, as in JAX. Shapes must have one rank (or be 0-d); a dim of 1
broadcasts. Ops that irax has no primitive for (population_count, clz,
nextafter, the right shifts of the other signedness, rounding away from
zero) are built from the primitives, on the operand's bits where needed.
"""
from __future__ import annotations

import enum
import functools
import operator

import ml_dtypes
import numpy as np

from irax.frontend import dtypes
from irax.frontend.numpy.bitcast import bitcast_convert_type
from irax.frontend.numpy.math_extra import fmod
from irax.frontend.numpy.math_extra import nextafter as numpy_nextafter
from irax.frontend.numpy.ufuncs import check_integer_exponent, integer_power, power_to_integers
from irax.frontend.numpy.util import asarray
from irax.frontend.primitives.elementwise import binary, unary
from irax.frontend.primitives.scalar_rules import BINARY, UNARY, dtype_kind
from irax.frontend.primitives.elementwise import convert_element_type as convert_p
from irax.frontend.primitives.elementwise import select as select_p
from irax.typing import Array, ArrayLike, DTypeLike

__all__ = ["RoundingMethod", "abs", "acos", "acosh", "add", "asin", "asinh", "atan", "atan2", "atanh", "bitwise_and",
           "bitwise_not", "bitwise_or", "bitwise_xor", "cbrt", "ceil", "clz", "complex", "conj",
           "convert_element_type", "cos", "cosh", "div", "eq", "exp", "exp2", "expm1", "floor", "ge", "gt", "imag",
           "integer_pow", "is_finite", "le", "log", "log1p", "lt", "max", "min", "mul", "ne", "neg", "nextafter",
           "population_count", "pow", "real", "reciprocal", "reduce_precision", "rem", "round", "rsqrt", "select_n",
           "shift_left", "shift_right_arithmetic", "shift_right_logical", "sign", "sin", "sinh", "sqrt", "square",
           "sub", "tan", "tanh"]

_ACCEPTED = (("iu", "integer"), ("f", "floating"), ("c", "complexfloating"), ("b", "bool"))  # JAX's order


# lax op -> the jnp function that promotes its operands, which JAX's dtype
# error names (jnp has no clamp, div or shift_left: those get no tip)
_JNP_EQUIVALENTS = {
    "abs": "fabs", "acos": "arccos", "acosh": "arccosh", "add": "add", "asin": "arcsin", "asinh": "arcsinh",
    "atan": "arctan", "atan2": "arctan2", "atanh": "arctanh", "bitwise_and": "bitwise_and",
    "bitwise_not": "bitwise_not", "bitwise_or": "bitwise_or", "bitwise_xor": "bitwise_xor", "cbrt": "cbrt",
    "ceil": "ceil", "concatenate": "concatenate", "cos": "cos", "cosh": "cosh", "div": "divide", "eq": "equal",
    "exp": "exp", "expm1": "expm1", "floor": "floor", "greater": "greater", "greater_equal": "greater_equal",
    "less": "less", "less_equal": "less_equal", "log": "log", "logical_and": "logical_and",
    "logical_not": "logical_not", "logical_or": "logical_or", "logical_xor": "logical_xor", "log1p": "log1p",
    "max": "maximum", "min": "minimum", "mul": "multiply", "ne": "not_equal", "neg": "negative",
    "nextafter": "nextafter", "pow": "float_power", "round": "round", "select": "where", "shift_left": "left_shift",
    "shift_right_logical": "right_shift", "shift_right_arithmetic": "right_shift", "sign": "sign", "sin": "sin",
    "sinh": "sinh", "sqrt": "sqrt", "sub": "subtract", "tan": "tan", "tanh": "tanh"}


def _operands(name: str, *args) -> list:
    """`args` as arrays of one dtype and compatible ranks, or JAX's TypeError."""
    xs = [asarray(a) for a in args]
    if len({x.dtype for x in xs}) > 1:
        tip = (f" (Tip: jnp.{_JNP_EQUIVALENTS[name]} is a similar function that does automatic type promotion on "
               "inputs)." if name in _JNP_EQUIVALENTS else "")
        raise TypeError(f"lax.{name} requires arguments to have the same dtypes, got "
                        f"{', '.join(x.dtype.name for x in xs)}.{tip}")
    _check_ranks(name, xs)
    return xs


def _check_ranks(name: str, xs) -> None:
    ranks = {x.ndim for x in xs if x.ndim}
    if len(ranks) > 1:
        raise TypeError(f"{name}: arrays must have the same number of dimensions, got {ranks}")


def _check_kind(name: str, x, kinds, position="") -> None:
    """JAX's TypeError where x's dtype is not of `kinds`; `position` is " at
    position 0" for ops of several operands, as JAX words it."""
    if dtype_kind(x.dtype) not in kinds:
        accepted = ", ".join(word for ks, word in _ACCEPTED if set(ks) & set(kinds))
        raise TypeError(f"{name} does not accept dtype {x.dtype.name}{position}. "
                        f"Accepted dtypes{position} are subtypes of {accepted}.")


def _lax_op(name: str, prim, kinds=None):
    """`jax.lax.<name>`: bind `prim` to operands of one dtype of `kinds`
    (by default, those the primitive's scalar rule takes: lax is stricter
    for some, as `lax.add` of bools is an error where `jnp.add` is `or`)."""
    table = UNARY if prim in unary.values() else BINARY
    kinds = kinds or table[prim.name].kinds

    def unary_fn(x: ArrayLike) -> Array:
        (x,) = _operands(name, x)
        _check_kind(name, x, kinds)
        return prim.bind(x)

    def binary_fn(x: ArrayLike, y: ArrayLike) -> Array:
        x, y = _operands(name, x, y)
        _check_kind(name, x, kinds, " at position 0")
        return prim.bind(x, y)

    fn = unary_fn if table is UNARY else binary_fn

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Elementwise `{name}` of operands of one dtype, as `jax.lax.{name}`."
    return fn


neg = _lax_op("neg", unary["neg"])
abs = _lax_op("abs", unary["abs"], "fic")  # noqa: A001 (lax's name)
real = _lax_op("real", unary["real"])
imag = _lax_op("imag", unary["imag"])
sign = _lax_op("sign", unary["sign"])
floor = _lax_op("floor", unary["floor"])
ceil = _lax_op("ceil", unary["ceil"])
is_finite = _lax_op("is_finite", unary["isfinite"])
exp = _lax_op("exp", unary["exp"])
exp2 = _lax_op("exp2", unary["exp2"])
expm1 = _lax_op("expm1", unary["expm1"])
log = _lax_op("log", unary["log"])
log1p = _lax_op("log1p", unary["log1p"])
sqrt = _lax_op("sqrt", unary["sqrt"])
rsqrt = _lax_op("rsqrt", unary["rsqrt"])
cbrt = _lax_op("cbrt", unary["cbrt"])
sin = _lax_op("sin", unary["sin"])
cos = _lax_op("cos", unary["cos"])
tan = _lax_op("tan", unary["tan"])
asin = _lax_op("asin", unary["asin"])
acos = _lax_op("acos", unary["acos"])
atan = _lax_op("atan", unary["atan"])
sinh = _lax_op("sinh", unary["sinh"])
cosh = _lax_op("cosh", unary["cosh"])
tanh = _lax_op("tanh", unary["tanh"])
asinh = _lax_op("asinh", unary["asinh"])
acosh = _lax_op("acosh", unary["acosh"])
atanh = _lax_op("atanh", unary["atanh"])
bitwise_not = _lax_op("bitwise_not", unary["not"])
add = _lax_op("add", binary["add"], "fiuc")
sub = _lax_op("sub", binary["sub"])
mul = _lax_op("mul", binary["mul"], "fiuc")
div = _lax_op("div", binary["div"])
atan2 = _lax_op("atan2", binary["atan2"])
max = _lax_op("max", binary["max"])  # noqa: A001 (lax's name)
min = _lax_op("min", binary["min"])  # noqa: A001 (lax's name)
eq = _lax_op("eq", binary["eq"])
ne = _lax_op("ne", binary["ne"])
# lax's order comparisons refuse complex, which jnp.less and co. order lexicographically
lt = _lax_op("lt", binary["lt"], "fiub")
le = _lax_op("le", binary["le"], "fiub")
gt = _lax_op("gt", binary["gt"], "fiub")
ge = _lax_op("ge", binary["ge"], "fiub")
bitwise_and = _lax_op("bitwise_and", binary["and"])
bitwise_or = _lax_op("bitwise_or", binary["or"])
bitwise_xor = _lax_op("bitwise_xor", binary["xor"])
shift_left = _lax_op("shift_left", binary["shift_left"])


def conj(x: ArrayLike) -> Array:
    """The complex conjugate, as `jax.lax.conj`; a real operand x becomes x + 0i."""
    (x,) = _operands("conj", x)
    _check_kind("conj", x, "fc")
    if not dtypes.is_complex(x.dtype):
        return convert_p.bind(x, new_dtype=dtypes.complex_dtype(x.dtype), weak_type=x.weak_type)
    return unary["conj"].bind(x)


def complex(x: ArrayLike, y: ArrayLike) -> Array:  # noqa: A001 (lax's name)
    """x + i y of float32 or float64 operands, as `jax.lax.complex`."""
    x, y = _operands("complex", x, y)
    if x.dtype not in (dtypes.float32, dtypes.float64):
        raise TypeError(f"complex does not accept dtype {x.dtype.name} at position 0. "
                        "Accepted dtypes at position 0 are subtypes of float32, float64.")
    return binary["complex"].bind(x, y)


def rem(x: ArrayLike, y: ArrayLike) -> Array:
    """C's remainder x - y trunc(x / y), with x's sign, as `jax.lax.rem`
    (irax's `rem` primitive is NumPy's, with y's sign). For integers it is
    x - div(x, y) y, which gives XLA's x % 0 = x and INT_MIN % -1 = 0."""
    x, y = _operands("rem", x, y)
    _check_kind("rem", x, "fiu", " at position 0")
    if dtypes.is_float(x.dtype):
        return fmod(x, y)
    return binary["sub"].bind(x, binary["mul"].bind(binary["div"].bind(x, y), y))


def _bits_as(x, signed: bool):
    """x's bits as the integer dtype of its width and the given signedness."""
    kind = "i" if signed else "u"
    return bitcast_convert_type(x, np.dtype(f"{kind}{x.dtype.itemsize}"))


def _shift_right(name: str, signed: bool):
    """A right shift of x's bits read as signed (arithmetic: the sign bit is
    copied in) or unsigned (logical: zeros come in), whatever x's dtype."""
    def fn(x: ArrayLike, y: ArrayLike) -> Array:
        x, y = _operands(name, x, y)
        _check_kind(name, x, "iu", " at position 0")
        if dtypes.is_unsigned(x.dtype) != signed:  # irax's shift_right is already this one
            return binary["shift_right"].bind(x, y)
        return bitcast_convert_type(binary["shift_right"].bind(_bits_as(x, signed), _bits_as(y, signed)), x.dtype)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"`x >> y` of integers, {'arithmetic' if signed else 'logical'}, as `jax.lax.{name}`."
    return fn


shift_right_arithmetic = _shift_right("shift_right_arithmetic", signed=True)
shift_right_logical = _shift_right("shift_right_logical", signed=False)


def _constant_like(x, value):
    return asarray(np.asarray(value).astype(x.dtype))


def population_count(x: ArrayLike) -> Array:
    """The number of 1 bits of each integer, as `jax.lax.population_count`:
    the bits summed in parallel, in fields of 2, 4, 8, ... bits (SWAR)."""
    (x,) = _operands("population_count", x)
    _check_kind("population_count", x, "iu")
    u = _bits_as(x, signed=False)
    width = 8 * x.dtype.itemsize
    shift = 1
    while shift < width:
        field = sum(1 << b for b in range(width) if (b // shift) % 2 == 0)  # 0x55.., 0x33.., 0x0f.., ...
        mask = _constant_like(u, field)
        u = binary["add"].bind(binary["and"].bind(u, mask),
                               binary["and"].bind(binary["shift_right"].bind(u, _constant_like(u, shift)), mask))
        shift *= 2
    return bitcast_convert_type(u, x.dtype)


def clz(x: ArrayLike) -> Array:
    """The number of leading 0 bits of each integer, as `jax.lax.clz`: the
    width less the population count of x with every bit below its highest
    set bit set too."""
    (x,) = _operands("clz", x)
    _check_kind("clz", x, "iu")
    u = _bits_as(x, signed=False)
    width = 8 * x.dtype.itemsize
    shift = 1
    while shift < width:
        u = binary["or"].bind(u, binary["shift_right"].bind(u, _constant_like(u, shift)))
        shift *= 2
    return binary["sub"].bind(_constant_like(x, width), population_count(bitcast_convert_type(u, x.dtype)))


def nextafter(x1: ArrayLike, x2: ArrayLike) -> Array:
    """The next float after x1 towards x2, as `jax.lax.nextafter`: jnp's, on
    operands of one float dtype."""
    x1, x2 = _operands("nextafter", x1, x2)
    _check_kind("nextafter", x1, "f", " at position 0")
    return numpy_nextafter(x1, x2)


class RoundingMethod(enum.IntEnum):
    """How `round` breaks ties, as `jax.lax.RoundingMethod`."""
    AWAY_FROM_ZERO = 0
    TO_NEAREST_EVEN = 1


def round(x: ArrayLike, rounding_method: RoundingMethod = RoundingMethod.AWAY_FROM_ZERO) -> Array:  # noqa: A001
    """x rounded to the nearest integer, ties away from zero (`2.5` -> 3) or to
    even (-> 2), as `jax.lax.round`. Away from zero is t + sign(x) where
    |x - t| >= 1/2, t = trunc(x): x - t is exact, so no tie is misjudged."""
    (x,) = _operands("round", x)
    _check_kind("round", x, "f")
    if RoundingMethod(rounding_method) == RoundingMethod.TO_NEAREST_EVEN:
        return unary["round"].bind(x)
    t = unary["trunc"].bind(x)
    half = binary["ge"].bind(unary["abs"].bind(binary["sub"].bind(x, t)), _constant_like(x, 0.5))
    return select_p.bind(half, binary["add"].bind(t, unary["sign"].bind(x)), t)


def pow(x: ArrayLike, y: ArrayLike) -> Array:  # noqa: A001 (lax's name)
    """x ** y, as `jax.lax.pow`: an inexact x with y of its dtype, or to an
    integer power y of any integer dtype (integers to integer powers are
    jnp.power's)."""
    x, y = asarray(x), asarray(y)
    _check_kind("pow", x, "fc", " at position 0")
    if dtypes.is_inexact(x.dtype) and dtypes.is_int(y.dtype):
        _check_ranks("pow", (x, y))
        return power_to_integers(x, y)
    x, y = _operands("pow", x, y)
    return binary["pow"].bind(x, y)


def _integer_pow(name: str, x: ArrayLike, y: int) -> Array:
    (x,) = _operands(name, x)
    _check_kind(name, x, "iufc")
    check_integer_exponent(x, y)
    return integer_power(x, y)


def integer_pow(x: ArrayLike, y: int) -> Array:
    """x ** y for a Python int y, as `jax.lax.integer_pow`: repeated squaring
    (a negative y of a float is 1 / x ** -y)."""
    return _integer_pow("integer_pow", x, y)


def square(x: ArrayLike) -> Array:
    """x * x, as `jax.lax.square`."""
    return _integer_pow("square", x, 2)


def reciprocal(x: ArrayLike) -> Array:
    """1 / x, as `jax.lax.reciprocal`."""
    return integer_pow(x, -1)


def convert_element_type(operand: ArrayLike, new_dtype: DTypeLike) -> Array:
    """`operand` converted to `new_dtype`, as `jax.lax.convert_element_type`
    (floats to integers truncate towards zero; the result is strongly typed)."""
    x = asarray(operand)
    new_dtype = dtypes.canonicalize_dtype(new_dtype)
    if x.dtype == new_dtype and not x.weak_type:
        return x
    dtypes.warn_complex_to_real(x.dtype, new_dtype)
    return convert_p.bind(x, new_dtype=new_dtype, weak_type=False)


def reduce_precision(operand: ArrayLike, exponent_bits: int, mantissa_bits: int) -> Array:
    """operand rounded to the float format of `exponent_bits` and
    `mantissa_bits` (to nearest, ties to even; no subnormals: what is below
    its smallest normal is ±0, above its largest finite ±inf) and held in
    operand's dtype, as `jax.lax.reduce_precision` (XLA's ReducePrecision).
    The 8- and 4-bit floats round in float32, as XLA's. Linear, as JAX
    differentiates it: the tangent and the cotangent are reduced alike."""
    exponent_bits, mantissa_bits = operator.index(exponent_bits), operator.index(mantissa_bits)
    (x,) = _operands("reduce_precision", operand)
    _check_kind("reduce_precision", x, "f")
    if exponent_bits < 1:
        raise ValueError(f"reduce_precision: exponent_bits must be positive; got {exponent_bits}")
    if mantissa_bits < 0:
        raise ValueError(f"reduce_precision: mantissa_bits must be non-negative; got {mantissa_bits}")
    return _reduce_precision_linear(exponent_bits, mantissa_bits)(x)


@functools.cache
def _reduce_precision_linear(exponent_bits: int, mantissa_bits: int):
    """reduce_precision to one format with JAX's derivative rules: a JVP and a
    transpose that apply it to the tangent and to the cotangent."""
    # (custom_derivatives imports staging, whose imports reach this module: not before a first call)
    from irax.frontend.custom_derivatives import custom_vjp_and_jvp

    def value(x):
        if dtypes.is_bit_float(x.dtype):
            wide = convert_p.bind(x, new_dtype=dtypes.float32, weak_type=False)
            return convert_p.bind(_reduce_precision_bits(wide, exponent_bits, mantissa_bits), new_dtype=x.dtype,
                                  weak_type=x.weak_type)
        out = _reduce_precision_bits(x, exponent_bits, mantissa_bits)
        return convert_p.bind(out, new_dtype=x.dtype, weak_type=x.weak_type) if x.weak_type else out

    linear = custom_vjp_and_jvp(value)  # the rules call it again, so that they too have these rules (hessian)
    linear.defvjp(lambda x: (linear(x), ()), lambda _, ct: (linear(ct),))
    linear.defjvp(lambda primals, tangents: (linear(*primals), linear(*tangents)))
    return linear


def _reduce_precision_bits(x, exponent_bits: int, mantissa_bits: int):
    """XLA's ReducePrecision of a float16/bfloat16/float32/float64 x, on its
    bits b read as an unsigned integer (sign s, e exponent and m mantissa bits):

    - rounding: to keep m' < m mantissa bits, add to b half the unit of the
      last kept bit less one, plus that last bit (ties go to even), then clear
      the m - m' bits below it; a carry out of the mantissa bumps the exponent,
      which is the right rounding up to the next binade (or to inf).
    - range: with e' < e exponent bits, biased exponents above the bias of
      1.0 plus the target's bias (2^(e'-1) - 1) overflow to ±inf, those at or
      below the bias of 1.0 less the target's flush to ±0: the target has no
      subnormals.
    - a NaN (|b| above inf's bits) stays x, which rounding could have made
      inf or ±0 (as JAX's on CPU, even with m' = 0).

    Formats as wide as x's in both fields give x back."""
    info = ml_dtypes.finfo(x.dtype)
    src_exponent_bits, src_mantissa_bits = info.nexp, info.nmant
    if exponent_bits >= src_exponent_bits and mantissa_bits >= src_mantissa_bits:
        return x
    bits = _bits_as(x, signed=False)
    width = 8 * x.dtype.itemsize
    sign_mask, exponent_mask = 1 << (width - 1), ((1 << src_exponent_bits) - 1) << src_mantissa_bits
    const = functools.partial(_constant_like, bits)
    is_nan = binary["gt"].bind(binary["and"].bind(bits, const(sign_mask - 1)), const(exponent_mask))
    if mantissa_bits < src_mantissa_bits:
        last_kept = 1 << (src_mantissa_bits - mantissa_bits)
        odd = binary["ne"].bind(binary["and"].bind(bits, const(last_kept)), const(0))
        bias = select_p.bind(odd, const(last_kept // 2), const(last_kept // 2 - 1))
        bits = binary["and"].bind(binary["add"].bind(bits, bias), const((1 << width) - last_kept))
    if exponent_bits < src_exponent_bits:
        one_bias, target_bias = (1 << (src_exponent_bits - 1)) - 1, (1 << (exponent_bits - 1)) - 1
        exponent = binary["and"].bind(bits, const(exponent_mask))
        signed_zero = binary["and"].bind(bits, const(sign_mask))
        signed_inf = binary["or"].bind(signed_zero, const(exponent_mask))
        overflows = binary["gt"].bind(exponent, const((one_bias + target_bias) << src_mantissa_bits))
        underflows = binary["le"].bind(exponent, const((one_bias - target_bias) << src_mantissa_bits))
        bits = select_p.bind(overflows, signed_inf, bits)
        bits = select_p.bind(underflows, signed_zero, bits)
    return select_p.bind(is_nan, x, bitcast_convert_type(bits, x.dtype))


def select_n(which: ArrayLike, *cases: ArrayLike) -> Array:
    """cases[which] elementwise, as `jax.lax.select_n`: `which` is bool (two
    cases: False picks the first) or an integer in [0, len(cases)), 0-d or of
    the cases' shape. A chain of selects, one per case after the first."""
    if not cases:
        raise ValueError("select_n called with no cases")
    which = asarray(which)
    cases = _operands("select", *cases)
    if which.ndim and which.shape != cases[0].shape:
        raise TypeError(f"select_n: which must be a scalar or have the same shape as cases, got which shape "
                        f"{which.shape} but case shape {cases[0].shape}.")
    if not (dtypes.is_bool(which.dtype) or dtypes.is_int(which.dtype)):
        raise TypeError(f"select `which` must be boolean or integer type, got {which.dtype.name}.")
    if dtypes.is_bool(which.dtype):
        if len(cases) > 2:
            raise TypeError("select with boolean `which` cannot have > 2 cases.")
        return select_p.bind(which, cases[-1], cases[0])
    out = cases[0]
    for k, case in enumerate(cases[1:], start=1):
        out = select_p.bind(binary["eq"].bind(which, _constant_like(which, k)), case, out)
    return out

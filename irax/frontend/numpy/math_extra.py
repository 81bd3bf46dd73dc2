"""Constants, dtype utilities and the elementwise functions of `irax.numpy`
that are compositions of the primitive ones (ufuncs.py), written as JAX
writes them so that values, dtypes and special cases agree:

    copysign(x, y)   |x| with the sign bit of y        signbit: the bit itself
    fmod(x, y)       x - y trunc(x / y) (C's remainder), sign of x
    hypot(x, y)      M sqrt(1 + (m / M)^2), M = max(|x|, |y|), m = min
    logaddexp(x, y)  max + log1p(exp(-|x - y|))         (log2/exp2 for logaddexp2)
    sinc(x)          sin(pi x) / (pi x), 1 at 0
    frexp(x)         (m, e) with x = m 2^e, 0.5 <= |m| < 1, read off the bits
    ldexp(x, e)      x 2^e, in three normal factors so that 2^e cannot overflow early
    gcd(a, b)        Euclid's algorithm, unrolled: it ends within 1.45 bits steps
    spacing(x)       nextafter(x, inf) - x, toward -inf for negative x
(The complex helpers real, imag, conj, angle, ...: complex_parts.py.)
"""
from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any

import ml_dtypes
import numpy as np

from irax.frontend import dtypes
from irax.frontend.numpy import creation, reductions, ufuncs
from irax.frontend.numpy.complex_parts import imag, real
from irax.frontend.numpy.util import (asarray, canonicalize_axes, check_arraylike, is_array, promote_args, promote_args_inexact,
                                      promote_args_numeric)
from irax.frontend.primitives.elementwise import binary, bitcast_convert_type, convert_element_type
from irax.typing import Array, ArrayLike, DTypeLike, Shape

pi = np.pi
e = np.e
inf = np.inf
nan = np.nan
euler_gamma = np.euler_gamma
newaxis = None
finfo = ml_dtypes.finfo  # as JAX: they know bfloat16
iinfo = ml_dtypes.iinfo
can_cast = np.can_cast


def iterable(y: Any) -> bool:
    """Whether iter(y) works."""
    return np.iterable(y)


# irax arrays print through NumPy's formatting, so NumPy's print options are theirs.

def array_repr(arr: ArrayLike, max_line_width: int | None = None, precision: int | None = None,
               suppress_small: bool | None = None) -> str:
    """The repr of arr, with NumPy's formatting options."""
    return np.array_repr(arr, max_line_width, precision, suppress_small)


def array_str(a: ArrayLike, max_line_width: int | None = None, precision: int | None = None,
              suppress_small: bool | None = None) -> str:
    """The str of a's elements, with NumPy's formatting options."""
    return np.array_str(np.asarray(a), max_line_width, precision, suppress_small)


def get_printoptions() -> dict[str, Any]:
    """NumPy's current print options."""
    return np.get_printoptions()


def set_printoptions(*args: Any, **kwargs: Any) -> None:
    """Set NumPy's print options (numpy.set_printoptions)."""
    np.set_printoptions(*args, **kwargs)


def printoptions(*args: Any, **kwargs: Any) -> Any:
    """A context manager for NumPy's print options (numpy.printoptions)."""
    return np.printoptions(*args, **kwargs)


def ndim(a: ArrayLike) -> int:
    """The number of dimensions of `a` (an array or anything NumPy reads as one)."""
    return a.ndim if is_array(a) else np.ndim(a)


def shape(a: ArrayLike) -> tuple[int, ...]:
    """The shape of `a`."""
    return a.shape if is_array(a) else np.shape(a)


def size(a: ArrayLike, axis: int | Sequence[int] | None = None) -> int:
    """The number of elements of `a`, or of its subarrays along `axis` (an
    axis or a tuple of them: the product of their lengths, as JAX's)."""
    s = shape(a)
    return math.prod(s[k] for k in canonicalize_axes("size", axis, len(s)))


def isscalar(element: Any) -> bool:
    """True for Python and NumPy scalars and for 0-d arrays (JAX's rule:
    unlike NumPy, an irax 0-d array is a scalar)."""
    if is_array(element) or isinstance(element, np.ndarray):
        return element.ndim == 0
    return np.isscalar(element)


# kind -> the NumPy abstract dtype it names (the Array API's isdtype)
_DTYPE_KINDS = {
    "bool": np.bool_, "signed integer": np.signedinteger, "unsigned integer": np.unsignedinteger,
    "integral": np.integer, "real floating": np.floating, "complex floating": np.complexfloating,
    "numeric": np.number,
}


def isdtype(dtype: DTypeLike, kind: str | DTypeLike | tuple) -> bool:
    """Whether `dtype` is of `kind`: a dtype, one of the Array API's kind
    names ('bool', 'signed integer', 'unsigned integer', 'integral',
    'real floating', 'complex floating', 'numeric'), or a tuple of those."""
    dtype = np.dtype(dtype)
    for k in kind if isinstance(kind, tuple) else (kind,):
        if isinstance(k, str):
            if k not in _DTYPE_KINDS:
                raise ValueError(f"Unrecognized {kind=!r}")
            abstract = _DTYPE_KINDS[k]
            if np.issubdtype(dtype, abstract) or dtype == dtypes.bfloat16 and abstract in (np.floating, np.number):
                return True
        elif dtype == np.dtype(k):
            return True
    return False


def array_equiv(a1: ArrayLike, a2: ArrayLike) -> Array:
    """Whether a1 and a2 broadcast together and are equal everywhere
    (False, not an error, when they do not broadcast)."""
    check_arraylike("array_equiv", a1, a2)
    try:
        broadcast_shapes(np.shape(a1) if not is_array(a1) else a1.shape, np.shape(a2) if not is_array(a2) else a2.shape)
    except ValueError:
        return asarray(False)
    return reductions.all(ufuncs.equal(a1, a2))


def broadcast_shapes(*shapes: Shape) -> tuple[int, ...]:
    """The shape the given shapes broadcast to."""
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        raise ValueError(f"Incompatible shapes for broadcasting: shapes={[tuple(s) for s in shapes]}") from None


# ---------------------------------------------------------------------------
# Array API names of existing functions

acos = ufuncs.arccos
asin = ufuncs.arcsin
atan = ufuncs.arctan
atan2 = ufuncs.arctan2
acosh = ufuncs.arccosh
asinh = ufuncs.arcsinh
atanh = ufuncs.arctanh
pow = ufuncs.power  # noqa: A001
bitwise_invert = ufuncs.invert
bitwise_left_shift = ufuncs.left_shift
bitwise_right_shift = ufuncs.right_shift


def fabs(x: ArrayLike, /) -> Array:
    """|x| as a float."""
    (x,) = promote_args_inexact("fabs", x)
    if dtypes.is_complex(x.dtype):
        raise TypeError("ufunc 'fabs' does not support complex dtypes")
    return ufuncs.abs(x)


def float_power(x: ArrayLike, y: ArrayLike, /) -> Array:
    """x ** y in floats."""
    return ufuncs.power(*promote_args_inexact("float_power", x, y))


def divmod(x1: ArrayLike, x2: ArrayLike, /) -> tuple[Array, Array]:  # noqa: A001
    """(x1 // x2, x1 % x2)."""
    return ufuncs.floor_divide(x1, x2), ufuncs.remainder(x1, x2)


def deg2rad(x: ArrayLike, /) -> Array:
    """x pi / 180."""
    (x,) = promote_args_inexact("deg2rad", x)
    return ufuncs.multiply(x, np.pi / 180)


def rad2deg(x: ArrayLike, /) -> Array:
    """x 180 / pi."""
    (x,) = promote_args_inexact("rad2deg", x)
    return ufuncs.multiply(x, 180 / np.pi)


radians = deg2rad
degrees = rad2deg


# ---------------------------------------------------------------------------
# Sign bits and remainders

# float width in bits -> (the unsigned integer of that width, mantissa bits)
_FLOAT_BITS = {16: (np.uint16, None), 32: (np.uint32, 23), 64: (np.uint64, 52)}


def signbit(x: ArrayLike, /) -> Array:
    """Whether x's sign bit is set: x < 0 for integers, and for floats also
    -0.0 and NaNs with the sign bit."""
    (x,) = promote_args("signbit", x)
    if dtypes.is_bool(x.dtype):
        return ufuncs.logical_and(x, False)
    if dtypes.is_complex(x.dtype):
        raise ValueError(f"jax.numpy.signbit is not well defined for {x.dtype.name}")
    if not dtypes.is_float(x.dtype):
        return ufuncs.strong(ufuncs.less(x, 0))  # (JAX compares with a strong 0)
    if x.dtype == np.float64:  # its float32 rounding has its sign bit: IREE's Vulkan code cannot bitcast f64
        x = x.astype(np.float32)
    bits = x.dtype.itemsize * 8
    uint = _FLOAT_BITS[bits][0]
    as_bits = bitcast_convert_type.bind(x, new_dtype=np.dtype(uint))
    return ufuncs.not_equal(ufuncs.right_shift(as_bits, uint(bits - 1)), 0)


def copysign(x1: ArrayLike, x2: ArrayLike, /) -> Array:
    """|x1| with the sign of x2 (its sign bit: -0.0 counts as negative)."""
    x1, x2 = promote_args_inexact("copysign", x1, x2)
    if dtypes.is_complex(x1.dtype):
        raise TypeError("copysign does not support complex-valued inputs")
    return ufuncs.where(signbit(x2), ufuncs.negative(ufuncs.abs(x1)), ufuncs.abs(x1))


def _magnitude(x):
    """|x| as a select on the sign bit: its derivative is -1 or 1, at ±0 too (abs's is 0 there)."""
    return ufuncs.where(signbit(x), ufuncs.negative(x), x)


def fmod(x1: ArrayLike, x2: ArrayLike, /) -> Array:
    """C's remainder x1 - x2 trunc(x1 / x2), with the sign of x1. Floats: the
    floored remainder of the magnitudes (exact), signed. Integers: by the
    truncating division (|INT_MIN| is not an int), x % 0 being 0 as JAX's."""
    check_arraylike("fmod", x1, x2)
    by_bools = dtypes.is_bool(dtypes.lattice_result_type(x1, x2)[0])
    x1, x2 = promote_args_numeric("fmod", x1, x2)
    if dtypes.is_complex(x1.dtype):  # (JAX's lax.rem: complex has no remainder)
        raise TypeError(f"rem does not accept dtype {x1.dtype.name} at position 0. Accepted dtypes at position 0 "
                        "are subtypes of integer, floating.")
    if dtypes.is_float(x1.dtype):  # magnitudes and sign by selects, not abs: derivatives 1 and -trunc(x1 / x2) at 0 too
        r = ufuncs.remainder(_magnitude(x1), _magnitude(x2))
        return ufuncs.where(signbit(x1), ufuncs.negative(r), r)
    if not by_bools:  # JAX divides bools (as int32) by False as lax.rem does: x % 0 is x
        x2 = ufuncs.where(ufuncs.equal(x2, 0), creation.ones_like(x2), x2)
    return binary["sub"].bind(x1, binary["mul"].bind(binary["div"].bind(x1, x2), x2))


def modf(x: ArrayLike, /, out: None = None) -> tuple[Array, Array]:
    """(fractional part, integral part), both with the sign of x."""
    if out is not None:
        raise NotImplementedError("The 'out' argument to jnp.modf is not supported.")
    (x,) = promote_args_inexact("modf", x)
    whole = ufuncs.where(ufuncs.greater_equal(x, 0), ufuncs.floor(x), ufuncs.ceil(x))
    return ufuncs.subtract(x, whole), whole


def frexp(x: ArrayLike, /) -> tuple[Array, Array]:
    """(m, e) with x = m 2^e and 0.5 <= |m| < 1 (m = x, e = 0 for 0, inf and
    NaN), read off the bits in float32 for half precision: e is the exponent
    field less its bias, m the bits with the exponent field of 2^-1. All on
    the bits, as NumPy's: a float test or product would read a subnormal as
    0 on the CPU (flush to zero), so a subnormal's mantissa field m (x = m
    2^-149 in float32) is converted to the float m, exact and normal, whose
    exponent is then 149 less (1074 in float64)."""
    (x,) = promote_args_inexact("frexp", x)
    wide = asarray(x, np.float32) if x.dtype.itemsize < 4 else x
    uint, mantissa_bits = _FLOAT_BITS[wide.dtype.itemsize * 8]
    info = finfo(wide.dtype)
    bits = bitcast_convert_type.bind(wide, new_dtype=np.dtype(uint))
    sign_bit, field_mask = uint(1 << (8 * wide.dtype.itemsize - 1)), uint((2**info.nexp - 1) << mantissa_bits)
    magnitude = ufuncs.bitwise_and(bits, ~sign_bit)
    field = ufuncs.bitwise_and(magnitude, field_mask)
    subnormal = ufuncs.logical_and(ufuncs.equal(field, uint(0)), ufuncs.not_equal(magnitude, uint(0)))
    as_normal = bitcast_convert_type.bind(asarray(magnitude, wide.dtype), new_dtype=np.dtype(uint))
    bits = ufuncs.where(subnormal, ufuncs.bitwise_or(as_normal, ufuncs.bitwise_and(bits, sign_bit)), bits)
    biased = asarray(ufuncs.right_shift(ufuncs.bitwise_and(bits, field_mask), uint(mantissa_bits)), np.int32)
    half = info.maxexp - 2  # (the biased exponent of 0.5, less one)
    exponent = ufuncs.subtract(biased, ufuncs.where(subnormal, 2 * half + mantissa_bits, half))
    half_bits = ufuncs.bitwise_or(ufuncs.bitwise_and(bits, ~field_mask), uint(half << mantissa_bits))
    special = ufuncs.logical_or(ufuncs.equal(magnitude, uint(0)), ufuncs.equal(field, field_mask))
    mantissa = ufuncs.where(special, wide, bitcast_convert_type.bind(half_bits, new_dtype=wide.dtype))
    return asarray(mantissa, x.dtype), ufuncs.where(special, 0, exponent)


def _power_of_two(k, dtype):
    """2^k, exactly, for integer k of normal range: the exponent bits
    themselves (exp2 of an integer need not be exact)."""
    uint, mantissa_bits = _FLOAT_BITS[dtype.itemsize * 8]
    biased = asarray(ufuncs.add(k, finfo(dtype).maxexp - 1), uint)
    return bitcast_convert_type.bind(ufuncs.left_shift(biased, uint(mantissa_bits)), new_dtype=dtype)


def ldexp(x1: ArrayLike, x2: ArrayLike, /) -> Array:
    """x1 2^x2 for integer x2, as x1 2^a 2^b 2^c with a + b + c = x2: each
    factor an exact normal float, so 2^x2 cannot overflow or flush to 0 on
    the way to a result in range (x2 is clipped to what any result can use).
    Half precision is scaled in float32."""
    check_arraylike("ldexp", x1, x2)
    if dtypes.is_complex(asarray(x1).dtype) or dtypes.is_inexact(asarray(x2).dtype):  # a bool x2 is 0 or 1
        raise ValueError(f"ldexp not supported for input types {(asarray(x1).dtype, asarray(x2).dtype)}")
    (x1,) = promote_args_inexact("ldexp", x1)
    x = asarray(x1, np.float32) if x1.dtype.itemsize < 4 else x1
    limit = finfo(x.dtype).maxexp - 2
    e = asarray(x2)
    if not np.can_cast(e.dtype, np.int32):  # (uint32, 64-bit ints: clipped before narrowing, which would wrap)
        e = ufuncs.clip(e, 0 if dtypes.issubdtype(e.dtype, np.unsignedinteger) else -3 * limit, 3 * limit)
    e = ufuncs.clip(asarray(e, np.int32), -3 * limit, 3 * limit)
    a = ufuncs.floor_divide(e, 3)
    b = ufuncs.floor_divide(ufuncs.subtract(e, a), 2)
    for k in (a, b, ufuncs.subtract(ufuncs.subtract(e, a), b)):
        x = ufuncs.multiply(x, _power_of_two(k, x.dtype))
    return asarray(x, x1.dtype)


def spacing(x: ArrayLike, /) -> Array:
    """The distance from x to the next float away from zero: nextafter(x, ±inf) - x,
    and ±the smallest subnormal at ±0 (where the subtraction could flush it to 0)."""
    (x,) = promote_args_inexact("spacing", x)
    if x.dtype == np.float16:  # NumPy's (and JAX's) float16 spacing always steps toward +inf
        return ufuncs.subtract(nextafter(x, np.inf), x)
    step = ufuncs.subtract(nextafter(x, ufuncs.where(signbit(x), -np.inf, np.inf)), x)
    return ufuncs.where(ufuncs.equal(x, 0), copysign(finfo(x.dtype).smallest_subnormal, x), step)


def without_derivative(name: str):
    """A decorator: the function, whose derivative, when a transformation
    asks for one, is JAX's error for its primitive `name`, which has no
    differentiation rule (custom_derivatives.no_derivative)."""
    def wrap(fun):
        @functools.cache
        def undifferentiable():
            from irax.frontend.custom_derivatives import no_derivative  # (it imports irax.numpy)
            return no_derivative(fun, NotImplementedError(f"Differentiation rule for '{name}' not implemented"))
        return functools.wraps(fun)(lambda *args: undifferentiable()(*args))
    return wrap


def nextafter(x: ArrayLike, y: ArrayLike, /) -> Array:
    """The float after x in the direction of y: x's bits as an integer, one
    up or down (±0 steps to the smallest subnormal of y's sign). Not
    differentiable, as JAX's lax.nextafter."""
    return _nextafter(*promote_args_inexact("nextafter", x, y))


@without_derivative("nextafter")
def _nextafter(x: Array, y: Array) -> Array:
    uint = np.dtype(_FLOAT_BITS[x.dtype.itemsize * 8][0])
    bits = bitcast_convert_type.bind(x, new_dtype=uint)
    away = ufuncs.not_equal(ufuncs.less(x, y), signbit(x))  # moving away from zero adds one to the bits
    one = uint.type(1)
    stepped = bitcast_convert_type.bind(ufuncs.where(away, ufuncs.add(bits, one), ufuncs.subtract(bits, one)),
                                        new_dtype=x.dtype)
    smallest = copysign(finfo(x.dtype).smallest_subnormal, ufuncs.subtract(y, x))
    stepped = ufuncs.where(ufuncs.equal(x, 0), smallest, stepped)
    out = ufuncs.where(ufuncs.logical_or(ufuncs.isnan(x), ufuncs.isnan(y)), ufuncs.add(x, y),
                       ufuncs.where(ufuncs.equal(x, y), y, stepped))
    # weak where both operands are, as JAX's (the bitcasts made it strong): nextafter(2, 1) is a weak float32
    return convert_element_type.bind(out, new_dtype=out.dtype, weak_type=True) if x.weak_type and y.weak_type else out


# ---------------------------------------------------------------------------
# Combinations of two operands

def hypot(x1: ArrayLike, x2: ArrayLike, /) -> Array:
    """sqrt(x1^2 + x2^2) without overflow: M sqrt(1 + (m / M)^2), inf if either is."""
    x1, x2 = promote_args_inexact("hypot", x1, x2)
    if dtypes.is_complex(x1.dtype):
        raise ValueError("jnp.hypot is not well defined for complex-valued inputs. Please convert to real values "
                         "first, such as by using abs(x)")
    a, b = ufuncs.abs(x1), ufuncs.abs(x2)
    big, small = ufuncs.maximum(a, b), ufuncs.minimum(a, b)
    ratio = ufuncs.divide(small, ufuncs.where(ufuncs.equal(big, 0), 1, big))
    out = ufuncs.multiply(big, ufuncs.sqrt(ufuncs.add(1, ufuncs.square(ratio))))
    out = ufuncs.where(ufuncs.logical_or(ufuncs.isinf(a), ufuncs.isinf(b)), np.inf, out)
    # JAX's inf is a strongly typed constant of x1's dtype: strong, but for a 0-d one of weak operands
    return out if x1.weak_type and out.ndim == 0 else ufuncs.strong(out)


def _logaddexp(name, log1p_of_exp, exp, half_turn):
    """logaddexp (`exp` = e^x) or logaddexp2 (2^x), whose derivative is
    JAX's rule: d out = exp(x1 - out) dx1 + exp(x2 - out) dx2, the weights
    of a softmax (half each where x1 = x2, which differentiating max and
    |x1 - x2| made 1 and 0), +inf read as 0 so that logaddexp(inf, y) passes
    dx1 on (for complex x, where its real part is +inf).

    Complex operands (NumPy has none) as JAX's: out = amax + log1p(exp(x1 +
    x2 - 2 amax)), amax the lexicographic maximum, with the imaginary part
    wrapped into [-`half_turn`, half_turn) (π, or π / ln 2 in base 2): the
    branch of the logarithm that log's is."""
    @functools.cache
    def with_rule():
        # (custom_derivatives imports irax.frontend.numpy, so not before a first call)
        from irax.frontend.custom_derivatives import custom_jvp

        @custom_jvp
        def value(x1, x2):
            amax = ufuncs.maximum(x1, x2)
            if dtypes.is_complex(x1.dtype):
                out = ufuncs.add(amax, log1p_of_exp(ufuncs.subtract(ufuncs.add(x1, x2), ufuncs.multiply(amax, 2))))
                return binary["complex"].bind(real(out), _wrap(imag(out), half_turn))
            delta = ufuncs.subtract(x1, x2)
            return ufuncs.where(ufuncs.isnan(delta), ufuncs.add(x1, x2),
                                ufuncs.add(amax, log1p_of_exp(ufuncs.negative(ufuncs.abs(delta)))))

        @value.defjvp
        def _(primals, tangents):
            out = value(*primals)
            finite = lambda x: ufuncs.where(ufuncs.equal(real(x), np.inf), 0, x)  # noqa: E731
            return out, sum(ufuncs.multiply(t, exp(ufuncs.subtract(finite(x), finite(out))))
                            for x, t in zip(primals, tangents))
        return value

    def fn(x1: ArrayLike, x2: ArrayLike, /) -> Array:
        return with_rule()(*promote_args_inexact(name, x1, x2))

    fn.__name__ = fn.__qualname__ = name
    return fn


def _wrap(x, a):
    """x moved by a multiple of 2a into [-a, a): C's remainder of x + a by
    2a, made non-negative, less a (JAX's _wrap_between)."""
    r = fmod(ufuncs.add(x, a), 2 * a)
    return ufuncs.subtract(ufuncs.where(ufuncs.less(r, 0), ufuncs.add(r, 2 * a), r), a)


logaddexp = _logaddexp("logaddexp", lambda d: ufuncs.log1p(ufuncs.exp(d)), ufuncs.exp, np.pi)
logaddexp.__doc__ = "log(exp(x1) + exp(x2)) = max + log1p(exp(-|x1 - x2|)), which cannot overflow."
logaddexp2 = _logaddexp("logaddexp2", lambda d: ufuncs.divide(ufuncs.log1p(ufuncs.exp2(d)), math.log(2)), ufuncs.exp2,
                        np.pi / math.log(2))
logaddexp2.__doc__ = "log2(2^x1 + 2^x2) = max + log1p(2^-|x1 - x2|) / ln 2."


def heaviside(x1: ArrayLike, x2: ArrayLike, /) -> Array:
    """0 where x1 < 0, 1 where x1 > 0, x2 where x1 == 0 (NaN stays NaN).
    JAX's 0 and 1 are strongly typed NumPy constants of x1's dtype, so the
    result is strong, except a 0-d one of weak operands (as JAX's is)."""
    x1, x2 = promote_args_inexact("heaviside", x1, x2)
    if dtypes.is_complex(x1.dtype):  # (JAX's error: its heaviside compares x1 with lax.lt)
        raise TypeError(f"lt does not accept dtype {x1.dtype.name} at position 0. Accepted dtypes at position 0 are "
                        "subtypes of integer, floating, bool.")
    out = ufuncs.where(ufuncs.less(x1, 0), 0, ufuncs.where(ufuncs.greater(x1, 0), 1,
                                                           ufuncs.where(ufuncs.isnan(x1), x1, x2)))
    return out if x1.weak_type and out.ndim == 0 else ufuncs.strong(out)


def _nan_aware(name, pick, beats):
    def fn(x1: ArrayLike, x2: ArrayLike) -> Array:
        x1, x2 = promote_args(name, x1, x2)
        if not dtypes.is_inexact(x1.dtype):  # (a complex NaN has a NaN part, and compares by its parts)
            return pick(x1, x2)
        return ufuncs.where(ufuncs.logical_or(beats(x1, x2), ufuncs.isnan(x2)), x1, x2)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = (f"`{pick.__name__}` ignoring NaNs (NaN only where both are): x1 where it {beats.__name__} x2 or "
                  "x2 is NaN, else x2, as JAX's; so a tie (0 and -0 too) is x2, and its derivative x2's.")
    return fn


fmax = _nan_aware("fmax", ufuncs.maximum, ufuncs.greater)
fmin = _nan_aware("fmin", ufuncs.minimum, ufuncs.less)


# sin(y) / y = sum_k (-1)^k y^2k / (2k + 1)!, to y^8
_SINC_SERIES = [(-1) ** k / math.factorial(2 * k + 1) for k in range(5)]


def sinc(x: ArrayLike, /) -> Array:
    """sin(pi x) / (pi x), and at x = 0 its Maclaurin series in y = pi x to
    y^8: 1 there, and derivatives sinc's own to the ninth (the second is
    -pi^2 / 3, as JAX's; a constant 1 gave 0). The division is kept away
    from 0, and the series' y is 0 elsewhere (at |x| = 1e30 y^2 overflowed,
    and the gradient through the unused series was 0 * inf), so that no
    derivative is NaN."""
    (x,) = promote_args_inexact("sinc", x)
    zero = ufuncs.equal(x, 0)
    y = ufuncs.multiply(np.pi, x)
    at_zero = ufuncs.where(zero, y, 0)
    y2 = ufuncs.multiply(at_zero, at_zero)
    series = _SINC_SERIES[-1]
    for c in _SINC_SERIES[-2::-1]:
        series = ufuncs.add(ufuncs.multiply(series, y2), c)
    safe = ufuncs.where(zero, 1, y)
    return ufuncs.where(zero, series, ufuncs.divide(ufuncs.sin(safe), safe))


def _integers(name, *args):
    args = promote_args(name, *args)
    if not dtypes.is_int(args[0].dtype):
        raise ValueError(f"Arguments to jax.numpy.{name} must be integers.")
    return args


def gcd(x1: ArrayLike, x2: ArrayLike) -> Array:
    """The greatest common divisor of |x1| and |x2| (gcd(0, 0) = 0), by
    Euclid's (a, b) -> (b, a mod b), a fixed number of steps: Lamé's bound,
    log_phi(2^bits) < 1.45 bits, so every pair has reached b = 0."""
    x1, x2 = _integers("gcd", x1, x2)
    a, b = ufuncs.abs(x1), ufuncs.abs(x2)
    for _ in range(math.ceil(1.45 * 8 * x1.dtype.itemsize)):
        done = ufuncs.equal(b, 0)
        a, b = ufuncs.where(done, a, b), ufuncs.where(done, 0, ufuncs.remainder(a, ufuncs.where(done, 1, b)))
    return a


def lcm(x1: ArrayLike, x2: ArrayLike) -> Array:
    """|x1| (|x2| / gcd), 0 when either is 0: the magnitudes multiplied, so
    that an overflow wraps as NumPy's and JAX's does (lcm(int8(-37), 4) is
    148, wrapped to -108; |-37 * 4| wrapped was 108)."""
    x1, x2 = _integers("lcm", x1, x2)
    x1, x2 = ufuncs.abs(x1), ufuncs.abs(x2)
    d = gcd(x1, x2)
    return ufuncs.where(ufuncs.equal(d, 0), 0, ufuncs.multiply(x1, ufuncs.floor_divide(x2, d)))


def bitwise_count(x: ArrayLike, /) -> Array:
    """The number of 1 bits of |x|, as uint8: the bits summed by halves
    (the SWAR popcount: pairs, nibbles, bytes, ...)."""
    (x,) = promote_args("bitwise_count", x)
    if dtypes.is_inexact(x.dtype):  # JAX's, of |x| (a complex's is real)
        raise TypeError(f"population_count does not accept dtype {dtypes.real_dtype(x.dtype).name}. Accepted dtypes "
                        "are subtypes of integer.")
    if dtypes.is_bool(x.dtype):
        return asarray(x, np.uint8)
    uint = np.dtype(f"u{x.dtype.itemsize}")
    v = asarray(ufuncs.abs(x), uint)
    width, shift = 8 * uint.itemsize, 1
    while shift < width:
        block = (1 << shift) - 1
        mask = uint.type(sum(block << i for i in range(0, width, 2 * shift)))
        v = ufuncs.add(ufuncs.bitwise_and(v, mask), ufuncs.bitwise_and(ufuncs.right_shift(v, uint.type(shift)), mask))
        shift *= 2
    return asarray(v, np.uint8)


# ---------------------------------------------------------------------------
# Classification of values

def isposinf(x: ArrayLike, /, out: None = None) -> Array:
    """x == +inf (always false for integers)."""
    return _is_infinity("isposinf", x, np.inf, out)


def isneginf(x: ArrayLike, /, out: None = None) -> Array:
    """x == -inf (always false for integers)."""
    return _is_infinity("isneginf", x, -np.inf, out)


def _is_infinity(name, x, infinity, out):
    if out is not None:
        raise NotImplementedError(f"The 'out' argument to jnp.{name} is not supported.")
    check_arraylike(name, x)
    x = asarray(x)
    if dtypes.is_complex(x.dtype):
        raise ValueError("isposinf/isneginf are not well defined for complex types")
    if not dtypes.is_float(x.dtype):
        return ufuncs.strong(ufuncs.logical_and(ufuncs.equal(x, 0), False))
    return ufuncs.strong(ufuncs.equal(x, infinity))  # (JAX compares with a strong inf)


def nan_to_num(x: ArrayLike, copy: bool = True, nan: ArrayLike = 0.0, posinf: ArrayLike | None = None,
               neginf: ArrayLike | None = None) -> Array:
    """x with NaN replaced by `nan` and ±inf by `posinf`/`neginf` (default:
    the largest finite values of x's dtype); integers are returned as they are."""
    check_arraylike("nan_to_num", x)
    x = asarray(x)
    if not dtypes.is_float(x.dtype):
        return x
    info = finfo(x.dtype)
    x = ufuncs.where(ufuncs.isnan(x), asarray(nan, x.dtype), x)
    x = ufuncs.where(ufuncs.equal(x, np.inf), asarray(info.max if posinf is None else posinf, x.dtype), x)
    return ufuncs.where(ufuncs.equal(x, -np.inf), asarray(info.min if neginf is None else neginf, x.dtype), x)


def i0(x: ArrayLike) -> Array:
    """The modified Bessel function of the first kind, order 0:
    I0(x) = sum_k ((x / 2)^k / k!)^2, summed in float32 (float64 for x64)
    until the terms vanish for |x| <= 20, and the asymptotic
    exp(|x|) / sqrt(2 pi |x|) (1 + 1/(8|x|) + 9/(128 x^2) + ...) beyond,
    to 12 terms (4 from 15 up were 2.5e-6 off at 16: 28 float32 ulps).
    Differentiated as JAX's (`_i0_with_rule`)."""
    (x,) = promote_args_inexact("i0", x)
    if dtypes.is_complex(x.dtype):
        raise ValueError(f"Unsupported input type to jax.numpy.i0: {x.dtype.name}")
    return _i0_with_rule()(x)


@functools.cache
def _i0_with_rule():
    """`_i0` with JAX's custom derivative: that of exp(|x|) i0e(|x|), whose
    tangents are t_a = ±t, exp(a) t_a, t_a (i1e(a) - i0e(a)) and the
    product's, 0 at x = 0 (where JAX's second derivative is 0 too). The
    series' own derivative was -0 at NaN and NaN at 1e30 (inf / inf)."""
    from irax.frontend.custom_derivatives import custom_jvp  # (it imports irax.numpy)
    from irax.frontend.special import bessel_i0e, bessel_i1e

    @custom_jvp
    def value(x):
        return _i0(x)

    @value.defjvp
    def _(primals, tangents):
        (x,), (t,) = primals, tangents
        a = ufuncs.abs(x)
        t_a = ufuncs.where(ufuncs.greater_equal(x, 0), t, ufuncs.negative(t))
        e, i = ufuncs.exp(a), bessel_i0e(a)
        t_i = ufuncs.multiply(t_a, ufuncs.subtract(bessel_i1e(a), ufuncs.multiply(ufuncs.sign(a), i)))
        t_out = ufuncs.add(ufuncs.multiply(ufuncs.multiply(t_a, e), i), ufuncs.multiply(e, t_i))
        return value(x), ufuncs.where(ufuncs.equal(x, 0), 0, t_out)
    return value


def _i0(x: Array) -> Array:
    ax = ufuncs.abs(x)
    small = ufuncs.minimum(ax, _I0_SERIES_UP_TO)
    quarter_sq = ufuncs.multiply(0.25, ufuncs.square(small))
    term, series = ufuncs.add(ufuncs.multiply(quarter_sq, 0), 1), 1
    for k in range(1, 60):
        term = ufuncs.divide(ufuncs.multiply(term, quarter_sq), k * k)
        series = ufuncs.add(series, term)
    big = ufuncs.maximum(ax, _I0_SERIES_UP_TO)
    inv = ufuncs.reciprocal(big)
    tail = _I0_ASYMPTOTIC[-1]
    for c in reversed(_I0_ASYMPTOTIC[:-1]):
        tail = ufuncs.add(c, ufuncs.multiply(inv, tail))
    # sqrt(2 pi) sqrt(|x|), not sqrt(2 pi |x|), which overflowed near the largest float (inf / inf: NaN, not inf)
    root = ufuncs.multiply(math.sqrt(2 * math.pi), ufuncs.sqrt(big))
    asymptotic = ufuncs.multiply(ufuncs.divide(ufuncs.exp(big), root), tail)
    return ufuncs.where(ufuncs.less_equal(ax, _I0_SERIES_UP_TO), series, asymptotic)


_I0_SERIES_UP_TO = 20.0
# The asymptotic series' coefficients, ((2k - 1)!!)^2 / (k! 8^k): 1, 1/8, 9/128, ...
_I0_ASYMPTOTIC = [math.prod((2 * j - 1) ** 2 / (8 * j) for j in range(1, k + 1)) for k in range(12)]


__all__ = [
    "array_equiv", "array_repr", "array_str", "get_printoptions", "printoptions", "set_printoptions",
    "acos", "acosh", "asin", "asinh", "atan", "atan2", "atanh", "bitwise_count", "bitwise_invert",
    "bitwise_left_shift", "bitwise_right_shift", "broadcast_shapes", "can_cast", "copysign",
    "deg2rad", "degrees", "divmod", "e", "euler_gamma", "fabs", "finfo", "float_power", "fmax", "fmin", "fmod",
    "frexp", "gcd", "heaviside", "hypot", "i0", "iinfo", "inf", "isdtype",
    "isneginf", "isposinf", "isscalar", "iterable", "lcm", "ldexp", "logaddexp",
    "logaddexp2", "modf", "nan", "nan_to_num", "ndim", "newaxis", "nextafter", "pi", "pow", "rad2deg", "radians",
    "signbit", "sinc", "spacing",
]
# Not in __all__: as names of the package irax.frontend.numpy they would hide
# its module `shape`; irax/numpy/__init__.py exports them.
SHADOWING = ["shape", "size"]

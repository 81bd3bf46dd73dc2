"""Elementwise functions of `irax.numpy`: promote, then bind one primitive.

Each line below the factories makes one NumPy function from the primitive
it binds; the factory is the kind of promotion (NumPy's rules: `sin` of an
int is a float, `add` of two ints is an int):

    _unary, _binary                  operands promote to their common dtype
    _inexact_unary, _inexact_binary  ... then integers and bools to the default float
    _numeric_binary                  ... then bools to int32 (no bool floor_divide, as JAX)
    _rounding                        integers are returned as they are
    _bitwise                         integers and bools only
    _logical                         operands become bools (nonzero is true)
"""
from __future__ import annotations

import functools
import operator
from collections.abc import Callable

import ml_dtypes
import numpy as np

from irax.frontend import core, dtypes, extended
from irax.frontend.array import Array as ConcreteArray
from irax.frontend.numpy.util import (asarray, check_arraylike, is_array, promote_args, promote_args_inexact,
                                      promote_args_numeric)
from irax.frontend.primitives.creation import full
from irax.frontend.primitives.elementwise import binary, broadcast_shapes, convert_element_type, select, unary
from irax.typing import Array, ArrayLike


def _named(fn, name, doc):
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


def _unary(name: str, prim: str | None = None, promote=promote_args) -> Callable[[ArrayLike], Array]:
    p = unary[prim or name]
    inexact = promote is promote_args_inexact

    def fn(x: ArrayLike, /) -> Array:
        # A float or complex array is what promote_args_inexact would
        # return, after ~1.5 us of its checks: most of an eager op's Python.
        if not (inexact and is_array(x) and x.dtype.kind in "fc"):
            (x,) = promote(name, x)
        return p.bind(x)

    return _named(fn, name, f"Elementwise `{name}`, as `numpy.{name}`.")


def _inexact_unary(name: str, prim: str | None = None) -> Callable[[ArrayLike], Array]:
    return _unary(name, prim, promote_args_inexact)


def _promote_bool_is_error(name, *args):
    (x,) = promote_args(name, *args)
    if dtypes.is_bool(x.dtype):
        raise TypeError(f"{name} does not accept dtype bool.")
    return [x]


def _rounding(name: str, prim: str | None = None) -> Callable[[ArrayLike], Array]:
    """Rounding an integer array returns it unchanged (NumPy and JAX); a complex one is an error."""
    p = unary[prim or name]

    def fn(x: ArrayLike, /) -> Array:
        (x,) = promote_args(name, x)
        return p.bind(x) if dtypes.is_inexact(x.dtype) else x

    return _named(fn, name, f"Elementwise `{name}` of floats (integers are returned as they are), as `numpy.{name}`.")


def _binary(name: str, prim: str | None = None, promote=promote_args) -> Callable[[ArrayLike, ArrayLike], Array]:
    p = binary[prim or name]
    # Which two operands of one dtype and shape `promote` returns as they are:
    # any (None), float or complex ones, or none.
    kinds = {promote_args: None, promote_args_inexact: "fc"}.get(promote, "")

    def fn(x: ArrayLike, y: ArrayLike, /) -> Array:
        # Two concrete arrays of one aval (one object: array.canonical_aval)
        # are what promote_args would return, after ~1.5 us of its checks:
        # most of an eager op's Python.
        if not (type(x) is ConcreteArray and type(y) is ConcreteArray and x.aval is y.aval
                and (kinds is None or x.aval.dtype.kind in kinds)):
            x, y = promote(name, x, y)
        return p.bind(x, y)

    return _named(fn, name, f"Elementwise `{name}` with NumPy broadcasting, as `numpy.{name}`.")


def _inexact_binary(name: str, prim: str | None = None) -> Callable[[ArrayLike, ArrayLike], Array]:
    return _binary(name, prim, promote_args_inexact)


def _numeric_binary(name: str, prim: str | None = None) -> Callable[[ArrayLike, ArrayLike], Array]:
    return _binary(name, prim, promote_args_numeric)


def _bitwise(name: str, prim: str | None = None, promote=promote_args) -> Callable[[ArrayLike, ArrayLike], Array]:
    p = binary[prim or name]

    def fn(x: ArrayLike, y: ArrayLike, /) -> Array:
        x, y = promote(name, x, y)
        if dtypes.is_float(x.dtype):
            raise TypeError(f"{name} only accepts integer or boolean dtypes, got {x.dtype.name}")
        return p.bind(x, y)

    return _named(fn, name, f"Elementwise `{name}` of integers or bools with NumPy broadcasting, as `numpy.{name}`.")


def strong(x: Array) -> Array:
    """x, weakly typed no more: JAX's predicates that compare with a strongly
    typed constant (isinf's |x| == inf) give a strong bool of weak operands."""
    return convert_element_type.bind(x, new_dtype=x.dtype, weak_type=False) if x.weak_type else x


def _truth(x: ArrayLike) -> Array:
    """x != 0 (a bool array as it is): weakly typed where x is, as JAX's logical ops."""
    x = asarray(x)
    return x if dtypes.is_bool(x.dtype) else not_equal(x, 0)


def _logical(name: str, prim: str) -> Callable[[ArrayLike, ArrayLike], Array]:
    p = binary[prim]

    def fn(x: ArrayLike, y: ArrayLike, /) -> Array:
        check_arraylike(name, x, y)
        return p.bind(_truth(x), _truth(y))

    return _named(fn, name, f"Elementwise `{name}` of the truth values (nonzero is true), as `numpy.{name}`.")


exp = _inexact_unary("exp")
exp2 = _inexact_unary("exp2")
expm1 = _inexact_unary("expm1")
log = _inexact_unary("log")
log1p = _inexact_unary("log1p")
log2 = _inexact_unary("log2")
log10 = _inexact_unary("log10")
sqrt = _inexact_unary("sqrt")
cbrt = _inexact_unary("cbrt")
sin = _inexact_unary("sin")
cos = _inexact_unary("cos")
tan = _inexact_unary("tan")
arcsin = _inexact_unary("arcsin", "asin")
arccos = _inexact_unary("arccos", "acos")
arctan = _inexact_unary("arctan", "atan")
sinh = _inexact_unary("sinh")
cosh = _inexact_unary("cosh")
tanh = _inexact_unary("tanh")
arcsinh = _inexact_unary("arcsinh", "asinh")
arccosh = _inexact_unary("arccosh", "acosh")
arctanh = _inexact_unary("arctanh", "atanh")
isnan = _inexact_unary("isnan")
_isinf = _inexact_unary("isinf")
_isfinite = _inexact_unary("isfinite")


def isinf(x: ArrayLike, /) -> Array:
    """|x| == inf elementwise, as `numpy.isinf`: a strongly typed bool (JAX compares with a strong inf)."""
    return strong(_isinf(x))


def isfinite(x: ArrayLike, /) -> Array:
    """Neither inf nor NaN, as `numpy.isfinite`; weakly typed for weak floats,
    strongly for integers and bools (all true: JAX's full_like)."""
    out = _isfinite(x)
    return out if dtypes.is_inexact(dtypes.dtype_and_weak(x)[0]) else strong(out)


negative = _unary("negative", "neg", _promote_bool_is_error)


def absolute(x: ArrayLike, /) -> Array:
    """|x|, as `numpy.absolute`: bools and unsigned integers are their own
    absolute values (returned as they are, as in JAX)."""
    (x,) = promote_args("absolute", x)
    return x if dtypes.is_bool(x.dtype) or dtypes.is_unsigned(x.dtype) else unary["abs"].bind(x)


abs = absolute
sign = _unary("sign")
bitwise_not = invert = _unary("invert", "not")

floor = _rounding("floor")
ceil = _rounding("ceil")
trunc = _rounding("trunc")
_rint = _rounding("rint", "round")


def rint(x: ArrayLike, /) -> Array:
    """Round half to even, as `numpy.rint`: integers and bools become the
    default float (JAX's rint always returns an inexact dtype); a complex
    number rounds its real and imaginary parts."""
    (x,) = promote_args("rint", x)
    if dtypes.is_complex(x.dtype):
        return binary["complex"].bind(*(_rint(unary[part].bind(x)) for part in ("real", "imag")))
    return _rint(x) if dtypes.is_inexact(x.dtype) else asarray(x, dtypes.default_float_dtype())


def _equality(name: str, prim: str, over_key_data: str) -> Callable[[ArrayLike, ArrayLike], Array]:
    """`_binary(name, prim)`, and on typed keys that of their data, reduced
    over each key's data by `over_key_data` ("all": equal where all of it
    is; "any": different where any is), as JAX's."""
    plain = _binary(name, prim)

    def fn(x: ArrayLike, y: ArrayLike, /) -> Array:
        if physical := extended.unwrap((x, y)):
            cls, (x, y) = physical
            return getattr(plain(x, y), over_key_data)(axis=tuple(range(-cls._trailing, 0)))
        return plain(x, y)

    return _named(fn, name, plain.__doc__)


add = _binary("add")
subtract = _binary("subtract", "sub")
multiply = _binary("multiply", "mul")
floor_divide = _numeric_binary("floor_divide")
remainder = _numeric_binary("remainder", "rem")
mod = _numeric_binary("mod", "rem")
maximum = _binary("maximum", "max")
minimum = _binary("minimum", "min")
equal = _equality("equal", "eq", "all")
not_equal = _equality("not_equal", "ne", "any")
less = _binary("less", "lt")
less_equal = _binary("less_equal", "le")
greater = _binary("greater", "gt")
greater_equal = _binary("greater_equal", "ge")

true_divide = _inexact_binary("true_divide", "div")
divide = _inexact_binary("divide", "div")
arctan2 = _inexact_binary("arctan2", "atan2")

bitwise_and = _bitwise("bitwise_and", "and")
bitwise_or = _bitwise("bitwise_or", "or")
bitwise_xor = _bitwise("bitwise_xor", "xor")
left_shift = _bitwise("left_shift", "shift_left", promote_args_numeric)
right_shift = _bitwise("right_shift", "shift_right", promote_args_numeric)

logical_and = _logical("logical_and", "and")
logical_or = _logical("logical_or", "or")
logical_xor = _logical("logical_xor", "xor")


def logical_not(x: ArrayLike, /) -> Array:
    """Elementwise `not` of the truth values (nonzero is true), as `numpy.logical_not`."""
    check_arraylike("logical_not", x)
    return unary["not"].bind(_truth(x))


def integer_power(x: Array, y: int) -> Array:
    """x ** y for a Python int y (lax.integer_pow): repeated squaring, and a
    negative y of an inexact x is 1 / x ** -y. Below -1, its derivative is
    JAX's, y x ** (y - 1) with that power again an integer power
    (`_integer_power_with_rule`), where the quotient rule gives NaN (d/dx
    x ** -2 at 0, or at 1e30 where x * x overflows: inf / inf). Positive
    powers keep their multiplies' product rule, JAX's values but for a third
    derivative at ±inf: the custom rule, traced at each call, made tracing
    a jitted function of 40 powers 4x slower (104 -> 429 ms), and x ** 2 is
    everywhere. Outside every transformation nothing differentiates it."""
    if y >= -1 or not dtypes.is_inexact(x.dtype):
        return _repeated_squaring(x, y)

    if core.untraced():
        return _repeated_squaring(x, y)
    return _integer_power_with_rule()(x, y)


@functools.cache
def _integer_power_with_rule():
    """`_repeated_squaring` as a custom_jvp function of x (y static), whose
    tangent is JAX's integer_pow rule: t * (y * x ** (y - 1))."""
    from irax.frontend.custom_derivatives import custom_jvp

    @functools.partial(custom_jvp, nondiff_argnums=(1,))
    def value(x, y):
        return _repeated_squaring(x, y)

    @value.defjvp
    def _(y, primals, tangents):
        (x,), (t,) = primals, tangents
        slope = integer_power(x, y - 1)
        return value(x, y), binary["mul"].bind(t, binary["mul"].bind(asarray(y, x.dtype), slope))
    return value


def _repeated_squaring(x: Array, y: int) -> Array:
    """x ** y by repeated squaring (x ** -y: 1 / x ** y)."""
    acc, base, n = None, x, -y if y < 0 else y  # (abs here is the ufunc, an array under jit)
    while n:
        if n & 1:
            acc = base if acc is None else binary["mul"].bind(acc, base)
        n >>= 1
        if n:
            base = binary["mul"].bind(base, base)
    if acc is None:  # x ** 0 is 1, even for inf and nan
        return full.bind(shape=x.shape, dtype=x.dtype, weak_type=x.weak_type, fill_value=1)
    return binary["div"].bind(asarray(1, x.dtype), acc) if y < 0 else acc


def power(x1: ArrayLike, x2: ArrayLike, /) -> Array:
    """x1 ** x2 with NumPy broadcasting, as `numpy.power`. As in JAX, a
    known integer x2 (a Python int, or a concrete integer scalar array)
    multiplies (`integer_power`, lax.integer_pow: x1's dtype, x ** 2 exact,
    and d/dx x ** 0 = 0 even at x = 0); any other x2 is lax.pow of the
    promoted operands."""
    check_arraylike("power", x1, x2)
    exponent = _known_integer(x2)
    if exponent is not None:
        (x1,) = promote_args_numeric("power", x1)
        check_integer_exponent(x1, exponent)
        return integer_power(x1, exponent)
    x1, x2 = asarray(x1), asarray(x2)
    if dtypes.is_inexact(x1.dtype) and dtypes.is_int(x2.dtype):  # not promoted: x1's dtype, as JAX's
        return power_to_integers(x1, x2)
    x1, x2 = promote_args_numeric("power", x1, x2)
    return binary["pow"].bind(x1, x2)


def power_to_integers(x: Array, y: Array) -> Array:
    """lax.pow of an inexact x and an integer y: x's dtype, and for a float
    x JAX's derivative of a power to integers, 0 where y = 0 (at x = 0
    too, where y x^(y-1) would be NaN)."""
    y = convert_element_type.bind(y, new_dtype=x.dtype, weak_type=y.weak_type)  # (weak where both are, as lax.pow)
    return binary["pow_to_integers" if dtypes.is_float(x.dtype) else "pow"].bind(x, y)


def _known_integer(x) -> int | None:
    """x as a Python int where it is a concrete integer scalar (JAX's
    `operator.index` of a concrete x2), else None."""
    if isinstance(x, core.Tracer):
        return None
    try:
        return operator.index(x)
    except TypeError:
        return None


def check_integer_exponent(x: Array, y: int) -> None:
    """JAX's TypeError for an integer `x` to a negative power `y`."""
    if y < 0 and not dtypes.is_inexact(x.dtype):
        raise TypeError(f"Integers cannot be raised to negative powers, got integer_pow({x.aval}, {y})")


def positive(x: ArrayLike, /) -> Array:
    """+x: `x` promoted, as `numpy.positive`."""
    (x,) = promote_args("positive", x)
    return x


def square(x: ArrayLike, /) -> Array:
    """x * x, as `numpy.square` (of bools: int32, as JAX)."""
    (x,) = promote_args_numeric("square", x)
    return binary["mul"].bind(x, x)


def reciprocal(x: ArrayLike, /) -> Array:
    """1 / x, in floats, as `numpy.reciprocal`."""
    (x,) = promote_args_inexact("reciprocal", x)
    return true_divide(1, x)


def round(a: ArrayLike, decimals: int = 0) -> Array:
    """Round half to even, like NumPy; `decimals` scales by a power of ten,
    float16 in float32 as JAX does (65504 * 10 would overflow it); complex
    numbers part by part. As JAX: integers are returned as they are (negative
    `decimals` on them is JAX's NotImplementedError), bools refused (finfo's
    ValueError), and `decimals` past the dtype's range (10**decimals > max)
    returns the input, since no digit there can change."""
    (a,) = promote_args("round", a)
    decimals = operator.index(decimals)
    if dtypes.is_int(a.dtype):
        if decimals < 0:
            raise NotImplementedError("integer np.round not implemented for decimals < 0")
        return a
    if decimals > np.log10(ml_dtypes.finfo(a.dtype).max):
        return a
    if dtypes.is_complex(a.dtype):
        return binary["complex"].bind(*(round(unary[part].bind(a), decimals) for part in ("real", "imag")))
    if decimals == 0:
        return unary["round"].bind(a)
    factor = 10.0**decimals
    wide = asarray(a, np.float32) if a.dtype == np.float16 else a
    return asarray(true_divide(unary["round"].bind(multiply(wide, factor)), factor), a.dtype)


around = round


def clip(arr: ArrayLike, /, min: ArrayLike | None = None, max: ArrayLike | None = None) -> Array:
    """Limit values to [min, max]; either bound may be None. Complex values
    are refused, as JAX refuses them (though maximum and minimum order them).
    With neither bound it is `arr` as an array, as JAX's."""
    check_arraylike("clip", arr)
    if any(t is not None and dtypes.is_complex(dtypes.dtype_and_weak(t)[0]) for t in (arr, min, max)):
        raise ValueError("Clip received a complex value either through the input or the min/max keywords. Complex "
                         "values have no ordering and cannot be clipped. Please convert to a real value or array by "
                         "taking the real or imaginary components via jax.numpy.real/imag respectively.")
    if min is not None:
        arr = maximum(arr, min)
    if max is not None:
        arr = minimum(arr, max)
    return asarray(arr)


def where(condition: ArrayLike, x: ArrayLike, y: ArrayLike, /) -> Array:
    """`x` where `condition` is true, else `y`, broadcast together (jnp.where
    of one argument is setops.where)."""
    if physical := extended.unwrap((x, y)):  # typed keys: select between their data
        cls, (x, y) = physical
        condition = asarray(condition, bool)
        broadcast_shapes("select", condition.shape, *(v.shape[:v.ndim - cls._trailing] for v in (x, y)))
        return cls._wrap(where(extended.expand_trailing(cls, condition), x, y))
    check_arraylike("where", condition, x, y)
    x, y = promote_args("where", x, y)
    return select.bind(asarray(condition, bool), x, y)


__all__ = [
    "abs", "absolute", "add", "arccos", "arccosh", "arcsin", "arcsinh", "arctan", "arctan2", "arctanh", "around",
    "bitwise_and", "bitwise_not", "bitwise_or", "bitwise_xor", "cbrt", "ceil", "clip", "cos", "cosh", "divide",
    "equal", "exp", "exp2", "expm1", "floor", "floor_divide", "greater", "greater_equal", "invert", "isfinite",
    "isinf", "isnan", "left_shift", "less", "less_equal", "log", "log10", "log1p", "log2", "logical_and",
    "logical_not", "logical_or", "logical_xor", "maximum", "minimum", "mod", "multiply", "negative", "not_equal",
    "positive", "power", "reciprocal", "remainder", "right_shift", "rint", "round", "sign", "sin", "sinh", "sqrt",
    "square", "subtract", "tan", "tanh", "true_divide", "trunc",
]

"""Elementwise functions of `irax.numpy`: promote, then bind one primitive.

Each table row is `numpy name -> primitive name`; the kind of promotion is
the table it sits in (NumPy's rules: `sin` of an int is a float, `add` of two
ints is an int).
"""
import numpy as np

from irax.frontend import dtypes
from irax.frontend.numpy.util import asarray, check_arraylike, promote_args, promote_args_inexact
from irax.frontend.primitives.elementwise import binary, select, unary

_UNARY_INEXACT = {
    "exp": "exp", "exp2": "exp2", "expm1": "expm1", "log": "log", "log1p": "log1p", "log2": "log2",
    "log10": "log10", "sqrt": "sqrt", "cbrt": "cbrt", "sin": "sin", "cos": "cos", "tan": "tan",
    "arcsin": "asin", "arccos": "acos", "arctan": "atan", "sinh": "sinh", "cosh": "cosh", "tanh": "tanh",
    "arcsinh": "asinh", "arccosh": "acosh", "arctanh": "atanh",
}
_UNARY_NUMERIC = {"negative": "neg", "abs": "abs", "absolute": "abs", "sign": "sign"}
_ROUNDING = {"floor": "floor", "ceil": "ceil", "trunc": "trunc", "rint": "round"}
_PREDICATES = {"isnan": "isnan", "isinf": "isinf", "isfinite": "isfinite"}
_BINARY = {
    "add": "add", "subtract": "sub", "multiply": "mul", "floor_divide": "floor_divide", "remainder": "rem",
    "mod": "rem", "maximum": "max", "minimum": "min", "equal": "eq", "not_equal": "ne", "less": "lt",
    "less_equal": "le", "greater": "gt", "greater_equal": "ge", "bitwise_and": "and", "bitwise_or": "or",
    "bitwise_xor": "xor", "left_shift": "shift_left", "right_shift": "shift_right", "power": "pow",
}
_BINARY_INEXACT = {"true_divide": "div", "divide": "div", "arctan2": "atan2"}
_LOGICAL = {"logical_and": "and", "logical_or": "or", "logical_xor": "xor"}
_INTEGER_OR_BOOL = {"bitwise_and", "bitwise_or", "bitwise_xor", "left_shift", "right_shift"}


def _unary(name, prim, promote):
    def fn(x, /):
        (x,) = promote(name, x)
        return prim.bind(x)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Elementwise `{name}`, as `numpy.{name}`."
    return fn


def _binary(name, prim, promote):
    def fn(x, y, /):
        x, y = promote(name, x, y)
        if name in _INTEGER_OR_BOOL and dtypes.is_float(x.dtype):
            raise TypeError(f"{name} only accepts integer or boolean dtypes, got {x.dtype.name}")
        return prim.bind(x, y)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Elementwise `{name}` with NumPy broadcasting, as `numpy.{name}`."
    return fn


def _round_keeps_ints(name, prim):
    """Rounding an integer array returns it unchanged (NumPy and JAX)."""

    def fn(x, /):
        (x,) = promote_args(name, x)
        return x if not dtypes.is_float(x.dtype) else prim.bind(x)

    fn.__name__ = fn.__qualname__ = name
    return fn


def _logical(name, prim):
    def fn(x, y, /):
        check_arraylike(name, x, y)
        return prim.bind(asarray(x, bool), asarray(y, bool))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"Elementwise `{name}` of the truth values (nonzero is true), as `numpy.{name}`."
    return fn


def logical_not(x, /):
    """Elementwise `not` of the truth values (nonzero is true), as `numpy.logical_not`."""
    check_arraylike("logical_not", x)
    return unary["not"].bind(asarray(x, bool))


def _promote_bool_is_error(name, *args):
    (x,) = promote_args(name, *args)
    if dtypes.is_bool(x.dtype):
        raise TypeError(f"{name} does not accept dtype bool.")
    return [x]


def _export():
    table = {}
    for name, p in _UNARY_INEXACT.items():
        table[name] = _unary(name, unary[p], promote_args_inexact)
    for name, p in _UNARY_NUMERIC.items():
        table[name] = _unary(name, unary[p], _promote_bool_is_error if name == "negative" else promote_args)
    for name, p in _ROUNDING.items():
        table[name] = _round_keeps_ints(name, unary[p])
    for name, p in _PREDICATES.items():
        table[name] = _unary(name, unary[p], promote_args_inexact)
    for name, p in _BINARY.items():
        table[name] = _binary(name, binary[p], promote_args)
    for name, p in _BINARY_INEXACT.items():
        table[name] = _binary(name, binary[p], promote_args_inexact)
    for name, p in _LOGICAL.items():
        table[name] = _logical(name, binary[p])
    return table


_TABLE = _export()
globals().update(_TABLE)
bitwise_not = invert = _unary("invert", unary["not"], promote_args)


def positive(x, /):
    (x,) = promote_args("positive", x)
    return x


def square(x, /):
    (x,) = promote_args("square", x)
    return binary["mul"].bind(x, x)


def reciprocal(x, /):
    (x,) = promote_args_inexact("reciprocal", x)
    return true_divide(1, x)  # noqa: F821 (defined by _export)


def round(a, decimals=0):
    """Round half to even, like NumPy; `decimals` scales by a power of ten,
    float16 in float32 as JAX does (65504 * 10 would overflow it)."""
    (a,) = promote_args("round", a)
    if not dtypes.is_float(a.dtype):
        return a
    if decimals == 0:
        return unary["round"].bind(a)
    factor = 10.0**decimals
    wide = asarray(a, np.float32) if a.dtype == np.float16 else a
    return asarray(true_divide(unary["round"].bind(multiply(wide, factor)), factor), a.dtype)  # noqa: F821


around = round


def clip(arr, /, min=None, max=None):
    """Limit values to [min, max]; either bound may be None."""
    if min is not None:
        arr = maximum(arr, min)  # noqa: F821
    if max is not None:
        arr = minimum(arr, max)  # noqa: F821
    return arr


def where(condition, x=None, y=None, /):
    """`x` where `condition` is true, else `y`, broadcast together."""
    if x is None or y is None:
        raise ValueError("irax.numpy.where with a single argument (nonzero) is not supported: its output shape depends on the data. Pass x and y.")
    check_arraylike("where", condition, x, y)
    x, y = promote_args("where", x, y)
    return select.bind(asarray(condition, bool), x, y)


__all__ = sorted(_TABLE) + ["bitwise_not", "invert", "positive", "square", "reciprocal", "round", "around", "clip", "where", "logical_not"]

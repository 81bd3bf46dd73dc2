"""Operators and methods shared by concrete `Array`s and `Tracer`s.

Both are arrays to a user, so `x + 1`, `x @ w`, `x.sum()` and `x.T` mean the
same thing whether `x` holds data or is being traced. Each entry below says
which `irax.numpy` function an operator or method is; `install(jnp)` attaches
them once the numpy module exists (it imports this module, not the other way
round).
"""
import numpy as np

# operator -> numpy function; reflected operators swap their operands.
_BINARY = {
    "add": "add", "sub": "subtract", "mul": "multiply", "truediv": "true_divide",
    "floordiv": "floor_divide", "mod": "remainder", "divmod": "divmod", "pow": "power", "matmul": "matmul",
    "and": "bitwise_and", "or": "bitwise_or", "xor": "bitwise_xor",
    "lshift": "left_shift", "rshift": "right_shift",
}
_COMPARISONS = {"eq": "equal", "ne": "not_equal", "lt": "less", "le": "less_equal", "gt": "greater", "ge": "greater_equal"}
_UNARY = {"neg": "negative", "pos": "positive", "abs": "abs", "invert": "invert"}
_METHODS = [
    "all", "any", "argmax", "argmin", "argpartition", "argsort", "astype", "choose", "clip", "conj",
    "conjugate", "copy", "cumprod", "cumsum", "diagonal", "dot", "flatten", "max", "mean", "min", "nonzero", "prod",
    "ptp", "ravel", "repeat", "reshape", "round", "searchsorted", "sort", "squeeze", "std", "sum", "swapaxes", "take",
    "trace", "transpose", "var",
]
_PROPERTIES = ["real", "imag"]


class ArrayMethods:
    __slots__ = ()
    __array_priority__ = 100  # so `np_array + irax_array` defers to irax

    shape = property(lambda self: self.aval.shape)
    dtype = property(lambda self: self.aval.dtype)
    ndim = property(lambda self: self.aval.ndim)
    size = property(lambda self: self.aval.size)
    weak_type = property(lambda self: self.aval.weak_type)
    itemsize = property(lambda self: self.aval.dtype.itemsize)
    nbytes = property(lambda self: self.aval.nbytes)

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of unsized object")
        return self.shape[0]

    def __iter__(self):
        if not self.shape:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(self.shape[0]))

    def __setitem__(self, index, value):
        raise TypeError(
            f"'{type(self).__name__}' object does not support item assignment. JAX arrays are "
            "immutable. Instead of ``x[idx] = y``, use ``x = x.at[idx].set(y)`` or another "
            ".at[] method: https://jax.readthedocs.io/en/latest/_autosummary/jax.numpy.ndarray.at.html"
        )

    __hash__ = None  # arrays are unhashable, as in NumPy and JAX


# What an operator takes as its other operand (and what NumPy can read: a
# JAX array); with anything else it returns NotImplemented, as JAX's do, so
# Python tries the other side and then says "unsupported operand type(s)",
# or compares by identity (`x == None` is False).
_OPERANDS = (ArrayMethods, int, float, complex, np.generic, np.ndarray)  # (arrays first: the most common)


def _operand(other) -> bool:
    return isinstance(other, _OPERANDS) or hasattr(other, "__array__")


def _binary(fn, swap):
    if swap:
        return lambda self, other: fn(other, self) if _operand(other) else NotImplemented
    return lambda self, other: fn(self, other) if _operand(other) else NotImplemented


# Containers that `==` and `!=` refuse, as JAX's do: compared by identity,
# `x == [1, 2]` would be a silent False where NumPy compares elementwise.
_REJECTED = (list, tuple, set, dict)


def _equality(fn):
    def op(self, other):
        if type(other) in _REJECTED:  # (JAX's wording says == for != too)
            raise TypeError(f"unsupported operand type(s) for ==: '{type(self).__name__}' and "
                            f"'{type(other).__name__}'")
        return fn(self, other) if _operand(other) else NotImplemented
    return op


def _builtin_round(jnp):
    def __round__(self, ndigits=None):
        """round(x) is an integer array (as round(7.5) is an int), round(x, n) rounds to n decimals."""
        out = jnp.round(self, ndigits or 0)
        return out if ndigits is not None else out.astype(int)
    return __round__


def install(jnp):
    """Attach operators and methods, each a call of the `jnp` function named."""
    attrs = {}
    for op, name in {**_BINARY, **_COMPARISONS}.items():
        attrs[f"__{op}__"] = (name, False)
    for op, name in _BINARY.items():
        attrs[f"__r{op}__"] = (name, True)
    for op, name in _UNARY.items():
        attrs[f"__{op}__"] = (name, None)
    for name in _METHODS:
        attrs[name] = (name, None)
    for attr, (name, swap) in attrs.items():
        fn = getattr(jnp, name)
        setattr(ArrayMethods, attr, fn if swap is None else _binary(fn, swap))
    for op in ("eq", "ne"):
        setattr(ArrayMethods, f"__{op}__", _equality(getattr(jnp, _COMPARISONS[op])))
    ArrayMethods.__round__ = _builtin_round(jnp)
    for name in _PROPERTIES:
        setattr(ArrayMethods, name, property(getattr(jnp, name)))
    # (the one method whose array is not the function's first argument)
    ArrayMethods.compress = lambda self, condition, *args, **kwargs: jnp.compress(condition, self, *args, **kwargs)
    special = {
        "__getitem__": ("indexing", "getitem", None),
        "at": ("indexing", "IndexUpdateHelper", property),
        "astype": ("creation", "astype_method", None),
        "view": ("bitcast", "view", None),
        "reshape": ("shape", "reshape_method", None),
        "transpose": ("shape", "transpose_method", None),
        "T": ("shape", "transpose", property),
        "mT": ("shape", "matrix_transpose", property),
        "__array_namespace__": ("array_api", "array_namespace", None),
        "to_device": ("array_api", "to_device", None),
    }
    for attr, (module, name, wrap) in special.items():
        fn = getattr(getattr(jnp, module), name)
        setattr(ArrayMethods, attr, wrap(fn) if wrap else fn)


"""Dtypes and type promotion, exactly as JAX does them.

irax has twenty-four dtypes, the module constants below (their MLIR names and
kinds are in ir/types.py):

    bool_  int8 int16 int32 int64  uint8 uint16 uint32 uint64
    float16 bfloat16 float32 float64  complex64 complex128
    float8_e4m3fn float8_e5m2 float8_e4m3fnuz float8_e5m2fnuz float8_e4m3b11fnuz
    float8_e3m4 float8_e4m3 float8_e8m0fnu float4_e2m1fn

64-bit mode
-----------
With `config.x64_enabled` off (the default) every dtype entering irax is
canonicalized: int64 -> int32, uint64 -> uint32, float64 -> float32,
complex128 -> complex64, like JAX with `jax_enable_x64=False`. The mode is read at call time, never cached.

Weak types
----------
A Python int, float or complex has no width of its own, so it is *weakly typed*: it
takes the dtype of the strongly typed operand it meets (uint8 array + 1 ->
uint8, bfloat16 array * 2.0 -> bfloat16) and only changes the *kind*
(int32 array + 1.0 -> float32, float32 array * 1j -> complex64). Python bool is strongly typed. Arrays and
tracers carry the flag as `.weak_type`; a weak result is weak and of the
default dtype of its kind (int32/float32/complex64, int64/float64/complex128
in x64 mode).

The promotion lattice
---------------------
The dtype of an operation is the least upper bound of its operands on this
lattice (JAX's, less the dtypes irax lacks), where i*, f* and c* are the
weak int, float and complex; u(n) also leads up to i(2n):

    bool ─> i* ─┬─> u8 ──> u16 ──> u32 ──> u64 ─┐
                │     ╲        ╲        ╲       │
                │      ↘        ↘        ↘      ├─> f* ─┬─> bf16 ─┬─> f32 ─> f64
                └─> i8 ──> i16 ──> i32 ──> i64 ─┘   │   └─> f16 ──┘    │      │
                                                    │                  ↓      ↓
                                                    └─> c* ─────────> c64 ─> c128

So int8 + uint8 -> int16, uint8 + int -> uint8, bfloat16 + float16 -> float32,
int64 + uint64 -> f*: no integer holds both, and the result is a *weak*
float64; float32 + complex -> complex64, float64 + complex64 -> complex128,
float16 + 1j -> complex64 (c* is complex64).

Each 8- or 4-bit float sits alone above f* (as in JAX): int8 + float8_e4m3fn
and float8_e4m3fn + 1.0 are float8_e4m3fn, but it meets no other float: with
float32 or another float8 promotion raises TypePromotionError.
"""
import functools
import warnings
from typing import Any, Union

import numpy as np

from irax.config import config
from irax.ir.types import (  # noqa: F401  (the dtype facts, re-exported as jnp's)
    BIT_FLOATS, KIND as _KIND, SHORT as _SHORT, SHORT_NAMES, SUPPORTED, bfloat16, bool_, complex64, complex128,
    complex_dtype,
    float4_e2m1fn, float8_e3m4, float8_e4m3, float8_e4m3b11fnuz, float8_e4m3fn, float8_e4m3fnuz,
    float8_e5m2, float8_e5m2fnuz, float8_e8m0fnu, float16, float32, float64, int8, int16, int32, int64, is_bool, is_complex, is_bit_float, is_float, is_int, is_unsigned,
    real_dtype, supported as _supported, to_mlir_name, uint8, uint16, uint32, uint64,
)

DTypeLike = Union[str, type, np.dtype]  # what names a dtype: "int32", float, jnp.float32 (irax.typing)
_TO_32 = {int64: int32, uint64: uint32, float64: float32, complex128: complex64}


# JAX's dtype of the gradient of an integer or boolean input: no values, only a shape.
float0 = np.dtype([("float0", np.void, 0)])


def canonicalize_dtype(dtype: DTypeLike) -> np.dtype:
    """The irax dtype for `dtype` in the current 64-bit mode. Takes whatever
    np.dtype takes; Python's bool/int/float map to bool/int64/float64 there
    (on every platform since NumPy 2) and complex to complex128, so they give
    the default dtypes."""
    x64 = config.x64_enabled
    try:
        return _canonical[dtype, x64]
    except (KeyError, TypeError):  # (not yet asked, or not hashable: a list, an Array)
        pass
    if not isinstance(dtype, np.dtype) and hasattr(dtype, "aval"):  # (np.dtype would take an Array's or a tracer's dtype)
        raise ValueError("Passing an array as a dtype argument is no longer supported; instead of dtype=arr use "
                         "dtype=arr.dtype.")
    dt = _supported(dtype)
    dt = dt if x64 else _TO_32.get(dt, dt)
    if isinstance(dtype, (type, str, np.dtype)):
        _canonical[dtype, x64] = dt
    return dt


# (dtype specifier, 64-bit mode) -> its irax dtype, for the specifiers asked
# for (types, names, np.dtypes: few): every promotion of a Python number asks,
# and np.dtype() with the checks costs ~0.25 us of a small op's ~5.
_canonical: dict = {}


_ML_FLOATS = {d.type for d in (bfloat16, *BIT_FLOATS)}


class extended:
    """JAX's scalar type above the dtypes that are not NumPy's (typed PRNG keys'):
    `jnp.issubdtype(key.dtype, irax.dtypes.extended)`."""


class prng_key(extended):
    """The scalar type of typed PRNG keys' dtype (its `type`), as `jax.dtypes.prng_key`."""


def _extended_type(t):
    """`t`'s scalar type where it is an extended one (a key dtype, or such a type itself), else None."""
    typ = t if isinstance(t, type) else getattr(t, "type", None)
    return typ if isinstance(typ, type) and issubclass(typ, extended) else None


def issubdtype(arg1: DTypeLike, arg2: DTypeLike) -> bool:
    """jnp.issubdtype: whether `arg1` is `arg2` or below it in NumPy's type
    hierarchy (np.floating, np.integer, ...), as np.issubdtype says, except
    that bfloat16 and the 8- and 4-bit floats, whose NumPy scalar types are no
    np.floating, are floats, and that key dtypes are below `extended` alone."""
    ext1, ext2 = _extended_type(arg1), _extended_type(arg2)
    if ext1 is not None or ext2 is not None:
        return ext1 is not None and ext2 is not None and issubclass(ext1, ext2)
    a, b = (t if isinstance(t, type) and issubclass(t, np.generic) else np.dtype(t).type for t in (arg1, arg2))
    if a in _ML_FLOATS:
        return b in (a, np.floating, np.inexact, np.number, np.generic)
    return bool(np.issubdtype(a, b))


def tangent_dtype(primal_dtype) -> np.dtype:
    """The dtype JAX requires of a tangent (or a cotangent) of a primal of
    this dtype: float0 for an integer, boolean or key one."""
    return primal_dtype if issubdtype(primal_dtype, np.inexact) else float0


def default_int_dtype() -> np.dtype:
    return canonicalize_dtype(int64)


def default_uint_dtype() -> np.dtype:
    return canonicalize_dtype(uint64)


def default_float_dtype() -> np.dtype:
    return canonicalize_dtype(float64)


def default_complex_dtype() -> np.dtype:
    return canonicalize_dtype(complex128)


def is_inexact(dtype) -> bool:
    """A float or complex dtype (np.inexact)."""
    return is_float(dtype) or is_complex(dtype)


def to_inexact_dtype(dtype) -> np.dtype:
    """JAX's rule for functions that need floats (sin, mean, divide): floats and complex stay,
    bool and integers up to 32 bits become float32, 64-bit integers float64
    (canonicalized: float32 outside x64 mode)."""
    dtype = np.dtype(dtype)
    if is_inexact(dtype):
        return dtype
    return canonicalize_dtype(float64 if dtype.itemsize == 8 else float32)


def warn_complex_to_real(src, dst, stacklevel=3) -> None:
    """JAX's (and NumPy's) ComplexWarning where a conversion drops imaginary parts."""
    if is_complex(src) and not is_complex(dst):
        warnings.warn("Casting complex values to real discards the imaginary part", np.exceptions.ComplexWarning,
                      stacklevel=stacklevel)


def is_weakly_typed(x) -> bool:
    """JAX's rule: Python int, float and complex values are weak, Python bool is
    not; arrays and tracers say so in `.weak_type`."""
    return type(x) in (int, float, complex) or bool(getattr(x, "weak_type", False))


def dtype_and_weak(x) -> tuple[np.dtype, bool]:
    """(dtype, weak_type) of a value or dtype specifier, as promotion sees it."""
    aval = getattr(x, "aval", None)  # irax Arrays and Tracers: the hot path of eager ops
    if aval is not None:
        return aval.dtype, aval.weak_type
    # Exact types: np.float64 subclasses float but is a strong NumPy scalar.
    # The types themselves count too: JAX promotes `int` like a Python int.
    py = x if isinstance(x, type) else type(x)
    if py in (bool, int, float, complex):
        return canonicalize_dtype(py), py is not bool
    if isinstance(x, (type, str, np.dtype)):
        return canonicalize_dtype(x), False
    if hasattr(x, "dtype") and not isinstance(x, (np.ndarray, np.generic)):
        # irax Arrays and Tracers. Like JAX, a 64-bit array made in x64 mode
        # keeps its dtype when the mode goes off: only results are narrowed.
        return _supported(x.dtype), bool(getattr(x, "weak_type", False))
    return canonicalize_dtype(np.asarray(x).dtype), False


# The lattice drawn above: each node's immediate successors (x64 mode's;
# _UPPER_32 below has x32 mode's).
_LATTICE = {
    "bool": ["i*"],
    "i*": ["u8", "i8"],
    "u8": ["u16", "i16"], "u16": ["u32", "i32"], "u32": ["u64", "i64"], "u64": ["f*"],
    "i8": ["i16"], "i16": ["i32"], "i32": ["i64"], "i64": ["f*"],
    "f*": ["bf16", "f16", "c*", *(_SHORT[d] for d in BIT_FLOATS)],
    **{_SHORT[d]: [] for d in BIT_FLOATS},  # no implicit promotion to or from another float
    "bf16": ["f32"], "f16": ["f32"], "f32": ["f64", "c64"], "f64": ["c128"],
    "c*": ["c64"], "c64": ["c128"], "c128": [],
}


# JAX's lattice under jax_numpy_dtype_promotion="strict": only Python
# scalars (the weak nodes) promote, to any dtype of their kind or above;
# two different dtypes have no common upper bound.
_STRICT_LATTICE = {
    **{node: [] for node in _LATTICE},
    "i*": ["f*", *(_SHORT[d] for d in _SHORT if _KIND[d] in "iu")],
    "f*": ["c*", *(_SHORT[d] for d in _SHORT if _KIND[d] == "f")],
    "c*": ["c64", "c128"],
}


def _upper_bounds(lattice, node) -> set:
    return {node}.union(*(_upper_bounds(lattice, n) for n in lattice[node]))


_UPPER = {node: _upper_bounds(_LATTICE, node) for node in _LATTICE}
# JAX's x32 mode swaps in u32 -> i32 for u32 -> i64, so that no 64-bit dtype
# is formed from narrower ones: promote_types(uint32, int32) is int32 there.
_UPPER_32 = {node: _upper_bounds({**_LATTICE, "u32": ["u64", "i32"]}, node) for node in _LATTICE}
_STRICT_UPPER = {node: _upper_bounds(_STRICT_LATTICE, node) for node in _STRICT_LATTICE}
_WEAK_NAMES = {"i*": str(int), "f*": str(float), "c*": str(complex)}  # as JAX names them: "<class 'int'>"
_WEAK_NODES = {"i*": default_int_dtype, "f*": default_float_dtype, "c*": default_complex_dtype}
_WEAK_TYPES = {"i*": int, "f*": float, "c*": complex}
_DEFAULT_OF_KIND = {"i": default_int_dtype, "u": default_uint_dtype, "f": default_float_dtype,
                    "c": default_complex_dtype}
_WEAK_NODE_OF_KIND = {"i": "i*", "u": "i*", "f": "f*", "c": "c*"}


class TypePromotionError(ValueError):
    """JAX's: two dtypes with no common upper bound (an 8-bit float and any other float)."""


def _join(nodes, strict=False, x64=True) -> str:
    """Least upper bound: the common upper bound below all the others, in the
    lattice of the mode (`x64`). c128 is above everything but the 8- and 4-bit
    floats, which have none above them (in the `strict` lattice, no two dtypes
    have one)."""
    nodes = tuple(nodes)
    upper = _STRICT_UPPER if strict else _UPPER if x64 else _UPPER_32
    common = set.intersection(*(upper[n] for n in nodes))
    if not common and strict:
        names = tuple(_WEAK_NAMES.get(n) or np.dtype(SHORT_NAMES[n]).name for n in nodes)  # as given, not narrowed
        raise TypePromotionError(
            f"Input dtypes {names} have no available implicit dtype promotion path when "
            "jax_numpy_dtype_promotion=strict. Try explicitly casting inputs to the desired output type, or set "
            "jax_numpy_dtype_promotion=standard.")
    if not common:
        names = tuple(_node_dtype(n).name for n in nodes)
        raise TypePromotionError(
            f"Input dtypes {names} have no available implicit dtype promotion path. To avoid unintended promotion, "
            "8-bit floats do not support implicit promotion. If you'd like your inputs to be promoted to another "
            "type, you can do so explicitly using e.g. x.astype('float32')")
    return next(c for c in common if common <= upper[c])


def _node(dtype, weak) -> str:
    kind = _KIND[dtype]
    if weak and kind != "b":  # a weak bool array promotes like a strong one
        return _WEAK_NODE_OF_KIND[kind]
    return _SHORT[dtype]


def _node_dtype(node) -> np.dtype:
    return canonicalize_dtype(_WEAK_NODES[node]() if node in _WEAK_NODES else SHORT_NAMES[node])


def promote_types(a: DTypeLike, b: DTypeLike) -> np.dtype:
    """jnp.promote_types: the join of a and b in the mode's lattice, not
    canonicalized, as in JAX (which narrows dtypes where it makes arrays):
    float32 and float64 give float64 in x32 mode too, int64 and uint64
    float64. The types int, float and complex are weak
    (promote_types('uint8', int) -> uint8) and, joined alone, stand for
    int64, float64 and complex128 (np.dtype(int), ...)."""
    nodes = (_node(_supported(t), any(t is w for w in (int, float, complex))) for t in (a, b))
    node = _join(nodes, _strict(), config.x64_enabled)
    return np.dtype(_WEAK_TYPES.get(node) or SHORT_NAMES[node])


def _strict() -> bool:
    """Whether promotion follows the strict lattice (jax_numpy_dtype_promotion)."""
    return config.irax_numpy_dtype_promotion == "strict"


def lattice_result_type(*args) -> tuple[np.dtype, bool]:
    """(dtype, weak_type) that jax.numpy operations compute `args` in. Unlike
    `result_type`, a weak result keeps its width: weak uint8 + weak uint8 is
    weak uint8, as in jnp.add."""
    if not args:
        raise ValueError("at least one array or dtype is required")
    return _lattice_result_type(tuple(map(dtype_and_weak, args)), config.x64_enabled, _strict())


@functools.lru_cache(maxsize=4096)
def _lattice_result_type(dtypes_and_weaks, x64_enabled, strict):
    """Memoized by the operands' (dtype, weak) pairs and the modes: eager ops
    promote on every call."""
    dtypes, weaks = zip(*dtypes_and_weaks)
    extended = [d for d in dtypes if not isinstance(d, np.dtype)]  # (typed PRNG keys): no promotion
    if extended and len(set(dtypes)) == 1:
        return dtypes[0], False
    if extended:
        raise ValueError(f"dtype={extended[0]} is not a valid dtype for JAX type promotion.")
    if all(weaks) and not strict:
        # JAX joins all-weak operands by their dtypes and re-applies weakness,
        # rather than collapsing them all to i*/f* first (not when strict).
        node, weak = _join((_SHORT[d] for d in dtypes), x64=x64_enabled), True
    elif len(set(dtypes)) == 1 and not all(weaks):
        node, weak = _SHORT[dtypes[0]], False  # JAX's trivial case: one dtype, at least one strong
    else:
        node = _join((_node(d, w) for d, w in zip(dtypes, weaks)), strict, x64_enabled)
        weak = node in _WEAK_NODES
    dtype = _node_dtype(node)
    return dtype, weak and dtype != bool_


def result_type(*args: Any, return_weak_type_flag: bool = False) -> np.dtype | tuple[np.dtype, bool]:
    """JAX's dtypes.result_type: the promoted dtype of values, arrays and
    dtypes (None means the default float), canonicalized. A weak result has the
    default dtype of its kind. With `return_weak_type_flag`, (dtype, weak)."""
    dtype, weak = lattice_result_type(*(default_float_dtype() if a is None else a for a in args))
    if weak:
        dtype = _DEFAULT_OF_KIND[_KIND[dtype]]()
    return (dtype, weak) if return_weak_type_flag else dtype

"""What each scalar `arith` and `math` op means as a NumPy function on
whole arrays: the tables the NumPy evaluator (evaluate.py) applies a
`linalg.generic`'s body with.

Integers are signless in MLIR: they are held as signed NumPy integers, and
an unsigned op (divui, shrui, cmpi ult, uitofp ...) views them unsigned.
"""
import math

import numpy as np


def _unsigned(x):
    x = np.asarray(x)
    return x.view(x.dtype.str.replace("i", "u")) if x.dtype.kind == "i" else x


def _signed(x):
    """An integer operand read signed: i1's true is -1 (NumPy's bool is 1)."""
    x = np.asarray(x)
    return np.negative(x, dtype=np.int8) if x.dtype == np.bool_ else x


def _truncated(x, dtype):
    """arith.trunci: the low bits (to i1: the lowest, where NumPy's bool would test for nonzero)."""
    x = np.asarray(x)
    return (x & 1).astype(dtype) if dtype == np.bool_ else x.astype(dtype)


def _signed_like(result, like):
    return np.asarray(result).astype(np.asarray(like).dtype, copy=False)


def _unsigned_op(fn):
    """An unsigned integer op on signless (signed) operands: viewed unsigned, then back."""
    return lambda a, b: _signed_like(fn(_unsigned(a), _unsigned(b)), a)


def _unsigned_compare(fn):
    """An unsigned integer compare on signless (signed) operands: a bool, as the signed ones'."""
    return lambda a, b: fn(_unsigned(a), _unsigned(b))


def flush(x):
    """`x` with its subnormal floats read as zeros of their sign. IREE's CPU
    programs run, as XLA's do, with the processor's flush-to-zero and
    denormals-are-zero modes on: an arithmetic op reads a subnormal operand
    as ±0 and writes a subnormal result as ±0 (moves, negation, abs and
    copysign leave the bits alone). The evaluator applies this to the
    operands and results of the ops in FLUSHED (evaluate._Function.flushing)."""
    tiny = SMALLEST_NORMAL.get(getattr(x, "dtype", None))
    if tiny is None:
        return x  # (not a float32 or float64 array or scalar)
    magnitude = np.abs(x)
    if not magnitude.size or np.minimum.reduce(magnitude, axis=None) >= tiny:  # (two passes, where most have none)
        return x
    small = magnitude < tiny
    small &= x != 0
    return np.where(small, x * 0, x) if small.any() else x


# The dtypes whose subnormals flush reads as zeros -> their smallest normal
# number. (float16 is computed in float32, where its subnormals are normal.)
SMALLEST_NORMAL = {np.dtype(t): np.finfo(t).tiny for t in (np.float32, np.float64)}


class _ExtremumOfZeros:
    """arith.maximumf / minimumf as a combining ufunc: `reduce` puts +0
    above -0 as the elementwise op does (np.maximum.reduce keeps either)."""

    def __init__(self, ufunc, elementwise, negative_wins):
        self.ufunc, self.elementwise, self.negative_wins = ufunc, elementwise, negative_wins

    def __call__(self, a, b):
        return self.elementwise(a, b)

    def reduce(self, value, axis):
        folded = self.ufunc.reduce(value, axis=axis)
        if not np.any(folded == 0):
            return folded
        zero = value == 0
        if self.negative_wins:  # min: -0 where any zero is -0
            pick = np.logical_or.reduce(zero & np.signbit(value), axis=axis)
        else:  # max: -0 where every zero is -0
            pick = ~np.logical_or.reduce(zero & ~np.signbit(value), axis=axis)
        signed = np.where(pick, np.negative(np.zeros((), folded.dtype)), np.zeros((), folded.dtype))
        return np.where(folded == 0, signed, folded)


def _trunc_divide(a, b):
    q = np.floor_divide(a, b)
    return np.where((q < 0) & (q * b != a), q + 1, q).astype(np.asarray(a).dtype, copy=False)


def _ceil_divide(a, b):
    return -np.floor_divide(-np.asarray(a), b)


def _round_away(x):
    """math.round: halves away from zero (NumPy's round is to even)."""
    whole = np.trunc(x)
    return np.where(np.abs(x - whole) >= 0.5, whole + np.sign(x), whole).astype(np.asarray(x).dtype, copy=False)


def _fma(a, b, c):
    """math.fma, rounding once (but for float64's rare double roundings: see rounded_once)."""
    dtype = np.result_type(a, b, c)
    return rounded_once(exact_product(a, b), np.asarray(c, np.float64), dtype)


def exact_product(a, b):
    """`a * b` held exact for rounded_once: in float64 for float32 (or
    narrower) numbers; for float64 ones, the complex number p + e·i, p the
    rounded product and e its error (Dekker's product: exact, but where it
    under- or overflows; an error that is not finite is taken as 0)."""
    a, b = np.asarray(a), np.asarray(b)
    if np.result_type(a, b).itemsize <= 4:
        return np.multiply(a, b, dtype=np.float64)
    product = np.asarray(a * b)
    (a_high, a_low), (b_high, b_low) = _halves(a), _halves(b)
    error = ((a_high * b_high - product) + a_high * b_low + a_low * b_high) + a_low * b_low
    held = np.array(product, np.complex128)
    held.imag = np.where(np.isfinite(error), error, 0.0)
    return held


def _halves(x):
    """Veltkamp's split of float64 `x` into two halves of 26 bits, whose products are exact."""
    scaled = x * 134217729.0  # (2^27 + 1)
    high = scaled - (scaled - x)
    return high, x - high


def rounded_once(product, addend, dtype):
    """`product + addend`, the product exact_product's and the addend a
    float64, rounded to `dtype` once, as a fused multiply-add rounds it.
    float32's: rounded to float64 first, then to float32, a sum whose
    float64 rounding lands on a tie of float32 would round to even where the
    exact sum is off the tie (x * 3 + 1 of float32 near 1e30: 1/4 of
    products of 3 are ties); so such a sum is moved one float64 ulp towards
    the exact one (its error, TwoSum's, tells which way), off the tie.
    float64's: the rounded product plus the addend, plus the two errors
    (TwoSum's and the product's), which rounds twice only where the errors'
    sum is inexact."""
    if np.iscomplexobj(product):
        total, error = _two_sum(product.real, addend)
        error += product.imag
        return np.where(np.isfinite(total) & (error != 0), total + error, total)  # (-0 + -0 is -0)
    total = np.asarray(product + addend)
    dropped = 52 - np.finfo(dtype).nmant  # (the float64 bits rounding to `dtype` drops, normal numbers')
    ties = (total.view(np.int64) & ((1 << dropped) - 1)) == 1 << (dropped - 1)
    if ties.any():  # (rare but for some numbers, as products of small integers: TwoSum of those alone)
        at = np.nonzero(ties)
        tied = total[at]
        error = _two_sum(np.broadcast_to(product, total.shape)[at], np.broadcast_to(addend, total.shape)[at])[1]
        total[at] = np.where((error != 0) & np.isfinite(error), np.nextafter(tied, np.copysign(np.inf, error)), tied)
    return total.astype(dtype)


def _two_sum(a, b):
    """(a + b rounded, its rounding error exactly): Knuth's TwoSum."""
    total = np.asarray(a + b)
    b_part = total - a
    return total, (a - (total - b_part)) + (b - b_part)


def _maximumf(a, b):
    """arith.maximumf: NaN if either is, and +0 above -0 (np.maximum returns either zero)."""
    both_zero = (a == 0) & (b == 0)
    return np.where(both_zero, np.where(np.signbit(a), b, a), np.maximum(a, b))


def _minimumf(a, b):
    both_zero = (a == 0) & (b == 0)
    return np.where(both_zero, np.where(np.signbit(a), a, b), np.minimum(a, b))


FLOAT_PREDICATES = {  # arith.cmpf's predicate numbers (the o- forms are false on NaN, the u- forms true)
    0: lambda a, b: np.zeros(np.broadcast(a, b).shape, bool),
    1: np.equal, 2: np.greater, 3: np.greater_equal, 4: np.less, 5: np.less_equal,
    6: lambda a, b: np.not_equal(a, b) & ~np.isnan(a) & ~np.isnan(b),
    7: lambda a, b: ~np.isnan(a) & ~np.isnan(b),
    8: lambda a, b: ~np.not_equal(a, b) | np.isnan(a) | np.isnan(b),
    9: lambda a, b: ~np.less_equal(a, b), 10: lambda a, b: ~np.less(a, b),
    11: lambda a, b: ~np.greater_equal(a, b), 12: lambda a, b: ~np.greater(a, b),
    13: np.not_equal, 14: lambda a, b: np.isnan(a) | np.isnan(b),
    15: lambda a, b: np.ones(np.broadcast(a, b).shape, bool),
}
INT_PREDICATES = {  # arith.cmpi's
    0: np.equal, 1: np.not_equal, 2: np.less, 3: np.less_equal, 4: np.greater, 5: np.greater_equal,
    6: _unsigned_compare(np.less), 7: _unsigned_compare(np.less_equal), 8: _unsigned_compare(np.greater),
    9: _unsigned_compare(np.greater_equal),
}

def _by_element(fn):
    """A Python float function on every element, in the operand's dtype
    (NumPy has no erf; SciPy's is not one of irax's dependencies)."""
    return lambda x: np.vectorize(fn, otypes=[np.asarray(x).dtype])(x)


# Elementwise ops on operands alone: name -> NumPy function.
ELEMENTWISE = {
    "arith.addf": np.add, "arith.subf": np.subtract, "arith.mulf": np.multiply, "arith.divf": np.divide,
    "arith.remf": np.fmod, "arith.negf": np.negative, "arith.maximumf": _maximumf, "arith.minimumf": _minimumf,
    "arith.maxnumf": np.fmax, "arith.minnumf": np.fmin,
    "arith.addi": np.add, "arith.subi": np.subtract, "arith.muli": np.multiply, "arith.divsi": _trunc_divide,
    "arith.remsi": np.fmod, "arith.floordivsi": np.floor_divide, "arith.ceildivsi": _ceil_divide,
    "arith.divui": _unsigned_op(np.floor_divide), "arith.remui": _unsigned_op(np.remainder),
    "arith.maxsi": np.maximum, "arith.minsi": np.minimum, "arith.maxui": _unsigned_op(np.maximum),
    "arith.minui": _unsigned_op(np.minimum), "arith.andi": np.bitwise_and, "arith.ori": np.bitwise_or,
    "arith.xori": np.bitwise_xor, "arith.shli": np.left_shift, "arith.shrsi": np.right_shift,
    "arith.shrui": _unsigned_op(np.right_shift), "arith.select": np.where,
    "math.exp": np.exp, "math.exp2": np.exp2, "math.expm1": np.expm1, "math.log": np.log, "math.log2": np.log2,
    "math.log10": np.log10, "math.log1p": np.log1p, "math.sqrt": np.sqrt, "math.cbrt": np.cbrt,
    "math.rsqrt": lambda x: 1 / np.sqrt(x), "math.tanh": np.tanh, "math.sin": np.sin, "math.cos": np.cos,
    "math.tan": np.tan, "math.sinh": np.sinh, "math.cosh": np.cosh, "math.asin": np.arcsin,
    "math.acos": np.arccos, "math.atan": np.arctan, "math.asinh": np.arcsinh, "math.acosh": np.arccosh,
    "math.atanh": np.arctanh, "math.atan2": np.arctan2, "math.absf": np.abs, "math.absi": np.abs,
    "math.floor": np.floor, "math.ceil": np.ceil, "math.trunc": np.trunc, "math.roundeven": np.rint,
    "math.round": _round_away, "math.powf": np.power, "math.copysign": np.copysign,
    "math.erf": _by_element(math.erf), "math.erfc": _by_element(math.erfc), "math.fma": _fma,
    "math.isnan": np.isnan, "math.isinf": np.isinf, "math.isfinite": np.isfinite,
}
# The float functions whose value at a normal x is normal or 0: about x
# near 0 (tanh(x) ~ x, erf(x) ~ 1.13x) and far from 0 elsewhere (log's least
# is about 2^-24, at 1 - 2^-24). test_tiered_jit checks NumPy's on numbers
# either side of the smallest normal and of 1.
NORMAL_NEAR_ZERO = ("math.tanh", "math.sqrt", "math.rsqrt", "math.cbrt", "math.log", "math.log2", "math.log10",
                    "math.log1p", "math.expm1", "math.atan", "math.asinh", "math.sinh", "math.erf")
# Adds that LLVM fuses with a product read by them alone: name -> the sign of the second operand.
CONTRACTED = {"arith.addf": 1.0, "arith.subf": -1.0}
# Conversions: name -> f(x, result dtype).
CONVERSIONS = {
    **dict.fromkeys(("arith.extf", "arith.truncf", "arith.fptosi"), lambda x, dtype: np.asarray(x).astype(dtype)),
    **dict.fromkeys(("arith.sitofp", "arith.extsi", "arith.index_cast"), lambda x, dtype: _signed(x).astype(dtype)),
    "arith.trunci": _truncated,
    **dict.fromkeys(("arith.uitofp", "arith.extui", "arith.index_castui"), lambda x, dtype: _unsigned(x).astype(dtype)),
    "arith.fptoui": lambda x, dtype: np.asarray(x).astype(dtype.str.replace("i", "u")).view(dtype),
    "arith.bitcast": lambda x, dtype: np.asarray(x).view(dtype),
}
# The ops a reduction may combine with, as ufuncs (their .reduce folds axes).
COMBINE = {"arith.addf": np.add, "arith.mulf": np.multiply,
           "arith.maximumf": _ExtremumOfZeros(np.maximum, _maximumf, negative_wins=False),
           "arith.minimumf": _ExtremumOfZeros(np.minimum, _minimumf, negative_wins=True),
           "arith.maxnumf": np.fmax, "arith.minnumf": np.fmin,
           "arith.addi": np.add, "arith.muli": np.multiply, "arith.maxsi": np.maximum, "arith.minsi": np.minimum,
           "arith.andi": np.bitwise_and, "arith.ori": np.bitwise_or, "arith.xori": np.bitwise_xor}
# The float ops the processor's flush-to-zero modes apply to (see flush):
# name -> whether a subnormal result is flushed too (False where the op
# makes none of operands holding none, as their operands are flushed:
# compares, rounding to an integer, extrema, NORMAL_NEAR_ZERO). Not here:
# moves, arith.negf, math.absf, math.copysign (bit operations), the
# classifications (isnan, isinf, isfinite), integer ops.
FLUSHED = {
    **{name: True for name in ELEMENTWISE if name.startswith("math.") and name not in (
        "math.absf", "math.absi", "math.copysign", "math.isnan", "math.isinf", "math.isfinite")},
    **dict.fromkeys(("arith.addf", "arith.subf", "arith.mulf", "arith.divf", "arith.remf", "arith.truncf"), True),
    **dict.fromkeys(("arith.cmpf", "arith.extf", "arith.maximumf", "arith.minimumf", "arith.maxnumf", "arith.minnumf",
                     "arith.fptosi", "arith.fptoui", "math.floor", "math.ceil", "math.trunc", "math.roundeven",
                     "math.round"), False),
    **dict.fromkeys(NORMAL_NEAR_ZERO, False),
}


# The ops of FLUSHED whose operands IREE's CPU code reads as they are, bits
# and all: remf calls libm's fmodf (fmod(1.0, 1e-39) is 0, not NaN; its
# result is flushed), expm1 and log1p return a tiny x itself.
READ_AS_THEY_ARE = ("arith.remf", "math.expm1", "math.log1p")


def _far_from_subnormal(c, dtype) -> bool:
    """Whether x + c is 0 or normal for every x of `dtype` that is: where
    |x| < |c| / 2 the sum is above |c| / 2; else x and c are multiples of
    half c's last place, so their sum is too, 0 or at least the smallest
    normal where |c| >= 2^(minexp + nmant + 1) (float32's 2^-102)."""
    info = np.finfo(dtype)
    return abs(c) >= 2.0 ** (info.minexp + info.nmant + 1)


# Ops that make no subnormal of operands holding none where one operand is a
# constant c (x + 1.0, 1.0 - x, x * c for |c| >= 1, x / c for |c| <= 1), so
# that their results need no flush: name -> (where c may be, the test of c).
NORMAL_WITH_CONSTANT = {
    "arith.addf": ((0, 1), _far_from_subnormal), "arith.subf": ((0, 1), _far_from_subnormal),
    "arith.mulf": ((0, 1), lambda c, dtype: abs(c) >= 1), "arith.divf": ((1,), lambda c, dtype: 0 < abs(c) <= 1),
}

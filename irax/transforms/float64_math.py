"""A pass that computes float64 functions from arithmetic alone.

IREE 3.13 has no float64 maths library on any target: its CPU code calls
libm's sin, cos, tan, tanh, atan, asin, acos, atan2 and log2 (undefined in its
embedded linker) and cannot lower erf or cbrt, and SPIR-V's GLSL functions
take 16- and 32-bit floats only. So irax's scalar rules write `math.exp`,
`math.sin`, ... on float64 as on float32 (the derivative rules see them as
such), and this pass, after autodiff, replaces each float64 one by +, -, *, /,
sqrt, floor, trunc, compares and selects, which every target has.

Each function reduces its argument to a small interval and sums a series
there by Horner's rule, with exact coefficients (1/k!, 1/(2k+1), ...)
carried far enough that the first term left out is below 2^-60 of the sum;
erf's middle range is a Chebyshev interpolant of erfc(x) exp(x²), computed
at import from Python's math.erfc. The reductions:

    exp(x)    = 2^n exp(r),  r = x - n ln2 in [-ln2/2, ln2/2]   (ln2 in two parts)
    log(x)    = e ln2 + log(m),  x = m 2^e,  m in [sqrt(1/2), sqrt(2)),
                log(m) = 2 atanh(s) = f - s (f - 2 Σ s^2k/(2k+1)),  f = m - 1, s = f / (2 + f)
    sin, cos  of r = x - n π/2 in [-π/4, π/4] (π/2 in three 33-bit parts: exact
                products for |n| < 2^20), picked by n mod 4
    atan(x)   = π/2 - atan(1/x) above 1, π/6 + atan((x√3 - 1)/(x + √3)) above tan(π/12)
    erf(x)    = series below 1, 1 - exp(-x²) erfcx(x) below 6 (erfcx on two
                intervals), ±1 beyond

and the rest from those: expm1 and log1p as series near 0, exp2, log2, pow,
cbrt (one Newton step), the hyperbolic functions and their inverses, asin,
acos, atan2, copysign, rsqrt and fmod (exact for |a / b| < 2^53, by
Dekker's exact product; beyond, not: fmod(1e17, 3) is 4). Powers of two
come from a table of 2^k (products of 2^(±2^i) took exp twice as long), and
frexp is a binary search by them: IREE's Vulkan code cannot bitcast a
float64 to i64. Accuracy, measured against NumPy in tests/test_float64_math.py:
a few ulp (pow: about |y log x| ulp more, as exp(y log x) amplifies log's
rounding: 1e-300 ** 0.5 is 118 ulp off). sin, cos and tan of |x| > 3.4e38
are NaN (the quarter turns of primitives/scalar_rules.py split x in float32).
"""
import math as pymath
from fractions import Fraction

import numpy as np
from numpy.polynomial import chebyshev
from iree.compiler import ir
from iree.compiler.dialects import arith, math, tensor

from irax.ir.scalar import cmpf

# π and ln 2 to 50 digits: π/2 in three parts of 33 bits (n P_i is exact for
# |n| < 2^20), ln 2 in two (e ln2_hi exact for |e| < 2^21). The parts add up
# to more than float64's 53 bits: with float64's ln 2, exp(700) was 195 ulp off.
_PI = Fraction("3.14159265358979323846264338327950288419716939937510")
_LN2 = Fraction("0.69314718055994530941723212145817656807550013436026")


def _split(value: Fraction, bits=33):
    """`value` rounded to `bits` significant bits (exactly a float64), and the rest."""
    scale = Fraction(2) ** (bits - 1 - pymath.floor(pymath.log2(value)))
    head = Fraction(round(value * scale)) / scale
    return float(head), value - head


_P1, _rest = _split(_PI / 2)
_P2, _rest = _split(_rest)
_P3 = float(_rest)
_LN2_HI, _LN2_LO = _split(_LN2, 32)
_LN2_LO = float(_LN2_LO)
SIN_COS_LIMIT = 2.0**19 * pymath.pi  # |x| below: n = round(x 2/π) < 2^20
_EXP_MAX, _EXP_MIN = 709.782712893384, -745.1332191019412  # exp beyond: inf, 0

# Series coefficients, highest power first (Horner).
_EXP = [1 / pymath.factorial(k) for k in range(15)][::-1]                   # Σ r^k / k!
_EXPM1 = [1 / pymath.factorial(k + 1) for k in range(15)][::-1]             # Σ x^k / (k+1)!
_ATANH = [2 / (2 * k + 1) for k in range(1, 13)][::-1]                      # 2 Σ z^k / (2k+1), k >= 1
_SIN = [(-1) ** k / pymath.factorial(2 * k + 1) for k in range(10)][::-1]   # Σ (-z)^k / (2k+1)!
_COS = [(-1) ** k / pymath.factorial(2 * k) for k in range(11)][::-1]       # Σ (-z)^k / (2k)!
_ATAN = [(-1) ** k / (2 * k + 1) for k in range(15)][::-1]                  # Σ (-z)^k / (2k+1)
_ERF = [2 / pymath.sqrt(pymath.pi) * (-1) ** k / (pymath.factorial(k) * (2 * k + 1)) for k in range(19)][::-1]


def _erfcx_interpolant(lo, hi, degree=24):
    """Chebyshev coefficients of erfc(a) exp(a²) on [lo, hi]."""
    return chebyshev.chebinterpolate(
        lambda t: np.array([pymath.erfc(a) * pymath.exp(a * a) for a in (t * (hi - lo) + hi + lo) / 2]), degree)


_ERFCX = [(1.0, 2.5, _erfcx_interpolant(1.0, 2.5)), (2.5, 6.0, _erfcx_interpolant(2.5, 6.0))]


# Scalar float64 arithmetic at the insertion point.
def _c(value):
    return arith.ConstantOp(ir.F64Type.get(), ir.FloatAttr.get(ir.F64Type.get(), float(value))).result


def _i(value):
    return arith.ConstantOp(ir.IntegerType.get_signless(32), value).result


add, sub, mul, div, select = arith.addf, arith.subf, arith.mulf, arith.divf, arith.select


def _lt(a, b):
    return cmpf("olt", a, b)


def _gt(a, b):
    return cmpf("ogt", a, b)


def _is_nan(x):
    return cmpf("uno", x, x)


def _finite(x):
    return cmpf("one", math.absf(x), _c(np.inf))


def _negative(x):
    """x < 0, and true for -0.0 (1 / -0.0 = -inf) without a bitcast."""
    return arith.ori(_lt(x, _c(0.0)), arith.andi(cmpf("oeq", x, _c(0.0)), _lt(div(_c(1.0), x), _c(0.0))))


def _horner(coefficients, z):
    total = _c(coefficients[0])
    for c in coefficients[1:]:
        total = add(mul(total, z), _c(c))
    return total


def _clenshaw(coefficients, t):
    """Σ c_k T_k(t), the Chebyshev series, by Clenshaw's recurrence."""
    b1, b2, two_t = _c(0.0), _c(0.0), add(t, t)
    for c in coefficients[:0:-1]:
        b1, b2 = add(sub(mul(two_t, b1), b2), _c(c)), b1
    return add(sub(mul(t, b1), b2), _c(coefficients[0]))


def _to_i32(x):
    return arith.fptosi(ir.IntegerType.get_signless(32), x)


_POW2_RANGE = 545  # 2^k for |k| <= this, a table: exact, normal floats


def _pow2_half(k):
    """2^k for an integral float64 |k| <= _POW2_RANGE, read from a table
    (IREE's Vulkan code cannot build it from bits: no float64 bitcast)."""
    table = arith.ConstantOp(ir.RankedTensorType.get([2 * _POW2_RANGE + 1], ir.F64Type.get()),
                             ir.DenseElementsAttr.get(2.0 ** np.arange(-_POW2_RANGE, _POW2_RANGE + 1))).result
    index = arith.index_cast(ir.IndexType.get(), _to_i32(add(k, _c(_POW2_RANGE))))
    return tensor.extract(table, [index])


def _times_pow2(y, k):
    """y 2^k for integral k in [-1100, 1100], rounded once where it is subnormal."""
    half = math.floor(mul(k, _c(0.5)))
    return mul(mul(y, _pow2_half(half)), _pow2_half(sub(k, half)))


def _frexp(x):
    """(m, e) with x = m 2^e, m in [sqrt(1/2), sqrt(2)), for finite x > 0."""
    subnormal = _lt(x, _c(2.0**-1022))
    m, e = select(subnormal, mul(x, _c(2.0**54)), x), select(subnormal, _c(-54.0), _c(0.0))
    for k in (512, 256, 128, 64, 32, 16, 8, 4, 2, 1):
        big = cmpf("oge", m, _c(2.0**k))
        m, e = select(big, mul(m, _c(2.0**-k)), m), select(big, add(e, _c(k)), e)
    for k in (512, 256, 128, 64, 32, 16, 8, 4, 2, 1):
        small = _lt(m, _c(2.0 ** (1 - k)))
        m, e = select(small, mul(m, _c(2.0**k)), m), select(small, sub(e, _c(k)), e)
    high = cmpf("oge", m, _c(pymath.sqrt(2)))
    return select(high, mul(m, _c(0.5)), m), select(high, add(e, _c(1.0)), e)


def _log_of_1_plus(f):
    """log(1 + f) for 1 + f in [sqrt(1/2), sqrt(2)): 2 atanh(s), s = f / (2 + f)."""
    s = div(f, add(_c(2.0), f))
    series = mul(mul(s, s), _horner(_ATANH, mul(s, s)))
    return sub(f, mul(s, sub(f, series)))


def _log_parts(x):
    """(e, log m) for x = m 2^e, as _frexp; x positive and finite."""
    m, e = _frexp(x)
    return e, _log_of_1_plus(sub(m, _c(1.0)))


def _log_special(x, value):
    """log's value at 0 (-inf), +inf (inf), negatives and NaN (NaN) over `value`."""
    value = select(cmpf("oeq", x, _c(0.0)), _c(-np.inf), value)
    value = select(cmpf("oeq", x, _c(np.inf)), x, value)
    return select(arith.ori(_lt(x, _c(0.0)), _is_nan(x)), _c(np.nan), value)


def _positive(x):
    """x > 0 and finite, read as the CPU reads a subnormal: as 0 (its
    flush-to-zero mode, XLA's too), which a compare may not do but a
    product does."""
    return arith.andi(_gt(mul(x, _c(2.0**54)), _c(0.0)), _finite(x))


def _safe_positive(x):
    """x where it is `_positive`, else 1 (the special values are selected after)."""
    return select(_positive(x), x, _c(1.0))


def log(x):
    e, log_m = _log_parts(_safe_positive(x))
    return _log_special(x, add(mul(e, _c(_LN2_HI)), add(log_m, mul(e, _c(_LN2_LO)))))


def log2(x):
    e, log_m = _log_parts(_safe_positive(x))
    return _log_special(x, add(e, mul(log_m, _c(1 / pymath.log(2)))))


def log1p(x):
    """log(m) for m = 1 + x near 1 is the series of f = x itself (not of
    (1 + x) - 1, which Vulkan's compilers take for x); log(1 + x) elsewhere."""
    near_one = arith.andi(_gt(x, _c(pymath.sqrt(0.5) - 1)), _lt(x, _c(pymath.sqrt(2) - 1)))
    return select(near_one, _log_of_1_plus(select(near_one, x, _c(0.0))), log(add(_c(1.0), x)))


def _exp_of_reduced(x, n_of, r_of, kmax, kmin):
    """2^n p(r) with the special values of exp: x NaN, above kmax (inf), below kmin (0)."""
    safe = select(_is_nan(x), _c(0.0), arith.minimumf(arith.maximumf(x, _c(kmin - 2)), _c(kmax + 2)))
    n = n_of(safe)
    value = _times_pow2(_horner(_EXP, r_of(safe, n)), n)
    value = select(_gt(x, _c(kmax)), _c(np.inf), select(_lt(x, _c(kmin)), _c(0.0), value))
    return select(_is_nan(x), x, value)


def exp(x):
    return _exp_of_reduced(x, lambda v: math.floor(add(mul(v, _c(1 / pymath.log(2))), _c(0.5))),
                           lambda v, n: sub(sub(v, mul(n, _c(_LN2_HI))), mul(n, _c(_LN2_LO))), _EXP_MAX, _EXP_MIN)


def exp2(x):
    return _exp_of_reduced(x, lambda v: math.floor(add(v, _c(0.5))),
                           lambda v, n: mul(sub(v, n), _c(pymath.log(2))), 1024.0, -1075.0)


def expm1(x):
    small = _lt(math.absf(x), _c(pymath.log(2) / 2))
    return select(small, mul(x, _horner(_EXPM1, x)), sub(exp(x), _c(1.0)))


def powf(a, b):
    """a^b as exp(b log a): irax's pow rule gives it |a| and selects the rest."""
    return exp(mul(b, log(a)))


def _quarter_turns(x):
    """(n mod 4 as i32, r) with x = n π/2 + r, |r| <= π/4, for |x| < SIN_COS_LIMIT."""
    safe = select(_lt(math.absf(x), _c(SIN_COS_LIMIT)), x, _c(0.0))
    n = math.floor(add(mul(safe, _c(2 / pymath.pi)), _c(0.5)))
    r = sub(sub(sub(safe, mul(n, _c(_P1))), mul(n, _c(_P2))), mul(n, _c(_P3)))
    return arith.andi(_to_i32(n), _i(3)), r


def _sin_cos_kernels(r):
    z = mul(r, r)
    return mul(r, _horner(_SIN, z)), _horner(_COS, z)


def _quadrant_is(q, k):
    return arith.cmpi(arith.CmpIPredicate.eq, q, _i(k))


def _by_quadrant(x, pick):
    q, r = _quarter_turns(x)
    s, c = _sin_cos_kernels(r)
    return select(_finite(x), pick(lambda k: _quadrant_is(q, k), s, c), _c(np.nan))


def sin(x):
    return _by_quadrant(x, lambda q, s, c: select(q(0), s, select(q(1), c, select(q(2), arith.negf(s), arith.negf(c)))))


def cos(x):
    return _by_quadrant(x, lambda q, s, c: select(q(0), c, select(q(1), arith.negf(s), select(q(2), arith.negf(c), s))))


def tan(x):
    return _by_quadrant(x, lambda q, s, c: select(arith.ori(q(1), q(3)), arith.negf(div(c, s)), div(s, c)))


def atan(x):
    a = math.absf(x)
    above_one = _gt(a, _c(1.0))
    b = select(above_one, div(_c(1.0), a), a)
    reduce = _gt(b, _c(pymath.tan(pymath.pi / 12)))
    t = select(reduce, div(sub(mul(b, _c(pymath.sqrt(3))), _c(1.0)), add(b, _c(pymath.sqrt(3)))), b)
    atan_t = mul(t, _horner(_ATAN, mul(t, t)))
    y = select(reduce, add(_c(pymath.pi / 6), atan_t), atan_t)
    y = select(above_one, add(sub(_c(_P1), y), _c(_P2 + _P3)), y)
    return select(_lt(x, _c(0.0)), arith.negf(y), select(_is_nan(x), x, y))


def atan2(y, x):
    t = atan(div(y, x))
    half_turn = select(_negative(y), _c(-pymath.pi), _c(pymath.pi))
    return select(_negative(x), add(t, half_turn), t)


def asin(x):
    return atan2(x, math.sqrt(mul(sub(_c(1.0), x), add(_c(1.0), x))))


def acos(x):
    return atan2(math.sqrt(mul(sub(_c(1.0), x), add(_c(1.0), x))), x)


def _odd(x, magnitude):
    """An odd function from its value at |x|."""
    return select(_lt(x, _c(0.0)), arith.negf(magnitude), magnitude)


def sinh(x):
    a = math.absf(x)
    t = expm1(a)
    w = exp(mul(a, _c(0.5)))  # exp(a) / 2 = (w / 2) w, finite up to sinh's own overflow
    return _odd(x, select(_lt(a, _c(22.0)), mul(_c(0.5), add(t, div(t, add(t, _c(1.0))))), mul(mul(w, _c(0.5)), w)))


def cosh(x):
    a = math.absf(x)
    e, w = exp(a), exp(mul(a, _c(0.5)))
    return select(_lt(a, _c(22.0)), mul(_c(0.5), add(e, div(_c(1.0), e))), mul(mul(w, _c(0.5)), w))


def tanh(x):
    a = math.absf(x)
    t = expm1(add(a, a))
    return select(_is_nan(x), x, _odd(x, select(_lt(a, _c(22.0)), div(t, add(t, _c(2.0))), _c(1.0))))


def asinh(x):
    a = math.absf(x)
    small = log1p(add(a, div(mul(a, a), add(_c(1.0), math.sqrt(add(_c(1.0), mul(a, a)))))))
    return _odd(x, select(_gt(a, _c(2.0**28)), add(log(a), _c(pymath.log(2))), small))


def acosh(x):
    t = sub(x, _c(1.0))
    near = log1p(add(t, math.sqrt(mul(t, add(t, _c(2.0))))))
    return select(_gt(x, _c(2.0**28)), add(log(x), _c(pymath.log(2))), near)


def atanh(x):
    return mul(_c(0.5), log1p(div(add(x, x), sub(_c(1.0), x))))


def erf(x):
    a = math.absf(x)
    small = mul(x, _horner(_ERF, mul(x, x)))
    erfcx = _c(0.0)
    for lo, hi, coefficients in _ERFCX[::-1]:
        t = div(sub(sub(add(a, a), _c(lo)), _c(hi)), _c(hi - lo))
        erfcx = select(_lt(a, _c(hi)), _clenshaw(coefficients, t), erfcx)
    middle = sub(_c(1.0), mul(exp(arith.negf(mul(a, a))), erfcx))
    value = select(_lt(a, _c(1.0)), small, _odd(x, select(_lt(a, _c(6.0)), middle, _c(1.0))))
    return select(_is_nan(x), x, value)


def cbrt(x):
    """exp(log|x| / 3) and a Newton step; a subnormal |x| scaled by 2^54 first
    (and the root by 2^-18), where the device keeps subnormals."""
    a = math.absf(x)
    subnormal = _lt(a, _c(2.0**-1022))
    scaled = select(subnormal, mul(a, _c(2.0**54)), a)
    y = exp(div(log(_safe_positive(scaled)), _c(3.0)))
    # One Newton step, relative: y³ - a itself would be subnormal (flushed) for a near 1e-300.
    y = add(y, mul(y, div(sub(div(scaled, mul(mul(y, y), y)), _c(1.0)), _c(3.0))))
    return select(_positive(a), _odd(x, select(subnormal, mul(y, _c(2.0**-18)), y)), x)


def copysign(a, b):
    magnitude = math.absf(a)
    return select(_negative(b), arith.negf(magnitude), magnitude)


def rsqrt(x):
    return div(_c(1.0), math.sqrt(x))


def _split_27(v):
    """Veltkamp's split: v = hi + lo, each with at most 26 significant bits."""
    c = mul(_c(2.0**27 + 1), v)
    hi = sub(c, sub(c, v))
    return hi, sub(v, hi)


def remf(a, b):
    """fmod(a, b) = a - b trunc(a / b), the product b q exact as p + err (Dekker),
    then one step of b where a / b's rounding moved q by one."""
    quotient = div(a, b)  # truncated by floors: IREE's SPIR-V math.trunc of float64 is an i64 bitcast
    q = select(_lt(quotient, _c(0.0)), arith.negf(math.floor(arith.negf(quotient))), math.floor(quotient))
    p = mul(q, b)
    (qh, ql), (bh, bl) = _split_27(q), _split_27(b)
    err = add(add(add(sub(mul(qh, bh), p), mul(qh, bl)), mul(ql, bh)), mul(ql, bl))
    r = sub(sub(a, p), err)
    wrong_sign = arith.andi(cmpf("one", r, _c(0.0)), arith.xori(_lt(r, _c(0.0)), _lt(a, _c(0.0))))
    step = select(arith.xori(_lt(a, _c(0.0)), _lt(b, _c(0.0))), arith.negf(b), b)
    r = select(wrong_sign, add(r, step), r)
    return select(cmpf("oeq", r, _c(0.0)), select(_negative(a), _c(-0.0), _c(0.0)), r)


EXPANSIONS = {
    "math.exp": exp, "math.exp2": exp2, "math.expm1": expm1, "math.log": log, "math.log2": log2,
    "math.log1p": log1p, "math.powf": powf, "math.sin": sin, "math.cos": cos, "math.tan": tan,
    "math.atan": atan, "math.atan2": atan2, "math.asin": asin, "math.acos": acos, "math.sinh": sinh,
    "math.cosh": cosh, "math.tanh": tanh, "math.asinh": asinh, "math.acosh": acosh, "math.atanh": atanh,
    "math.erf": erf, "math.cbrt": cbrt, "math.copysign": copysign, "math.rsqrt": rsqrt, "arith.remf": remf,
}


def expand_float64_math(module_op):
    """Replace every float64 scalar op of EXPANSIONS by its expansion."""
    found = []

    def visit(op):
        if op.name in EXPANSIONS and len(op.results) == 1 and str(op.results[0].type) == "f64":
            found.append(op)
        return ir.WalkResult.ADVANCE

    module_op.walk(visit)
    for op in found:
        with ir.InsertionPoint(op), op.location:
            value = EXPANSIONS[op.name](*op.operands)
        op.results[0].replace_all_uses_with(value)
        op.erase()

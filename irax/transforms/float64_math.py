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
                products for |n| < 2^20; beyond, Payne-Hanek's reduction with
                2/π to 1200 bits), picked by n mod 4
    atan(x)   = π/2 - atan(1/x) above 1, π/6 + atan((x√3 - 1)/(x + √3)) above tan(π/12)
    erf(x)    = series below 1, 1 - exp(-x²) erfcx(x) below 6 (erfcx on two
                intervals), ±1 beyond

and the rest from those: expm1 and log1p as series near 0, exp2, log2, pow
(exp(y log x) from a log in extended precision), cbrt (one Newton step),
the hyperbolic functions and their inverses, asin, acos, atan2, copysign,
rsqrt and fmod (exact, by long division). Powers of two come from a table
of 2^k (products of 2^(±2^i) took exp twice as long), and frexp is a
binary search by them: IREE's Vulkan code cannot bitcast a float64 to i64.
Where exactness matters, each step is exact (lavapipe's compiler may
rewrite (a + b) - a to b, so no error term of an inexact sum is relied on):
numbers split into float32 heads and tails, or into 24-bit digits by
floor. Accuracy, measured against NumPy in tests/test_float64_math.py: a
few ulp, for every finite x.
"""
import math as pymath
from decimal import Context, Decimal
from fractions import Fraction

import numpy as np
from numpy.polynomial import chebyshev
from iree.compiler import ir
from iree.compiler.dialects import arith, math, scf, tensor

from irax.ir import mlir
from irax.ir.scalar import cmpf
from irax.ir.scalar_parts import is_nan, while_loop

# π and ln 2 to 50 digits: π/2 in three parts of 33 bits (n P_i is exact for
# |n| < 2^20), ln 2 in two (e ln2_hi exact for |e| < 2^21). The parts add up
# to more than float64's 53 bits: with float64's ln 2, exp(700) was 195 ulp off.
_PI = Fraction("3.14159265358979323846264338327950288419716939937510")
_LN2 = Fraction("0.69314718055994530941723212145817656807550013436026")


def _split(value: Fraction, bits=33):
    """`value` rounded to `bits` significant bits (exactly a float64), and the rest."""
    scale = Fraction(2) ** (bits - 1 - pymath.floor(pymath.log2(abs(value))))
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


def _f32_head(v):
    """v rounded to float32 (24 bits), as a float64: v = head + (v - head)
    exactly, for v in float32's normal range. A split by rounding, not
    Veltkamp's c - (c - v), which lavapipe's compiler may simplify to v."""
    return arith.extf(ir.F64Type.get(), arith.truncf(ir.F32Type.get(), v))


_POW2_RANGE = 545  # 2^k for |k| <= this, a table: exact, normal floats


def _pow2_half(k):
    """2^k for an integral float64 |k| <= _POW2_RANGE, read from a table
    (IREE's Vulkan code cannot build it from bits: no float64 bitcast)."""
    return _lookup(2.0 ** np.arange(-_POW2_RANGE, _POW2_RANGE + 1), add(k, _c(_POW2_RANGE)))


def _lookup(values, index):
    """values[index], a constant table read at an integral float64 index."""
    table = arith.ConstantOp(ir.RankedTensorType.get([len(values)], ir.F64Type.get()),
                             ir.DenseElementsAttr.get(np.asarray(values, np.float64))).result
    return tensor.extract(table, [arith.index_cast(ir.IndexType.get(), _to_i32(index))])


def _if(condition, then, otherwise, count=1):
    """then() where condition holds, else otherwise() (each `count` float64
    values): a branch, for work that only some elements need. (A body with
    a branch or loop runs element by element, not in vectors.)"""
    op = scf.IfOp(condition, [ir.F64Type.get()] * count, has_else=True)
    for block, fn in ((op.then_block, then), (op.else_block, otherwise)):
        with ir.InsertionPoint(block):
            values = fn()
            scf.YieldOp(list(values) if count > 1 else [values])
    return list(op.results) if count > 1 else op.results[0]


def _times_pow2(y, k):
    """y 2^k for integral k in [-1100, 1100], rounded once where it is subnormal."""
    half = math.floor(mul(k, _c(0.5)))
    return mul(mul(y, _pow2_half(half)), _pow2_half(sub(k, half)))


def _exponent(x):
    """(m, e) with x = m 2^e, m in [1, 2), for finite x > 0. IREE's Vulkan
    code cannot read a float64's bits, but it can a float32's: a binary
    search by powers of two brings x within 2^±64, and its float32 rounding's
    exponent field gives the rest (one less where x rounded up to a power of 2)."""
    subnormal = _lt(x, _c(2.0**-1022))
    m, e = select(subnormal, mul(x, _c(2.0**54)), x), select(subnormal, _c(-54.0), _c(0.0))
    for k in (512, 256, 128, 64):
        big = cmpf("oge", m, _c(2.0**k))
        m, e = select(big, mul(m, _c(2.0**-k)), m), select(big, add(e, _c(k)), e)
    for k in (512, 256, 128, 64):
        small = _lt(m, _c(2.0**-k))
        m, e = select(small, mul(m, _c(2.0**k)), m), select(small, sub(e, _c(k)), e)
    i32 = ir.IntegerType.get_signless(32)
    bits = arith.bitcast(i32, arith.truncf(ir.F32Type.get(), m))
    field = arith.shrsi(bits, _i(23))  # m > 0: no sign bit
    inverse = arith.bitcast(ir.F32Type.get(), arith.shli(arith.subi(_i(254), field), _i(23)))  # 2^(127 - field)
    m = mul(m, arith.extf(ir.F64Type.get(), inverse))
    e = add(e, arith.sitofp(ir.F64Type.get(), arith.subi(field, _i(127))))
    below = _lt(m, _c(1.0))
    return select(below, mul(m, _c(2.0)), m), select(below, sub(e, _c(1.0)), e)


def _frexp(x):
    """(m, e) with x = m 2^e, m in [sqrt(1/2), sqrt(2)), for finite x > 0."""
    m, e = _exponent(x)
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
    return select(arith.ori(_lt(x, _c(0.0)), is_nan(x)), _c(np.nan), value)


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
    safe = select(is_nan(x), _c(0.0), arith.minimumf(arith.maximumf(x, _c(kmin - 2)), _c(kmax + 2)))
    n = n_of(safe)
    value = _times_pow2(_horner(_EXP, r_of(safe, n)), n)
    value = select(_gt(x, _c(kmax)), _c(np.inf), select(_lt(x, _c(kmin)), _c(0.0), value))
    return select(is_nan(x), x, value)


def exp(x):
    return _exp_of_reduced(x, lambda v: math.floor(add(mul(v, _c(1 / pymath.log(2))), _c(0.5))),
                           lambda v, n: sub(sub(v, mul(n, _c(_LN2_HI))), mul(n, _c(_LN2_LO))), _EXP_MAX, _EXP_MIN)


def exp2(x):
    return _exp_of_reduced(x, lambda v: math.floor(add(v, _c(0.5))),
                           lambda v, n: mul(sub(v, n), _c(pymath.log(2))), 1024.0, -1075.0)


def expm1(x):
    small = _lt(math.absf(x), _c(pymath.log(2) / 2))
    return select(small, mul(x, _horner(_EXPM1, x)), sub(exp(x), _c(1.0)))


# log(m) = -log(r) + log(1 + g), g = m r - 1, for m in [sqrt(1/2), sqrt(2)) in
# buckets of 1/128 about i / 128 and r of 9 bits near 1/m (|g| < 0.0067): -log(r) to 32 bits
# (with e ln 2's 32 bits an exact sum) and the rest.
_LOG_BUCKETS = range(90, 182)  # i = round(128 m); r = 1 at m = 1: log(1) = 0 exactly
_LOG_R = [round(512 / (i / 128)) / 512 for i in _LOG_BUCKETS]
_LOG_T = [-Decimal(r).ln(Context(prec=60)) for r in _LOG_R]
_LOG_T_HI = [round(t * 2**32) / 2**32 for t in _LOG_T]
_LOG_T_LO = [float(t - Decimal(hi)) for t, hi in zip(_LOG_T, _LOG_T_HI)]
_LOG1P_TAIL = [(-1) ** (k + 1) / k for k in range(2, 11)][::-1]  # log(1 + g) - g = g² Σ (-1)^(k+1) g^(k-2) / k


def _log_extended(x):
    """log x = H + L for finite x > 0, within ~2^-67: H exact, a multiple of
    2^-33 (43 bits), L small. Every step but L's is exact: m r - 1 from m's
    float32 head (24 bits, times r's 9: exact) and tail, and e ln2_hi + -log(r)_hi + (m_head r - 1)
    on one grid of 2^-33."""
    m, e = _frexp(x)
    i = sub(math.floor(add(mul(m, _c(128.0)), _c(0.5))), _c(_LOG_BUCKETS[0]))
    r = _lookup(_LOG_R, i)
    m_head = _f32_head(m)
    g_head, g_tail = sub(mul(m_head, r), _c(1.0)), mul(sub(m, m_head), r)
    g = add(g_head, g_tail)
    high = add(add(mul(e, _c(_LN2_HI)), _lookup(_LOG_T_HI, i)), g_head)
    low = add(add(add(mul(e, _c(_LN2_LO)), _lookup(_LOG_T_LO, i)), g_tail), mul(mul(g, g), _horner(_LOG1P_TAIL, g)))
    return high, low


def powf(a, b):
    """a^b = exp(b log a) for a >= 0 (irax's pow rule selects the rest), with
    log a in extended precision (`_log_extended`), as exp(b log a) amplifies
    log's rounding |b log a| times (1e-300 ** 0.5 was 118 ulp off): b log a =
    n ln 2 + r, with b H as four exact products of float32 heads and tails
    (24-bit pieces of b and H) and r = b_head H_head - n ln2_hi exact."""
    high, low = _log_extended(_safe_positive(a))
    z = mul(b, _log_special(a, add(high, low)))  # b log a to a few ulp: its special values and n
    n = math.floor(add(mul(select(is_nan(z), _c(0.0), arith.minimumf(arith.maximumf(z, _c(-760.0)), _c(760.0))),
                           _c(1 / pymath.log(2))), _c(0.5)))
    b = arith.minimumf(arith.maximumf(b, _c(-2.0**100)), _c(2.0**100))  # beyond, |z| > 760 or a = 1
    b_head, h_head = _f32_head(b), _f32_head(high)
    b_tail, h_tail = sub(b, b_head), sub(high, h_head)
    r = sub(mul(b_head, h_head), mul(n, _c(_LN2_HI)))
    for term in (mul(b_head, h_tail), mul(b_tail, h_head), mul(b_tail, h_tail), mul(b, low), mul(n, _c(-_LN2_LO))):
        r = add(r, term)
    value = _times_pow2(_horner(_EXP, r), n)
    value = select(_gt(z, _c(_EXP_MAX + 1)), _c(np.inf), select(_lt(z, _c(_EXP_MIN - 1)), _c(0.0), value))
    return select(is_nan(z), z, value)


def _two_over_pi_chunks(count):
    """2/π's first 24 count bits after the binary point, 24 at a time, as
    integers (fdlibm's two_over_pi table): π by Machin's formula in integers."""
    bits = 24 * count + 64

    def atan_inverse(n):  # atan(1/n) 2^bits
        total, term, k = 0, (1 << bits) // n, 0
        while term:
            total, term, k = total + (-1) ** k * (term // (2 * k + 1)), term // (n * n), k + 1
        return total

    two_over_pi = (2 << 2 * bits) // (16 * atan_inverse(5) - 4 * atan_inverse(239))  # 2/π 2^bits
    return [(two_over_pi >> (bits - 24 * (j + 1))) & 0xFFFFFF for j in range(count)]


# Payne-Hanek's reduction of |x| >= SIN_COS_LIMIT: |x| 2/π mod 4 from
# _PH_DIGITS partial products of 24-bit digits, which carry 2^-124 of it:
# enough for the |x| closest to a multiple of π/2 (r ~ 2^-61 there).
_PH_DIGITS = 8
_TWO_OVER_PI = [0.0, 0.0] + [float(c) for c in _two_over_pi_chunks(42 + _PH_DIGITS)]  # two 0s: C_-2, C_-1
_Q1, _rest = _split(_PI / 2, 24)  # π/2 in 24-bit parts: a 24- or 26-bit number times one is exact
_Q2, _rest = _split(_rest, 24)
_Q3 = float(_rest)


def _payne_hanek(a):
    """(n, r, dr) with a = (4k + n) π/2 + r + dr, |r + dr| <= π/4, |dr| below
    2^-22, for finite a >= 2^20, from exact operations only (lavapipe's
    compiler may rewrite an inexact sum's error term away). With a = m 2^e,
    m's three 24-bit digits M_i (M_0 2^-23 + M_1 2^-47 + M_2 2^-71 = m) and
    2/π's chunks C_j (Σ C_j 2^(-24 (j + 1))):

        a 2/π = Σ_n P_n 2^(e - 47 - 24 n),  P_n = Σ_i M_i C_(n-i) < 2^50, exact

    The terms before n0 are multiples of 4 and drop out; the others are
    carried into 24-bit digits and split, on their own grids, into the
    nearest integer n, a fraction f (at most 50 bits) and a tail t (below
    f's last bit u); r + dr = ±(f + t) π/2, r = ±f_head π/2_head exactly."""
    m, e = _exponent(a)
    top = mul(m, _c(2.0**23))
    m0 = math.floor(top)
    middle = mul(sub(top, m0), _c(2.0**24))
    m1 = math.floor(middle)
    m2 = mul(sub(middle, m1), _c(2.0**24))
    n0 = arith.maximumf(math.floor(div(sub(e, _c(25.0)), _c(24.0))), _c(0.0))
    chunk = [_lookup(_TWO_OVER_PI, add(n0, _c(j))) for j in range(_PH_DIGITS + 2)]  # C_(n0 - 2 + j)
    p = [add(add(mul(m0, chunk[k + 2]), mul(m1, chunk[k + 1])), mul(m2, chunk[k])) for k in range(_PH_DIGITS)]
    for k in range(_PH_DIGITS - 1, 0, -1):  # carries: p[1:] into [0, 2^24)
        carry = math.floor(mul(p[k], _c(2.0**-24)))
        p[k], p[k - 1] = sub(p[k], mul(carry, _c(2.0**24))), add(p[k - 1], carry)
    scale = _pow2_half(sub(sub(e, _c(47.0)), mul(n0, _c(24.0))))  # 2^s, s in [-27, 2)
    w = mul(p[0], mul(scale, _c(0.25)))
    w = mul(_c(4.0), sub(w, math.floor(w)))  # P_n0 2^s mod 4
    f = add(w, mul(p[1], mul(scale, _c(2.0**-24))))  # below 4 on a grid of 2^(s-24): exact
    n = math.floor(f)
    f = sub(f, n)
    # Round n to the nearest: above 1/2, n + 1 and the fraction 1 - (f + t)
    # = (1 - u - f) + the digits' complements (+ 1 in the last): both parts
    # stay >= 0, so that f + t never cancels (sin(6381956970095103 2^797)).
    up = cmpf("oge", f, _c(0.5))
    n = select(up, add(n, _c(1.0)), n)
    f = select(up, sub(sub(_c(1.0), mul(scale, _c(2.0**-24))), f), f)
    rest = [select(up, sub(_c(2.0**24 - 1 + (k == _PH_DIGITS - 1)), p[k]), p[k]) for k in range(2, _PH_DIGITS)]
    t = add(mul(rest[0], _c(2.0**-48)), mul(rest[1], _c(2.0**-72)))  # exact: 48 bits
    for k, digit in enumerate(rest[2:], 4):
        t = add(t, mul(digit, _c(2.0 ** (-24 * k))))
    t = mul(t, scale)
    f_head = _f32_head(f)
    f_tail = sub(f, f_head)
    dr = add(add(mul(f_head, _c(_Q2)), mul(f_tail, _c(_Q1))),
             add(add(mul(f_head, _c(_Q3)), mul(f_tail, _c(_Q2))), mul(t, _c(pymath.pi / 2))))
    r = mul(f_head, _c(_Q1))
    n = select(cmpf("oeq", n, _c(4.0)), _c(0.0), n)
    return n, select(up, arith.negf(r), r), select(up, arith.negf(dr), dr)


def _quarter_turns(x):
    """(n mod 4 as i32, r, dr) with x = n π/2 + r + dr, |r + dr| <= π/4, for
    finite x: below SIN_COS_LIMIT, r = x - n π/2 by π/2 in three parts and dr
    = 0; above, Payne-Hanek's (`_payne_hanek`) on |x|, turned back for x < 0."""
    small = _lt(math.absf(x), _c(SIN_COS_LIMIT))
    safe = select(small, x, _c(0.0))
    n = math.floor(add(mul(safe, _c(2 / pymath.pi)), _c(0.5)))
    r = sub(sub(sub(safe, mul(n, _c(_P1))), mul(n, _c(_P2))), mul(n, _c(_P3)))
    big = arith.andi(_finite(x), arith.xori(small, mlir.scalar_constant(True, np.bool_)))
    big_n, big_r, big_dr = _if(big, lambda: _payne_hanek(math.absf(x)), lambda: (_c(0.0),) * 3, 3)
    negative = _lt(x, _c(0.0))
    big_n = select(negative, sub(_c(4.0), big_n), big_n)
    big_r, big_dr = select(negative, arith.negf(big_r), big_r), select(negative, arith.negf(big_dr), big_dr)
    n, r, dr = select(small, n, big_n), select(small, r, big_r), select(small, _c(0.0), big_dr)
    return arith.andi(_to_i32(n), _i(3)), r, dr


def _sin_cos_kernels(r, dr):
    """sin and cos of r + dr, |dr| < 2^-22: sin r + (cos r dr - sin r dr²/2)
    and cos r - (sin r dr + cos r dr²/2) (dr³ is below their last bit)."""
    z = mul(r, r)
    s, c = mul(r, _horner(_SIN, z)), _horner(_COS, z)
    half_dr2 = mul(mul(dr, dr), _c(0.5))
    return add(s, sub(mul(c, dr), mul(s, half_dr2))), sub(c, add(mul(s, dr), mul(c, half_dr2)))


def _quadrant_is(q, k):
    return arith.cmpi(arith.CmpIPredicate.eq, q, _i(k))


def _by_quadrant(x, pick):
    q, r, dr = _quarter_turns(x)
    s, c = _sin_cos_kernels(r, dr)
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
    return select(_lt(x, _c(0.0)), arith.negf(y), select(is_nan(x), x, y))


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
    return select(is_nan(x), x, _odd(x, select(_lt(a, _c(22.0)), div(t, add(t, _c(2.0))), _c(1.0))))


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
    return select(is_nan(x), x, value)


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


_FMOD_DIGIT = 24  # bits of the quotient per step: q y_head and q y_tail are exact


def _fmod_step(x, y, y_head):
    """x mod y for x < 2^24 y, y = y_head + y_tail (24 + 29 bits), y normal:
    q = floor(x / y) (or one more, where x / y rounded up to an integer) has
    24 bits, so q y_head and q y_tail are exact, and so is each difference
    (each a multiple of ulp(y), below 2^53 of them): no rounding anywhere."""
    q = math.floor(div(x, y))
    r = sub(sub(x, mul(q, y_head)), mul(q, sub(y, y_head)))
    return select(_lt(r, _c(0.0)), add(r, y), r)


def _fmod_long_division(x, y):
    """x mod y for finite x >= y > 0 (y normal on the CPU): with y = m 2^e
    (m in [1, 2)) and x scaled by 2^-e and by 2^-24 per digit of the
    quotient beyond the first, each step takes one digit (`_fmod_step`) and
    brings the next down (x 2^24). The quotient of 1.8e308 by 5e-324 has 2098
    bits: at most 88 steps."""
    m, e = _exponent(y)
    digits = math.floor(div(sub(_exponent(x)[1], e), _c(_FMOD_DIGIT)))  # x < 2^(24 (digits + 1)) y
    x = _times_pow2(x, arith.negf(add(e, mul(digits, _c(_FMOD_DIGIT)))))
    m_head = _f32_head(m)
    x, _ = while_loop([x, digits], lambda x, n: _gt(n, _c(0.0)),
                  lambda x, n: [mul(_fmod_step(x, m, m_head), _c(2.0**_FMOD_DIGIT)), sub(n, _c(1.0))])
    return _times_pow2(_fmod_step(x, m, m_head), e)


def remf(a, b):
    """fmod(a, b), exactly (it is exact in IEEE arithmetic): one
    `_fmod_step` where |a / b| < 2^23 and |b| is within 2^±100 (float32 can
    split it), else a long division (`_fmod_long_division`), in a branch."""
    x, y = math.absf(a), math.absf(b)
    defined = arith.andi(_positive(y), _finite(x))  # a subnormal y is 0 on the CPU, as in XLA
    reduce = arith.andi(defined, cmpf("oge", x, y))
    y, x = select(reduce, y, _c(1.0)), select(reduce, x, _c(1.0))
    short = arith.andi(arith.andi(_gt(y, _c(2.0**-100)), _lt(y, _c(2.0**100))), _lt(x, mul(y, _c(2.0**23))))
    r = _if(short, lambda: _fmod_step(x, y, _f32_head(y)), lambda: _fmod_long_division(x, y))
    r = select(reduce, r, select(defined, math.absf(a), _c(np.nan)))
    r = select(arith.andi(cmpf("oeq", math.absf(b), _c(np.inf)), _finite(a)), math.absf(a), r)
    return select(_negative(a), arith.negf(r), r)


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

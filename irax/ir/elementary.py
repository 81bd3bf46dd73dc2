"""Elementary functions of float32 scalars that IREE's own float32 code
gets several ulp wrong (pow, exp2, atan2, asin, acos, acosh, sinh, cosh,
cbrt), as MLIR ops: each computed in float64 from the bits and rounded
once, within an ulp of float64 NumPy, and tied (scalar_parts.tie) to its
analytic derivative.
"""
from math import factorial

import numpy as np
from iree.compiler import ir
from iree.compiler.dialects import arith, math

from irax.ir import mlir
from irax.ir.scalar import cmpf, select
from irax.ir.scalar_parts import frexp, like, lt, plain_horner, pow2, tie

def signbit(x):
    """x's sign bit as a bool: true for -0.0 and -inf, which `x < 0` misses at
    -0.0. Read in float32, as a float64 copysign is an i64 bitcast, which
    IREE's Vulkan code cannot do."""
    f32 = ir.F32Type.get()
    width = ir.FloatType(x.type).width
    narrow = x if width == 32 else (arith.extf if width < 32 else arith.truncf)(f32, x)
    return lt(math.copysign(mlir.float_constant(f32, 1.0), narrow), mlir.float_constant(f32, 0.0))


def sinh(x):
    """sinh(x) = sign(x) (u + u / (u + 1)) / 2 with u = expm1(|x|), and
    h (h / 2) with h = exp(|x| / 2) above |x| = 44 (where e^-|x| no longer
    counts). IREE's (e^x - e^-x) / 2 cancels for a small x (1.7e-5 relative
    error at 1e-3) and overflows from |x| = 88.7, where sinh(x) is still
    finite in float32. d/dx: cosh(x)."""
    a = math.absf(x)
    u = math.expm1(a)
    near = arith.mulf(like(x, 0.5), arith.addf(u, arith.divf(u, arith.addf(u, like(x, 1.0)))))
    return tie("sinh", math.copysign(_beyond_44(a, near), x), x)


def cosh(x):
    """cosh(x) = (e + 1 / e) / 2 with e = exp(|x|), and h (h / 2) with
    h = exp(|x| / 2) above |x| = 44: IREE's overflowed from 88.7. d/dx: sinh(x)."""
    a = math.absf(x)
    e = math.exp(a)
    near = arith.mulf(like(x, 0.5), arith.addf(e, arith.divf(like(x, 1.0), e)))
    return tie("cosh", _beyond_44(a, near), x)


def _beyond_44(a, near):
    """`near` up to a = 44, e^a / 2 beyond, as h (h / 2) with h = e^(a / 2):
    finite past exp's overflow (sinh(a) and cosh(a) both, there)."""
    half = math.exp(arith.mulf(a, like(a, 0.5)))
    return select(lt(like(a, 44.0), a), arith.mulf(half, arith.mulf(half, like(a, 0.5))), near)


# log2(m) = 2/ln2 atanh(s) = 2/ln2 Σ s^(2k+1) / (2k+1) with s = (m - 1) / (m + 1),
# |s| <= 3 - 2 sqrt(2) for m in [sqrt(1/2), sqrt(2)]: the first term left out is 2^-44 of the sum.
_LOG2_ATANH = [2 / np.log(2) / (2 * k + 1) for k in range(8)][::-1]
# 2^r = Σ (r ln2)^k / k!, |r| <= 1/2: the first term left out is below 2^-42.
_EXP2 = [np.log(2) ** k / factorial(k) for k in range(11)][::-1]


def _powf32(a, b):
    """a^b for float32 a >= 0, as IREE's powf, exp(b log a), at the special
    values (0, inf, NaN; 1^inf is NaN), and within half an ulp elsewhere:
    IREE's is all float32, and exp amplifies log's rounding |b log a| times
    (100^2 was 10000.001, 137 ulp off at 97^18.8). Here z = b log2 a is
    float64: a = m 2^e from a's bits (a subnormal scaled by 2^24 first), log2 m
    by its atanh series; then a^b = 2^z (`_exp2_float64`), rounded to float32
    once at the end. z is within 2^-36 of b log2 a, so a result is within
    2^-13 ulp of a^b correctly rounded."""
    z = arith.mulf(arith.extf(ir.F64Type.get(), b), _log2_float64(a))
    return arith.truncf(a.type, _exp2_float64(z))


def _log2_float64(a):
    """log2(a) of float32 a >= 0 in float64, within 2^-36 (`_powf32`): -inf
    at 0, inf at inf, NaN at NaN."""
    f64, tiny = ir.F64Type.get(), float(np.finfo(np.float32).tiny)
    subnormal = lt(a, like(a, tiny))
    m, e = frexp(select(subnormal, arith.mulf(a, like(a, 2.0**24)), a))
    e = select(subnormal, arith.subf(e, like(e, 24.0)), e)
    below = lt(m, like(m, np.sqrt(0.5)))  # m in [sqrt(1/2), sqrt(2)) from here on
    m = arith.extf(f64, select(below, arith.addf(m, m), m))
    e = arith.extf(f64, select(below, arith.subf(e, like(e, 1.0)), e))
    one = like(m, 1.0)
    s = arith.divf(arith.subf(m, one), arith.addf(m, one))
    log2 = arith.addf(e, arith.mulf(s, plain_horner(arith.mulf(s, s), _LOG2_ATANH)))
    log2 = select(cmpf("oeq", a, like(a, 0.0)), like(m, -np.inf), log2)
    log2 = select(cmpf("oeq", a, like(a, np.inf)), like(m, np.inf), log2)
    return select(cmpf("uno", a, a), like(m, np.nan), log2)


def _log_float64(v):
    """log(v) of a float64 v >= 0 in float32's range, within 2^-36: log(h)
    of h = v rounded to float32 (`_log2_float64`), plus log(v / h) =
    d - d^2/2 + ... with d = (v - h) / h below 2^-24, so d alone."""
    h = arith.truncf(ir.F32Type.get(), v)
    d = arith.divf(arith.subf(v, arith.extf(v.type, h)), arith.extf(v.type, h))
    return arith.addf(arith.mulf(_log2_float64(h), like(v, np.log(2))), d)


def _exp2_float64(z):
    """2^z of a float64 z, in float64 within 2^-42 relative, for a float32
    result: 2^r 2^n with n = round(z), 2^r by its series and 2^n in two
    float32 halves (each a normal float32). z beyond [-160, 130] counts as
    its end (0 or inf in float32: 2^-150 rounds to 0); a NaN z gives NaN."""
    f32, nan = ir.F32Type.get(), cmpf("uno", z, z)
    clamped = arith.minimumf(arith.maximumf(z, like(z, -160.0)), like(z, 130.0))
    n = math.floor(arith.addf(select(nan, like(z, 0.0), clamped), like(z, 0.5)))
    half = math.floor(arith.mulf(n, like(n, 0.5)))
    scale = [arith.extf(z.type, pow2(arith.truncf(f32, k))) for k in (half, arith.subf(n, half))]
    power = arith.mulf(arith.mulf(plain_horner(arith.subf(clamped, n), _EXP2), scale[0]), scale[1])
    return select(nan, like(z, np.nan), power)


def exp2(x):
    """2^x, differentiated as math.exp2: ln2 out dx. In float32, z = x
    exactly in float64 (`_exp2_float64`), rounded once: IREE's exp2 is
    float32 arithmetic, 67 ulp off at 2^119.99654."""
    if x.type != ir.F32Type.get():
        return tie("exp2", math.exp2(x), x)
    return tie("exp2", arith.truncf(x.type, _exp2_float64(arith.extf(ir.F64Type.get(), x))), x)


# atan(u) = u + u^3 P(u^2) for |u| <= tan(π/8), within 2^-28 relative (a minimax fit).
_ATAN_P = [-0.060783744, 0.105938725, -0.14243542, 0.19998471, -0.33333316]


def _atan2_float32(a, x):
    """atan2(a, x) for float32 a >= 0, within half an ulp and 2^-28: IREE's
    is up to 40 ulp off (atan2(0.55, 0.83)). In float64, with t = min(a, |x|)
    / max(a, |x|) in [0, 1]: atan(t) = u + u^3 P(u^2) with u = t up to
    tan(π/8), else π/4 + that at u = (t - 1) / (t + 1); then π/2 - atan(t)
    where a > |x|, and π - that where x < 0, rounded to float32 once.
    (A NaN stays NaN; a, x both 0 or both inf are the scalar rule's.)"""
    f64 = ir.F64Type.get()
    return arith.truncf(a.type, _atan2_float64(arith.extf(f64, a), arith.extf(f64, x)))


def _atan2_float64(a, x):
    """`_atan2_float32`'s float64 angle, of float64 a >= 0 and x."""
    ax = math.absf(x)
    steep = lt(ax, a)
    t = arith.divf(select(steep, ax, a), select(steep, a, ax))
    reduce = lt(like(t, np.tan(np.pi / 8)), t)
    one = like(t, 1.0)
    u = select(reduce, arith.divf(arith.subf(t, one), arith.addf(t, one)), t)
    z = arith.mulf(u, u)
    angle = arith.addf(u, arith.mulf(arith.mulf(u, z), plain_horner(z, _ATAN_P)))
    angle = select(reduce, arith.addf(like(t, np.pi / 4), angle), angle)
    angle = select(steep, arith.subf(like(t, np.pi / 2), angle), angle)
    return select(lt(x, like(x, 0.0)), arith.subf(like(t, np.pi), angle), angle)


def atan2(a, x):
    """atan2(a, x) for a >= 0 (`_atan2_float32` for float32, math.atan2
    else), differentiated as math.atan2: (x da - a dx) / (a^2 + x^2)."""
    value = _atan2_float32(a, x) if a.type == ir.F32Type.get() else math.atan2(a, x)
    return tie("atan2", value, a, x)


def atan(x):
    """atan(x), differentiated as math.atan: dx / (1 + x^2). In float32,
    ±atan2(|x|, 1) (`_atan2_float32`): IREE's atan is 40 ulp off at 0.66."""
    if x.type != ir.F32Type.get():
        return tie("atan", math.atan(x), x)
    a = _atan2_float32(math.absf(x), like(x, 1.0))
    return tie("atan", select(lt(x, like(x, 0.0)), arith.negf(a), a), x)


def asin(x):
    """asin(x), differentiated as math.asin: dx / sqrt(1 - x^2). In float32,
    ±atan2(a, sqrt((1 - a)(1 + a))) of a = |x| in float64 (`_atan2_float64`),
    rounded once: IREE's is 7.5 ulp off near 1 (asin(0.99982709)). NaN
    beyond 1 (the square root's)."""
    if x.type != ir.F32Type.get():
        return tie("asin", math.asin(x), x)
    a = arith.extf(ir.F64Type.get(), math.absf(x))
    one = like(a, 1.0)
    angle = arith.truncf(x.type, _atan2_float64(a, math.sqrt(arith.mulf(arith.subf(one, a), arith.addf(one, a)))))
    return tie("asin", select(lt(x, like(x, 0.0)), arith.negf(angle), angle), x)


def acos(x):
    """acos(x), differentiated as math.acos: -dx / sqrt(1 - x^2). In float32,
    atan2(sqrt((1 - x)(1 + x)), x) in float64 (`_atan2_float64`), rounded
    once: IREE's is 1.3 ulp off. NaN beyond 1 (the square root's)."""
    if x.type != ir.F32Type.get():
        return tie("acos", math.acos(x), x)
    wide = arith.extf(ir.F64Type.get(), x)
    one = like(wide, 1.0)
    sine = math.sqrt(arith.mulf(arith.subf(one, wide), arith.addf(one, wide)))
    return tie("acos", arith.truncf(x.type, _atan2_float64(sine, wide)), x)


def acosh(x):
    """acosh(x) of float32 x >= 1, differentiated as math.acosh: dx /
    sqrt(x^2 - 1). log(v) + log(2) with v = (x + sqrt(x^2 - 1)) / 2 in
    float64 (x^2 - 1 exact; `_log_float64`), rounded once: IREE's
    log(x + sqrt(x^2 - 1)) is 8.6 ulp off near 1 (acosh(1.0006052)) and
    overflows x^2 above 1.8e19. NaN below 1, inf at inf."""
    v = arith.extf(ir.F64Type.get(), x)
    v = arith.mulf(arith.addf(v, math.sqrt(arith.subf(arith.mulf(v, v), like(v, 1.0)))), like(v, 0.5))
    value = arith.truncf(x.type, arith.addf(_log_float64(v), like(v, np.log(2))))
    value = select(cmpf("oeq", x, like(x, np.inf)), x, value)
    return tie("acosh", select(cmpf("ult", x, like(x, 1.0)), like(x, np.nan), value), x)


def cbrt(x):
    """The real cube root, differentiated as math.cbrt: dx / (3 out^2). In
    float32 IREE's cbrt is 12 ulp off (cbrt(-6.2e-33)), so one Newton step
    follows, y + (x / y^2 - y) / 3, within 1 ulp (x / y^2, not y^3: that
    would be subnormal, so flushed, for x near 1e-38); y = 0 stays 0."""
    y = math.cbrt(x)
    if x.type == ir.F32Type.get():
        step = arith.mulf(arith.subf(arith.divf(x, arith.mulf(y, y)), y), like(x, 1 / 3))
        y = select(cmpf("oeq", y, like(y, 0.0)), y, arith.addf(y, step))
    return tie("cbrt", y, x)


def signed_power(base, exponent, negative):
    """|base|^exponent, negated where `negative` and the exponent is an odd
    integer (powf, exp(y log x), is NaN for every negative base). float32's is
    `_powf32`; float64's powf the pass expand-float64-math computes."""
    powf = _powf32 if base.type == ir.F32Type.get() else math.powf
    magnitude = powf(math.absf(base), exponent)
    half = arith.mulf(exponent, like(exponent, 0.5))
    odd = cmpf("oeq", arith.subf(half, math.floor(half)), like(exponent, 0.5))  # false for ±inf and NaN
    return select(arith.andi(negative, odd), arith.negf(magnitude), magnitude)


def _c99_power(x, y):
    """x ** y as C99's pow computes it (and NumPy, JAX). IREE's powf is
    exp(y log x): NaN for any x < 0 and at the 0 * inf of 0 ** 0, inf ** 0 and
    1 ** inf. So powf gives only the magnitude |x| ** y, and selects the rest:

        x ** ±0 = 1 and 1 ** y = 1, even for NaN; (-1) ** ±inf = 1
        x ** y = NaN for finite x < 0 and y not an integer
        x ** y takes x's sign where y is an odd integer: (-2) ** 3 = -8,
            (-0.0) ** -1 = -inf, (-inf) ** 3 = -inf; else it is positive
    """
    signed = signed_power(x, y, signbit(x))
    fraction = cmpf("une", math.floor(y), y)  # true for NaN, false for ±inf
    negative_finite = arith.andi(lt(x, like(x, 0.0)), cmpf("one", math.absf(x), like(x, np.inf)))
    one = arith.ori(arith.ori(cmpf("oeq", y, like(y, 0.0)), cmpf("oeq", x, like(x, 1.0))),
                    arith.andi(cmpf("oeq", x, like(x, -1.0)), cmpf("oeq", math.absf(y), like(y, np.inf))))
    nan_or_signed = select(arith.andi(negative_finite, fraction), like(x, np.nan), signed)
    return select(one, like(x, 1.0), nan_or_signed)


def power(x, y, to_integers=False):
    """C99's x ** y (`_c99_power`), differentiated as JAX's pow: y x^(y-1)
    dx + log(x) x^y dy, with log(x) read as 0 at x = 0 (NaN for x < 0).
    `to_integers`: y holds integers (converted), and d/dx is 0 where y = 0."""
    return tie("power_to_integers" if to_integers else "power", _c99_power(x, y), x, y)

"""Complex elementary functions of z = a + ib, computed on the parts, with
the special values of C99's Annex G (which the Array API standard adopts).

IREE's `complex` dialect expands exp, log and sqrt into formulas that are
right for finite z but not at inf and NaN (exp(inf + 0j) was NaN + NaN j),
and has no sinh, cosh or inverse functions. Each function here is a formula
accurate for finite z, then a short table of the special values it gets
wrong (`_cases`), as Annex G gives them:

    exp    e^a cos b + i e^a sin b
    expm1  expm1(a) cos b - 2 sin²(b/2) + 0 + i e^a sin b   (+ 0: a zero real part is +0)
    log    log max(|a|,|b|) + ½ log1p(q²) + i atan2(b, a),   q = min/max
    log1p  ½ log1p(a(2 + a) + b²) + i atan2(b, 1 + a)   (|z| < ½; log(1 + z) beyond)
    sqrt   t = √((|a| + |z|)/2):  t + ib/2t  (a ≥ 0),  |b|/2t ± it  (a < 0)
    sinh   sinh a cos b + i cosh a sin b
    cosh   cosh a cos b + i sinh a sin b
    tanh   (β ρ s + i t) / (1 + β s²),  t = tan b, β = 1 + t², s = sinh a, ρ = √(1 + s²)
    asinh  log1p(z + z²/(1 + √(1 + z²)))   (odd: computed for a ≥ 0)
    acosh  log1p((z - 1) + √(z + 1) √(z - 1))
    atanh  ¼ log1p(4a / ((1 - a)² + b²)) + i ½ atan2(2b, (1 - a)(1 + a) - b²)

Beyond |z| = 2¹² (where z² ± 1 rounds to z² in float32; 2²⁸ in float64) asinh and acosh are
log(2z), and beyond 10¹⁸ atanh is 1/z ± iπ/2; atanh and asinh are odd, and
computed where a ≥ 0. asin, acos and atan follow from them:
asin z = -i asinh(iz), atan z = -i atanh(iz), acos z = ∓i acosh(z) by the
sign of b.

Every function is `fn(real, a, b) -> (re, im)` on float32 or float64 parts, where
`real(name, *xs)` is the float rule `name` of scalar_rules' tables, with
its own corrections to IREE's math (sin of large arguments, sinh near 0).
"""
import numpy as np
from iree.compiler.dialects import arith, math

from irax.ir import elementary, mlir
from irax.ir.scalar import cmpf

_LARGE = {"f32": 2.0**12, "f64": 2.0**28}  # by part type: beyond, z² ± 1 rounds to z²


def _k(x, value):
    return mlir.float_constant(x.type, value)


def _isnan(x):
    return cmpf("uno", x, x)


def _isinf(x):
    return cmpf("oeq", math.absf(x), _k(x, np.inf))


def _not(condition):
    return arith.xori(condition, mlir.scalar_constant(True, np.bool_))


def _nonfinite(x):
    """inf or NaN (`one` is false for NaN)."""
    return _not(cmpf("one", math.absf(x), _k(x, np.inf)))


def _is(x, value):
    return cmpf("oeq", x, _k(x, value))


def _and(*conditions):
    out = conditions[0]
    for c in conditions[1:]:
        out = arith.andi(out, c)
    return out


def _real_axis(b, factor):
    """b = ±0 where the imaginary part's `factor` (e^a of exp's e^a sin b) is
    inf or NaN: there f(a ± 0i) = f(a) ± 0i by Annex G, where the formula has
    inf · 0 = NaN. Where the factor is finite the formula is ±0 too, and
    keeps its derivative in b."""
    return _and(_is(b, 0.0), _nonfinite(factor))


def _flip(flip, x):
    """-x where `flip`, else x: for a, |a| with the derivative of a's side at
    a = 0 (absf's would be 0 there)."""
    return arith.select(flip, arith.negf(x), x)


def _cases(z, *cases):
    """z = (re, im), but the value of the first `(condition, (re, im))` that
    holds. A part given as None keeps z's."""
    re, im = z
    for condition, (case_re, case_im) in reversed(cases):
        re = re if case_re is None else arith.select(condition, case_re, re)
        im = im if case_im is None else arith.select(condition, case_im, im)
    return re, im


def _add(p, q):
    return arith.addf(p[0], q[0]), arith.addf(p[1], q[1])


def _mul(p, q):
    (a, b), (c, d) = p, q
    return arith.subf(arith.mulf(a, c), arith.mulf(b, d)), arith.addf(arith.mulf(a, d), arith.mulf(b, c))


def _div(p, q):
    """p / q, for q of moderate size (|q|² neither overflows nor underflows)."""
    (a, b), (c, d) = p, q
    n = arith.addf(arith.mulf(c, c), arith.mulf(d, d))
    re = arith.addf(arith.mulf(a, c), arith.mulf(b, d))
    im = arith.subf(arith.mulf(b, c), arith.mulf(a, d))
    return arith.divf(re, n), arith.divf(im, n)


def hypot(real, a, b):
    """|z| = m √(1 + (n/m)²) with m, n the larger and smaller of |a|, |b| (no
    overflow); inf where either part is inf, NaN in b or not."""
    x, y = math.absf(a), math.absf(b)
    m, n = arith.maximumf(x, y), arith.minimumf(x, y)
    q = arith.divf(n, m)
    h = arith.mulf(m, real("sqrt", arith.addf(_k(a, 1.0), arith.mulf(q, q))))
    h = arith.select(_is(m, 0.0), _k(a, 0.0), h)
    return arith.select(arith.ori(_isinf(a), _isinf(b)), _k(a, np.inf), h)


def log(real, a, b):
    x, y = math.absf(a), math.absf(b)
    m, n = arith.maximumf(x, y), arith.minimumf(x, y)
    q = arith.select(arith.ori(_is(m, 0.0), _isinf(m)), _k(a, 0.0), arith.divf(n, m))
    re = arith.addf(real("log", m), arith.mulf(_k(a, 0.5), real("log1p", arith.mulf(q, q))))
    re = arith.select(arith.ori(_isinf(a), _isinf(b)), _k(a, np.inf), re)
    return re, real("atan2", b, a)


def log1p(real, a, b):
    one_plus_a = arith.addf(_k(a, 1.0), a)
    big_re, im = log(real, one_plus_a, b)
    small = cmpf("olt", arith.maximumf(math.absf(a), math.absf(b)), _k(a, 0.5))
    u = arith.addf(arith.mulf(a, arith.addf(_k(a, 2.0), a)), arith.mulf(b, b))
    small_re = arith.mulf(_k(a, 0.5), real("log1p", u))
    return arith.select(small, small_re, big_re), im


def log2(real, a, b):
    return tuple(arith.mulf(p, _k(a, 1 / np.log(2))) for p in log(real, a, b))


def log10(real, a, b):
    return tuple(arith.mulf(p, _k(a, 1 / np.log(10))) for p in log(real, a, b))


def exp(real, a, b):
    e = real("exp", a)
    z = arith.mulf(e, real("cos", b)), arith.mulf(e, real("sin", b))
    nan, inf, zero = _k(a, np.nan), _k(a, np.inf), _k(a, 0.0)
    return _cases(z, (_real_axis(b, e), (None, b)), (_and(_is(a, -np.inf), _nonfinite(b)), (zero, zero)),
                  (_and(_is(a, np.inf), _nonfinite(b)), (inf, nan)))


def exp2(real, a, b):
    ln2 = _k(a, np.log(2))
    return exp(real, arith.mulf(a, ln2), arith.mulf(b, ln2))


def expm1(real, a, b):
    s = real("sin", arith.mulf(_k(b, 0.5), b))
    re = arith.subf(arith.mulf(real("expm1", a), real("cos", b)), arith.mulf(_k(a, 2.0), arith.mulf(s, s)))
    # + 0 makes a zero real part +0, as e^a cos b - 1 is (the Array API's expm1(±0 + 0j) = +0 + 0j, and
    # JAX's): the product is -0 where a = -0, and -0 - 0 stays -0. x + 0 is x for any other x, and keeps
    # the tangent (a select of a +0 constant would zero it at z = 0).
    re = arith.addf(re, _k(a, 0.0))
    e = real("exp", a)
    im = arith.mulf(e, real("sin", b))
    nan, inf, zero = _k(a, np.nan), _k(a, np.inf), _k(a, 0.0)
    return _cases((re, im), (_real_axis(b, e), (None, b)), (_and(_is(a, -np.inf), _nonfinite(b)), (_k(a, -1.0), zero)),
                  (_and(_is(a, np.inf), _nonfinite(b)), (inf, nan)))


def sqrt(real, a, b):
    right = cmpf("oge", a, _k(a, 0.0))
    # |a| as a select, not absf: at a = 0 its derivative must be the right half-plane's (1), not 0
    abs_a = arith.select(right, a, arith.negf(a))
    t = real("sqrt", arith.addf(arith.mulf(_k(a, 0.5), abs_a), arith.mulf(_k(a, 0.5), hypot(real, a, b))))
    w = arith.divf(b, arith.addf(t, t))
    z = arith.select(right, t, math.absf(w)), arith.select(right, w, math.copysign(t, b))
    return _cases(z, (_isinf(b), (_k(a, np.inf), b)), (_and(_is(a, 0.0), _is(b, 0.0)), (_k(a, 0.0), b)))


def sinh(real, a, b):
    sinh_a, cosh_a = real("sinh", a), real("cosh", a)
    re, im = arith.mulf(sinh_a, real("cos", b)), arith.mulf(cosh_a, real("sin", b))
    nan = _k(a, np.nan)
    return _cases((re, im), (_real_axis(b, cosh_a), (None, b)), (_and(_is(a, 0.0), _nonfinite(b)), (a, nan)),
                  (_and(_isinf(a), _nonfinite(b)), (a, nan)))


def cosh(real, a, b):
    sinh_a, cosh_a = real("sinh", a), real("cosh", a)
    re, im = arith.mulf(cosh_a, real("cos", b)), arith.mulf(sinh_a, real("sin", b))
    return _cases((re, im), (_real_axis(b, sinh_a), (None, arith.mulf(math.copysign(_k(a, 0.0), a), b))),
                  (_and(_is(a, 0.0), _nonfinite(b)), (None, a)),
                  (_and(_isinf(a), _nonfinite(b)), (_k(a, np.inf), _k(a, np.nan))))


def tanh(real, a, b):
    one = _k(a, 1.0)
    t, s = real("tan", b), real("sinh", a)
    beta = arith.addf(one, arith.mulf(t, t))
    rho = real("sqrt", arith.addf(one, arith.mulf(s, s)))
    den = arith.addf(one, arith.mulf(beta, arith.mulf(s, s)))
    re, im = arith.divf(arith.mulf(arith.mulf(beta, rho), s), den), arith.divf(t, den)
    # |a| > 20: tanh a is ±1 in float32, and s² would overflow past 44
    far = arith.andi(cmpf("ogt", math.absf(a), _k(a, 20.0)), cmpf("one", math.absf(b), _k(b, np.inf)))
    decay = real("exp", arith.mulf(_k(a, -2.0), math.absf(a)))
    far_im = arith.mulf(arith.mulf(_k(a, 4.0), arith.mulf(real("sin", b), real("cos", b))), decay)
    z = arith.select(far, math.copysign(one, a), re), arith.select(far, far_im, im)
    return _cases(z, (_real_axis(b, s), (None, b)), (_and(_is(a, 0.0), _nonfinite(b)), (a, _k(a, np.nan))),
                  (_and(_isinf(a), _nonfinite(b)), (math.copysign(one, a), _k(a, 0.0))))


def _log_2z(real, a, b):
    """log(2z), which asinh(z) and acosh(z) are where |z| > 2¹²."""
    re, im = log(real, a, b)
    return arith.addf(re, _k(a, np.log(2))), im


def asinh(real, a, b):
    flip = elementary.signbit(a)  # asinh(-z) = -asinh(z): computed where a >= 0
    x, y = _flip(flip, a), _flip(flip, b)
    one = _k(a, 1.0)
    z2 = _mul((x, y), (x, y))
    root = sqrt(real, arith.addf(one, z2[0]), z2[1])
    q = _div(z2, (arith.addf(one, root[0]), root[1]))
    near = log1p(real, *_add((x, y), q))
    far = _log_2z(real, x, y)
    large = cmpf("ogt", hypot(real, x, y), _k(a, _LARGE[str(a.type)]))
    re, im = (arith.select(large, f, n) for f, n in zip(far, near))
    return _cases((_flip(flip, re), _flip(flip, im)), (_real_axis(b, a), (None, b)))


def acosh(real, a, b):
    one = _k(a, 1.0)
    p = _mul(sqrt(real, arith.addf(a, one), b), sqrt(real, arith.subf(a, one), b))
    near = log1p(real, arith.addf(arith.subf(a, one), p[0]), arith.addf(b, p[1]))
    far = _log_2z(real, a, b)
    large = cmpf("ogt", hypot(real, a, b), _k(a, _LARGE[str(a.type)]))
    z = tuple(arith.select(large, f, n) for f, n in zip(far, near))
    return _cases(z, (_and(_is(a, 0.0), _isnan(b)), (_k(a, np.nan), _k(a, np.pi / 2))))


def atanh(real, a, b):
    flip = elementary.signbit(a)  # atanh(-z) = -atanh(z): computed where a >= 0, so 1 + 4a/den does not cancel
    x, y = _flip(flip, a), _flip(flip, b)
    one = _k(a, 1.0)
    h = hypot(real, x, y)
    den = arith.addf(arith.mulf(arith.subf(one, x), arith.subf(one, x)), arith.mulf(y, y))
    near_re = arith.mulf(_k(a, 0.25), real("log1p", arith.divf(arith.mulf(_k(a, 4.0), x), den)))
    w = arith.subf(arith.mulf(arith.subf(one, x), arith.addf(one, x)), arith.mulf(y, y))
    near_im = arith.mulf(_k(a, 0.5), real("atan2", arith.addf(y, y), w))
    # beyond 1e18, where den would overflow: atanh z = 1/z ± iπ/2 + O(|z|⁻³)
    inverse_re, inverse_im = (arith.select(_isinf(h), _k(a, 0.0), arith.divf(arith.divf(p, h), h)) for p in (x, y))
    far_im = arith.select(_isnan(y), y, arith.subf(math.copysign(_k(a, np.pi / 2), y), inverse_im))
    large = cmpf("ogt", h, _k(a, 1e18))
    re, im = arith.select(large, inverse_re, near_re), arith.select(large, far_im, near_im)
    # atanh(±0 + NaN j) = ±0 + NaN j (atanh(ib) = i atan(b))
    return _cases((_flip(flip, re), _flip(flip, im)), (_and(_is(a, 0.0), _isnan(b)), (a, None)))


def _times_minus_i(fn):
    """f(z) = -i g(iz): asin from asinh, atan from atanh."""

    def rule(real, a, b):
        u, v = fn(real, arith.negf(b), a)
        return v, arith.negf(u)

    return rule


asin = _times_minus_i(asinh)
atan = _times_minus_i(atanh)


def acos(real, a, b):
    """acos z = -i acosh z where b >= 0 (sign bit clear), i acosh z elsewhere."""
    u, v = acosh(real, a, b)
    below = elementary.signbit(b)
    return arith.select(below, arith.negf(v), v), arith.select(below, u, arith.negf(u))


# sin z = -i sinh(iz), tan z = -i tanh(iz), cos z = cosh(iz): Annex G
# defines them so, special values included.
sin = _times_minus_i(sinh)
tan = _times_minus_i(tanh)


def cos(real, a, b):
    return cosh(real, arith.negf(b), a)


def rsqrt(real, a, b):
    """1 / √z = conj(√z) / |z| (|√z|² = |z|: no square to overflow), and, as
    XLA's, inf + NaN j at 0 and ±0 ∓ 0j at inf, a NaN part or not (the
    real part -0 where a = -inf, the imaginary part signed as -b)."""
    c, d = sqrt(real, a, b)
    h = hypot(real, a, b)
    z = arith.divf(c, h), arith.negf(arith.divf(d, h))
    zero = _k(a, 0.0)
    return _cases(z, (_is(h, 0.0), (_k(a, np.inf), _k(a, np.nan))),
                  (_isinf(h), (math.copysign(zero, arith.select(_isinf(a), a, zero)),
                               arith.negf(math.copysign(zero, b)))))


def power(real, a, b, c, d):
    """x ** y = exp(y log x) for x = a + ib, y = c + id; at x = 0 it is 1 for
    y = 0, else 0 (the complex dialect's pow, whose selects of complex values
    Vulkan cannot lower, on the parts)."""
    u, v = log(real, a, b)
    re, im = exp(real, *_mul((c, d), (u, v)))
    at_zero = _and(_is(a, 0.0), _is(b, 0.0))
    one = _and(_is(c, 0.0), _is(d, 0.0))
    zero = _k(a, 0.0)
    return (arith.select(at_zero, arith.select(one, _k(a, 1.0), zero), re), arith.select(at_zero, zero, im))


def atan2(real, a, b, c, d):
    """atan2(y, x) of y = a + ib, x = c + id: -i log((x + iy) / √(x² + y²)),
    StableHLO's (and JAX's) complex atan2, its real part the angle where y
    and x are real."""
    s = sqrt(real, *_add(_mul((a, b), (a, b)), _mul((c, d), (c, d))))
    u, v = log(real, *_div((arith.subf(c, b), arith.addf(d, a)), s))
    return v, arith.negf(u)


UNARY = {"exp": exp, "exp2": exp2, "expm1": expm1, "log": log, "log1p": log1p, "log2": log2, "log10": log10,
         "sqrt": sqrt, "sinh": sinh, "cosh": cosh, "tanh": tanh, "asinh": asinh, "acosh": acosh, "atanh": atanh,
         "asin": asin, "acos": acos, "atan": atan, "sin": sin, "cos": cos, "tan": tan, "rsqrt": rsqrt}
BINARY = {"pow": power, "atan2": atan2}

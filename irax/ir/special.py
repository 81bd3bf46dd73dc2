"""Special functions of float32 scalars, as MLIR ops (arith, math, scf),
computed as XLA (and JAX) compute them: the bodies of the special-function
primitives (frontend/primitives/special.py) and of their derivatives
(transforms/ad/scalar_jvp.py), hence here, on the floor both stand on.

Where XLA's CPU code is a polynomial (log, log1p, erf_inv), it is repeated
operation for operation, with a fused multiply-add exactly where XLA's
compiler fuses one, so that the results are JAX's to the bit. Elsewhere the
algorithm is XLA's and the results agree to float32 rounding: the libm
underneath (exp, log, sin) is IREE's. (The incomplete gamma and beta
functions, loops, are incomplete.py.) Where IREE's own float32 function is
several ulp off (pow, exp2, atan2, asin, acosh, tanh), it is computed here
in float64 from the bits and rounded once, within an ulp of float64 NumPy.

A polynomial approximation's own derivative is a poor one, so each function
ends in `tie(name, value, *inputs)`: an op autodiff recognizes, and
differentiates by the analytic rule called `name` (scalar_jvp.MARKED).
"""
from math import factorial

import numpy as np
from iree.compiler import ir
from iree.compiler.dialects import arith, math, scf

from irax.ir import mlir
from irax.ir.scalar import cmpf

MARK = "irax.scalar_jvp"  # string attribute: the name of the rule that differentiates the op


def tie(name, value, *inputs):
    """`value`, as `select(false, x_n, ... select(false, x_1, value))`: the
    last select, marked `name`, names the function's inputs among its
    operands, for the derivative rule to read (`tied_inputs`).
    canonicalize folds the chain away once autodiff has run."""
    false = _bool(False)
    for x in inputs:
        value = arith.select(false, x, value)
    value.owner.attributes[MARK] = ir.StringAttr.get(name)
    return value


def tied_inputs(op, n):
    """The n inputs (x_1 ... x_n) that `tie` recorded in the chain ending at `op`."""
    inputs = []
    for _ in range(n):
        cond, x, rest = op.operands
        inputs.append(x)
        op = rest.owner
    return inputs[::-1]


def _bool(value):
    i1 = ir.IntegerType.get_signless(1)
    return arith.ConstantOp(i1, ir.IntegerAttr.get(i1, int(value))).result


def _c(x, value):
    return mlir.float_constant(x.type, value)


def _select(cond, a, b):
    return arith.select(cond, a, b)


def _lt(a, b):
    return cmpf("olt", a, b)


def fma(a, b, c):
    """a b + c rounded once, as a fused multiply-add: one float32 instruction
    on the CPU (where float64 arithmetic made erf_inv 4x slower); the Vulkan
    backend, whose drivers need not fuse it, computes it in float64
    (backends/fma.py)."""
    return math.fma(a, b, c)


def horner(x, coefficients):
    """c_0 x^n + ... + c_n, one fused multiply-add per step."""
    p = _c(x, coefficients[0])
    for c in coefficients[1:]:
        p = fma(p, x, _c(x, c))
    return p


def _plain_horner(x, coefficients):
    """c_0 x^n + ... + c_n, multiplies and adds."""
    p = _c(x, coefficients[0])
    for c in coefficients[1:]:
        p = arith.addf(arith.mulf(p, x), _c(x, c))
    return p


def _i32(value):
    i32 = ir.IntegerType.get_signless(32)
    return arith.ConstantOp(i32, ir.IntegerAttr.get(i32, value)).result


# Cephes' logf (Eigen's plog_float, which XLA's CPU backend emits for log):
# a = 2^e m with m in [sqrt(1/2), sqrt(2)), log(m) = x - x^2/2 + x^3 P(x) with x = m - 1.
_LOG_P = [7.0376836292e-2, -1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1, 1.4249322787e-1,
          -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1]
_LOG_Q1, _LOG_Q2 = -2.12194440e-4, 0.693359375  # ln 2 = Q2 - Q1 (Q2 exact in few bits)


def _frexp(a):
    """(m, e) with a = m 2^e, m in [1/2, 1) and e an integral float32, read
    off the bits of a normal float32 a > 0."""
    bits = arith.bitcast(ir.IntegerType.get_signless(32), a)
    e = arith.sitofp(a.type, arith.subi(arith.shrui(bits, _i32(23)), _i32(126)))
    return arith.bitcast(a.type, arith.ori(arith.andi(bits, _i32(0x007FFFFF)), _i32(0x3F000000))), e


def _pow2(k):
    """2^k for an integral float32 k in [-126, 127], from its bits."""
    i32 = ir.IntegerType.get_signless(32)
    return arith.bitcast(k.type, arith.shli(arith.addi(arith.fptosi(i32, k), _i32(127)), _i32(23)))


def xla_log(a):
    """log(a) of float32 a as XLA's CPU backend computes it (to the bit).
    P is evaluated as three interleaved quadratics in x^3, as Eigen does."""
    one = _c(a, 1.0)
    m, e = _frexp(arith.maximumf(a, _c(a, np.finfo(np.float32).tiny)))
    below = _lt(m, _c(a, np.sqrt(0.5)))
    x = arith.subf(m, one)
    e = _select(below, arith.subf(e, one), e)
    x = _select(below, arith.addf(x, m), x)
    x2 = arith.mulf(x, x)
    x3 = arith.mulf(x2, x)
    p = [horner(x, _LOG_P[i:i + 3]) for i in (0, 3, 6)]
    y = fma(fma(p[0], x3, p[1]), x3, p[2])
    y = fma(y, x3, arith.mulf(e, _c(a, _LOG_Q1)))
    x = arith.addf(arith.subf(x, arith.mulf(x2, _c(a, 0.5))), y)
    log = fma(e, _c(a, _LOG_Q2), x)
    zero, inf = _c(a, 0.0), _c(a, np.inf)
    log = _select(cmpf("oeq", a, inf), inf, log)
    log = _select(cmpf("oeq", a, zero), _c(a, -np.inf), log)
    return _select(cmpf("ult", a, zero), _c(a, np.nan), log)  # a < 0 or NaN


# Cephes' rational approximation of log1p, numerator and denominator.
_LOG1P_N = [4.5270000862445199635215e-5, 4.9854102823193375972212e-1, 6.5787325942061044846969e0,
            2.9911919328553073277375e1, 6.0949667980987787057556e1, 5.7112963590585538103336e1,
            2.0039553499201281259648e1]
_LOG1P_D = [1.0, 1.5062909083469192043167e1, 8.3047565967967209469434e1, 2.2176239823732856465394e2,
            3.0909872225312059774938e2, 2.1642788614495947685003e2, 6.0118660497603843919306e1]


def xla_log1p(x):
    """log(1 + x) of float32 x as XLA's CPU backend computes it (to the bit):
    log(x + 1) where |x| >= sqrt(2) - 1, else x - x^2/2 + x^3 N(x)/D(x)."""
    x2 = arith.mulf(x, x)
    ratio = arith.divf(horner(x, _LOG1P_N), horner(x, _LOG1P_D))
    # x^2 (-1/2) is exact, so this fma rounds as XLA's add does; an add would
    # leave LLVM free to fuse the other product into it instead.
    small = arith.addf(x, fma(x2, _c(x, -0.5), arith.mulf(arith.mulf(x, x2), ratio)))
    large = xla_log(arith.addf(x, _c(x, 1.0)))
    return _select(_lt(math.absf(x), _c(x, np.sqrt(2) - 1)), small, large)


# Giles' single-precision erfinv ("Approximating the erfinv function", GPU
# Computing Gems, 2011), as XLA's ErfInv32: with w = -log(1 - x^2),
# erfinv(x) = x P(w - 2.5) for w < 5, else x Q(sqrt(w) - 3).
_ERF_INV_P = [2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087,
              -0.00125372503, -0.00417768164, 0.246640727, 1.50140941]
_ERF_INV_Q = [-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773,
              -0.0076224613, 0.00943887047, 1.00167406, 2.83297682]


def erf_inv(x):
    """erf^-1(x) for x in [-1, 1] (±inf at ±1, NaN beyond), to the bit as
    JAX computes it on the CPU: jax.random.normal is sqrt(2) erf_inv(u)."""
    w = arith.negf(xla_log1p(arith.negf(arith.mulf(x, x))))
    near = _lt(w, _c(x, 5.0))
    w = _select(near, arith.subf(w, _c(x, 2.5)), arith.subf(math.sqrt(w), _c(x, 3.0)))
    p = _select(near, _c(x, _ERF_INV_P[0]), _c(x, _ERF_INV_Q[0]))
    for a, b in zip(_ERF_INV_P[1:], _ERF_INV_Q[1:]):
        p = fma(p, w, _select(near, _c(x, a), _c(x, b)))
    result = _select(cmpf("oeq", math.absf(x), _c(x, 1.0)), arith.mulf(x, _c(x, np.inf)), arith.mulf(p, x))
    return tie("erf_inv", result, x)


# XLA's float32 erf (xla/codegen/intrinsic/erf.cc: Eigen's rational interpolant):
# x P(x^2) / Q(x^2), ±1 where |x| >= 3.8325 (erf there rounds to ±1).
_ERF_P = [0.00022905065861350646, 0.0034082910107109506, 0.050955695062380861, 0.18520832239976145,
          1.128379143519084]
_ERF_Q = [-1.1791602954361697e-7, 0.000023547966471313185, 0.0010179625278914885, 0.014070470171167667,
          0.11098505178285362, 0.49746925110067538, 1.0]


def erf(x):
    """erf(x) of float32 x to the bit as JAX computes it (IREE's math.erf is
    another polynomial, a few ulp away)."""
    x2 = arith.mulf(x, x)
    ratio = arith.divf(arith.mulf(x, horner(x2, _ERF_P)), horner(x2, _ERF_Q))
    saturated = cmpf("oge", math.absf(x), _c(x, 3.832506856900711))
    return tie("erf", _select(saturated, math.copysign(_c(x, 1.0), x), ratio), x)


def logistic(x):
    """1 / (1 + exp(-x)), exact in both tails (exp(-x) overflows to inf,
    giving 0). Its own rule differentiates it (out (1 - out), as JAX's):
    through the division, the lower tail's derivative was 0 * inf = NaN."""
    one = _c(x, 1.0)
    return tie("logistic", arith.divf(one, arith.addf(one, math.exp(arith.negf(x)))), x)


# Cephes' erfc for |x| >= 1 (XLA's ErfcImpl32): exp(-x^2) / |x| P(1/x^2) below 2, R(1/x^2) above.
_ERFC_P = [2.326819970068386e-2, -1.387039388740657e-1, 3.687424674597105e-1, -5.824733027278666e-1,
           6.210004621745983e-1, -4.944515323274145e-1, 3.404879937665872e-1, -2.741127028184656e-1,
           5.638259427386472e-1]
_ERFC_R = [-1.047766399936249e1, 1.297719955372516e1, -7.495518717768503e0, 2.921019019210786e0,
           -1.015265279202700e0, 4.218463358204948e-1, -2.820767439740514e-1, 5.641895067754075e-1]


def erfc(x):
    """1 - erf(x), without the cancellation of 1 - erf(x) for large x."""
    a = math.absf(x)
    q = arith.divf(_c(x, 1.0), a)
    y = arith.mulf(q, q)
    p = _select(_lt(a, _c(x, 2.0)), _plain_horner(y, _ERFC_P), _plain_horner(y, _ERFC_R))
    tail = arith.mulf(arith.mulf(math.exp(arith.negf(arith.mulf(x, x))), q), p)
    tail = _select(_lt(x, _c(x, 0.0)), arith.subf(_c(x, 2.0), tail), tail)
    result = _select(_lt(a, _c(x, 1.0)), arith.subf(_c(x, 1.0), math.erf(x)), tail)
    return tie("erfc", result, x)


# Lanczos' approximation with g = 7, n = 9 (XLA's Lgamma and Digamma):
# Gamma(z + 1) = sqrt(2 pi) (z + g + 1/2)^(z + 1/2) exp(-(z + g + 1/2)) A(z),
# A(z) = c_0 + sum_k c_k / (z + k).
_LANCZOS_G = 7.0
_LANCZOS_C0 = 0.99999999999980993227684700473478
_LANCZOS = [676.520368121885098567009190444019, -1259.13921672240287047156078755283,
            771.3234287776530788486528258894, -176.61502916214059906584551354,
            12.507343278686904814458936853, -0.13857109526572011689554707,
            9.984369578019570859563e-6, 1.50563273514931155834e-7]


def _reflected(x):
    """(x < 1/2, z): z = -x where the reflection formula is used, else x - 1."""
    reflect = _lt(x, _c(x, 0.5))
    return reflect, _select(reflect, arith.negf(x), arith.subf(x, _c(x, 1.0)))


def _log_lanczos_t(z):
    """(t, log t) with t = z + g + 1/2, log t as log(g + 1/2) + log1p(z / (g + 1/2))."""
    half_g = _LANCZOS_G + 0.5
    t = arith.addf(z, _c(z, half_g))
    return t, arith.addf(_c(z, np.log(half_g)), math.log1p(arith.divf(z, _c(z, half_g))))


def lgamma(x):
    """log |Gamma(x)|, by Lanczos above 1/2 and the reflection formula
    lgamma(x) = log(pi) - lgamma(1 - x) - log|sin(pi x)| below."""
    reflect, z = _reflected(x)
    a = _c(x, _LANCZOS_C0)
    for k, c in enumerate(_LANCZOS):
        a = arith.addf(a, arith.divf(_c(x, c), arith.addf(z, _c(x, k + 1))))
    t, log_t = _log_lanczos_t(z)
    body = arith.mulf(arith.subf(arith.addf(z, _c(x, 0.5)), arith.divf(t, log_t)), log_t)
    log_y = arith.addf(arith.addf(_c(x, 0.5 * np.log(2 * np.pi)), body), math.log(a))
    absx = math.absf(x)
    frac = arith.subf(absx, math.floor(absx))
    frac = _select(cmpf("ogt", frac, _c(x, 0.5)), arith.subf(_c(x, 1.0), frac), frac)
    log_sin = math.log(math.sin(arith.mulf(_c(x, np.pi), frac)))
    finite = cmpf("one", math.absf(log_sin), _c(x, np.inf))
    reflection = _select(finite, arith.subf(arith.subf(_c(x, np.log(np.pi)), log_sin), log_y), arith.negf(log_sin))
    result = _select(reflect, reflection, log_y)
    result = _select(cmpf("oeq", absx, _c(x, np.inf)), _c(x, np.inf), result)
    return tie("lgamma", result, x)


def digamma(x):
    """Gamma'(x) / Gamma(x): the derivative of the Lanczos lgamma above 1/2,
    digamma(x) = digamma(1 - x) - pi cot(pi x) below; NaN at the poles 0, -1, ..."""
    reflect, z = _reflected(x)
    num, den = _c(x, 0.0), _c(x, _LANCZOS_C0)
    for k, c in enumerate(_LANCZOS):
        d = arith.addf(z, _c(x, k + 1))
        num = arith.subf(num, arith.divf(_c(x, c), arith.mulf(d, d)))
        den = arith.addf(den, arith.divf(_c(x, c), d))
    t, log_t = _log_lanczos_t(z)
    y = arith.subf(arith.addf(log_t, arith.divf(num, den)), arith.divf(_c(x, _LANCZOS_G), t))
    reduced = arith.addf(x, math.absf(math.floor(arith.addf(x, _c(x, 0.5)))))
    angle = arith.mulf(_c(x, np.pi), reduced)
    reflection = arith.subf(y, arith.divf(arith.mulf(_c(x, np.pi), math.cos(angle)), _sin_of_abs(angle)))
    result = _select(reflect, reflection, y)
    pole = arith.andi(cmpf("ole", x, _c(x, 0.0)), cmpf("oeq", x, math.floor(x)))
    return tie("digamma", _select(pole, _c(x, np.nan), result), x)


def _sin_of_abs(angle):
    """sin(angle) as ±sin(|angle|), |angle| itself below 2**-12: IREE's sin of
    a small negative argument is off (sin(-1e-3) by 2e-5 relatively: digamma
    of -1e-10 was -5e7, not 1e10), of a positive one right. (jnp.sin does
    the same: scalar_rules._odd_of_abs.)"""
    a = math.absf(angle)
    s = _select(cmpf("olt", a, _c(angle, 2.0**-12)), a, math.sin(a))
    return _select(cmpf("olt", angle, _c(angle, 0.0)), arith.negf(s), s)


# c_k of Stirling's series for lgamma's remainder, Delta(x) = lgamma(x) -
# ((x - 1/2) log x - x + log(2 pi)/2) ~ sum_k c_k x^-(2k+1): cdflib's (algdiv), as JAX's
_STIRLING = [0.833333333333333e-01, -0.277777777760991e-02, 0.793650666825390e-03, -0.595202931351870e-03,
             0.837308034031215e-03, -0.165322962780713e-02]


def _stirling_difference(a, b):
    """Delta(b) - Delta(a + b) for b >= 8: with x = b/(a + b), c = 1 - x and
    s_n = (1 - x^n)/(1 - x) = 1 + x + ... + x^(n-1), b^-n - (a + b)^-n =
    c s_n / b^n, so it is (c/b) sum_k c_k s_(2k+1) b^-2k, summed by Horner's
    rule in 1/b^2 (cdflib's, in algdiv and bcorr; JAX's takes x = a/(a + b),
    1e-6 off at betaln(0.5, 8): here SciPy's)."""
    one = _c(a, 1.0)
    h = arith.divf(a, b)
    x, c = arith.divf(one, arith.addf(one, h)), arith.divf(h, arith.addf(one, h))
    s = [one]  # s_1, s_3, ..., s_11 by s_(n+2) = 1 + x + x^2 s_n
    for _ in _STIRLING[1:]:
        s.append(arith.addf(one, arith.addf(x, arith.mulf(arith.mulf(x, x), s[-1]))))
    t = arith.divf(one, arith.mulf(b, b))
    w = _c(a, 0.0)
    for coefficient, s_n in zip(_STIRLING[::-1], s[::-1]):
        w = arith.addf(arith.mulf(w, t), arith.mulf(_c(a, coefficient), s_n))
    return arith.mulf(w, arith.divf(c, b))


def _ordered_difference(w, u, v):
    """w - u - v with the larger of u, v subtracted last (cdflib's)."""
    return _select(cmpf("ole", u, v), arith.subf(arith.subf(w, u), v), arith.subf(arith.subf(w, v), u))


def lgamma_difference(a, b):
    """lgamma(b) - lgamma(a + b) for a, b > 0: from b = 8 on, where two
    lgammas would cancel (lgamma(1e6) is 1.3e7; betaln(1e6, 1e-6) 13.8),
    Stirling's formula for both (cdflib's algdiv):

        Delta(b) - Delta(a + b) - a (log b - 1) - (a + b - 1/2) log1p(a/b)

    and the two lgammas below (there b = 8 in the branch not taken: 1/b^2 of
    a tiny b would make the derivative NaN)."""
    eight = _c(b, 8.0)
    small = _lt(b, eight)
    direct = arith.subf(lgamma(b), lgamma(arith.addf(a, b)))
    b = _select(small, eight, b)
    u = arith.mulf(arith.addf(b, arith.subf(a, _c(a, 0.5))), math.log1p(arith.divf(a, b)))
    v = arith.mulf(a, arith.subf(math.log(b), _c(a, 1.0)))
    return _select(small, direct, _ordered_difference(_stirling_difference(a, b), u, v))


def lbeta(a, b):
    """log |B(a, b)| for a, b > 0, as cdflib's betaln: with p <= q the two,
    lgamma(p) + lgamma_difference(p, q) below p = 8, and from 8 on
    Stirling's formula for all three lgammas (the sum of two large lgammas
    and the difference of a third cancel: B(5000, 5000) lost 8 ulp):

        log(2 pi)/2 - log(q)/2 + Delta(p) + Delta(q) - Delta(p + q)
            - (p - 1/2) log((p + q)/p) - q log1p(p/q)

    (p = q = 8 in the branch not taken, as in `lgamma_difference`)."""
    p, q = arith.minimumf(a, b), arith.maximumf(a, b)
    eight = _c(p, 8.0)
    small = _lt(p, eight)
    by_lgamma = arith.addf(lgamma(p), lgamma_difference(p, q))
    p, q = _select(small, eight, p), _select(small, eight, q)
    one = _c(p, 1.0)
    t = arith.divf(one, arith.mulf(p, p))
    delta_p = arith.divf(_plain_horner(t, _STIRLING[::-1]), p)
    w = arith.addf(arith.subf(_c(p, 0.5 * np.log(2 * np.pi)), arith.mulf(_c(p, 0.5), math.log(q))),
                   arith.addf(delta_p, _stirling_difference(p, q)))
    h = arith.divf(p, q)
    u = arith.mulf(arith.subf(p, _c(p, 0.5)), math.log1p(arith.divf(q, p)))  # -(p - 1/2) log(h / (1 + h))
    v = arith.mulf(q, math.log1p(h))
    return _select(small, by_lgamma, _ordered_difference(w, u, v))


def _is_integer(x):
    return cmpf("oeq", x, math.floor(x))


def signbit(x):
    """x's sign bit as a bool: true for -0.0 and -inf, which `x < 0` misses at
    -0.0. Read in float32, as a float64 copysign is an i64 bitcast, which
    IREE's Vulkan code cannot do."""
    f32 = ir.F32Type.get()
    width = ir.FloatType(x.type).width
    narrow = x if width == 32 else (arith.extf if width < 32 else arith.truncf)(f32, x)
    return _lt(math.copysign(mlir.float_constant(f32, 1.0), narrow), mlir.float_constant(f32, 0.0))


def sinh(x):
    """sinh(x) = sign(x) (u + u / (u + 1)) / 2 with u = expm1(|x|), and
    h (h / 2) with h = exp(|x| / 2) above |x| = 44 (where e^-|x| no longer
    counts). IREE's (e^x - e^-x) / 2 cancels for a small x (1.7e-5 relative
    error at 1e-3) and overflows from |x| = 88.7, where sinh(x) is still
    finite in float32. d/dx: cosh(x)."""
    a = math.absf(x)
    u = math.expm1(a)
    near = arith.mulf(_c(x, 0.5), arith.addf(u, arith.divf(u, arith.addf(u, _c(x, 1.0)))))
    return tie("sinh", math.copysign(_beyond_44(a, near), x), x)


def cosh(x):
    """cosh(x) = (e + 1 / e) / 2 with e = exp(|x|), and h (h / 2) with
    h = exp(|x| / 2) above |x| = 44: IREE's overflowed from 88.7. d/dx: sinh(x)."""
    a = math.absf(x)
    e = math.exp(a)
    near = arith.mulf(_c(x, 0.5), arith.addf(e, arith.divf(_c(x, 1.0), e)))
    return tie("cosh", _beyond_44(a, near), x)


def _beyond_44(a, near):
    """`near` up to a = 44, e^a / 2 beyond, as h (h / 2) with h = e^(a / 2):
    finite past exp's overflow (sinh(a) and cosh(a) both, there)."""
    half = math.exp(arith.mulf(a, _c(a, 0.5)))
    return _select(_lt(_c(a, 44.0), a), arith.mulf(half, arith.mulf(half, _c(a, 0.5))), near)


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
    subnormal = _lt(a, _c(a, tiny))
    m, e = _frexp(_select(subnormal, arith.mulf(a, _c(a, 2.0**24)), a))
    e = _select(subnormal, arith.subf(e, _c(e, 24.0)), e)
    below = _lt(m, _c(m, np.sqrt(0.5)))  # m in [sqrt(1/2), sqrt(2)) from here on
    m = arith.extf(f64, _select(below, arith.addf(m, m), m))
    e = arith.extf(f64, _select(below, arith.subf(e, _c(e, 1.0)), e))
    one = _c(m, 1.0)
    s = arith.divf(arith.subf(m, one), arith.addf(m, one))
    log2 = arith.addf(e, arith.mulf(s, _plain_horner(arith.mulf(s, s), _LOG2_ATANH)))
    log2 = _select(cmpf("oeq", a, _c(a, 0.0)), _c(m, -np.inf), log2)
    log2 = _select(cmpf("oeq", a, _c(a, np.inf)), _c(m, np.inf), log2)
    return _select(cmpf("uno", a, a), _c(m, np.nan), log2)


def _log_float64(v):
    """log(v) of a float64 v >= 0 in float32's range, within 2^-36: log(h)
    of h = v rounded to float32 (`_log2_float64`), plus log(v / h) =
    d - d^2/2 + ... with d = (v - h) / h below 2^-24, so d alone."""
    h = arith.truncf(ir.F32Type.get(), v)
    d = arith.divf(arith.subf(v, arith.extf(v.type, h)), arith.extf(v.type, h))
    return arith.addf(arith.mulf(_log2_float64(h), _c(v, np.log(2))), d)


def _exp2_float64(z):
    """2^z of a float64 z, in float64 within 2^-42 relative, for a float32
    result: 2^r 2^n with n = round(z), 2^r by its series and 2^n in two
    float32 halves (each a normal float32). z beyond [-160, 130] counts as
    its end (0 or inf in float32: 2^-150 rounds to 0); a NaN z gives NaN."""
    f32, nan = ir.F32Type.get(), cmpf("uno", z, z)
    clamped = arith.minimumf(arith.maximumf(z, _c(z, -160.0)), _c(z, 130.0))
    n = math.floor(arith.addf(_select(nan, _c(z, 0.0), clamped), _c(z, 0.5)))
    half = math.floor(arith.mulf(n, _c(n, 0.5)))
    scale = [arith.extf(z.type, _pow2(arith.truncf(f32, k))) for k in (half, arith.subf(n, half))]
    power = arith.mulf(arith.mulf(_plain_horner(arith.subf(clamped, n), _EXP2), scale[0]), scale[1])
    return _select(nan, _c(z, np.nan), power)


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
    steep = _lt(ax, a)
    t = arith.divf(_select(steep, ax, a), _select(steep, a, ax))
    reduce = _lt(_c(t, np.tan(np.pi / 8)), t)
    one = _c(t, 1.0)
    u = _select(reduce, arith.divf(arith.subf(t, one), arith.addf(t, one)), t)
    z = arith.mulf(u, u)
    angle = arith.addf(u, arith.mulf(arith.mulf(u, z), _plain_horner(z, _ATAN_P)))
    angle = _select(reduce, arith.addf(_c(t, np.pi / 4), angle), angle)
    angle = _select(steep, arith.subf(_c(t, np.pi / 2), angle), angle)
    return _select(_lt(x, _c(x, 0.0)), arith.subf(_c(t, np.pi), angle), angle)


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
    a = _atan2_float32(math.absf(x), _c(x, 1.0))
    return tie("atan", _select(_lt(x, _c(x, 0.0)), arith.negf(a), a), x)


def asin(x):
    """asin(x), differentiated as math.asin: dx / sqrt(1 - x^2). In float32,
    ±atan2(a, sqrt((1 - a)(1 + a))) of a = |x| in float64 (`_atan2_float64`),
    rounded once: IREE's is 7.5 ulp off near 1 (asin(0.99982709)). NaN
    beyond 1 (the square root's)."""
    if x.type != ir.F32Type.get():
        return tie("asin", math.asin(x), x)
    a = arith.extf(ir.F64Type.get(), math.absf(x))
    one = _c(a, 1.0)
    angle = arith.truncf(x.type, _atan2_float64(a, math.sqrt(arith.mulf(arith.subf(one, a), arith.addf(one, a)))))
    return tie("asin", _select(_lt(x, _c(x, 0.0)), arith.negf(angle), angle), x)


def acos(x):
    """acos(x), differentiated as math.acos: -dx / sqrt(1 - x^2). In float32,
    atan2(sqrt((1 - x)(1 + x)), x) in float64 (`_atan2_float64`), rounded
    once: IREE's is 1.3 ulp off. NaN beyond 1 (the square root's)."""
    if x.type != ir.F32Type.get():
        return tie("acos", math.acos(x), x)
    wide = arith.extf(ir.F64Type.get(), x)
    one = _c(wide, 1.0)
    sine = math.sqrt(arith.mulf(arith.subf(one, wide), arith.addf(one, wide)))
    return tie("acos", arith.truncf(x.type, _atan2_float64(sine, wide)), x)


def acosh(x):
    """acosh(x) of float32 x >= 1, differentiated as math.acosh: dx /
    sqrt(x^2 - 1). log(v) + log(2) with v = (x + sqrt(x^2 - 1)) / 2 in
    float64 (x^2 - 1 exact; `_log_float64`), rounded once: IREE's
    log(x + sqrt(x^2 - 1)) is 8.6 ulp off near 1 (acosh(1.0006052)) and
    overflows x^2 above 1.8e19. NaN below 1, inf at inf."""
    v = arith.extf(ir.F64Type.get(), x)
    v = arith.mulf(arith.addf(v, math.sqrt(arith.subf(arith.mulf(v, v), _c(v, 1.0)))), _c(v, 0.5))
    value = arith.truncf(x.type, arith.addf(_log_float64(v), _c(v, np.log(2))))
    value = _select(cmpf("oeq", x, _c(x, np.inf)), x, value)
    return tie("acosh", _select(cmpf("ult", x, _c(x, 1.0)), _c(x, np.nan), value), x)


def cbrt(x):
    """The real cube root, differentiated as math.cbrt: dx / (3 out^2). In
    float32 IREE's cbrt is 12 ulp off (cbrt(-6.2e-33)), so one Newton step
    follows, y + (x / y^2 - y) / 3, within 1 ulp (x / y^2, not y^3: that
    would be subnormal, so flushed, for x near 1e-38); y = 0 stays 0."""
    y = math.cbrt(x)
    if x.type == ir.F32Type.get():
        step = arith.mulf(arith.subf(arith.divf(x, arith.mulf(y, y)), y), _c(x, 1 / 3))
        y = _select(cmpf("oeq", y, _c(y, 0.0)), y, arith.addf(y, step))
    return tie("cbrt", y, x)


def _signed_power(base, exponent, negative):
    """|base|^exponent, negated where `negative` and the exponent is an odd
    integer (powf, exp(y log x), is NaN for every negative base). float32's is
    `_powf32`; float64's powf the pass expand-float64-math computes."""
    powf = _powf32 if base.type == ir.F32Type.get() else math.powf
    magnitude = powf(math.absf(base), exponent)
    half = arith.mulf(exponent, _c(exponent, 0.5))
    odd = cmpf("oeq", arith.subf(half, math.floor(half)), _c(exponent, 0.5))  # false for ±inf and NaN
    return _select(arith.andi(negative, odd), arith.negf(magnitude), magnitude)


def _pow(base, exponent):
    """XLA's power inside zeta: powf's special cases kept (1^inf is NaN, so zeta(inf, 1) is NaN, as JAX's)."""
    return _signed_power(base, exponent, _lt(base, _c(base, 0.0)))


def _c99_power(x, y):
    """x ** y as C99's pow computes it (and NumPy, JAX). IREE's powf is
    exp(y log x): NaN for any x < 0 and at the 0 * inf of 0 ** 0, inf ** 0 and
    1 ** inf. So powf gives only the magnitude |x| ** y, and selects the rest:

        x ** ±0 = 1 and 1 ** y = 1, even for NaN; (-1) ** ±inf = 1
        x ** y = NaN for finite x < 0 and y not an integer
        x ** y takes x's sign where y is an odd integer: (-2) ** 3 = -8,
            (-0.0) ** -1 = -inf, (-inf) ** 3 = -inf; else it is positive
    """
    signed = _signed_power(x, y, signbit(x))
    fraction = cmpf("une", math.floor(y), y)  # true for NaN, false for ±inf
    negative_finite = arith.andi(_lt(x, _c(x, 0.0)), cmpf("one", math.absf(x), _c(x, np.inf)))
    one = arith.ori(arith.ori(cmpf("oeq", y, _c(y, 0.0)), cmpf("oeq", x, _c(x, 1.0))),
                    arith.andi(cmpf("oeq", x, _c(x, -1.0)), cmpf("oeq", math.absf(y), _c(y, np.inf))))
    nan_or_signed = _select(arith.andi(negative_finite, fraction), _c(x, np.nan), signed)
    return _select(one, _c(x, 1.0), nan_or_signed)


def power(x, y, to_integers=False):
    """C99's x ** y (`_c99_power`), differentiated as JAX's pow: y x^(y-1)
    dx + log(x) x^y dy, with log(x) read as 0 at x = 0 (NaN for x < 0).
    `to_integers`: y holds integers (converted), and d/dx is 0 where y = 0."""
    return tie("power_to_integers" if to_integers else "power", _c99_power(x, y), x, y)


# B_2j / (2j)! inverted: the Euler-Maclaurin coefficients of Cephes' zeta.
_ZETA_A = [12.0, -720.0, 30240.0, -1209600.0, 47900160.0, -1.8924375803183791606e9, 7.47242496e10,
           -2.950130727918164224e12, 1.1646782814350067249e14, -4.5979787224074726105e15,
           1.8152105401943546773e17, -7.1661652561756670113e18]


def zeta(s, q):
    """Hurwitz's zeta(s, q) = sum_k (q + k)^-s, by Euler-Maclaurin summation
    as XLA computes it: ten terms summed, the tail as an integral plus twelve
    Bernoulli corrections. NaN for s < 1, or q <= 0 with s not an integer; at
    q a non-positive integer (a pole) inf for an even integer s, else NaN;
    inf at s = 1, in JAX's order of these rules (StableHLO's). JAX's shortcut
    to the bare sum where its last term is below the sum times the smallest
    subnormal never fires (flushed to 0), so there is none here: zeta(inf, q)
    is NaN (0 * inf in the corrections), as JAX's."""
    one = _c(s, 1.0)
    neg_s = arith.negf(s)
    a = q
    total = _pow(q, neg_s)
    for _ in range(9):
        a = arith.addf(a, one)
        total = arith.addf(total, _pow(a, neg_s))
    a = arith.addf(a, one)
    b = _pow(a, neg_s)
    total = arith.addf(total, arith.divf(arith.mulf(b, a), arith.subf(s, one)))
    total = arith.addf(total, arith.mulf(_c(s, 0.5), b))
    term, k = b, 0.0  # s (s+1) ... (s+k-1) a^(-s-k), updated as one product: neither factor overflows
    for coefficient in _ZETA_A:
        term = arith.divf(arith.mulf(term, arith.addf(s, _c(s, k))), a)
        total = arith.addf(total, arith.divf(term, _c(s, coefficient)))
        term = arith.divf(arith.mulf(term, arith.addf(s, _c(s, k + 1))), a)
        k += 2
    result = _select(_lt(s, one), _c(s, np.nan), total)
    nonpositive = cmpf("ole", q, _c(q, 0.0))
    result = _select(arith.andi(nonpositive, arith.xori(_is_integer(s), _bool(True))), _c(s, np.nan), result)
    even = arith.andi(_is_integer(s), cmpf("oeq", arith.remf(s, _c(s, 2.0)), _c(s, 0.0)))
    pole_value = _select(even, _c(s, np.inf), _c(s, np.nan))
    result = _select(arith.andi(nonpositive, _is_integer(q)), pole_value, result)
    result = _select(cmpf("oeq", s, one), _c(s, np.inf), result)
    return tie("zeta", result, s, q)


def polygamma(n, x):
    """The n-th derivative of digamma: digamma itself for n = 0, else
    (-1)^(n+1) n! zeta(n + 1, x). NaN unless n is a non-negative integer."""
    one = _c(x, 1.0)
    n1 = arith.addf(n, one)
    half = arith.mulf(n, _c(n, 0.5))
    sign = _select(cmpf("oeq", half, math.floor(half)), _c(x, -1.0), one)
    higher = arith.mulf(arith.mulf(sign, math.exp(lgamma(n1))), zeta(n1, x))
    result = _select(cmpf("oeq", n, _c(n, 0.0)), digamma(x), higher)
    invalid = arith.ori(_lt(n, _c(n, 0.0)), arith.xori(_is_integer(n), _bool(True)))
    return tie("polygamma", _select(invalid, _c(x, np.nan), result), n, x)


# Cephes' Chebyshev expansions of exp(-|x|) I0(x), exp(-|x|) I1(x) / x in
# x/2 - 2 on [0, 8], and of sqrt(x) exp(-x) I0(x), I1(x) in 32/x - 2 above
# (the terms float32 resolves, as in XLA's I0e and I1e).
_I0E_A = [-1.30002500998624804212e-8, 6.04699502254191894932e-8, -2.67079385394061173391e-7,
          1.11738753912010371815e-6, -4.41673835845875056359e-6, 1.64484480707288970893e-5,
          -5.75419501008210370398e-5, 1.88502885095841655729e-4, -5.76375574538582365885e-4,
          1.63947561694133579842e-3, -4.32430999505057594430e-3, 1.05464603945949983183e-2,
          -2.37374148058994688156e-2, 4.93052842396707084878e-2, -9.49010970480476444210e-2,
          1.71620901522208775349e-1, -3.04682672343198398683e-1, 6.76795274409476084995e-1]
_I0E_B = [3.39623202570838634515e-9, 2.26666899049817806459e-8, 2.04891858946906374183e-7,
          2.89137052083475648297e-6, 6.88975834691682398426e-5, 3.36911647825569408990e-3,
          8.04490411014108831608e-1]
_I1E_A = [9.38153738649577178388e-9, -4.44505912879632808065e-8, 2.00329475355213526229e-7,
          -8.56872026469545474066e-7, 3.47025130813767847674e-6, -1.32731636560394358279e-5,
          4.78156510755005422638e-5, -1.61760815825896745588e-4, 5.12285956168575772895e-4,
          -1.51357245063125314899e-3, 4.15642294431288815669e-3, -1.05640848946261981558e-2,
          2.47264490306265168283e-2, -5.29459812080949914269e-2, 1.02643658689847095384e-1,
          -1.76416518357834055153e-1, 2.52587186443633654823e-1]
_I1E_B = [-3.83538038596423702205e-9, -2.63146884688951950684e-8, -2.51223623787020892529e-7,
          -3.88256480887769039346e-6, -1.10588938762623716291e-4, -9.76109749136146840777e-3,
          7.78576235018280120474e-1]


def _chebyshev(x, coefficients):
    """Clenshaw's sum of a Chebyshev series (Cephes' chbevl)."""
    b0, b1, b2 = _c(x, coefficients[0]), _c(x, 0.0), _c(x, 0.0)
    for c in coefficients[1:]:
        b2, b1 = b1, b0
        b0 = arith.addf(arith.subf(arith.mulf(x, b1), b2), _c(x, c))
    return arith.mulf(_c(x, 0.5), arith.subf(b0, b2))


def _bessel_e(x, a, b, times_x):
    z = math.absf(x)
    near = _chebyshev(arith.subf(arith.mulf(_c(x, 0.5), z), _c(x, 2.0)), a)
    near = arith.mulf(z, near) if times_x else near
    far = arith.divf(_chebyshev(arith.subf(arith.divf(_c(x, 32.0), z), _c(x, 2.0)), b), math.sqrt(z))
    return _select(cmpf("ole", z, _c(x, 8.0)), near, far)


def bessel_i0e(x):
    """exp(-|x|) I0(x)."""
    return tie("bessel_i0e", _bessel_e(x, _I0E_A, _I0E_B, False), x)


def bessel_i1e(x):
    """exp(-|x|) I1(x) (odd in x)."""
    value = _bessel_e(x, _I1E_A, _I1E_B, True)
    return tie("bessel_i1e", _select(_lt(x, _c(x, 0.0)), arith.negf(value), value), x)


# ---------------------------------------------------------------------------
# Loops over scalars (the incomplete gamma and beta functions, incomplete.py,
# and float64 maths, transforms/float64_math.py).

def _while(inits, keep_going, step):
    """`while keep_going(*values): values = step(*values)` over scalars."""
    types = [v.type for v in inits]
    loop = scf.WhileOp(types, inits)
    before = loop.before.blocks.append(*types)
    with ir.InsertionPoint(before):
        scf.ConditionOp(keep_going(*before.arguments), list(before.arguments))
    after = loop.after.blocks.append(*types)
    with ir.InsertionPoint(after):
        scf.YieldOp(step(*after.arguments))
    return list(loop.results)

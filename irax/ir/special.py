"""Special functions of float32 scalars, as MLIR ops (arith, math, scf),
computed as XLA (and JAX) compute them: the bodies of the special-function
primitives (frontend/primitives/special.py) and of their derivatives
(transforms/ad/scalar_jvp.py), hence here, on the floor both stand on.

Where XLA's CPU code is a polynomial (log, log1p, erf_inv), it is repeated
operation for operation, with a fused multiply-add exactly where XLA's
compiler fuses one, so that the results are JAX's to the bit. Elsewhere the
algorithm is XLA's and the results agree to float32 rounding: the libm
underneath (exp, log, sin) is IREE's. (The incomplete gamma and beta
functions, loops, are incomplete.py; the elementary functions IREE gets
several ulp wrong are elementary.py.) Each ends in `tie`
(scalar_parts.py), which names its derivative rule.
"""
import numpy as np
from iree.compiler import ir
from iree.compiler.dialects import arith, math

from irax.ir.elementary import signed_power
from irax.ir.scalar import cmpf, select
from irax.ir.scalar_parts import bool_constant, fma, frexp, horner, is_integer, like, lt, plain_horner, tie

# Cephes' logf (Eigen's plog_float, which XLA's CPU backend emits for log):
# a = 2^e m with m in [sqrt(1/2), sqrt(2)), log(m) = x - x^2/2 + x^3 P(x) with x = m - 1.
_LOG_P = [7.0376836292e-2, -1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1, 1.4249322787e-1,
          -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1]
_LOG_Q1, _LOG_Q2 = -2.12194440e-4, 0.693359375  # ln 2 = Q2 - Q1 (Q2 exact in few bits)



def xla_log(a):
    """log(a) of float32 a as XLA's CPU backend computes it (to the bit).
    P is evaluated as three interleaved quadratics in x^3, as Eigen does."""
    one = like(a, 1.0)
    m, e = frexp(arith.maximumf(a, like(a, np.finfo(np.float32).tiny)))
    below = lt(m, like(a, np.sqrt(0.5)))
    x = arith.subf(m, one)
    e = select(below, arith.subf(e, one), e)
    x = select(below, arith.addf(x, m), x)
    x2 = arith.mulf(x, x)
    x3 = arith.mulf(x2, x)
    p = [horner(x, _LOG_P[i:i + 3]) for i in (0, 3, 6)]
    y = fma(fma(p[0], x3, p[1]), x3, p[2])
    y = fma(y, x3, arith.mulf(e, like(a, _LOG_Q1)))
    x = arith.addf(arith.subf(x, arith.mulf(x2, like(a, 0.5))), y)
    log = fma(e, like(a, _LOG_Q2), x)
    zero, inf = like(a, 0.0), like(a, np.inf)
    log = select(cmpf("oeq", a, inf), inf, log)
    log = select(cmpf("oeq", a, zero), like(a, -np.inf), log)
    return select(cmpf("ult", a, zero), like(a, np.nan), log)  # a < 0 or NaN


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
    small = arith.addf(x, fma(x2, like(x, -0.5), arith.mulf(arith.mulf(x, x2), ratio)))
    large = xla_log(arith.addf(x, like(x, 1.0)))
    return select(lt(math.absf(x), like(x, np.sqrt(2) - 1)), small, large)


# Giles' single-precision erfinv ("Approximating the erfinv function", GPU
# Computing Gems, 2011), as XLA's ErfInv32: with w = -log(1 - x^2),
# erfinv(x) = x P(w - 2.5) for w < 5, else x Q(sqrt(w) - 3).
_ERF_INV_P = [2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087,
              -0.00125372503, -0.00417768164, 0.246640727, 1.50140941]
_ERF_INV_Q = [-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773,
              -0.0076224613, 0.00943887047, 1.00167406, 2.83297682]


def erf_inv(x):
    """erf^-1(x) for x in [-1, 1] (±inf at ±1, NaN beyond), to the bit as
    JAX computes it on the CPU: jax.random.normal is sqrt(2) erf_inv(u).
    float64 has polynomials of its own (erf_inv64)."""
    if x.type == ir.F64Type.get():
        return erf_inv64(x)
    w = arith.negf(xla_log1p(arith.negf(arith.mulf(x, x))))
    near = lt(w, like(x, 5.0))
    w = select(near, arith.subf(w, like(x, 2.5)), arith.subf(math.sqrt(w), like(x, 3.0)))
    p = select(near, like(x, _ERF_INV_P[0]), like(x, _ERF_INV_Q[0]))
    for a, b in zip(_ERF_INV_P[1:], _ERF_INV_Q[1:]):
        p = fma(p, w, select(near, like(x, a), like(x, b)))
    result = select(cmpf("oeq", math.absf(x), like(x, 1.0)), arith.mulf(x, like(x, np.inf)), arith.mulf(p, x))
    return tie("erf_inv", result, x)


# Giles' double-precision erfinv, as XLA's ErfInv64: with w = -log(1 - x^2), x times a
# polynomial in w - 3.125 (w < 6.25, degree 22), sqrt(w) - 3.25 (w < 16, 18) or sqrt(w) - 5 (16).
_ERF_INV64_NEAR = [
    -3.6444120640178196996e-21, -1.685059138182016589e-19, 1.2858480715256400167e-18, 1.115787767802518096e-17,
    -1.333171662854620906e-16, 2.0972767875968561637e-17, 6.6376381343583238325e-15, -4.0545662729752068639e-14,
    -8.1519341976054721522e-14, 2.6335093153082322977e-12, -1.2975133253453532498e-11, -5.4154120542946279317e-11,
    1.051212273321532285e-09, -4.1126339803469836976e-09, -2.9070369957882005086e-08, 4.2347877827932403518e-07,
    -1.3654692000834678645e-06, -1.3882523362786468719e-05, 0.0001867342080340571352, -0.00074070253416626697512,
    -0.0060336708714301490533, 0.24015818242558961693, 1.6536545626831027356]
_ERF_INV64_MID = [
    2.2137376921775787049e-09, 9.0756561938885390979e-08, -2.7517406297064545428e-07, 1.8239629214389227755e-08,
    1.5027403968909827627e-06, -4.013867526981545969e-06, 2.9234449089955446044e-06, 1.2475304481671778723e-05,
    -4.7318229009055733981e-05, 6.8284851459573175448e-05, 2.4031110387097893999e-05, -0.0003550375203628474796,
    0.00095328937973738049703, -0.0016882755560235047313, 0.0024914420961078508066, -0.0037512085075692412107,
    0.005370914553590063617, 1.0052589676941592334, 3.0838856104922207635]
_ERF_INV64_FAR = [
    -2.7109920616438573243e-11, -2.5556418169965252055e-10, 1.5076572693500548083e-09, -3.7894654401267369937e-09,
    7.6157012080783393804e-09, -1.4960026627149240478e-08, 2.9147953450901080826e-08, -6.7711997758452339498e-08,
    2.2900482228026654717e-07, -9.9298272942317002539e-07, 4.5260625972231537039e-06, -1.9681778105531670567e-05,
    7.5995277030017761139e-05, -0.00021503011930044477347, -0.00013871931833623122026, 1.0103004648645343977,
    4.8499064014085844221]


def erf_inv64(x):
    """erf^-1(x) of float64 x as XLA computes it (erf_inv's float32
    polynomials would give float32's accuracy): the three polynomials share
    their Horner steps, each range's coefficients selected, the shorter
    ones stopping early."""
    w = arith.negf(math.log1p(arith.negf(arith.mulf(x, x))))
    near, mid = lt(w, like(x, 6.25)), lt(w, like(x, 16.0))
    t = select(near, arith.subf(w, like(x, 3.125)),
               arith.subf(math.sqrt(w), select(mid, like(x, 3.25), like(x, 5.0))))
    p = None
    for i, c in enumerate(_ERF_INV64_NEAR):
        coefficient = like(x, c)
        if i < len(_ERF_INV64_MID):
            coefficient = select(near, coefficient, like(x, _ERF_INV64_MID[i]))
        if i < len(_ERF_INV64_FAR):
            coefficient = select(mid, coefficient, like(x, _ERF_INV64_FAR[i]))
        step = coefficient if p is None else fma(p, t, coefficient)
        p = step if i < len(_ERF_INV64_FAR) else select(mid if i < len(_ERF_INV64_MID) else near, step, p)
    result = select(cmpf("oeq", math.absf(x), like(x, 1.0)), arith.mulf(x, like(x, np.inf)), arith.mulf(p, x))
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
    saturated = cmpf("oge", math.absf(x), like(x, 3.832506856900711))
    return tie("erf", select(saturated, math.copysign(like(x, 1.0), x), ratio), x)


def logistic(x):
    """1 / (1 + exp(-x)), exact in both tails (exp(-x) overflows to inf,
    giving 0). Its own rule differentiates it (out (1 - out), as JAX's):
    through the division, the lower tail's derivative was 0 * inf = NaN."""
    one = like(x, 1.0)
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
    q = arith.divf(like(x, 1.0), a)
    y = arith.mulf(q, q)
    p = select(lt(a, like(x, 2.0)), plain_horner(y, _ERFC_P), plain_horner(y, _ERFC_R))
    tail = arith.mulf(arith.mulf(math.exp(arith.negf(arith.mulf(x, x))), q), p)
    tail = select(lt(x, like(x, 0.0)), arith.subf(like(x, 2.0), tail), tail)
    result = select(lt(a, like(x, 1.0)), arith.subf(like(x, 1.0), math.erf(x)), tail)
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
    reflect = lt(x, like(x, 0.5))
    return reflect, select(reflect, arith.negf(x), arith.subf(x, like(x, 1.0)))


def _log_lanczos_t(z):
    """(t, log t) with t = z + g + 1/2, log t as log(g + 1/2) + log1p(z / (g + 1/2))."""
    half_g = _LANCZOS_G + 0.5
    t = arith.addf(z, like(z, half_g))
    return t, arith.addf(like(z, np.log(half_g)), math.log1p(arith.divf(z, like(z, half_g))))


def lgamma(x):
    """log |Gamma(x)|, by Lanczos above 1/2 and the reflection formula
    lgamma(x) = log(pi) - lgamma(1 - x) - log|sin(pi x)| below."""
    reflect, z = _reflected(x)
    a = like(x, _LANCZOS_C0)
    for k, c in enumerate(_LANCZOS):
        a = arith.addf(a, arith.divf(like(x, c), arith.addf(z, like(x, k + 1))))
    t, log_t = _log_lanczos_t(z)
    body = arith.mulf(arith.subf(arith.addf(z, like(x, 0.5)), arith.divf(t, log_t)), log_t)
    log_y = arith.addf(arith.addf(like(x, 0.5 * np.log(2 * np.pi)), body), math.log(a))
    absx = math.absf(x)
    frac = arith.subf(absx, math.floor(absx))
    frac = select(cmpf("ogt", frac, like(x, 0.5)), arith.subf(like(x, 1.0), frac), frac)
    log_sin = math.log(math.sin(arith.mulf(like(x, np.pi), frac)))
    finite = cmpf("one", math.absf(log_sin), like(x, np.inf))
    reflection = select(finite, arith.subf(arith.subf(like(x, np.log(np.pi)), log_sin), log_y), arith.negf(log_sin))
    result = select(reflect, reflection, log_y)
    result = select(cmpf("oeq", absx, like(x, np.inf)), like(x, np.inf), result)
    return tie("lgamma", result, x)


def digamma(x):
    """Gamma'(x) / Gamma(x): the derivative of the Lanczos lgamma above 1/2,
    digamma(x) = digamma(1 - x) - pi cot(pi x) below; NaN at the poles 0, -1, ..."""
    reflect, z = _reflected(x)
    num, den = like(x, 0.0), like(x, _LANCZOS_C0)
    for k, c in enumerate(_LANCZOS):
        d = arith.addf(z, like(x, k + 1))
        num = arith.subf(num, arith.divf(like(x, c), arith.mulf(d, d)))
        den = arith.addf(den, arith.divf(like(x, c), d))
    t, log_t = _log_lanczos_t(z)
    y = arith.subf(arith.addf(log_t, arith.divf(num, den)), arith.divf(like(x, _LANCZOS_G), t))
    reduced = arith.addf(x, math.absf(math.floor(arith.addf(x, like(x, 0.5)))))
    angle = arith.mulf(like(x, np.pi), reduced)
    reflection = arith.subf(y, arith.divf(arith.mulf(like(x, np.pi), math.cos(angle)), _sin_of_abs(angle)))
    result = select(reflect, reflection, y)
    pole = arith.andi(cmpf("ole", x, like(x, 0.0)), cmpf("oeq", x, math.floor(x)))
    return tie("digamma", select(pole, like(x, np.nan), result), x)


def _sin_of_abs(angle):
    """sin(angle) as ±sin(|angle|), |angle| itself below 2**-12: IREE's sin of
    a small negative argument is off (sin(-1e-3) by 2e-5 relatively: digamma
    of -1e-10 was -5e7, not 1e10), of a positive one right. (jnp.sin does
    the same: scalar_rules._odd_of_abs.)"""
    a = math.absf(angle)
    s = select(cmpf("olt", a, like(angle, 2.0**-12)), a, math.sin(a))
    return select(cmpf("olt", angle, like(angle, 0.0)), arith.negf(s), s)


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
    one = like(a, 1.0)
    h = arith.divf(a, b)
    x, c = arith.divf(one, arith.addf(one, h)), arith.divf(h, arith.addf(one, h))
    s = [one]  # s_1, s_3, ..., s_11 by s_(n+2) = 1 + x + x^2 s_n
    for _ in _STIRLING[1:]:
        s.append(arith.addf(one, arith.addf(x, arith.mulf(arith.mulf(x, x), s[-1]))))
    t = arith.divf(one, arith.mulf(b, b))
    w = like(a, 0.0)
    for coefficient, s_n in zip(_STIRLING[::-1], s[::-1]):
        w = arith.addf(arith.mulf(w, t), arith.mulf(like(a, coefficient), s_n))
    return arith.mulf(w, arith.divf(c, b))


def _ordered_difference(w, u, v):
    """w - u - v with the larger of u, v subtracted last (cdflib's)."""
    return select(cmpf("ole", u, v), arith.subf(arith.subf(w, u), v), arith.subf(arith.subf(w, v), u))


def lgamma_difference(a, b):
    """lgamma(b) - lgamma(a + b) for a, b > 0: from b = 8 on, where two
    lgammas would cancel (lgamma(1e6) is 1.3e7; betaln(1e6, 1e-6) 13.8),
    Stirling's formula for both (cdflib's algdiv):

        Delta(b) - Delta(a + b) - a (log b - 1) - (a + b - 1/2) log1p(a/b)

    and the two lgammas below (there b = 8 in the branch not taken: 1/b^2 of
    a tiny b would make the derivative NaN)."""
    eight = like(b, 8.0)
    small = lt(b, eight)
    direct = arith.subf(lgamma(b), lgamma(arith.addf(a, b)))
    b = select(small, eight, b)
    u = arith.mulf(arith.addf(b, arith.subf(a, like(a, 0.5))), math.log1p(arith.divf(a, b)))
    v = arith.mulf(a, arith.subf(math.log(b), like(a, 1.0)))
    return select(small, direct, _ordered_difference(_stirling_difference(a, b), u, v))


def lbeta(a, b):
    """log |B(a, b)| for a, b > 0, as cdflib's betaln: with p <= q the two,
    lgamma(p) + lgamma_difference(p, q) below p = 8, and from 8 on
    Stirling's formula for all three lgammas (the sum of two large lgammas
    and the difference of a third cancel: B(5000, 5000) lost 8 ulp):

        log(2 pi)/2 - log(q)/2 + Delta(p) + Delta(q) - Delta(p + q)
            - (p - 1/2) log((p + q)/p) - q log1p(p/q)

    (p = q = 8 in the branch not taken, as in `lgamma_difference`)."""
    p, q = arith.minimumf(a, b), arith.maximumf(a, b)
    eight = like(p, 8.0)
    small = lt(p, eight)
    by_lgamma = arith.addf(lgamma(p), lgamma_difference(p, q))
    p, q = select(small, eight, p), select(small, eight, q)
    one = like(p, 1.0)
    t = arith.divf(one, arith.mulf(p, p))
    delta_p = arith.divf(plain_horner(t, _STIRLING[::-1]), p)
    w = arith.addf(arith.subf(like(p, 0.5 * np.log(2 * np.pi)), arith.mulf(like(p, 0.5), math.log(q))),
                   arith.addf(delta_p, _stirling_difference(p, q)))
    h = arith.divf(p, q)
    u = arith.mulf(arith.subf(p, like(p, 0.5)), math.log1p(arith.divf(q, p)))  # -(p - 1/2) log(h / (1 + h))
    v = arith.mulf(q, math.log1p(h))
    return select(small, by_lgamma, _ordered_difference(w, u, v))




_ZETA_A = [12.0, -720.0, 30240.0, -1209600.0, 47900160.0, -1.8924375803183791606e9, 7.47242496e10,
           -2.950130727918164224e12, 1.1646782814350067249e14, -4.5979787224074726105e15,
           1.8152105401943546773e17, -7.1661652561756670113e18]


def _pow(base, exponent):
    """XLA's power inside zeta: powf's special cases kept (1^inf is NaN, so zeta(inf, 1) is NaN, as JAX's)."""
    return signed_power(base, exponent, lt(base, like(base, 0.0)))


def zeta(s, q):
    """Hurwitz's zeta(s, q) = sum_k (q + k)^-s, by Euler-Maclaurin summation
    as XLA computes it: ten terms summed, the tail as an integral plus twelve
    Bernoulli corrections. NaN for s < 1, or q <= 0 with s not an integer; at
    q a non-positive integer (a pole) inf for an even integer s, else NaN;
    inf at s = 1, in JAX's order of these rules (StableHLO's). JAX's shortcut
    to the bare sum where its last term is below the sum times the smallest
    subnormal never fires (flushed to 0), so there is none here: zeta(inf, q)
    is NaN (0 * inf in the corrections), as JAX's."""
    one = like(s, 1.0)
    neg_s = arith.negf(s)
    a = q
    total = _pow(q, neg_s)
    for _ in range(9):
        a = arith.addf(a, one)
        total = arith.addf(total, _pow(a, neg_s))
    a = arith.addf(a, one)
    b = _pow(a, neg_s)
    total = arith.addf(total, arith.divf(arith.mulf(b, a), arith.subf(s, one)))
    total = arith.addf(total, arith.mulf(like(s, 0.5), b))
    term, k = b, 0.0  # s (s+1) ... (s+k-1) a^(-s-k), updated as one product: neither factor overflows
    for coefficient in _ZETA_A:
        term = arith.divf(arith.mulf(term, arith.addf(s, like(s, k))), a)
        total = arith.addf(total, arith.divf(term, like(s, coefficient)))
        term = arith.divf(arith.mulf(term, arith.addf(s, like(s, k + 1))), a)
        k += 2
    result = select(lt(s, one), like(s, np.nan), total)
    nonpositive = cmpf("ole", q, like(q, 0.0))
    result = select(arith.andi(nonpositive, arith.xori(is_integer(s), bool_constant(True))), like(s, np.nan), result)
    even = arith.andi(is_integer(s), cmpf("oeq", arith.remf(s, like(s, 2.0)), like(s, 0.0)))
    pole_value = select(even, like(s, np.inf), like(s, np.nan))
    result = select(arith.andi(nonpositive, is_integer(q)), pole_value, result)
    result = select(cmpf("oeq", s, one), like(s, np.inf), result)
    return tie("zeta", result, s, q)


def polygamma(n, x):
    """The n-th derivative of digamma: digamma itself for n = 0, else
    (-1)^(n+1) n! zeta(n + 1, x). NaN unless n is a non-negative integer."""
    one = like(x, 1.0)
    n1 = arith.addf(n, one)
    half = arith.mulf(n, like(n, 0.5))
    sign = select(cmpf("oeq", half, math.floor(half)), like(x, -1.0), one)
    higher = arith.mulf(arith.mulf(sign, math.exp(lgamma(n1))), zeta(n1, x))
    result = select(cmpf("oeq", n, like(n, 0.0)), digamma(x), higher)
    invalid = arith.ori(lt(n, like(n, 0.0)), arith.xori(is_integer(n), bool_constant(True)))
    return tie("polygamma", select(invalid, like(x, np.nan), result), n, x)


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
    b0, b1, b2 = like(x, coefficients[0]), like(x, 0.0), like(x, 0.0)
    for c in coefficients[1:]:
        b2, b1 = b1, b0
        b0 = arith.addf(arith.subf(arith.mulf(x, b1), b2), like(x, c))
    return arith.mulf(like(x, 0.5), arith.subf(b0, b2))


def _bessel_e(x, a, b, times_x):
    z = math.absf(x)
    near = _chebyshev(arith.subf(arith.mulf(like(x, 0.5), z), like(x, 2.0)), a)
    near = arith.mulf(z, near) if times_x else near
    far = arith.divf(_chebyshev(arith.subf(arith.divf(like(x, 32.0), z), like(x, 2.0)), b), math.sqrt(z))
    return select(cmpf("ole", z, like(x, 8.0)), near, far)


def bessel_i0e(x):
    """exp(-|x|) I0(x)."""
    return tie("bessel_i0e", _bessel_e(x, _I0E_A, _I0E_B, False), x)


def bessel_i1e(x):
    """exp(-|x|) I1(x) (odd in x: the value of |x| with x's sign, so -0 at -0)."""
    value = _bessel_e(x, _I1E_A, _I1E_B, True)
    return tie("bessel_i1e", math.copysign(value, x), x)

"""The integrals of exponentials and of sines in `irax.scipy.special`
(erfcx, dawsn, fresnel, expi, exp1, expn, sici, spence), by JAX's
algorithms: Cephes' piecewise rational approximations (the coefficient
tables are Cephes', as JAX's are), continued fractions and series as
masked while loops, and derivatives given as rules (custom_jvp) where the
approximation's own derivative would be less accurate or undefined.

Half-precision arguments are computed in float32, as in JAX; float64 ones
in float32 too where JAX would switch to double-precision coefficients
(fresnel), since IREE's CPU code computes float64 math in float32 anyway.
"""
from __future__ import annotations

import functools
import math
import operator

import numpy as np

import irax.numpy as jnp
from irax import lax
from irax.frontend import dtypes
from irax.frontend.custom_derivatives import custom_jvp
from irax.frontend.jit import jit
from irax.frontend.numpy.util import asarray, promote_args_inexact
from irax.typing import Array, ArrayLike


def polyval(coefficients, x):
    """sum_i c_i x^(n-1-i) by Horner's rule, highest power first, as jnp.polyval
    does (the Python coefficients round to x's dtype)."""
    out = jnp.zeros_like(x)
    for c in coefficients:
        out = out * x + c
    return out


def promote_strong(name, *args):
    """The arguments promoted to one float dtype, strongly typed: JAX's
    versions of these functions compute with NumPy coefficient arrays or
    typed constants, so even Python-scalar arguments give a float32 result
    that is not weakly typed."""
    return [lax.convert_element_type(x, x.dtype) for x in promote_args_inexact(name, *args)]


def _real(name, x):
    (x,) = promote_strong(name, x)
    if dtypes.is_complex(x.dtype):
        raise ValueError(f"{name} does not support complex-valued inputs.")
    return x


def _in_float32(fn):
    """fn on float32 or float64; half precision goes through float32 and back."""
    def wrapper(x):
        if x.dtype in (np.float32, np.float64):
            return fn(x)
        return fn(x.astype(np.float32)).astype(x.dtype)

    return wrapper


def masked_while(active, body, state, limit):
    """Runs body(state) -> state on the elements where active(state) holds,
    leaving the others as they are, until none is active (at most `limit`
    steps: lavapipe stops a shader loop at 65 535 anyway, and a series that
    has not converged by then never will in this precision)."""
    def cond(carry):
        step, state = carry
        return (step < limit) & jnp.any(active(state))

    def step(carry):
        i, state = carry
        mask = active(state)
        return i + 1, tuple(jnp.where(mask, new, old) for new, old in zip(body(state), state))

    return lax.while_loop(cond, step, (0, state))[1]


# --- erfcx: exp(x^2) erfc(x) ------------------------------------------------

# erfcx(x) ~ P(1/x^2) / (sqrt(pi) x), c_k = (-1)^k (2k-1)!! / 2^k, highest first
_ERFCX_ASYMPTOTIC = [7918.06640625, -1055.7421875, 162.421875, -29.53125, 6.5625, -1.875, .75, -.5, 1.]


@custom_jvp
@_in_float32
def _erfcx(x):
    """exp(x^2) erfc(x) directly until exp(x^2) would overflow, then the
    asymptotic series (9 terms in float64, 5 in float32: the first term left
    out is below the precision at the switch, x = sqrt(log(max)))."""
    terms = 9 if x.dtype == np.float64 else 5
    large = x > math.sqrt(math.log(jnp.finfo(x.dtype).max))
    safe = jnp.where(large, 1, x)
    direct = jnp.exp(safe * safe) * lax.erfc(safe)
    asymptotic = polyval(_ERFCX_ASYMPTOTIC[-terms:], 1 / (x * x)) / (x * math.sqrt(math.pi))
    return jnp.where(large, asymptotic, direct)


@_erfcx.defjvp
def _erfcx_jvp(primals, tangents):
    """d erfcx = (2 x erfcx(x) - 2/sqrt(pi)) dx."""
    (x,), (dx,) = primals, tangents
    out = _erfcx(x)
    return out, (2 * x * out - 2 / math.sqrt(math.pi)) * dx


def erfcx(x: ArrayLike) -> Array:
    """The scaled complementary error function exp(x^2) erfc(x), without
    overflow; of complex x, wofz(i x)."""
    (x,) = promote_strong("erfcx", x)
    if dtypes.is_complex(x.dtype):
        return _wofz(lax.complex(-jnp.imag(x), jnp.real(x)))
    return _erfcx(x)


# --- wofz: the Faddeeva function exp(-z^2) erfc(-i z) (Weideman 1994, N = 32) --

_WOFZ_L = 4.7568284600108841
_WOFZ_C = [
    -1.3034426067909105e-12, 3.7411838373738471e-12, 8.030427700497756e-12, -2.1543593557490879e-11,
    -5.5442449963237932e-11, 1.165824698850374e-10, 4.1537441121999766e-10, -5.2310202114920615e-10,
    -3.2080151339721323e-09, 8.1248864216535907e-10, 2.3797556530014025e-08, 2.2930438438915445e-08,
    -1.4813078929137642e-07, -4.1840763750512053e-07, 4.2558331397138446e-07, 4.4015317312832251e-06,
    6.8210319443575151e-06, -2.1409619201999998e-05, -0.00013075449254579421, -0.00024532980270038237,
    0.00039259136070109705, 0.0045195411053493093, 0.019006155784845501, 0.057304403529837282,
    0.14060716226893755, 0.29544451071508743, 0.54601397206393376, 0.9019254893648001,
    1.3455441692345449, 1.8256696296324815, 2.2635372999002676, 2.5722534081245696,
]


@custom_jvp
def _wofz(z):
    """In the upper half plane 2 P(Z)/(L - iz)^2 + 1/(sqrt(pi) (L - iz)),
    Z = (L + iz)/(L - iz); below it by w(z) = 2 exp(-z^2) - w(-z)."""
    upper = jnp.imag(z) >= 0
    z_up = jnp.where(upper, z, -z)
    iz = lax.complex(-jnp.imag(z_up), jnp.real(z_up))
    denominator = _WOFZ_L - iz
    w_up = 2 * polyval(_WOFZ_C, (_WOFZ_L + iz) / denominator) / (denominator * denominator) + (
        1 / math.sqrt(math.pi)) / denominator
    return jnp.where(upper, w_up, 2 * jnp.exp(-z * z) - w_up)


@_wofz.defjvp
def _wofz_jvp(primals, tangents):
    """d w = (2i/sqrt(pi) - 2 z w(z)) dz."""
    (z,), (dz,) = primals, tangents
    out = _wofz(z)
    return out, (2j / math.sqrt(math.pi) - 2 * z * out) * dz


def wofz(z: ArrayLike) -> Array:
    """The Faddeeva function w(z) = exp(-z^2) erfc(-i z), complex (real z too)."""
    (z,) = promote_args_inexact("wofz", z)
    return _wofz(lax.convert_element_type(z, dtypes.promote_types(z.dtype, np.complex64)))


# --- dawsn: exp(-x^2) int_0^x exp(t^2) dt (Cody, Paciorek, Thacher 1970) ----

_DAWSN_AN = [1.13681498971755972054e-11, 8.49262267667473811108e-10, 1.94434204175553054283e-8,
             9.53151741254484363489e-7, 3.07828309874913200438e-6, 3.52513368520288738649e-4,
             -8.50149846724410912031e-4, 4.22618223005546594270e-2, -9.17480371773452345351e-2,
             9.99999999999999994612e-1]
_DAWSN_AD = [2.40372073066762605484e-11, 1.48864681368493396752e-9, 5.21265281010541664570e-8,
             1.27258478273186970203e-6, 2.32490249820789513991e-5, 3.25524741826057911661e-4,
             3.48805814657162590916e-3, 2.79448531198828973716e-2, 1.58874241960120565368e-1,
             5.74918629489320327824e-1, 1.00000000000000000539e0]
_DAWSN_BN = [5.08955156417900903354e-1, -2.44754418142697847934e-1, 9.41512335303534411857e-2,
             -2.18711255142039025206e-2, 3.66207612329569181322e-3, -4.23209114460388756528e-4,
             3.59641304793896631888e-5, -2.14640351719968974225e-6, 9.10010780076391431042e-8,
             -2.40274520828250956942e-9, 3.59233385440928410398e-11]
_DAWSN_BD = [1.00000000000000000000e0, -6.31839869873368190192e-1, 2.36706788228248691528e-1,
             -5.31806367003223277662e-2, 8.48041718586295374409e-3, -9.47996768486665330168e-4,
             7.81025592944552338085e-5, -4.55875153252442634831e-6, 1.89100358111421846170e-7,
             -4.91324691331920606875e-9, 7.18466403235734541950e-11]
_DAWSN_CN = [-5.90592860534773254987e-1, 6.29235242724368800674e-1, -1.72858975380388136411e-1,
             1.64837047825189632310e-2, -4.86827613020462700845e-4]
_DAWSN_CD = [1.00000000000000000000e0, -2.69820057197544900361e0, 1.73270799045947845857e0,
             -3.93708582281939493482e-1, 3.44278924041233391079e-2, -9.73655226040941223894e-4]


def _dawsn_tail(ax, numerator, denominator):
    """(1 + t P(t) / Q(t)) / (2 |x|), t = 1/x^2."""
    t = 1 / (ax * ax)
    return (0.5 / ax) * (1 + t * polyval(numerator, t) / polyval(denominator, t))


@custom_jvp
@_in_float32
def _dawsn(x):
    """Odd; on |x| < 3.25 |x| P(x^2)/Q(x^2), beyond two tail fits in 1/x^2.
    Each region sees a harmless 1 outside itself, so no inf/inf appears."""
    ax = jnp.abs(x)
    near, middle = ax < 3.25, ax < 6.25
    a = jnp.where(near, ax, 1)
    value_near = a * polyval(_DAWSN_AN, a * a) / polyval(_DAWSN_AD, a * a)
    value_middle = _dawsn_tail(jnp.where(middle & ~near, ax, 1), _DAWSN_BN, _DAWSN_BD)
    value_far = _dawsn_tail(jnp.where(middle, 1, ax), _DAWSN_CN, _DAWSN_CD)
    return jnp.copysign(jnp.where(near, value_near, jnp.where(middle, value_middle, value_far)), x)


@_dawsn.defjvp
def _dawsn_jvp(primals, tangents):
    """d dawsn = (1 - 2 x dawsn(x)) dx."""
    (x,), (dx,) = primals, tangents
    out = _dawsn(x)
    return out, (1 - 2 * x * out) * dx


def dawsn(x: ArrayLike) -> Array:
    """Dawson's integral exp(-x^2) int_0^x exp(t^2) dt."""
    return _dawsn(_real("dawsn", x))


# --- fresnel: S(x) = int_0^x sin(pi t^2/2) dt, C(x) likewise with cos --------

# Cephes' single-precision fresnlf
_FRESNEL_SN = [1.647629463788700e-9, -1.522754752581096e-7, 8.424748808502400e-6, -3.120693124703272e-4,
               7.244727626597022e-3, -9.228055941124598e-2, 5.235987735681432e-1]
_FRESNEL_CN = [1.416802502367354e-8, -1.157231412229871e-6, 5.387223446683264e-5, -1.604381798862293e-3,
               2.818489036795073e-2, -2.467398198317899e-1, 9.999999760004487e-1]
_FRESNEL_FN = [-1.903009855649792e12, 1.355942388050252e11, -4.158143148511033e9, 7.343848463587323e7,
               -8.732356681548485e5, 8.560515466275470e3, -1.032877601091159e2, 2.999401847870011e0]
_FRESNEL_GN = [-1.860843997624650e11, 1.278350673393208e10, -3.779387713202229e8, 6.492611570598858e6,
               -7.787789623358162e4, 8.602931494734327e2, -1.493439396592284e1, 9.999841934744914e-1]


def _sincospi_half_square(x):
    """sin and cos of pi x^2/2 without losing x^2's low bits: with s = x mod 2,
    x^2/2 = s (x - s/2) mod 2, reduced to a quarter period before sin."""
    x = jnp.abs(x)
    s = jnp.fmod(x, 2.0)
    r = jnp.fmod(s * (x - s / 2), 2.0)
    sin = jnp.where(r < 0.5, jnp.sin(np.pi * r),
                    jnp.where(r > 1.5, jnp.sin(np.pi * (r - 2)), -jnp.sin(np.pi * (r - 1))))
    cos = jnp.where(r == 0.5, 0.0, jnp.where(r < 1, -jnp.sin(np.pi * (r - 0.5)), jnp.sin(np.pi * (r - 1.5))))
    return sin, cos


@custom_jvp
def _fresnel(x):
    """Odd; for x^2 < 2.5625 power series in x^4, up to 36974 the auxiliary
    functions f, g in 1/(pi x^2): S = 1/2 - (f cos + g sin)/(pi x),
    C = 1/2 + (f sin - g cos)/(pi x), beyond that 1/2."""
    wide = x
    x = x.astype(np.float32)
    ax = jnp.abs(x)
    x2 = ax * ax
    t = x2 * x2
    s_small, c_small = ax * x2 * polyval(_FRESNEL_SN, t), ax * polyval(_FRESNEL_CN, t)
    sin, cos = _sincospi_half_square(ax)
    t = np.pi * x2
    u = 1 / (t * t)
    f = 1 - u * polyval(_FRESNEL_FN, u)
    g = polyval(_FRESNEL_GN, u) / t
    s_mid = 0.5 - (f * cos + g * sin) / (np.pi * ax)
    c_mid = 0.5 + (f * sin - g * cos) / (np.pi * ax)
    small, large = x2 < 2.5625, jnp.isinf(x) | (ax > 36974.0)
    s = jnp.where(large, 0.5, jnp.where(small, s_small, s_mid))
    c = jnp.where(large, 0.5, jnp.where(small, c_small, c_mid))
    negative = x < 0
    return jnp.where(negative, -s, s).astype(wide.dtype), jnp.where(negative, -c, c).astype(wide.dtype)


@_fresnel.defjvp
def _fresnel_jvp(primals, tangents):
    """dS = sin(pi x^2/2) dx, dC = cos(pi x^2/2) dx."""
    (x,), (dx,) = primals, tangents
    sin, cos = _sincospi_half_square(x)
    return _fresnel(x), (sin * dx, cos * dx)


def fresnel(x: ArrayLike) -> tuple[Array, Array]:
    """The Fresnel integrals (S(x), C(x)), Cephes' fresnlf (accurate on [-10, 10])."""
    (x,) = promote_strong("fresnel", x)
    if dtypes.is_complex(x.dtype):
        raise NotImplementedError("Support for complex-valued inputs is not implemented yet.")
    if not dtypes.is_float(x.dtype) or dtypes.is_bit_float(x.dtype):
        raise NotImplementedError(f"Support for {x.dtype} dtype is not implemented yet.")
    return _fresnel(x)


# --- expi, exp1, expn: the exponential integrals (Cephes' ei.c, expn.c) -----

# Ei(x) on (0, 2]: euler_gamma + log x + x A(x)/B(x)
_EXPI_A0 = [-5.350447357812542947283e0, 2.185049168816613393830e2, -4.176572384826693777058e3,
            5.541176756393557601232e4, -3.313381331178144034309e5, 1.592627163384945414220e6]
_EXPI_B0 = [1.0, -5.250547959112862969197e1, 1.259616186786790571525e3, -1.756549581973534652631e4,
            1.493062117002725991967e5, -7.294949239640527645655e5, 1.592627163384945429726e6]
# Ei(x) on (2^k, 2^(k+1)] (the last: above 64): e^x/x (1 + A(1/x)/(x B(1/x)))
_EXPI_AB = [
    ([1.981808503259689673238e-2, -1.271645625984917501326e0, -2.088160335681228318920e0,
      2.755544509187936721172e0, -4.409507048701600257171e-1, 4.665623805935891391017e-2,
      -1.545042679673485262580e-3, 7.059980605299617478514e-5],
     [1.0, 1.476498670914921440652e0, 5.629177174822436244827e-1, 1.699017897879307263248e-1,
      2.291647179034212017463e-2, 4.450150439728752875043e-3, 1.727439612206521482874e-4,
      3.953167195549672482304e-5]),
    ([-1.373215375871208729803e0, -7.084559133740838761406e-1, 1.580806855547941010501e0,
      -2.601500427425622944234e-1, 2.994674694113713763365e-2, -1.038086040188744005513e-3,
      4.371064420753005429514e-5, 2.141783679522602903795e-6],
     [1.0, 8.585231423622028380768e-1, 4.483285822873995129957e-1, 7.687932158124475434091e-2,
      2.449868241021887685904e-2, 8.832165941927796567926e-4, 4.590952299511353531215e-4,
      -4.729848351866523044863e-6, 2.665195537390710170105e-6]),
    ([-2.106934601691916512584e0, 1.732733869664688041885e0, -2.423619178935841904839e-1,
      2.322724180937565842585e-2, 2.372880440493179832059e-4, -8.343219561192552752335e-5,
      1.363408795605250394881e-5, -3.655412321999253963714e-7, 1.464941733975961318456e-8,
      6.176407863710360207074e-10],
     [1.0, -2.298062239901678075778e-1, 1.105077041474037862347e-1, -1.566542966630792353556e-2,
      2.761106850817352773874e-3, -2.089148012284048449115e-4, 1.708528938807675304186e-5,
      -4.459311796356686423199e-7, 1.394634930353847498145e-8, 6.150865933977338354138e-10]),
    ([-2.458119367674020323359e-1, -1.483382253322077687183e-1, 7.248291795735551591813e-2,
      -1.348315687380940523823e-2, 1.342775069788636972294e-3, -7.942465637159712264564e-5,
      2.644179518984235952241e-6, -4.239473659313765177195e-8],
     [1.0, -1.044225908443871106315e-1, -2.676453128101402655055e-1, 9.695000254621984627876e-2,
      -1.601745692712991078208e-2, 1.496414899205908021882e-3, -8.462452563778485013756e-5,
      2.728938403476726394024e-6, -4.239462431819542051337e-8]),
    ([1.212561118105456670844e-1, -5.823133179043894485122e-1, 2.348887314557016779211e-1,
      -3.040034318113248237280e-2, 1.510082146865190661777e-3, -2.523137095499571377122e-5],
     [1.0, -1.002252150365854016662e0, 2.928709694872224144953e-1, -3.337004338674007801307e-2,
      1.560544881127388842819e-3, -2.523137093603234562648e-5]),
    ([-7.657847078286127362028e-1, 6.886192415566705051750e-1, -2.132598113545206124553e-1,
      3.346107552384193813594e-2, -3.076541477344756050249e-3, 1.747119316454907477380e-4,
      -6.103711682274170530369e-6, 1.218032765428652199087e-7, -1.086076102793290233007e-9],
     [1.0, -1.888802868662308731041e0, 1.066691687211408896850e0, -2.751915982306380647738e-1,
      3.930852688233823569726e-2, -3.414684558602365085394e-3, 1.866844370703555398195e-4,
      -6.345146083130515357861e-6, 1.239754287483206878024e-7, -1.086076102793126632978e-9]),
]


def _expi_positive(x):
    """Ei(x) for x >= 0 (-inf at 0 and inf at inf, where JAX's are NaN): the
    fit of x's interval (0, 2], (2, 4], ... (64, inf)."""
    out = np.euler_gamma + jnp.log(x) + x * polyval(_EXPI_A0, x) / polyval(_EXPI_B0, x)
    w = 1 / x
    for k, (a, b) in enumerate(_EXPI_AB, start=1):
        tail = jnp.exp(x) * w * (1 + w * polyval(a, w) / polyval(b, w))
        out = jnp.where(x > 2.0 ** k, tail, out)
    return jnp.where(x == np.inf, np.inf, out)


@custom_jvp
def _expi(x):
    return jnp.where(x < 0, -_expn(jnp.ones_like(x), -x), _expi_positive(jnp.abs(x)))


@_expi.defjvp
def _expi_jvp(primals, tangents):
    """d Ei = e^x / x dx."""
    (x,), (dx,) = primals, tangents
    return _expi(x), jnp.exp(x) / x * dx


def expi(x: ArrayLike) -> Array:
    """The exponential integral Ei(x) = int_-inf^x e^t/t dt (principal value)."""
    return _expi(_real("expi", x))


def _expn_series(n, x):
    """E_n(x) for 0 < x <= 1 by its power series:
    (-x)^(n-1) psi(n) / (n-1)! - sum_{k>=0, k != n-1} (-x)^k / ((k - n + 1) k!),
    psi(n) = -euler_gamma + sum_{i<n} 1/i and (n-1)! summed and multiplied
    out (unrolled) for n <= 16, digamma(n) and exp(lgamma(n)) beyond (not a loop
    of n steps, each a round trip to the host on a GPU: 4 minutes on lavapipe
    for n = 5000; digamma(1) and lgamma(1) are 2.9e-7 and 4.8e-7 off, which
    made E_1(1) 2.8e-6 off, 40 float32 ulps); the sum runs to relative eps."""
    eps = jnp.finfo(x.dtype).eps
    small = n <= _EXPN_EXACT_UP_TO
    steps = range(1, _EXPN_EXACT_UP_TO)
    harmonic = sum(jnp.where(i < n, 1 / i, jnp.zeros_like(x)) for i in steps)
    factorial = functools.reduce(operator.mul, [jnp.where(i < n, i, jnp.ones_like(x)) for i in steps])
    psi = jnp.where(small, harmonic - np.euler_gamma, lax.digamma(jnp.maximum(n, 1))) - jnp.log(x)
    n1 = jnp.where(n == 1, 2, n)
    zero, one = jnp.zeros_like(x), jnp.ones_like(x)
    state = (zero, one, 1 - n, jnp.where(n == 1, 0, 1 / (1 - n1)), jnp.full_like(x, np.inf))

    def body(s):
        xk, yk, pk, total, _ = s
        xk, pk = xk + 1, pk + 1
        yk = yk * -x / xk
        total = total + jnp.where(pk != 0, yk / pk, 0)
        return xk, yk, pk, total, jnp.where(total != 0, jnp.abs(yk / total), 1)

    total = masked_while(lambda s: (x > 0) & (s[4] > eps), body, state, 1000)[3]
    return (-x) ** (n - 1) * psi / jnp.where(small, factorial, jnp.exp(lax.lgamma(n))) - total


_EXPN_EXACT_UP_TO = 16


_BIG = 1.44115188075855872e17  # 2^57: the continued fraction's terms are rescaled past it


def _expn_fraction(n, x):
    """E_n(x) for x > 1 by its continued fraction e^-x / (x + n / (1 + 1 / (x + (n+1) / (1 + 2 / (x + ...))))),
    evaluated forwards (p_k/q_k) to relative eps."""
    eps = jnp.finfo(x.dtype).eps
    one = jnp.ones_like(x)
    state = (one, one, x, one, x + n, 1 / (x + n), jnp.full_like(x, np.inf))

    def body(s):
        k, pkm2, qkm2, pkm1, qkm1, ans, _ = s
        k = k + 1
        odd = jnp.remainder(k, 2) == 1
        yk = jnp.where(odd, 1, x)
        xk = jnp.where(odd, n + (k - 1) / 2, k / 2)
        pk, qk = pkm1 * yk + pkm2 * xk, qkm1 * yk + qkm2 * xk
        nonzero = qk != 0
        r = jnp.where(nonzero, pk / qk, ans)
        t = jnp.where(nonzero, jnp.abs((ans - r) / r), 1)
        scale = jnp.where(jnp.abs(pk) > _BIG, 1 / _BIG, 1)
        return k, pkm1 * scale, qkm1 * scale, pk * scale, qk * scale, r, t

    return masked_while(lambda s: (x > 0) & (s[6] > eps), body, state, 1000)[5] * jnp.exp(-x)


def _expn_large_n(n, x):
    """E_n(x) for n >= 5000: e^-x/(x+n) (1 + n/(x+n)^2 (1 + (n - 2x)/(x+n)^2 (...)))."""
    xk = x + n
    yk = 1 / (xk * xk)
    ans = yk * n * (6 * x * x - 8 * n * x + n * n)
    ans = yk * (ans + n * (n - 2 * x))
    ans = yk * (ans + n)
    return (ans + 1) * jnp.exp(-x) / xk


@custom_jvp
def _expn(n, x):
    """JAX's cases, the last that holds winning: the series, the continued
    fraction for x > 1, the large-n expansion for x <= 1, e^-x/x for n = 0;
    at x = 0 inf (n < 2) or 1/(n-1), 0 at x = inf, NaN for n < 0 or x < 0.
    (JAX's last three give 1/n, NaN, and a finite value for n < 0 < 1 < x:
    SciPy's are these.)"""
    n, x = jnp.broadcast_arrays(n, x)
    out = _expn_series(n, jnp.where((x > 0) & (x <= 1), x, 0.5))
    cases = [(n >= 5000, _expn_large_n(n, x)), (x > 1, _expn_fraction(n, jnp.where(x > 1, x, 2))),
             ((n == 0) & (x >= 0), jnp.exp(-x) / x), ((x == 0) & (n < 2), np.inf),
             ((x == 0) & (n >= 2), 1 / (jnp.where(n < 2, 2, n) - 1)), (x == np.inf, 0.0),
             ((n < 0) | (x < 0) | jnp.isnan(n) | jnp.isnan(x), np.nan)]
    for condition, value in cases:
        out = jnp.where(condition, value, out)
    return out


@_expn.defjvp
def _expn_jvp(primals, tangents):
    """d E_n(x) = -E_(n-1)(x) dx; n is not differentiated."""
    (n, x), (_, dx) = primals, tangents
    return _expn(n, x), -_expn(n - 1, x) * dx


def expn(n: ArrayLike, x: ArrayLike) -> Array:
    """The generalized exponential integral E_n(x) = int_1^inf e^(-x t) / t^n dt."""
    n, x = promote_strong("expn", n, x)
    if dtypes.is_complex(x.dtype):
        raise ValueError("expn does not support complex-valued inputs.")
    return _expn(n, x)


def exp1(x: ArrayLike) -> Array:
    """E_1(x) = int_x^inf e^-t / t dt = expn(1, x)."""
    x = _real("exp1", x)
    return _expn(jnp.ones_like(x), x)


# --- sici: Si(x) = int_0^x sin t / t dt, Ci(x) = gamma + log x + int_0^x (cos t - 1)/t dt

_SICI_SN = [-8.39167827910303881427e-11, 4.62591714427012837309e-8, -9.75759303843632795789e-6,
            9.76945438170435310816e-4, -4.13470316229406538752e-2, 1.00000000000000000302e0]
_SICI_SD = [2.03269266195951942049e-12, 1.27997891179943299903e-9, 4.41827842801218905784e-7,
            9.96412122043875552487e-5, 1.42085239326149893930e-2, 9.99999999999999996984e-1]
_SICI_CN = [2.02524002389102268789e-11, -1.35249504915790756375e-8, 3.59325051419993077021e-6,
            -4.74007206873407909465e-4, 2.89159652607555242092e-2, -1.00000000000000000080e0]
_SICI_CD = [4.07746040061880559506e-12, 3.06780997581887812692e-9, 1.23210355685883423679e-6,
            3.17442024775032769882e-4, 5.10028056236446052392e-2, 4.00000000000000000080e0]
# auxiliary f, g on (4, 8) and [8, 1e9)
_SICI_FN4 = [4.23612862892216586994e0, 5.45937717161812843388e0, 1.62083287701538329132e0,
             1.67006611831323023771e-1, 6.81020132472518137426e-3, 1.08936580650328664411e-4,
             5.48900223421373614008e-7]
_SICI_FD4 = [1, 8.16496634205391016773e0, 7.30828822505564552187e0, 1.86792257950184183883e0,
             1.78792052963149907262e-1, 7.01710668322789753610e-3, 1.10034357153915731354e-4,
             5.48900252756255700982e-7]
_SICI_GN4 = [8.71001698973114191777e-2, 6.11379109952219284151e-1, 3.97180296392337498885e-1,
             7.48527737628469092119e-2, 5.38868681462177273157e-3, 1.61999794598934024525e-4,
             1.97963874140963632189e-6, 7.82579040744090311069e-9]
_SICI_GD4 = [1, 1.64402202413355338886e0, 6.66296701268987968381e-1, 9.88771761277688796203e-2,
             6.22396345441768420760e-3, 1.73221081474177119497e-4, 2.02659182086343991969e-6,
             7.82579218933534490868e-9]
_SICI_FN8 = [4.55880873470465315206e-1, 7.13715274100146711374e-1, 1.60300158222319456320e-1,
             1.16064229408124407915e-2, 3.49556442447859055605e-4, 4.86215430826454749482e-6,
             3.20092790091004902806e-8, 9.41779576128512936592e-11, 9.70507110881952024631e-14]
_SICI_FD8 = [1, 9.17463611873684053703e-1, 1.78685545332074536321e-1, 1.22253594771971293032e-2,
             3.58696481881851580297e-4, 4.92435064317881464393e-6, 3.21956939101046018377e-8,
             9.43720590350276732376e-11, 9.70507110881952025725e-14]
_SICI_GN8 = [6.97359953443276214934e-1, 3.30410979305632063225e-1, 3.84878767649974295920e-2,
             1.71718239052347903558e-3, 3.48941165502279436777e-5, 3.47131167084116673800e-7,
             1.70404452782044526189e-9, 3.85945925430276600453e-12, 3.14040098946363334640e-15]
_SICI_GD8 = [1, 1.68548898811011640017e0, 4.87852258695304967486e-1, 4.67913194259625806320e-2,
             1.90284426674399523638e-3, 3.68475504442561108162e-5, 3.57043223443740838771e-7,
             1.72693748966316146736e-9, 3.87830166023954706752e-12, 3.14040098946363335242e-15]


def _sici_series(x):
    """x <= 4: Si = x SN(x^2)/SD(x^2), Ci = gamma + log x + x^2 CN(x^2)/CD(x^2)."""
    t = x * x
    si = x * polyval(_SICI_SN, t) / polyval(_SICI_SD, t)
    ci = np.euler_gamma + jnp.log(x) + t * polyval(_SICI_CN, t) / polyval(_SICI_CD, t)
    return jnp.where(x == 0, 0.0, si), jnp.where(x == 0, -np.inf, ci)


def _sici_asymptotic(x):
    """4 < x <= 1e9: Si = pi/2 - f cos x - g sin x, Ci = f sin x - g cos x."""
    z = 1 / (x * x)
    near = x < 8
    f = jnp.where(near, polyval(_SICI_FN4, z) / (x * polyval(_SICI_FD4, z)),
                  polyval(_SICI_FN8, z) / (x * polyval(_SICI_FD8, z)))
    g = z * jnp.where(near, polyval(_SICI_GN4, z) / polyval(_SICI_GD4, z),
                      polyval(_SICI_GN8, z) / polyval(_SICI_GD8, z))
    sin, cos = jnp.sin(x), jnp.cos(x)
    return np.pi / 2 - f * cos - g * sin, f * sin - g * cos


@custom_jvp
def _sici(x):
    ax = jnp.abs(x)
    si_series, ci_series = _sici_series(ax)
    si_asymptotic, ci_asymptotic = _sici_asymptotic(ax)
    infinite = jnp.isinf(ax)
    si_far = jnp.where(infinite, np.pi / 2, np.pi / 2 - jnp.cos(ax) / ax)
    ci_far = jnp.where(infinite, 0.0, jnp.sin(ax) / ax)
    series, asymptotic = ax <= 4, ax <= 1e9
    si = jnp.where(series, si_series, jnp.where(asymptotic, si_asymptotic, si_far))
    ci = jnp.where(series, ci_series, jnp.where(asymptotic, ci_asymptotic, ci_far))
    return jnp.copysign(si, x), jnp.where(x == -np.inf, np.nan, ci)


@_sici.defjvp
def _sici_jvp(primals, tangents):
    """dSi = sin x / x dx, dCi = cos x / x dx."""
    (x,), (dx,) = primals, tangents
    return _sici(x), (jnp.sinc(x / np.pi) * dx, jnp.cos(x) / x * dx)


def sici(x: ArrayLike) -> tuple[Array, Array]:
    """The sine and cosine integrals (Si(x), Ci(x)), Cephes' sici; Ci(x < 0) = Ci(|x|) as JAX's."""
    (x,) = promote_strong("sici", x)
    if dtypes.is_complex(x.dtype):
        raise ValueError(f"Argument `x` to sici must be real-valued. Got dtype {x.dtype}.")
    return _sici(x)


# --- spence: int_1^x log t / (1 - t) dt -----------------------------------

_SPENCE_A = [4.65128586073990045278e-5, 7.31589045238094711071e-3, 1.33847639578309018650e-1,
             8.79691311754530315341e-1, 2.71149851196553469920e0, 4.25697156008121755724e0,
             3.29771340985225106936e0, 1.00000000000000000126e0]
_SPENCE_B = [6.90990488912553276999e-4, 2.54043763932544379113e-2, 2.82974860602568089943e-1,
             1.41172597751831069617e0, 3.63800533345137075418e0, 5.03278880143316990390e0,
             3.54771340985225096217e0, 9.99999999999999998740e-1]


@jit
def _spence(x):
    """Cephes' spence: x > 2 maps to 1/x, then w = 1/x - 1 (x > 1.5), -x
    (x < 0.5) or x - 1 gives -w A(w)/B(w), corrected by the reflection
    pi^2/6 - log x log(1 - x) below 1/2 and -log(x)^2/2 above 3/2.

    A branch not taken must not have an infinite derivative (1/x or log x at
    a tiny or zero x, log(1 - x) beyond 1), as the gradient's 0 times it is
    NaN: the constant cases (NaN below 0, pi^2/6 at 0, 0 at 1) compute at
    x = 1/2, and each branch reads x only where it is taken."""
    inverted = x > 2
    x_in = jnp.where((x <= 0) | (x == 1), 0.5, jnp.where(inverted, 1 / jnp.where(inverted, x, 1), x))
    upper, lower = x_in > 1.5, x_in < 0.5
    w = jnp.where(upper, 1 / jnp.where(upper, x_in, 1) - 1, jnp.where(lower, -x_in, x_in - 1))
    y = -w * polyval(_SPENCE_A, w) / polyval(_SPENCE_B, w)
    x_lower = jnp.where(lower, x_in, 0.25)
    y = jnp.where(lower, np.pi ** 2 / 6 - jnp.log(x_lower) * jnp.log1p(-x_lower) - y, y)
    y = jnp.where(inverted | upper, -0.5 * jnp.log(x_in) ** 2 - y, y)
    return jnp.where(x < 0, np.nan, jnp.where(x == 1, 0.0, jnp.where(x == 0, np.pi ** 2 / 6, y)))


def spence(x: ArrayLike) -> Array:
    """Spence's function (the dilogarithm Li2(1 - x)) for x >= 0, NaN below."""
    x = asarray(x)
    if x.dtype not in (np.float32, np.float64):
        raise TypeError(f"x.dtype={x.dtype} is not supported, see docstring for supported types.")
    return _spence(lax.convert_element_type(x, x.dtype))


__all__ = ["dawsn", "erfcx", "exp1", "expi", "expn", "fresnel", "sici", "spence", "wofz"]

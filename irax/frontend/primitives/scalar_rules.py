"""The scalar body of every elementwise op: a table of rules

    rule(dtype, *scalars) -> scalar     dtype is the operands' common dtype

one per op, each a choice by dtype kind (`_by_kind`: b, i, u, f, c). The
primitives (elementwise.py) put a rule in the loop nest of one
`linalg.generic`; this module only writes scalar MLIR.

Complex operands take the `complex` dialect's ops (IREE expands them into
float arithmetic on the parts); abs, real, imag and angle of a complex are
real (`REAL_VALUED`), and `complex` makes one of two floats. Float
functions compute in their operands' precision (`_math`: float64's are
expanded into arithmetic by a pass, transforms/float64_math.py); where
IREE's math is short of XLA's otherwise (GPU trigonometry, IEEE's special
values), a rule reduces its argument itself or selects, as the rules' own
docstrings say.
"""
import numpy as np
from iree.compiler import ir
from iree.compiler.dialects import arith, math
from iree.compiler.dialects import complex as cx

from irax.frontend import dtypes
from irax.frontend.primitives import complex_rules
from irax.ir import elementary, mlir, scalar_parts, special
from irax.ir.scalar import cmpf, cmpi, convert_scalar, parts, select as select_scalar


def dtype_kind(dtype):
    if dtypes.is_bool(dtype):
        return "b"
    if dtypes.is_float(dtype):
        return "f"
    if dtypes.is_complex(dtype):
        return "c"
    return "u" if dtypes.is_unsigned(dtype) else "i"


def _by_kind(**rules):
    """A scalar rule that dispatches on the operand kind: f(loat), i(signed),
    u(nsigned), b(ool), c(omplex); `iu` covers both integer kinds."""
    table = {}
    for kinds, fn in rules.items():
        for k in kinds:
            table[k] = fn

    def rule(dtype, *xs):
        fn = table[dtype_kind(dtype)]
        if dtypes.is_bit_float(dtype):
            return _in_f32_bits(fn, dtype, xs)
        return fn(dtype, *xs)

    rule.kinds = set(table)
    return rule


def _in_f32_bits(fn, dtype, xs):
    """An 8- or 4-bit float (an i8 bit pattern) computes in float32 and rounds
    back, as XLA computes them; comparisons and predicates keep their i1."""
    out = fn(dtypes.float32, *(convert_scalar(dtype, dtypes.float32, x) for x in xs))
    return convert_scalar(dtypes.float32, dtype, out) if out.type == ir.F32Type.get() else out


def _const(dtype, value):
    return mlir.scalar_constant(value, dtype)


def _in_f32(fn):
    """`fn` computed in float32: half precision widens (as XLA does), and
    float64 narrows (the special functions of primitives/special.py, whose
    polynomials are float32's)."""

    def rule(dtype, *xs):
        if dtype.itemsize == 4:
            return fn(*xs)
        f32, own = ir.F32Type.get(), mlir.element_type(dtype)
        to_f32, back = (arith.extf, arith.truncf) if dtype.itemsize < 4 else (arith.truncf, arith.extf)
        return back(own, fn(*[to_f32(f32, x) for x in xs]))

    return _by_kind(f=lambda dtype, *xs: rule(dtype, *xs))


def _math(fn):
    """A float function computed in its operands' own precision: float32, and
    float64, whose `math` ops the pass expand-float64-math computes from
    arithmetic (transforms/float64_math.py: IREE has no float64 maths
    library); half precision widens to float32, as XLA does."""

    def rule(dtype, *xs):
        return fn(*xs) if dtype.itemsize >= 4 else _in_f32(fn)(dtype, *xs)

    return _by_kind(f=rule)


def _or(*rules):
    """One rule from rules for disjoint kinds (a float rule and a complex one)."""
    by_kind = {k: r for r in rules for k in r.kinds}

    def rule(dtype, *xs):
        return by_kind[dtype_kind(dtype)](dtype, *xs)

    rule.kinds = set(by_kind)
    return rule


def _real(name, *xs):
    """The float rule `name` of the tables below (UNARY or BINARY by arity)
    on float32 or float64 scalars: the real math complex_rules builds on."""
    dtype = dtypes.float64 if xs[0].type == ir.F64Type.get() else dtypes.float32
    return (UNARY if len(xs) == 1 else BINARY)[name](dtype, *xs)


def _on_parts(name):
    """complex_rules' `name`, fn(real, a, b[, c, d]) -> (re, im) on the parts
    of one or two complex64 or complex128 (float64 parts: float64-accurate,
    see `_math`)."""
    tables = {1: complex_rules.UNARY, 2: complex_rules.BINARY}
    return _by_kind(c=lambda d, *xs: cx.create_(xs[0].type, *tables[len(xs)][name](
        _real, *(p for x in xs for p in parts(x)))))


def _either_part(test):
    """A predicate of a complex number: `test` of its real part or of its imaginary part."""
    return _by_kind(c=lambda d, x: arith.ori(*(test(dtypes.real_dtype(d), p) for p in parts(x))))


def _cmp(fpred, ipred, upred):
    return _by_kind(
        f=lambda d, a, b: cmpf(fpred, a, b),
        i=lambda d, a, b: cmpi(ipred, a, b),
        ub=lambda d, a, b: cmpi(upred, a, b),  # i1 true is 1 unsigned, -1 signed
    )


def _lexicographic(fpred):
    """A complex comparison as JAX's jnp.less and lax.max make it, by the
    real parts, the imaginary ones where the real parts are equal:
    select(re a == re b, im a OP im b, re a OP re b) (NaN compares false)."""
    def rule(d, a, b):
        (ra, ia), (rb, ib) = parts(a), parts(b)
        return arith.select(cmpf("oeq", ra, rb), cmpf(fpred, ia, ib), cmpf(fpred, ra, rb))

    return _by_kind(c=rule)


def _pick(fpred):
    """Complex max (`ogt`) or min (`olt`): a where it compares so against b,
    else b, as JAX lowers lax.max and lax.min of complex (mlir._minmax_hlo)."""
    compare = _lexicographic(fpred)
    return _by_kind(c=lambda d, a, b: select_scalar(compare(d, a, b), a, b))


def _zero_signed_as(d, x):
    return arith.select(elementary.signbit(x), _const(d, -0.0), _const(d, 0.0))


def _float_divmod(d, a, b):
    """NumPy's divmod of floats (its npy_divmod), which floor_divide and
    remainder share, built on C's fmod (the remainder with a's sign):

        mod = fmod(a, b), moved into b's sign by adding b (and div = (a - mod) / b less 1)
        a // b = div rounded to the nearest integer; a / b where b = ±0
        a % b  = mod; a zero takes b's sign: 0.0 % -1 = -0.0

    so inf // 1 = nan (fmod(inf, 1) is nan) and -1 // inf = -1, as in Python.
    fmod(a, ±inf) = a for finite a, selected because Vulkan's frem is
    a - b * trunc(a / b) (nan there)."""
    zero, one = _const(d, 0.0), _const(d, 1.0)
    mod = arith.select(arith.andi(_isinf(d, b), _isfinite(d, a)), a, _math(arith.remf)(d, a, b))
    div = arith.divf(arith.subf(a, mod), b)
    fix = arith.andi(cmpf("une", mod, zero), arith.xori(cmpf("olt", b, zero), cmpf("olt", mod, zero)))
    # (the zero's sign is a value only: tied to mod, its derivative is fmod's, 1 in a, as JAX's)
    signed = scalar_parts.tie("signed_zero", arith.select(cmpf("oeq", mod, zero), _zero_signed_as(d, b), mod), mod)
    mod = arith.select(fix, arith.addf(mod, b), signed)
    div = arith.select(fix, arith.subf(div, one), div)
    floor = math.floor(div)
    nearest = arith.select(cmpf("ogt", arith.subf(div, floor), _const(d, 0.5)), arith.addf(floor, one), floor)
    quotient = arith.divf(a, b)
    floordiv = arith.select(cmpf("oeq", div, zero), _zero_signed_as(d, quotient), nearest)
    return arith.select(cmpf("oeq", b, zero), quotient, floordiv), mod


# Integer division and shifts are undefined for some operands in LLVM and
# SPIR-V (x86 even traps: INT_MIN // -1 is SIGFPE), so each backend would give
# its own answer. The rules below guard those operands with selects and give
# XLA's results, which are JAX's, on every backend.

def _truncated_divmod(d, a, b):
    """Integer a / b rounded toward 0, and a % b (C's), total as XLA defines them:

        a / 0 = -1 (all ones: the max, unsigned)     a % 0 = a
        INT_MIN / -1 = INT_MIN (it wraps)            INT_MIN % -1 = 0

    Those divisors become 1 before dividing: a / 1 and a % 1 are already the
    answers for INT_MIN / -1. The remainder is a - (a / b) * b, not remsi,
    whose SPIR-V emulation takes INT_MIN % 3 for |INT_MIN| % 3 = 2."""
    by_zero = cmpi("eq", b, _const(d, 0))
    undefined = by_zero
    if not dtypes.is_unsigned(d):
        overflow = arith.andi(cmpi("eq", a, _const(d, np.iinfo(d).min)), cmpi("eq", b, _const(d, -1)))
        undefined = arith.ori(by_zero, overflow)
    safe = arith.select(undefined, _const(d, 1), b)
    if d.itemsize == 8:
        q = _divide_64(d, a, safe)
    else:
        q = (arith.divui if dtypes.is_unsigned(d) else arith.divsi)(a, safe)
    r = arith.subi(a, arith.muli(q, safe))
    return arith.select(by_zero, _const(d, -1), q), arith.select(by_zero, a, r)


def _abs_signed(d, x):
    """|x| of a signed integer, |INT_MIN| = INT_MIN (it wraps), as a select:
    IREE's Vulkan code cannot lower math.absi of i64."""
    zero = _const(d, 0)
    return arith.select(cmpi("slt", x, zero), arith.subi(zero, x), x)


def _divide_64(d, a, b):
    """a / b rounded toward 0 for 64-bit integers, b != 0 (and not INT_MIN / -1),
    without arith.divsi/divui: IREE's Vulkan code computes i64 as two i32s and
    cannot divide those. Unsigned n / m (m >= 1) takes two float64 estimates
    from below, each corrected in exact integer arithmetic:

        q1 = floor(fl(fl(n) / fl(m)) (1 - 2^-47))     <= n / m: the factor outweighs
                                                          the roundings (< 2^-50)
        r1 = n - q1 m                                  exact: 0 <= r1 <= n
        q2, r2 = the same for r1 / m
        n // m = q1 + q2 + (r2 >= m)

    q1 misses n // m by at most (n / m) 2^-46 + 1 <= 2^18 + 1, so q2 misses
    r1 // m by at most (2^18 + 2) 2^-46 + 1 < 2. Signed a / b divides |a| by |b|
    (|INT_MIN| = 2^63 unsigned) and negates where the signs differ."""
    f64, zero = ir.F64Type.get(), _const(d, 0)
    shrink = mlir.float_constant(f64, 1.0 - 2.0**-47)

    def estimate(n, m):  # floor of n / m less a little, at least 0: fptoui truncates
        ratio = arith.divf(arith.uitofp(f64, n), arith.uitofp(f64, m))
        return arith.fptoui(n.type, arith.mulf(ratio, shrink))

    n, m = (a, b) if dtypes.is_unsigned(d) else (_abs_signed(d, a), _abs_signed(d, b))
    q1 = estimate(n, m)
    r1 = arith.subi(n, arith.muli(q1, m))
    q2 = estimate(r1, m)
    r2 = arith.subi(r1, arith.muli(q2, m))
    q = arith.addi(arith.addi(q1, q2), arith.extui(n.type, cmpi("uge", r2, m)))
    if dtypes.is_unsigned(d):
        return q
    negative = arith.xori(cmpi("slt", a, zero), cmpi("slt", b, zero))
    return arith.select(negative, arith.subi(zero, q), q)


def _floor_divide_signed(d, a, b):
    """JAX's floor division: the truncated quotient, one less where
    sign(a) != sign(b) and a % b != 0. With sign(0) = 0 and a % 0 = a, that
    makes a // 0 = -2 for a != 0 and 0 // 0 = -1."""
    q, r = _truncated_divmod(d, a, b)
    fix = arith.andi(cmpi("ne", _sign(d, a), _sign(d, b)), cmpi("ne", r, _const(d, 0)))
    return arith.select(fix, arith.subi(q, _const(d, 1)), q)


def _integer_remainder(d, a, b):
    """NumPy's `mod`: the truncated remainder moved into the divisor's sign.
    JAX counts a zero divisor as 1, so a % 0 = 0."""
    zero = _const(d, 0)
    b = arith.select(cmpi("eq", b, zero), _const(d, 1), b)
    r = _truncated_divmod(d, a, b)[1]
    if dtypes.is_unsigned(d):
        return r
    fix = arith.andi(cmpi("ne", r, zero), arith.xori(cmpi("slt", r, zero), cmpi("slt", b, zero)))
    return arith.select(fix, arith.addi(r, b), r)


def _shift(shift, overflow):
    """x shifted by s, for any s: a negative s or one of the bit width or more
    (unsigned, s >= width) shifts every bit out, to `overflow(d, x)` (XLA's
    definition; x86 would take s modulo the width, 1 << 32 = 1)."""

    def rule(d, x, s):
        in_range = cmpi("ult", s, _const(d, d.itemsize * 8))
        shifted = shift(x, s)
        if d.itemsize == 8:  # IREE's Vulkan code, i64 as two i32s, gets x << 0 wrong: x * (2**32 + 1)
            shifted = arith.select(cmpi("eq", s, _const(d, 0)), x, shifted)
        return arith.select(in_range, shifted, overflow(d, x))

    return rule


def _integer_power(d, base, exponent):
    """Exponentiation by squaring over the exponent's low 6 bits, unrolled
    (IREE's CPU backend cannot lower `math.ipowi`), as JAX's jnp.power of
    integers: x ** 64 is x ** 0 there, and a negative exponent's low bits
    are its power (x ** -1 is x ** 63), where NumPy's power wraps around
    for exponents of 64 and up and refuses negative ones. 0 ** y is 0 for
    every y but 0."""
    one, zero = _const(d, 1), _const(d, 0)
    result = arith.select(arith.andi(cmpi("eq", base, zero), cmpi("ne", exponent, zero)), zero, one)
    for _ in range(6):
        bit_set = cmpi("ne", arith.andi(exponent, one), _const(d, 0))
        result = arith.select(bit_set, arith.muli(result, base), result)
        base = arith.muli(base, base)
        exponent = arith.shrui(exponent, one)
    return result


def _sign(d, x):
    zero, one, minus_one = _const(d, 0), _const(d, 1), _const(d, -1)
    if dtypes.is_float(d):
        # sign(-0.0) = 0.0, as NumPy (JAX gives -0.0); NaN a constant, not x, so that no derivative flows
        zero_or_nan = arith.select(cmpf("uno", x, x), _const(d, float("nan")), zero)
        return arith.select(cmpf("ogt", x, zero), one, arith.select(cmpf("olt", x, zero), minus_one, zero_or_nan))
    if dtypes.is_unsigned(d):
        return arith.select(cmpi("ne", x, zero), one, zero)
    return arith.select(cmpi("sgt", x, zero), one, arith.select(cmpi("slt", x, zero), minus_one, zero))


def _complex_sign(d, x):
    """x / |x|, and 0 at 0 (JAX's sign of a complex), divided part by part:
    the selects of a complex would not lower on Vulkan."""
    part = dtypes.real_dtype(d)
    magnitude, zero = cx.abs(x), _const(part, 0.0)
    at_zero = cmpf("oeq", magnitude, zero)
    re, im = (arith.select(at_zero, zero, arith.divf(p, magnitude)) for p in parts(x))
    return cx.create_(x.type, re, im)


def _isinf(d, x):
    return cmpf("oeq", math.absf(x), _const(d, np.inf))


def _isfinite(d, x):
    return cmpf("one", math.absf(x), _const(d, np.inf))


# IREE expands most transcendental functions into polynomials and exp/log
# formulas that are right on most of the line but not at IEEE's special
# values; the rules below select those values (a select: a compare and a
# blend per element).

def _near_zero(x, fx, small32=2.0**-12):
    """An odd function with f(x) = x + O(x³) is x itself where |x| < 2**-12
    in float32 (2**-26 in float64), as it rounds. IREE's expansions lose the
    sign of zero there (sin(-0.0) was +0.0) and some cancel (sinh(1e-10)
    was 0, tan(4e-8) 6e-8). The select changes the value only: tied to fx
    (scalar_parts.tie), its derivative is fx's, which differentiates again to
    f's higher derivatives (x's would be 1, and then 0). `small32`: the
    bound in float32 and narrower (see _TANH_TINY)."""
    small = 2.0**-26 if x.type == ir.F64Type.get() else small32
    return scalar_parts.tie("near_zero", arith.select(cmpf("olt", math.absf(x), _f32(x, small)), x, fx), fx)


def _odd_near_zero(rule, small32=2.0**-12):
    """`rule`, with `_near_zero` applied."""
    return _by_kind(f=lambda d, x: _near_zero(x, rule(d, x), small32))


# tanh(x) is x below |x| < 4e-4 in float32: off by x²/3 < 0.9 ulp there,
# XLA's bound and that of the expansion of math.tanh on the CPU (MLIR's
# TanhApproximation: the clamped rational of Eigen, `select(|x| < 4e-4,
# x, p/q)`). With the same bound the select above is the expansion's own,
# which LLVM then folds into it: one compare and blend less per element
# (2**-12 kept both: jit sum(tanh(a)) of 1e7 float32, 1 thread, 4.5 -> 4.1 ms).
_TANH_TINY = 4e-4


def _f32(x, value):
    return mlir.float_constant(x.type, value)


# 2/π's first 168 bits after the binary point, 24 at a time (fdlibm's
# two_over_pi table): a float32 significand times one chunk is exact in float64.
_TWO_OVER_PI = [chunk * 2.0 ** (-24 * (j + 1)) for j, chunk in enumerate(
    [0xA2F983, 0x6E4E44, 0x1529FC, 0x2757D1, 0xF534DD, 0xC0DB62, 0x95993C])]


def _quarter_turns(x):
    """(q, r) with x = k π/2 + r, q = k mod 4 and |r| <= π/4, both float64
    (Payne-Hanek's reduction, in float64 arithmetic). IREE reduces sin, cos
    and tan in float32 (sin(1e7) was off by 0.28, sin(1e9) was 1.4e9), so
    they get r instead. With c_j the chunks of 2/π above,

        x 2/π mod 4 = Σ_j (x c_j mod 4) + O(|x| 2^-168)

    where each x c_j is exact and so is p mod 4 = 4 (p/4 - floor(p/4)) (as
    p - 4 floor(p/4), lavapipe's compiler rewrote it and lost bits); the
    chunks that make x c_j a multiple of 4 drop out, so any float32 x
    reduces exactly, up to the sum's rounding (|r| within ~1e-14). (float64
    reduces in its own expansion, transforms/float64_math.py.)
    k = floor(s + 1/2) of the sum s; floor, as Vulkan cannot round float64
    to even. inf and NaN give NaN. The floors have derivative 0, so
    dr/dx = Σ c_j π/2 = 1."""
    f64 = ir.F64Type.get()
    x = arith.extf(f64, x)
    c = lambda value: mlir.float_constant(f64, value)  # noqa: E731

    def mod4(p):
        m = arith.mulf(p, c(0.25))
        return arith.mulf(c(4.0), arith.subf(m, math.floor(m)))

    s = c(0.0)
    for chunk in _TWO_OVER_PI:
        p = arith.mulf(x, c(chunk))
        s = arith.addf(s, p if chunk * 2.0**128 < 4 else mod4(p))  # |x| < 2**128: the last is < 2**-16
    k = math.floor(arith.addf(s, c(0.5)))
    return mod4(k), arith.mulf(arith.subf(s, k), c(np.pi / 2))


def _by_quadrant(pick, direct):
    """sin, cos or tan of float32 x as `pick(q, r)` of x's quarter turns
    (see `_quarter_turns`), half precision widened. A float64 x is
    `direct(x)`, whose expansion (transforms/float64_math.py) reduces every
    finite x itself, to float64 accuracy."""

    def on_f32_or_f64(x):
        if x.type == ir.F64Type.get():
            return direct(x)
        q, r = _quarter_turns(x)
        q_is = lambda n: cmpf("oeq", q, mlir.float_constant(q.type, n))  # noqa: E731
        return pick(q_is, arith.truncf(ir.F32Type.get(), r))

    return _by_kind(f=lambda d, x: _in_f32(on_f32_or_f64)(d, x) if d.itemsize < 4 else on_f32_or_f64(x))


def _odd_of_abs(fn, r):
    """fn(r) of an odd fn as ±fn(|r|), fn(|r|) as `_near_zero` takes it:
    IREE's sin and tan of small negative r are off (sin(-1e-3) by 2e-5,
    relatively; sin(1e-3) is right). A select rather than copysign, whose
    derivative would read fn(|r|) back."""
    a = math.absf(r)
    f = _near_zero(a, fn(a))
    return arith.select(cmpf("olt", r, _f32(r, 0.0)), arith.negf(f), f)


def _sin_by_quadrant(turn):
    """sin(k π/2 + r) is sin r, cos r, -sin r, -cos r for k = 0, 1, 2, 3
    (mod 4), and cos(x) = sin(x + π/2): `turn` quarter turns more."""

    def pick(q_is, r):
        odd = arith.ori(q_is((1 - turn) % 4), q_is((3 - turn) % 4))
        negative = arith.ori(q_is((2 - turn) % 4), q_is((3 - turn) % 4))
        v = arith.select(odd, math.cos(r), _odd_of_abs(math.sin, r))
        return arith.select(negative, arith.negf(v), v)

    return pick


def _tan_by_quadrant(q_is, r):
    """tan(k π/2 + r) is tan r for even k, -1 / tan r for odd k."""
    t = _odd_of_abs(math.tan, r)
    odd = arith.ori(q_is(1), q_is(3))
    return arith.select(odd, arith.negf(arith.divf(_f32(t, 1.0), t)), t)


def _log_2x_above_2_12(x, otherwise):
    """log(2x) where x > 2**12 (2**28 in float64), `otherwise` elsewhere:
    there x² ± 1 rounds to x², and acosh(x) and asinh(x) are log(x + x) to
    within rounding."""
    log_2x = arith.addf(math.log(x), _f32(x, np.log(2)))
    big = 2.0**28 if x.type == ir.F64Type.get() else 2.0**12
    return arith.select(cmpf("ogt", x, _f32(x, big)), log_2x, otherwise)


def _asinh(x):
    """asinh(x) = sign(x) asinh(|x|), with

        asinh(a) = log1p(a + a² / (1 + sqrt(1 + a²)))    (= log(a + sqrt(a² + 1)))

    and log(2a) where a > 2**12 (there a² + 1 rounds to a²). IREE's log(x +
    sqrt(x² + 1)) cancels for x < 0 (asinh(-inf) was NaN), overflows x² above
    1.8e19, and loses the digits of a small a to the 1 it adds (2000 ulp at
    a = 6e-4); log1p keeps them."""
    a = math.absf(x)
    one = _f32(a, 1.0)
    square = arith.mulf(a, a)
    near = math.log1p(arith.addf(a, arith.divf(square, arith.addf(one, math.sqrt(arith.addf(one, square))))))
    return scalar_parts.tie("asinh", math.copysign(_log_2x_above_2_12(a, near), x), x)  # d/dx: 1 / sqrt(x² + 1)


def _atanh(x):
    """atanh(x) = sign(x) log1p(2a / (1 - a)) / 2, a = |x|: IREE's
    log((1 + x) / (1 - x)) / 2 loses a small x's digits to the 1 it adds."""
    a = math.absf(x)
    ratio = arith.divf(arith.addf(a, a), arith.subf(_f32(a, 1.0), a))
    return scalar_parts.tie("atanh", math.copysign(arith.mulf(_f32(a, 0.5), math.log1p(ratio)), x), x)  # 1 / (1 - x²)


def _acos(x):
    """elementary.acos, NaN where |x| > 1 (Vulkan's acos(3) was -pi). Tied
    (scalar_parts.tie): differentiated as acos, NaN there as JAX's, not as the
    select's NaN constant (0)."""
    nan = _f32(x, np.nan)
    return scalar_parts.tie("acos", arith.select(cmpf("ogt", math.absf(x), _f32(x, 1.0)), nan, elementary.acos(x)), x)


def _acosh(x):
    """acosh(x): elementary.acosh in float32; in float64, log(2x) where x >
    2**28, past which log(x + sqrt(x² - 1)) overflows x², and NaN below 1,
    where that formula can cancel to log(0) = -inf instead. Tied
    (scalar_parts.tie): differentiated as acosh, NaN below 1 as JAX's, not as the
    select's NaN constant (0)."""
    if x.type == ir.F32Type.get():
        return elementary.acosh(x)
    acosh = _log_2x_above_2_12(x, math.acosh(x))
    return scalar_parts.tie("acosh", arith.select(cmpf("olt", x, _f32(x, 1.0)), _f32(x, np.nan), acosh), x)


def _atan2(y, x):
    """atan2 is odd in y: it is s atan2(s y, x) with s = ±1 by y's sign bit
    (a product, not copysign, so the derivative in y survives at y = 0). At
    y, x = ±0 it is 0 or π by x's sign bit (0 for x = +0, π for x = -0), and
    at y, x = ±inf it is atan2(±1, ±1): IREE's expansion gives NaN at both,
    and +π for atan2(-0.0, -1). At the origin the value is the constant, plus
    the hypot of y and x (0 there) to carry JAX's derivative there, NaN (0/0)."""
    zero, one, inf = _f32(x, 0.0), _f32(x, 1.0), _f32(x, np.inf)
    s = arith.select(elementary.signbit(y), _f32(x, -1.0), one)
    a = arith.mulf(y, s)
    both_inf = arith.andi(cmpf("oeq", a, inf), cmpf("oeq", math.absf(x), inf))
    a, x = arith.select(both_inf, one, a), arith.select(both_inf, math.copysign(one, x), x)
    on_axis = arith.select(elementary.signbit(x), _f32(x, np.pi), zero)
    both_zero = arith.andi(cmpf("oeq", a, zero), cmpf("oeq", x, zero))
    at_origin = arith.addf(on_axis, math.sqrt(arith.addf(arith.mulf(a, a), arith.mulf(x, x))))
    return arith.mulf(arith.select(both_zero, at_origin, elementary.atan2(a, x)), s)


UNARY = {
    "neg": _by_kind(f=lambda d, x: arith.negf(x), iu=lambda d, x: arith.subi(_const(d, 0), x),
                    c=lambda d, x: cx.neg(x)),
    "abs": _by_kind(f=lambda d, x: math.absf(x), i=_abs_signed, u=lambda d, x: x,
                    c=lambda d, x: complex_rules.hypot(_real, *parts(x))),  # inf with a NaN part, as Annex G
    "real": _by_kind(c=lambda d, x: cx.re(x)),
    "imag": _by_kind(c=lambda d, x: cx.im(x)),
    "conj": _by_kind(c=lambda d, x: cx.conj(x)),
    # atan2(im, re), as IREE's complex.angle(0) is NaN
    "angle": _by_kind(c=lambda d, x: _math(_atan2)(dtypes.real_dtype(d), cx.im(x), cx.re(x))),
    "sign": _by_kind(fiu=_sign, c=_complex_sign),
    "floor": _by_kind(f=lambda d, x: math.floor(x)),
    "ceil": _by_kind(f=lambda d, x: math.ceil(x)),
    "round": _by_kind(f=lambda d, x: math.roundeven(x)),
    "trunc": _by_kind(f=lambda d, x: math.trunc(x)),
    "isnan": _or(_by_kind(f=lambda d, x: cmpf("uno", x, x)), _either_part(lambda d, x: cmpf("uno", x, x))),
    "isinf": _or(_by_kind(f=_isinf), _either_part(_isinf)),
    "isfinite": _or(_by_kind(f=_isfinite),
                    _by_kind(c=lambda d, x: arith.andi(*(_isfinite(dtypes.real_dtype(d), p) for p in parts(x))))),
    "not": _by_kind(b=lambda d, x: arith.xori(x, _const(d, True)), iu=lambda d, x: arith.xori(x, _const(d, -1))),
    "exp": _or(_math(math.exp), _on_parts("exp")),
    "exp2": _or(_math(elementary.exp2), _on_parts("exp2")),
    "expm1": _or(_math(math.expm1), _on_parts("expm1")),
    "log": _or(_math(math.log), _on_parts("log")),
    "log1p": _or(_math(math.log1p), _on_parts("log1p")),
    "log2": _or(_math(math.log2), _on_parts("log2")),
    "log10": _or(_math(lambda x: arith.mulf(math.log(x), mlir.float_constant(x.type, np.log10(np.e)))),
                  _on_parts("log10")),  # no log10f in IREE's CPU runtime
    "sqrt": _or(_math(math.sqrt),
                _on_parts("sqrt")),
    "rsqrt": _or(_math(math.rsqrt), _on_parts("rsqrt")),
    # IREE's cbrt(±inf) is NaN; ±inf as a constant with x's sign, so that its derivative is 0 (JAX's), not x's 1
    "cbrt": _by_kind(f=lambda d, x: arith.select(_isinf(d, x), math.copysign(_const(d, np.inf), x),
                                                 _math(elementary.cbrt)(d, x))),
    "sin": _or(_odd_near_zero(_by_quadrant(_sin_by_quadrant(0), math.sin)), _on_parts("sin")),
    "cos": _or(_by_quadrant(_sin_by_quadrant(1), math.cos), _on_parts("cos")),
    "tan": _or(_odd_near_zero(_by_quadrant(_tan_by_quadrant, math.tan)), _on_parts("tan")),
    "asin": _or(_odd_near_zero(_math(elementary.asin)), _on_parts("asin")),
    "acos": _or(_math(_acos), _on_parts("acos")),
    "atan": _or(_odd_near_zero(_math(elementary.atan)), _on_parts("atan")),
    "sinh": _or(_odd_near_zero(_math(elementary.sinh)), _on_parts("sinh")),
    "cosh": _or(_math(elementary.cosh), _on_parts("cosh")),
    "tanh": _or(_odd_near_zero(_math(math.tanh), _TANH_TINY), _on_parts("tanh")),
    "asinh": _or(_odd_near_zero(_math(_asinh)), _on_parts("asinh")),
    "acosh": _or(_math(_acosh), _on_parts("acosh")),
    "atanh": _or(_odd_near_zero(_math(_atanh)), _on_parts("atanh")),
    "erf": _by_kind(f=lambda d, x: math.erf(x) if d.itemsize == 8 else _math(special.erf)(d, x)),  # float64: float64_math.py
}

BINARY = {
    "add": _by_kind(f=lambda d, a, b: arith.addf(a, b), iu=lambda d, a, b: arith.addi(a, b), b=lambda d, a, b: arith.ori(a, b),
                    c=lambda d, a, b: cx.add(a, b)),
    "sub": _by_kind(f=lambda d, a, b: arith.subf(a, b), iu=lambda d, a, b: arith.subi(a, b),
                    c=lambda d, a, b: cx.sub(a, b)),
    "mul": _by_kind(f=lambda d, a, b: arith.mulf(a, b), iu=lambda d, a, b: arith.muli(a, b), b=lambda d, a, b: arith.andi(a, b),
                    c=lambda d, a, b: cx.mul(a, b)),
    "div": _by_kind(f=lambda d, a, b: arith.divf(a, b), iu=lambda d, a, b: _truncated_divmod(d, a, b)[0],
                    c=lambda d, a, b: cx.div(a, b)),
    "floor_divide": _by_kind(
        f=lambda d, a, b: _float_divmod(d, a, b)[0], i=_floor_divide_signed, u=lambda d, a, b: _truncated_divmod(d, a, b)[0]
    ),
    "rem": _by_kind(
        f=lambda d, a, b: _float_divmod(d, a, b)[1],
        iu=_integer_remainder,
    ),
    "pow_to_integers": _by_kind(f=_math(lambda x, y: elementary.power(x, y, to_integers=True))),
    "pow": _or(_by_kind(f=_math(elementary.power), iu=lambda d, a, b: _integer_power(d, a, b)),
               _on_parts("pow")),
    "max": _or(_by_kind(f=lambda d, a, b: arith.maximumf(a, b), i=lambda d, a, b: arith.maxsi(a, b), u=lambda d, a, b: arith.maxui(a, b), b=lambda d, a, b: arith.ori(a, b)),
               _pick("ogt")),
    "min": _or(_by_kind(f=lambda d, a, b: arith.minimumf(a, b), i=lambda d, a, b: arith.minsi(a, b), u=lambda d, a, b: arith.minui(a, b), b=lambda d, a, b: arith.andi(a, b)),
               _pick("olt")),
    "atan2": _or(_math(_atan2), _on_parts("atan2")),
    "and": _by_kind(iub=lambda d, a, b: arith.andi(a, b)),
    "or": _by_kind(iub=lambda d, a, b: arith.ori(a, b)),
    "xor": _by_kind(iub=lambda d, a, b: arith.xori(a, b)),
    "shift_left": _by_kind(iu=_shift(arith.shli, lambda d, x: _const(d, 0))),
    "shift_right": _by_kind(
        i=_shift(arith.shrsi, lambda d, x: arith.shrsi(x, _const(d, d.itemsize * 8 - 1))),  # the sign bits
        u=_shift(arith.shrui, lambda d, x: _const(d, 0)),
    ),
    "complex": _by_kind(f=lambda d, a, b: cx.create_(mlir.element_type(dtypes.complex_dtype(d)), a, b)),
    "eq": _or(_cmp("oeq", "eq", "eq"), _by_kind(c=lambda d, a, b: cx.eq(a, b))),
    "ne": _or(_cmp("une", "ne", "ne"), _by_kind(c=lambda d, a, b: cx.neq(a, b))),
    # complex: jnp.less and co. (lax.lt refuses complex, lax_elementwise.py)
    "lt": _or(_cmp("olt", "slt", "ult"), _lexicographic("olt")),
    "le": _or(_cmp("ole", "sle", "ule"), _lexicographic("ole")),
    "gt": _or(_cmp("ogt", "sgt", "ugt"), _lexicographic("ogt")),
    "ge": _or(_cmp("oge", "sge", "uge"), _lexicographic("oge")),
}
COMPARISONS = {"eq", "ne", "lt", "le", "gt", "ge"}
PREDICATES = {"isnan", "isinf", "isfinite"}
REAL_VALUED = {"abs", "real", "imag", "angle"}
# The result dtype of each rule whose result is not of its operands' dtype.
OUT_DTYPES = {**dict.fromkeys(COMPARISONS | PREDICATES, lambda dtype: dtypes.bool_),
              **dict.fromkeys(REAL_VALUED, dtypes.real_dtype), "complex": dtypes.complex_dtype}

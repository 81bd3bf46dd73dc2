"""float8 and float4 scalars held as their bit patterns in i8, and their
conversion to and from float32 by integer bit operations.

Why bits: IREE 3.13 can't hold f8E4M3B11FNUZ, f8E3M4, f8E4M3 or f4E2M1FN in a
buffer ('hal.element_type' op unsupported element type), and its own
arith.extf/truncf for the others are not ml_dtypes's (measured on llvm-cpu:
subnormals flushed, NaN codes and overflow differ). JAX's casts are
ml_dtypes's, so irax computes them itself, bit-exactly, on every backend.

A format is (E, M, bias, style): E exponent and M mantissa bits, and how it
spends its special codes:

    ieee   inf = exponent all ones, mantissa 0; NaN: mantissa not 0; overflow -> inf
    fn     no inf; NaN = S.1111.111; overflow -> NaN
    fnuz   no inf, no -0; the one NaN is 0x80; overflow -> NaN
    e8m0   unsigned powers of two 2^(c - 127), c = 0..254; NaN = 0xFF (also for
           0, negatives and inf); no subnormals
    f4     no inf, no NaN: overflow saturates to the largest value

Decoding: v = (-1)^S 2^(e - bias) (1 + m 2^-M) for e > 0, (-1)^S 2^(1 - bias) m 2^-M
for e = 0. Encoding rounds |x| to nearest even on the grid of its binade,
q = 2^(max(floor(log2 |x|), emin) - M), emin = 1 - bias: n = roundeven(|x| / q),
exact in float32 since q is a power of two, then writes n q's fields back.
"""
import ml_dtypes
import numpy as np
from iree.compiler import ir
from iree.compiler.dialects import arith, math

FORMATS = {
    np.dtype(ml_dtypes.float8_e4m3fn): (4, 3, 7, "fn"),
    np.dtype(ml_dtypes.float8_e5m2): (5, 2, 15, "ieee"),
    np.dtype(ml_dtypes.float8_e4m3fnuz): (4, 3, 8, "fnuz"),
    np.dtype(ml_dtypes.float8_e5m2fnuz): (5, 2, 16, "fnuz"),
    np.dtype(ml_dtypes.float8_e4m3b11fnuz): (4, 3, 11, "fnuz"),
    np.dtype(ml_dtypes.float8_e3m4): (3, 4, 3, "ieee"),
    np.dtype(ml_dtypes.float8_e4m3): (4, 3, 7, "ieee"),
    np.dtype(ml_dtypes.float8_e8m0fnu): (8, 0, 127, "e8m0"),
    np.dtype(ml_dtypes.float4_e2m1fn): (2, 1, 1, "f4"),
}


def _i32(value):
    t = ir.IntegerType.get_signless(32)
    return arith.ConstantOp(t, ir.IntegerAttr.get(t, int(np.int64(value).astype(np.int32)))).result


def _f32(value):
    t = ir.F32Type.get()
    return arith.ConstantOp(t, ir.FloatAttr.get(t, float(value))).result


def _eq(a, b):
    return arith.cmpi(arith.CmpIPredicate.eq, a, b)


def _field(bits, shift, width):
    return arith.andi(arith.shrui(bits, _i32(shift)), _i32((1 << width) - 1))


def _as_f32(bits):
    return arith.bitcast(ir.F32Type.get(), bits)


def to_f32(dtype, x):
    """The float32 value of the i8 bit pattern `x` of format `dtype` (exact)."""
    E, M, bias, style = FORMATS[np.dtype(dtype)]
    b = arith.andi(arith.extui(ir.IntegerType.get_signless(32), x), _i32(0xFF))
    sign = _i32(0) if style == "e8m0" else _field(b, E + M, 1)
    e, m = _field(b, M, E), _field(b, 0, M)
    sign_bit = arith.shli(sign, _i32(31))
    nan = _as_f32(arith.ori(_i32(0x7FC00000), sign_bit))
    if style == "e8m0":  # c = 0 is 2^-127, a float32 subnormal
        value = arith.select(_eq(e, _i32(0)), _f32(2.0 ** -127), _as_f32(arith.shli(e, _i32(23))))
        return arith.select(_eq(b, _i32(0xFF)), nan, value)
    normal = arith.ori(arith.ori(arith.shli(arith.addi(e, _i32(127 - bias)), _i32(23)), arith.shli(m, _i32(23 - M))),
                       sign_bit)
    sub = arith.mulf(arith.sitofp(ir.F32Type.get(), m), _f32(2.0 ** (1 - bias - M)))
    sub = arith.select(_eq(sign, _i32(1)), arith.negf(sub), sub)
    value = arith.select(_eq(e, _i32(0)), sub, _as_f32(normal))
    top = _eq(e, _i32((1 << E) - 1))
    if style == "ieee":
        inf = _as_f32(arith.ori(_i32(0x7F800000), sign_bit))
        return arith.select(top, arith.select(_eq(m, _i32(0)), inf, nan), value)
    if style == "fn":
        return arith.select(arith.andi(top, _eq(m, _i32((1 << M) - 1))), nan, value)
    if style == "fnuz":
        return arith.select(_eq(b, _i32(0x80)), nan, value)
    return value  # f4: every code is a number


def _e8m0_from_f32(x):
    """Round to the nearest power of two in value (a mantissa >= 1.5 rounds up,
    ties too); NaN for NaN, inf, 0 and negatives; at most 2^-127 gives
    2^-127, and any float32 subnormal above it 2^-126 (as ml_dtypes does)."""
    bits = arith.bitcast(ir.IntegerType.get_signless(32), x)
    exp, mant = _field(bits, 23, 8), _field(bits, 0, 23)
    subnormal = _eq(exp, _i32(0))  # mant 2^-149: 2^-127 is 0x400000; above it ml_dtypes rounds up
    half = arith.select(subnormal, _i32(0x400001), _i32(0x400000))
    up = arith.extui(ir.IntegerType.get_signless(32), arith.cmpi(arith.CmpIPredicate.uge, mant, half))
    code = arith.addi(arith.select(subnormal, _i32(0), exp), up)
    positive = arith.cmpf(arith.CmpFPredicate.OGT, x, _f32(0.0))  # false for NaN
    finite = arith.cmpf(arith.CmpFPredicate.OLT, x, _f32(np.inf))
    code = arith.select(arith.andi(positive, finite), arith.minui(code, _i32(0xFF)), _i32(0xFF))
    return arith.trunci(ir.IntegerType.get_signless(8), code)


def from_f32(dtype, x):
    """The i8 bit pattern of float32 `x` in format `dtype`, as ml_dtypes casts:
    round to nearest even, the format's overflow and NaN codes (see above)."""
    dtype = np.dtype(dtype)
    E, M, bias, style = FORMATS[dtype]
    if style == "e8m0":
        return _e8m0_from_f32(x)
    i32 = ir.IntegerType.get_signless(32)
    bits = arith.bitcast(i32, x)
    sign = arith.shrui(bits, _i32(31))
    a = math.absf(x)
    emin = 1 - bias
    q_exp = arith.subi(arith.maxsi(arith.subi(_field(bits, 23, 8), _i32(127)), _i32(emin)), _i32(M))
    inv_q = _as_f32(arith.shli(arith.subi(_i32(127), q_exp), _i32(23)))
    q = _as_f32(arith.shli(arith.addi(q_exp, _i32(127)), _i32(23)))
    r = arith.mulf(math.roundeven(arith.mulf(a, inv_q)), q)  # |x| rounded, exact
    rbits = arith.bitcast(i32, r)
    normal = arith.ori(arith.shli(arith.addi(_field(rbits, 23, 8), _i32(bias - 127)), _i32(M)),
                       arith.shrui(_field(rbits, 0, 23), _i32(23 - M)))
    sub = arith.fptoui(i32, arith.mulf(r, _f32(2.0 ** (M - emin))))
    code = arith.select(arith.cmpf(arith.CmpFPredicate.OLT, r, _f32(2.0 ** emin)), sub, normal)
    top = (1 << E) - 1
    overflow_code, nan_code = {
        "ieee": (top << M, (top << M) | (1 << (M - 1))),
        "fn": ((1 << (E + M)) - 1, (1 << (E + M)) - 1),
        "fnuz": (0x80, 0x80),
        "f4": ((1 << (E + M)) - 1, 0),
    }[style]
    # unordered too: for inf, r is inf * 0 = NaN when 1/q underflows (M = 1); NaN x is caught next
    overflow = arith.cmpf(arith.CmpFPredicate.UGT, r, _f32(float(ml_dtypes.finfo(dtype).max)))
    code = arith.select(overflow, _i32(overflow_code), code)
    is_nan = arith.cmpf(arith.CmpFPredicate.UNO, x, x)
    code = arith.select(is_nan, _i32(nan_code), code)
    if style == "f4":  # ml_dtypes gives NaN the code of a zero of the other sign
        sign = arith.select(is_nan, arith.xori(sign, _i32(1)), sign)
    signed = arith.ori(code, arith.shli(sign, _i32(E + M)))
    if style == "fnuz":  # no -0; 0x80 is NaN, unsigned
        signed = arith.select(arith.ori(_eq(code, _i32(0)), _eq(code, _i32(0x80))), code, signed)
    return arith.trunci(ir.IntegerType.get_signless(8), signed)

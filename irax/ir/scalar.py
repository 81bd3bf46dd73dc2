"""Scalar ops inside op bodies: comparisons by predicate name, a select
of any dtype, and the conversion of one scalar between dtypes.

Dtypes are NumPy's (see types.py), not MLIR's: MLIR integers are signless, so
only the NumPy dtype says whether i8 is int8 or uint8.
"""
import numpy as np
from iree.compiler import ir
from iree.compiler.dialects import arith
from iree.compiler.dialects import complex as complex_dialect

from irax.ir import float8, mlir, types


def cmpf(predicate: str, a, b):
    return arith.cmpf(arith.CmpFPredicate[predicate.upper()], a, b)


def cmpi(predicate: str, a, b):
    return arith.cmpi(arith.CmpIPredicate[predicate], a, b)


def is_true(dtype, x):
    """x != 0, the conversion of any number to bool (NaN is True, as in NumPy)."""
    zero = mlir.scalar_constant(0, dtype)
    if types.is_complex(dtype):
        return complex_dialect.neq(x, zero)
    return cmpf("une", x, zero) if types.is_float(dtype) else cmpi("ne", x, zero)


def parts(x):
    """(real, imag) of a complex scalar."""
    return complex_dialect.re(x), complex_dialect.im(x)


def select(condition, a, b):
    """a where `condition` is true, else b. Complex values are selected part
    by part: IREE's Vulkan code cannot lower an arith.select of complex."""
    if not isinstance(a.type, ir.ComplexType):
        return arith.select(condition, a, b)
    (ra, ia), (rb, ib) = parts(a), parts(b)
    return complex_dialect.create_(a.type, arith.select(condition, ra, rb), arith.select(condition, ia, ib))


def _float_to_int(src, dst, x):
    """JAX's (XLA's) float -> integer conversion: rounds toward 0, saturates a
    value beyond dst's range to the nearest bound (inf -> INT_MAX, -1.5 -> 0
    unsigned) and takes NaN to 0. fptosi/fptoui are undefined out of range
    (x86 gives INT_MIN), so only in-range values reach them. The bounds, min
    and max + 1, are 0 or powers of two, exact in float32 and float64."""
    if src.itemsize < 4:  # exactly, in float32: IREE's Vulkan code converts float16 to 64-bit ints wrong
        x, src = arith.extf(ir.F32Type.get(), x), np.dtype(np.float32)
    info = np.iinfo(dst)
    const = mlir.scalar_constant
    low, high = const(float(info.min), src), const(float(info.max + 1), src)
    in_range = arith.andi(cmpf("oge", x, low), cmpf("olt", x, high))
    convert = arith.fptoui if types.is_unsigned(dst) else arith.fptosi
    converted = convert(mlir.element_type(dst), arith.select(in_range, x, const(0.0, src)))
    saturated = arith.select(cmpf("olt", x, low), const(info.min, dst), const(info.max, dst))
    nan_or_saturated = arith.select(cmpf("uno", x, x), const(0, dst), saturated)
    return arith.select(in_range, converted, nan_or_saturated)


def convert_scalar(src, dst, x):
    """Convert one scalar from dtype `src` to dtype `dst` (NumPy's casting;
    JAX's where NumPy's is undefined: float -> int out of range). Complex to
    real keeps the real part; real to complex has imaginary part 0."""
    if src == dst:
        return x
    if types.is_bit_float(src):  # through float32, which holds each of their values exactly
        return convert_scalar(types.float32, dst, float8.to_f32(src, x))
    if types.is_bit_float(dst):  # (from float64 this rounds twice, unlike ml_dtypes: rarely a 1-ulp difference)
        return float8.from_f32(dst, convert_scalar(src, types.float32, x))
    if types.is_bool(dst):
        return is_true(src, x)
    if types.is_complex(src) and types.is_complex(dst):
        part, to = types.real_dtype(src), types.real_dtype(dst)
        re, im = (convert_scalar(part, to, p) for p in parts(x))
        return complex_dialect.create_(mlir.element_type(dst), re, im)
    if types.is_complex(src):
        return convert_scalar(types.real_dtype(src), dst, complex_dialect.re(x))
    if types.is_complex(dst):
        part = types.real_dtype(dst)
        re = convert_scalar(src, part, x)
        return complex_dialect.create_(mlir.element_type(dst), re, mlir.scalar_constant(0.0, part))
    to = mlir.element_type(dst)
    if types.is_float(src) and types.is_float(dst):
        if dst.itemsize == src.itemsize:  # float16 <-> bfloat16: no one arith op converts them
            x = arith.extf(ir.F32Type.get(), x)
        return arith.extf(to, x) if dst.itemsize > src.itemsize else arith.truncf(to, x)
    if types.is_float(dst):  # bool/int -> float
        unsigned = types.is_unsigned(src) or types.is_bool(src)
        return (arith.uitofp if unsigned else arith.sitofp)(to, x)
    if types.is_float(src):  # float -> int
        return _float_to_int(src, dst, x)
    src_bits = 1 if types.is_bool(src) else src.itemsize * 8
    if dst.itemsize * 8 == src_bits:
        return x
    if dst.itemsize * 8 < src_bits:
        return arith.trunci(to, x)
    widen_unsigned = types.is_unsigned(src) or types.is_bool(src)
    return (arith.extui if widen_unsigned else arith.extsi)(to, x)

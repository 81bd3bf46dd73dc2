"""Fused multiply-adds for a device that does not fuse them.

irax writes a b + c rounded once as `math.fma` where JAX's results depend
on it (the polynomials of erf_inv, irax/ir/special.py). The CPU and the GPUs
fuse it into one instruction; lavapipe (Vulkan on the CPU) computes it as a
multiply and an add, each rounded. For such a device, each `math.fma` of
floats narrower than float64 is rewritten before IREE sees it as

    truncf(extf(a) extf(b) + extf(c))

The float64 product of two floats of p <= 26 bits is exact, so only the sum
is rounded, twice: to float64, then to the narrow type. That differs from
one rounding only where the float64 sum lands exactly halfway between two
narrow floats and the exact sum did not: about once in 2^29 float32 sums.
"""
from iree.compiler import ir
from iree.compiler.dialects import arith

from irax.ir import mlir

_NARROW = (ir.F16Type, ir.BF16Type, ir.F32Type)


def widen_fmas(mlir_text: str) -> str:
    """`mlir_text` with each scalar narrow-float `math.fma` computed in float64."""
    return mlir.replace_ops(mlir_text, "math.fma", lambda op: isinstance(op.result.type, _NARROW), _widened)


def _widened(op):
    f64 = ir.F64Type.get()
    a, b, c = (arith.extf(f64, x) for x in op.operands)
    return arith.truncf(op.result.type, arith.addf(arith.mulf(a, b), c))

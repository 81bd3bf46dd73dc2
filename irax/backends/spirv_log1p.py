"""log1p for a SPIR-V target, whose own float32 log1p loses a small x.

IREE's SPIR-V code computes float32 `math.log1p(x)` as log(1 + x), which
keeps only the bits of x that survive the 1 it adds: log1p(1e-6) came back
9.54e-7 on lavapipe, 5% off. Kahan's correction, log(u) x / (u - 1) with
u = 1 + x, is no help there: lavapipe's compiler folds (1 + x) - 1 into x.
So each float32 `math.log1p` is rewritten before IREE sees it into XLA's
(special.xla_log1p: x - x²/2 + x³ N(x)/D(x) for |x| < sqrt(2) - 1, which
never forms 1 + x, and log(1 + x) beyond): JAX's own, within 2.5 ulp. Its
fused multiply-adds are the next prepare step's (fma.py).
"""
from iree.compiler import ir

from irax.ir import mlir, special


def exact_log1p(mlir_text: str) -> str:
    """`mlir_text` with each float32 `math.log1p` computed as XLA's."""
    return mlir.replace_ops(mlir_text, "math.log1p", lambda op: isinstance(op.result.type, ir.F32Type),
                            lambda op: special.xla_log1p(op.operands[0]))

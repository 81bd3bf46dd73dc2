"""The parts the scalar functions of special.py and elementary.py are built
from: constants like a value, comparisons, polynomials by Horner's rule
(with fused multiply-adds, or plain), a float32's mantissa and exponent read
off its bits, a while loop over scalars, and `tie`.

A polynomial approximation's own derivative is a poor one, so each function
ends in `tie(name, value, *inputs)`: an op autodiff recognizes, and
differentiates by the analytic rule called `name` (scalar_jvp.MARKED).
"""
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
    false = bool_constant(False)
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


def bool_constant(value):
    """An i1 constant."""
    i1 = ir.IntegerType.get_signless(1)
    return arith.ConstantOp(i1, ir.IntegerAttr.get(i1, int(value))).result


def like(x, value):
    """A float constant of x's type."""
    return mlir.float_constant(x.type, value)


def lt(a, b):
    """a < b, false where either is NaN."""
    return cmpf("olt", a, b)


def is_nan(x):
    """x != x: whether the float x is a NaN."""
    return cmpf("uno", x, x)


def fma(a, b, c):
    """a b + c rounded once, as a fused multiply-add: one float32 instruction
    on the CPU (where float64 arithmetic made erf_inv 4x slower); the Vulkan
    backend, whose drivers need not fuse it, computes it in float64
    (backends/fma.py)."""
    return math.fma(a, b, c)


def horner(x, coefficients):
    """c_0 x^n + ... + c_n, one fused multiply-add per step."""
    p = like(x, coefficients[0])
    for c in coefficients[1:]:
        p = fma(p, x, like(x, c))
    return p


def plain_horner(x, coefficients):
    """c_0 x^n + ... + c_n, multiplies and adds."""
    p = like(x, coefficients[0])
    for c in coefficients[1:]:
        p = arith.addf(arith.mulf(p, x), like(x, c))
    return p


def _i32(value):
    """An i32 constant."""
    i32 = ir.IntegerType.get_signless(32)
    return arith.ConstantOp(i32, ir.IntegerAttr.get(i32, value)).result



def frexp(a):
    """(m, e) with a = m 2^e, m in [1/2, 1) and e an integral float32, read
    off the bits of a normal float32 a > 0."""
    bits = arith.bitcast(ir.IntegerType.get_signless(32), a)
    e = arith.sitofp(a.type, arith.subi(arith.shrui(bits, _i32(23)), _i32(126)))
    return arith.bitcast(a.type, arith.ori(arith.andi(bits, _i32(0x007FFFFF)), _i32(0x3F000000))), e


def pow2(k):
    """2^k for an integral float32 k in [-126, 127], from its bits."""
    i32 = ir.IntegerType.get_signless(32)
    return arith.bitcast(k.type, arith.shli(arith.addi(arith.fptosi(i32, k), _i32(127)), _i32(23)))



def is_integer(x):
    """Whether float x is an integer (false at inf and NaN)."""
    return cmpf("oeq", x, math.floor(x))



def while_loop(inits, keep_going, step):
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

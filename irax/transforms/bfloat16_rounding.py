"""A pass that rounds every bfloat16 value an op computes with, as XLA does.

Each of irax's primitives writes its own `linalg.generic`, whose body does
its arithmetic on bfloat16 scalars. IREE computes bfloat16 arithmetic in
float32 (`extf`, the op, `truncf`), and once it has fused a chain of
generics into one loop it folds each `extf(truncf(v))` back into v: the
chain runs in float32 and is rounded once, at the end. JAX rounds each op's
result, so `(x * 1.37 + 0.31) * 2.91` of bfloat16 x came out one bfloat16
ulp from JAX's in 30-40% of the elements under jit (eagerly, where every op
is a kernel that stores its result, they agreed).

So an input of a generic that its body uses is rounded to bfloat16 first,
in float32 integer arithmetic that nothing folds away (round to nearest,
ties to even, on the bits; a NaN stays itself, its bits kept):

    b = bitcast(v)    r = (b + 0x7fff + ((b >> 16) & 1)) & 0xffff0000

A value read from memory is a bfloat16 already, so this changes nothing
there; a fused producer's float32 result is rounded as its own store would
have. A reduction's input converted to float32 on its way into the
accumulator keeps what IREE gives: a sum of `x * 3.3` reads the product
unrounded, as XLA's fused reduction does (JAX's jit of `sum(x * 3.3)`
differs from its eager one there). Several ops inside one generic (one primitive's rule) round
once, at the end, as XLA rounds one operation's result. float16 needs no pass: LLVM computes each float16 op in float32
and rounds its result to float16, conversions it keeps, so a fused chain
is rounded op by op, as NumPy's and XLA's (tests/test_bfloat16_rounding.py;
the ~25% of elements of `x * 8.5 - 3` once seen one ulp from JAX's were
tiered jit's first tier, whose evaluator fused the multiply-add).

Every conversion to bfloat16 (`arith.truncf`, its own or an op's result)
also keeps a NaN's sign: MLIR expands truncf to integer code that makes
every NaN the positive 0x7fc0, where XLA gives the quiet NaN of the same
sign (0x7fc0 | sign; a payload is dropped in both), so `-nan` and a
float32 NaN with its sign bit set kept their sign only in JAX.
"""
from iree.compiler import ir
from iree.compiler.dialects import arith

from irax.ir import mlir
from irax.ir.scalar import cmpf, select


def round_bfloat16(module_op):
    bf16 = ir.BF16Type.get()
    for op in mlir.ops_where(module_op, lambda op: op.name == "arith.truncf" and op.results[0].type == bf16):
        with ir.InsertionPoint(op), op.location:
            kept = _signed_nan_kept(op.operands[0])
        op.results[0].replace_all_uses_with(kept)
        op.erase()
    for op in mlir.ops_where(module_op, lambda op: op.name == "linalg.generic"):
        generic = op.opview
        block = generic.regions[0].blocks[0]
        folds = any(str(kind) == "#linalg.iterator_type<reduction>" for kind in generic.iterator_types)
        for arg in list(block.arguments)[:len(generic.inputs)]:
            if arg.type == bf16:
                computed_with = [use for use in arg.uses if not (folds and _widened(use.owner))]
                if computed_with:
                    with ir.InsertionPoint.at_block_begin(block), generic.location:
                        rounded = _rounded(arg)
                    for use in computed_with:
                        use.owner.operands[use.operand_number] = rounded


def _widened(op) -> bool:
    """Whether `op` converts a bfloat16 to a wider float (exactly)."""
    return op.name == "arith.extf" and ir.FloatType(op.results[0].type).width > 16


def _rounded(x: ir.Value) -> ir.Value:
    """x, a bfloat16 that may stand for a float32 (above), rounded to bfloat16."""
    f32, i32 = ir.F32Type.get(), ir.IntegerType.get_signless(32)
    wide = arith.extf(f32, x)
    bits = arith.bitcast(i32, wide)
    lowest_kept = arith.andi(arith.shrui(bits, _int(16)), _int(1))
    kept = arith.andi(arith.addi(bits, arith.addi(_int(0x7FFF), lowest_kept)), _int(-0x10000))
    return _chosen_bits(cmpf("uno", wide, wide), x, arith.truncf(x.type, arith.bitcast(f32, kept)))


def _signed_nan_kept(x: ir.Value) -> ir.Value:
    """truncf(x) to bfloat16, but a NaN x the quiet NaN of its sign: the
    bits 0x7fc0 | (x's sign bit, at bit 15)."""
    width, i16 = ir.FloatType(x.type).width, ir.IntegerType.get_signless(16)
    sign = arith.trunci(i16, arith.shrui(arith.bitcast(ir.IntegerType.get_signless(width), x), _int(width - 1, width)))
    nan = arith.bitcast(ir.BF16Type.get(), arith.ori(arith.shli(sign, _int(15, 16)), _int(0x7FC0, 16)))
    return _chosen_bits(cmpf("uno", x, x), nan, arith.truncf(ir.BF16Type.get(), x))


def _chosen_bits(condition, a: ir.Value, b: ir.Value) -> ir.Value:
    """The bfloat16 a where `condition`, else b, selected as 16-bit integers:
    IREE computes a select of bfloat16 in float32, through a truncf that
    makes every NaN 0x7fc0 again."""
    return arith.bitcast(a.type, select(condition, _bits(a), _bits(b)))


def _bits(x: ir.Value) -> ir.Value:
    """A bfloat16's 16 bits. A generic's input's are the high half of its
    float32 (extf only appends zeros): IREE's SPIR-V code holds a loaded
    bfloat16 as a float32, which it cannot bitcast to 16 bits. (Not so a
    truncf's result: MLIR folds extf(truncf(y)) to y, unrounded.)"""
    i16 = ir.IntegerType.get_signless(16)
    if not isinstance(x, ir.BlockArgument):
        return arith.bitcast(i16, x)
    wide = arith.bitcast(ir.IntegerType.get_signless(32), arith.extf(ir.F32Type.get(), x))
    return arith.trunci(i16, arith.shrui(wide, _int(16)))


def _int(value: int, width: int = 32) -> ir.Value:
    return arith.constant(ir.IntegerType.get_signless(width), value)

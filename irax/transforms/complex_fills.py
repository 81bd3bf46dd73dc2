"""A pass that writes each fill of a complex128 tensor as a fill of its
real and imaginary parts, reinterpreted as complex:

    %z = linalg.fill ins(%v : complex<f64>) outs(%e : tensor<S x complex<f64>>)
  ->
    %parts = linalg.generic outs(tensor<S x 2 x f64>) {   // part k of %v: re (k = 0), im (k = 1)
               select(index(last) == 0, complex.re %v, complex.im %v) }
    %z = flow.tensor.bitcast %parts : tensor<S x 2 x f64> -> tensor<S x complex<f64>>

Why: IREE 3.13 makes a fill a splat of the value's bits (`stream.async.splat`),
and a complex128's bits are an i128, for which there is no splat: under jit
`zeros(3, complex128)` did not compile. Split into parts, a constant fill
folds back to a splat of floats (zeros: re == im) and the bitcast costs
nothing (the layouts are the same). complex64 fills stay as they are (an
i64 splat): one updated two ways in one program (`z.at[0].set(a),
z.at[1].set(b)`) fails in IREE's stream layer ("used resource not listed
in explicit captures"), and parts would get past that, but IREE's SPIR-V
code crashed on them in a complex gradient (svd's). Static shapes only: an
eager kernel's fill is dynamic, and its complex128 zeros compile.
"""
from iree.compiler import ir
from iree.compiler.dialects import arith, complex as complex_dialect, flow, linalg, tensor

from irax.ir import mlir


def complex_fills_as_parts(module_op):
    for fill in mlir.ops_where(module_op, _is_static_complex_fill):
        _split(fill)


def _is_static_complex_fill(op) -> bool:
    """A fill of a static complex128 tensor."""
    if op.name != "linalg.fill":
        return False
    typ = ir.RankedTensorType(op.results[0].type)
    return (isinstance(typ.element_type, ir.ComplexType) and typ.has_static_shape
            and ir.ComplexType(typ.element_type).element_type == ir.F64Type.get())


def _split(fill):
    typ = ir.RankedTensorType(fill.results[0].type)
    part = ir.ComplexType(typ.element_type).element_type
    shape = list(typ.shape)
    rank = len(shape) + 1
    value = fill.operands[0]
    with ir.InsertionPoint(fill), fill.location:
        def body(_):
            first = arith.CmpIOp(arith.CmpIPredicate.eq, linalg.IndexOp(rank - 1).result, mlir.index(0)).result
            return [arith.SelectOp(first, complex_dialect.ReOp(value).result, complex_dialect.ImOp(value).result).result]

        parts = mlir.generic([], [tensor.EmptyOp(shape + [2], part).result], [list(range(rank))],
                             [mlir.PARALLEL] * rank, body)[0]
        cast = flow.TensorBitCastOp(typ, parts, [], [])
    fill.results[0].replace_all_uses_with(cast.result)
    fill.erase()

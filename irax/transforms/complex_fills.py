"""A pass that rewrites complex constants and fills into forms IREE 3.13
compiles. Two rewrites, in this order:

1. A generic that reads a complex splat (a constant, which irax writes as
   a generic joining two float constants (mlir.dense_constant: the Python
   bindings cannot read a complex dense attribute back), or a fill of a
   complex.constant) as an input reads the scalar instead:

    %zero = linalg.generic ins(%re, %im : tensor<f32>, ...) { complex.create }     // %re, %im: constants
    %w = linalg.generic ins(%mask, %x, %zero ...) { ... %in_zero ... }
  ->
    %w = linalg.generic ins(%mask, %x ...) { %c = complex.constant [0.0, 0.0]  ... %c ... }

   Why: a generic that reads only constants becomes an IREE dispatch with
   no operands (a fill, a splat), which IREE's stream scheduler clones into
   the execution regions that use it. Once CSE has merged the one in a
   program with those in the loops of an inlined kernel (a complex zero in
   a `where` of the program and of its LU or triangular-solve kernels: grad
   of abs(det(a)) or slogdet(a) of a complex matrix), the copy outside the
   loops was left out of every region: "'stream.async.dispatch' op :
   streamable op expected to be in an execution region" (as
   'stream.async.splat' where it was a fill). A scalar in the body leaves
   nothing to schedule (as a float constant does: IREE folds it into the
   dispatches that read it).

2. A fill of a complex128 tensor, or of a complex64 one with equal parts
   (zeros) or updated at two places, becomes a generic writing its parts,
   where it is not an init:

    %z = linalg.fill ins(%v : complex<f64>) outs(%e : tensor<S x complex<f64>>)
  ->
    %parts = linalg.generic outs(tensor<S x 2 x f64>) {   // part k of %v: re (k = 0), im (k = 1)
               select(index(last) == 0, complex.re %v, complex.im %v) }
    %z = flow.tensor.bitcast %parts : tensor<S x 2 x f64> -> tensor<S x complex<f64>>
    %w = util.optimization_barrier %z      // what the updates write into, where two are and re != im

   Why: IREE 3.13 makes a fill a splat of the value's bits
   (`stream.async.splat`), and a complex128's bits are an i128, for which
   there is no splat: under jit `zeros(3, complex128)` did not compile.
   Split into parts, a constant fill folds back to a splat of floats (zeros:
   re == im) and the bitcast costs nothing (the layouts are the same). A
   complex64 fill (an i64 splat) updated two ways in one program
   (`z.at[0].set(a), z.at[1].set(b)`; the two cotangents of `x[0] * x[1]`,
   each added into zeros) got one buffer for both updates in IREE's stream
   layer: "used resource not listed in explicit captures", or the sum of
   both twice (a gradient 2x too large). Its parts, a float splat, are
   copied for each update. Parts that are not a splat (re != im: `1 + 2j`,
   ones) are a dispatch with no operands, and IREE 3.13 wrongly makes the
   copy-on-write clone each update needs a second such dispatch, which its
   CSE merges with the first: both updates wrote into one buffer (the
   second result came out zeros, the first held both updates; the same bug
   hits any generator, float32 `arange(3.0)` or `eye(3)` updated twice:
   shared_generators.py). Behind a
   `util.optimization_barrier`, the value the updates write into is an
   ordinary buffer, which IREE copies for one of them. So a complex64 fill
   updated at two places (`tensor.insert_slice` destinations) becomes parts
   too; one updated once, or not at all, stays a fill (a splat), and two
   scatters into a fill are right as they are (IREE fuses the fill into
   each scatter's dispatch). Where a fill is the init
   of a linalg op (a product's initial 1), it stays a fill: IREE fuses it
   into each op, while parts, a constant, became one buffer every reduction
   starting from it updated in place (`prod(x), prod(x[:2])` came out
   wrong). Static shapes only: an eager kernel's fill is dynamic, and its
   complex128 zeros compile.
"""
from iree.compiler import ir
from iree.compiler.dialects import arith, complex as complex_dialect, flow, linalg, tensor

from irax.ir import iree, mlir
from irax.transforms.cleanup import drop_unused_inputs
from irax.transforms.shared_generators import is_update_destination


def complex_fills_as_parts(module_op):
    for op in mlir.ops_where(module_op, _reads_complex_splat):
        _read_splats_as_scalars(op.opview)
    for fill in mlir.ops_where(module_op, _is_static_complex_fill):
        _split(fill)


# ---------------------------------------------------------------------------
# 1. complex splats read as scalars

def _float_splat(value):
    """The float a constant holds everywhere (a scalar or a splat tensor), else None."""
    if not isinstance(value, ir.OpResult) or value.owner.name != "arith.constant":
        return None
    attr = value.owner.attributes["value"]
    if isinstance(attr, ir.FloatAttr):
        return attr.value
    if isinstance(attr, ir.DenseFPElementsAttr) and attr.is_splat:
        return ir.FloatAttr(attr.get_splat_value()).value
    return None


def _complex_splat(value):
    """The complex number a tensor holds everywhere, where it is a constant
    (mlir.dense_constant's generic joining two splat parts) or a fill of a
    complex.constant; else None."""
    if not isinstance(value, ir.OpResult) or not isinstance(ir.RankedTensorType(value.type).element_type,
                                                            ir.ComplexType):
        return None
    op = value.owner
    if op.name == "linalg.fill":
        scalar = op.operands[0]
        if mlir.made_by(scalar, "complex.constant"):
            re, im = ir.ArrayAttr(scalar.owner.attributes["value"])
            return complex(ir.FloatAttr(re).value, ir.FloatAttr(im).value)
        return None
    if op.name != "linalg.generic" or len(op.results) != 1:
        return None
    generic = op.opview
    body = generic.regions[0].blocks[0]
    ops = list(body.operations)
    if len(ops) != 2 or ops[0].name != "complex.create" or ops[1].operands[0] != ops[0].result:
        return None
    reads = dict(zip(body.arguments, generic.inputs))
    re, im = (_float_splat(reads.get(v, v)) for v in ops[0].operands)
    return None if re is None or im is None else complex(re, im)


def _reads_complex_splat(op) -> bool:
    return op.name == "linalg.generic" and any(_complex_splat(v) is not None for v in op.opview.inputs)


def _read_splats_as_scalars(op):
    body = op.regions[0].blocks[0]
    splats = {}  # the splats read, by value
    with ir.InsertionPoint.at_block_begin(body), op.location:
        for arg, value in zip(body.arguments, op.inputs):
            splat = _complex_splat(value)
            if splat is not None:
                arg.replace_all_uses_with(mlir.complex_constant(arg.type, splat))
                splats[value] = value.owner
    drop_unused_inputs(op)
    for producer in splats.values():  # erased where nothing reads them any more
        if not any(True for _ in producer.results[0].uses):
            producer.erase()


# ---------------------------------------------------------------------------
# 2. complex128 fills, and complex64 zeros or fills updated twice, as their parts

def _is_static_complex_fill(op) -> bool:
    """A fill of a static complex128 tensor, or of a complex64 one with a
    constant whose parts are equal (zeros), whose parts are a float splat, or
    that is written into at two places or more (its i64 splat then did not compile)."""
    if op.name != "linalg.fill":
        return False
    typ = ir.RankedTensorType(op.results[0].type)
    if not isinstance(typ.element_type, ir.ComplexType) or not typ.has_static_shape:
        return False
    if ir.ComplexType(typ.element_type).element_type == ir.F64Type.get():
        return True
    return _parts_are_a_splat(op) or len(_writes(op)) > 1


def _parts_are_a_splat(fill) -> bool:
    """Whether the fill's value is a constant with equal parts (zeros), whose
    parts IREE folds to a float splat."""
    value = _complex_splat(fill.results[0])
    return value is not None and value.real == value.imag


def _writes(fill) -> list:
    """The uses of the fill that IREE runs as updates of it in place."""
    return [use for use in fill.results[0].uses if is_update_destination(use)]


def _initializes(use) -> bool:
    """Whether a use of a value is as the output (init) of a linalg op, which
    IREE fuses a fill into: each dispatch writes its own, with no splat."""
    owner = use.owner
    return owner.name.startswith("linalg.") and use.operand_number >= len(owner.operands) - len(owner.results)


def _split(fill):
    """Read the fill's parts where it is not an init. Where it is (a complex
    product's initial 1), the fill stays: the parts, a constant, would become
    one buffer IREE 3.13 lets every reduction that starts from it update in
    place (`prod(x), prod(x[:2])` of complex128 came out wrong)."""
    uses = [(use.owner, use.operand_number, is_update_destination(use)) for use in fill.results[0].uses
            if not _initializes(use)]
    if not uses:
        return
    shared = sum(write for *_, write in uses) > 1 and not _parts_are_a_splat(fill)
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
        # Parts that are not a splat are an IREE dispatch with no operands,
        # which IREE 3.13 rematerializes for each copy-on-write clone and then
        # merges again by CSE: two updates wrote into one buffer. Behind a
        # barrier the updates get a real copy.
        written = iree.opaque(cast.result)[0] if shared else cast.result
    for owner, index, write in uses:
        owner.operands[index] = written if write else cast.result
    if not any(True for _ in fill.results[0].uses):
        fill.erase()

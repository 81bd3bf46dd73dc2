"""Tensor-level building blocks the autodiff rules emit: zeros, sums, and
loops that differentiate a `linalg.generic` body."""
from iree.compiler import ir
from iree.compiler.dialects import arith, func, tensor

from irax.ir import mlir
from irax.transforms.ad import scalar_jvp


def tensor_type(value) -> ir.RankedTensorType:
    return ir.RankedTensorType(value.type)


def is_float_tensor(value) -> bool:
    """A tensor of floats or complex numbers: the values autodiff differentiates."""
    typ = value.type
    return isinstance(typ, ir.RankedTensorType) and isinstance(typ.element_type, (ir.FloatType, ir.ComplexType))


def empty_like(value) -> ir.Value:
    return tensor.EmptyOp(mlir.dims(value), tensor_type(value).element_type).result


def zero_of(elem: ir.Type) -> ir.Value:
    """The scalar constant 0 of a float, complex or integer element type."""
    if isinstance(elem, (ir.FloatType, ir.ComplexType)):
        return scalar_jvp.constant(elem, 0.0)
    return arith.ConstantOp(elem, ir.IntegerAttr.get(elem, 0)).result


def zeros_like(value) -> ir.Value:
    """A zero tensor of value's type (sizes read from value where dynamic)."""
    return mlir.fill_tensor(zero_of(tensor_type(value).element_type), empty_like(value))


def is_zeros(value) -> bool:
    """Whether `value` is what zeros_like makes for floats: a fill with 0.0."""
    fill = value.owner if isinstance(value, ir.OpResult) else None
    zero = fill.operands[0].owner if fill is not None and fill.name == "linalg.fill" else None
    if not (isinstance(zero, ir.OpView) and zero.name == "arith.constant"):
        return False
    attr = zero.attributes["value"]
    return isinstance(attr, ir.FloatAttr) and attr.value == 0


def add(a, b) -> ir.Value:
    """a + b for two float (or complex) tensors of one type."""
    rank = tensor_type(a).rank
    init = empty_like(a)
    ident = list(range(rank))
    return mlir.generic([a, b], [init], [ident] * 3, [mlir.PARALLEL] * rank,
                        lambda x, y, _: [scalar_jvp.add(x, y)])[0]


def convert(value, elem: ir.Type) -> ir.Value:
    """The float tensor `value` with element type `elem`."""
    if tensor_type(value).element_type == elem:
        return value
    rank = tensor_type(value).rank
    init = tensor.EmptyOp(mlir.dims(value), elem).result
    ident = list(range(rank))
    return mlir.generic([value], [init], [ident] * 2, [mlir.PARALLEL] * rank,
                        lambda x, _: [scalar_jvp.convert(x, elem)])[0]


class _Unavailable:
    """The tangent of an op that cannot be differentiated (it has no rule, as
    a loop inside a special function, whose marked result has a rule of its
    own; or its rule raised JAX's error for that input): an error only if
    something reads it (`_Tangents.get`)."""

    def __init__(self, error):
        self.error = error


class _Tangents(dict):
    def get(self, key, default=None):
        t = super().get(key, default)
        if isinstance(t, _Unavailable):
            raise t.error
        return t


def clone_body(old_block, new_args, seeds, stop_at=None, op_seeds=None):
    """Copy the ops of `old_block` into the current insertion point, reading
    `new_args` for its arguments, and carry tangents forward from `seeds`
    ({old block argument index: tangent Value}) and `op_seeds` ({old op result:
    make(cloned op) -> its tangent}, for values read with tensor.extract).

    Returns (mapping old Value -> new Value, tangents old Value -> tangent).
    Stops before `stop_at` (an op of the old block) or the terminator.
    """
    mapping = {old: new for old, new in zip(old_block.arguments, new_args)}
    tangents = _Tangents({old_block.arguments[i]: t for i, t in seeds.items()})
    op_seeds = op_seeds or {}
    for op in old_block.operations:
        if (stop_at is not None and op == stop_at) or op.operation.name == "linalg.yield":
            break
        new_op = mlir.clone_op(op, mapping)
        result = op.operation.results[0] if len(op.operation.results) == 1 else None
        if result is not None and result in op_seeds:
            tangents[result] = op_seeds[result](new_op)
            continue
        rule, reads = scalar_jvp.rule_for(op)
        operand_tangents = [dict.get(tangents, v) for v in reads]
        if all(t is None for t in operand_tangents):
            continue
        unavailable = [t for t in operand_tangents if isinstance(t, _Unavailable)]
        if rule is None and not unavailable:
            unavailable = [_Unavailable(NotImplementedError(
                f"irax autodiff has no derivative rule for '{op.operation.name}'"))]
        if not unavailable:
            try:
                tangents[op.operation.results[0]] = rule(
                    new_op.results[0], [mapping.get(v, v) for v in reads], operand_tangents)
                continue
            except scalar_jvp.NotDifferentiableInput as error:
                unavailable = [_Unavailable(error.__cause__)]
        for r in op.operation.results:
            tangents[r] = unavailable[0]
    return mapping, tangents


def reshape_static(value, shape):
    """`value` (static shape) collapsed to 1-D, or a 1-D value expanded to `shape`."""
    typ = tensor_type(value)
    if typ.rank == 0:  # one element: no dims to group (reassociation [])
        result = ir.RankedTensorType.get(shape, typ.element_type)
        return tensor.ExpandShapeOp(result, value, mlir.reassociation([]), [], shape).result
    if not shape:
        return tensor.CollapseShapeOp(ir.RankedTensorType.get([], typ.element_type), value, mlir.reassociation([])).result
    if len(shape) == 1 and typ.rank != 1:
        flat = ir.RankedTensorType.get(shape, typ.element_type)
        return tensor.CollapseShapeOp(flat, value, mlir.reassociation([list(range(typ.rank))])).result
    result = ir.RankedTensorType.get(shape, typ.element_type)
    return tensor.ExpandShapeOp(result, value, mlir.reassociation([list(range(len(shape)))]), [], shape).result


def clone_function(func_op, name):
    """A copy of `func_op` named `name`, right after it: (copy, its block, its return op).
    Both AD passes start from one and extend its body and signature."""
    with ir.InsertionPoint.after(func_op):
        new = func_op.operation.clone()
    new.attributes["sym_name"] = ir.StringAttr.get(name)
    block = new.regions[0].blocks[0]
    return new, block, block.operations[len(block.operations) - 1]


def set_results(new, block, ret, values):
    """Replace the return op `ret` of function `new` by one returning `values`."""
    with ir.InsertionPoint(ret):
        func.ReturnOp(values)
    ret.erase()
    arg_types = [a.type for a in block.arguments]
    new.attributes["function_type"] = ir.TypeAttr.get(ir.FunctionType.get(arg_types, [v.type for v in values]))

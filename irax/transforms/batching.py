"""Batching of an MLIR function, written as an MLIR pass (the core of irax.vmap).

Given `func.func @f(%x...) -> (%y...)`, `add_batched(module, in_dims, B)` adds

    func.func @f_batched(%xb...) -> (%yb...)

where argument i has a new axis of size B at `in_dims[i]` (None: no new
axis, the same x for every b) and every result has the axis B first:

    yb[b] = f(xb[b]...)        for b in range(B)

Ops are copied in program order, and each value is either *unbatched* (the
same for every b, so the copy is the op as it was) or *batched* (its batch
axis first). An op that reads a batched value, directly or from inside its
regions, becomes

    RULES[op name](op, batch) -> its results, all batched

A `linalg.generic` gains a leading parallel loop over b: its batched operands
and its results index that loop first, its unbatched operands keep their maps,
so elementwise ops, broadcasts, reductions and contractions batch alike.
Structural ops (reshapes, slices, concat, pad, transpose) get the batch axis
as a new leading dimension. A batched *scalar* (read from a batched tensor
with `tensor.extract`) is a tensor of shape (B,).
"""
import collections

from iree.compiler import ir
from iree.compiler.dialects import flow, func, linalg, tensor, util

from irax.ir import mlir
from irax.ir.linalg import iterator_names, map_results
from irax.transforms.ad import custom
from irax.transforms.ad.differentiate import differentiate
from irax.transforms.ad.tensor_ops import tensor_type


class Batch:
    """The state of the walk: the copy of every value and which are batched."""

    def __init__(self, size, symbols):
        self.size = size
        self.symbols = symbols  # the module's functions, for calls
        self.new = {}         # old Value -> its Value in the batched function
        self.batched = set()  # old Values that are batched

    def is_batched(self, value) -> bool:
        return value in self.batched

    def moved(self, value) -> ir.Value:
        """`value`'s copy with the batch axis first, broadcast if unbatched
        (a fill or an empty tensor is made again, larger)."""
        new = self.new.get(value, value)
        if value in self.batched:
            return new
        maker = value.owner.operation.name if isinstance(value, ir.OpResult) else None
        if maker == "tensor.empty":
            return empty_batched(new, self.size)
        if maker == "linalg.fill":
            return linalg.fill(new.owner.operands[0], outs=[empty_batched(new, self.size)])
        return broadcast(new, self.size)

    def unbatched(self, op, values) -> list:
        """The copies of `values`, which `op` needs the same for every b."""
        if any(self.is_batched(v) for v in values):
            raise NotImplementedError(f"irax.vmap has no batching rule for '{op.operation.name}' with a batched "
                                      "index or size operand")
        return [self.new.get(v, v) for v in values]


def batched_type(typ, size) -> ir.RankedTensorType:
    """The tensor type (or scalar type) `typ` with a leading axis of `size`."""
    if isinstance(typ, ir.RankedTensorType):
        return ir.RankedTensorType.get([size] + list(typ.shape), typ.element_type)
    return ir.RankedTensorType.get([size], typ)


def empty_batched(value, size) -> ir.Value:
    """tensor.empty of `value`'s type with a leading axis of `size`."""
    return tensor.EmptyOp([size] + mlir.dims(value), tensor_type(value).element_type).result


def broadcast(value, size) -> ir.Value:
    """`value` repeated along a new leading axis of `size`."""
    rank = tensor_type(value).rank
    return mlir.generic([value], [empty_batched(value, size)], [list(range(1, rank + 1)), list(range(rank + 1))],
                        [mlir.PARALLEL] * (rank + 1), lambda x, _: [x])[0]


def transpose_to_front(value, axis) -> ir.Value:
    """`value` with its axis `axis` moved first (the others in order)."""
    shape = list(tensor_type(value).shape)
    perm = [axis] + [d for d in range(len(shape)) if d != axis]
    init = tensor.EmptyOp([shape[d] for d in perm], tensor_type(value).element_type).result
    return linalg.transpose(value, outs=[init], permutation=perm).results[0]


def _captured(op) -> list:
    """The values the regions of `op` read from outside it."""
    inside, read = set(), []

    def visit(inner):
        for region in inner.regions:
            for block in region.blocks:
                inside.update(block.arguments)
        inside.update(inner.results)
        read.extend(inner.operands)
        return ir.WalkResult.ADVANCE

    for region in op.operation.regions:
        for block in region.blocks:
            inside.update(block.arguments)
            for inner in block.operations:
                inner.operation.walk(visit)
    return [v for v in dict.fromkeys(read) if v not in inside]


def _copy_attributes(old, new, skip):
    """Carry the attributes irax marks ops with (irax.stop_gradient) over to the batched op."""
    for name in old.operation.attributes:
        if name not in skip:
            new.attributes[name] = old.operation.attributes[name]


_GENERIC_ATTRS = {"indexing_maps", "iterator_types", "operandSegmentSizes"}


def _generic(op, batch):
    """A new leading parallel loop b: batched operands and every result read
    and write at [b, map(i)], unbatched operands at map(i). In the body,
    `linalg.index k` becomes `linalg.index k+1`, a read `S[i...]` of a batched
    tensor S becomes `S[b, i...]`, and a batched scalar captured from outside
    is one more input, read at [b]."""
    n_in = len(op.inputs)
    old_maps = [map_results(m) for m in op.indexing_maps]
    shift = lambda dims: [d + 1 for d in dims]  # noqa: E731
    old_block = op.regions[0].blocks[0]
    scalars = [v for v in _captured(op) if batch.is_batched(v) and not isinstance(v.type, ir.RankedTensorType)]
    ins = [batch.new.get(v, v) for v in op.inputs] + [batch.new[s] for s in scalars]
    maps = [([0] if batch.is_batched(v) else []) + shift(m) for v, m in zip(op.inputs, old_maps)]
    maps += [[0]] * len(scalars)
    outs = []
    for v, arg, m in zip(op.outputs, list(old_block.arguments)[n_in:], old_maps[n_in:]):
        # an output the body never reads needs no values, only a shape
        fresh = not batch.is_batched(v) and not list(arg.uses)
        outs.append(empty_batched(batch.new.get(v, v), batch.size) if fresh else batch.moved(v))
        maps.append([0] + shift(m))

    def body(*args):
        old_args = list(old_block.arguments)
        mapping = collections.ChainMap(dict(zip(old_args[:n_in] + scalars + old_args[n_in:], args)), batch.new)
        for inner in list(old_block.operations)[:-1]:
            name = inner.operation.name
            if name == "linalg.index":
                mapping[inner.result] = linalg.IndexOp(ir.IntegerAttr(inner.attributes["dim"]).value + 1).result
            elif name == "tensor.extract" and batch.is_batched(inner.operands[0]):
                indices = [linalg.IndexOp(0).result] + [mapping.get(v, v) for v in list(inner.operands)[1:]]
                mapping[inner.result] = tensor.ExtractOp(batch.new[inner.operands[0]], indices).result
            elif any(batch.is_batched(v) and isinstance(v.type, ir.RankedTensorType)
                     for v in list(inner.operands) + _captured(inner)):
                raise NotImplementedError(f"irax.vmap has no batching rule for '{name}' reading a batched tensor "
                                          "inside a linalg.generic")
            else:
                mlir.clone_op(inner, mapping)
        return [mapping.get(v, v) for v in old_block.operations[len(old_block.operations) - 1].operands]

    results = mlir.generic(ins, outs, maps, [mlir.PARALLEL] + iterator_names(op), body)
    _copy_attributes(op, results[0].owner, _GENERIC_ATTRS)
    return results


def _groups(op) -> list:
    return [[ir.IntegerAttr(i).value for i in group] for group in op.reassociation]


def _batched_groups(groups, rank):
    """Reassociation groups with the batch axis in a group of its own (or, for
    a reshape to or from a 0-d tensor, whose groups are empty, the only group)."""
    return [[0]] + [[d + 1 for d in g] for g in groups] if groups else [list(range(rank + 1))]


def _collapse_shape(op, batch):
    groups = _batched_groups(_groups(op), tensor_type(op.src).rank)
    result = batched_type(op.result.type, batch.size)
    return [tensor.CollapseShapeOp(result, batch.moved(op.src), mlir.reassociation(groups)).result]


def _expand_shape(op, batch):
    groups = _batched_groups(_groups(op), tensor_type(op.result).rank)
    result = batched_type(op.result.type, batch.size)
    sizes = batch.unbatched(op, op.output_shape)
    static = [batch.size] + list(op.static_output_shape)
    return [tensor.ExpandShapeOp(result, batch.moved(op.src), mlir.reassociation(groups), sizes, static).result]


def _transpose(op, batch):
    permutation = [0] + [p + 1 for p in op.permutation]
    init = empty_batched(batch.new.get(op.init, op.init), batch.size)
    return list(linalg.transpose(batch.moved(op.input), outs=[init], permutation=permutation).results)


def _copy(op, batch):
    init = empty_batched(batch.new.get(op.outputs[0], op.outputs[0]), batch.size)
    return [linalg.copy(batch.moved(op.inputs[0]), outs=[init])]


def _slice_attrs(op, batch):
    """(dynamic offsets, sizes, strides; static offsets, sizes, strides) of a
    slice op, with the whole batch axis first."""
    dynamic = [batch.unbatched(op, vs) for vs in (op.offsets, op.sizes, op.strides)]
    static = [[0] + list(op.static_offsets), [batch.size] + list(op.static_sizes), [1] + list(op.static_strides)]
    return dynamic + static


def _extract_slice(op, batch):
    result = batched_type(op.result.type, batch.size)
    return [tensor.ExtractSliceOp(result, batch.moved(op.source), *_slice_attrs(op, batch)).result]


def _insert_slice(op, batch):
    return [tensor.InsertSliceOp(batch.moved(op.source), batch.moved(op.dest), *_slice_attrs(op, batch)).result]


def _concat(op, batch):
    result = batched_type(op.result.type, batch.size)
    dim = ir.IntegerAttr(op.attributes["dim"]).value
    return [tensor.ConcatOp(result, dim + 1, [batch.moved(v) for v in op.inputs]).result]


def _pad(op, batch):
    """The same padding, none along the batch axis; the padding value must be
    one for all b."""
    old_block = op.regions[0].blocks[0]
    if any(batch.is_batched(v) for v in _captured(op)):
        raise NotImplementedError("irax.vmap has no batching rule for 'tensor.pad' with a batched padding value")
    low, high = batch.unbatched(op, op.low), batch.unbatched(op, op.high)
    result = batched_type(op.result.type, batch.size)
    new = tensor.PadOp(result, batch.moved(op.source), low, high, [0] + list(op.static_low),
                       [0] + list(op.static_high), nofold="nofold" in op.attributes)
    index = ir.IndexType.get()
    block = new.regions[0].blocks.append(*[index] * (len(old_block.arguments) + 1))
    mapping = collections.ChainMap(dict(zip(old_block.arguments, list(block.arguments)[1:])), batch.new)
    with ir.InsertionPoint(block):
        for inner in old_block.operations:
            mlir.clone_op(inner, mapping)
    return [new.result]


def _fill(op, batch):
    """Fill a batched init, or broadcast a batched scalar (a (B,) tensor)."""
    value, out = op.inputs[0], op.outputs[0]
    init = empty_batched(batch.new.get(out, out), batch.size)
    if not batch.is_batched(value):
        return [linalg.fill(batch.new.get(value, value), outs=[init])]
    rank = tensor_type(init).rank
    return mlir.generic([batch.new[value]], [init], [[0], list(range(rank))], [mlir.PARALLEL] * rank,
                        lambda v, _: [v])


def _extract(op, batch):
    """`S[i...]` of a batched S: the batched scalar S[:, i...], a (B,) tensor."""
    source = batch.new[op.tensor]
    indices = batch.unbatched(op, op.indices)
    rank = len(indices)
    result = batched_type(op.result.type, batch.size)
    return [tensor.ExtractSliceOp(result, source, indices, [], [], [0] + [mlir.DYNAMIC()] * rank,
                                  [batch.size] + [1] * rank, [1] * (rank + 1)).result]


def _barrier(op, batch):
    values = [batch.moved(v) for v in op.operands]
    return list(util.OptimizationBarrierOp([v.type for v in values], values).results)


def _tie_shape(op, batch):
    return [flow.TensorTieShapeOp(batch.moved(op.operands[0]), batch.unbatched(op, list(op.operands)[1:])).result]


def _call(op, batch):
    """A call of a function: its body, batched in place."""
    if custom.VJP_BWD in op.attributes or custom.JVP in op.attributes:
        raise NotImplementedError("irax.vmap has no batching rule for 'func.call' of a custom_vjp or custom_jvp "
                                  "function")
    block = batch.symbols[ir.FlatSymbolRefAttr(op.attributes["callee"]).value].regions[0].blocks[0]
    for arg, v in zip(block.arguments, op.operands):
        batch.new[arg] = batch.new.get(v, v)
        (batch.batched.add if batch.is_batched(v) else batch.batched.discard)(arg)
    batch_ops(list(block.operations)[:-1], batch)
    return [batch.moved(r) for r in block.operations[len(block.operations) - 1].operands]


RULES = {
    "linalg.generic": _generic,
    "tensor.collapse_shape": _collapse_shape,
    "tensor.expand_shape": _expand_shape,
    "linalg.transpose": _transpose,
    "linalg.copy": _copy,
    "tensor.extract_slice": _extract_slice,
    "tensor.insert_slice": _insert_slice,
    "tensor.concat": _concat,
    "tensor.pad": _pad,
    "linalg.fill": _fill,
    "tensor.extract": _extract,
    "util.optimization_barrier": _barrier,
    "flow.tensor.tie_shape": _tie_shape,
    "func.call": _call,
}


def batch_ops(ops, batch):
    """Copy `ops` (in program order) at the insertion point, batched where
    they read a batched value (see the module's docstring)."""
    for op in ops:
        reads = list(op.operation.operands) + _captured(op)
        if not any(batch.is_batched(v) for v in reads):
            mlir.clone_op(op, batch.new)
            batch.batched.difference_update(op.operation.results)  # a function called twice: forget the first call
            continue
        rule = RULES.get(op.operation.name)
        if rule is None:
            raise NotImplementedError(f"irax.vmap has no batching rule for '{op.operation.name}'")
        for old, new in zip(op.operation.results, rule(op.opview, batch)):
            batch.new[old] = new
            batch.batched.add(old)


def build_batched(func_op, in_dims, axis_size, name=None):
    """Add `@{name}` (default `@{f}_batched`), the batched `func_op`.
    Returns it and, per result, whether it depends on the batch (the others
    were broadcast along the batch axis)."""
    block = func_op.regions[0].blocks[0]
    arg_types = []
    for arg, dim in zip(block.arguments, in_dims):
        shape = list(tensor_type(arg).shape)
        if dim is not None:
            shape.insert(dim, axis_size)
        arg_types.append(ir.RankedTensorType.get(shape, tensor_type(arg).element_type))
    with ir.InsertionPoint.after(func_op):
        new = func.FuncOp(name or f"{func_op.name.value}_batched", (arg_types, []))
    new_block = new.add_entry_block()
    batch = Batch(axis_size, ir.SymbolTable(func_op.operation.parent))
    ops = list(block.operations)
    with ir.InsertionPoint(new_block):
        for arg, new_arg, dim in zip(block.arguments, new_block.arguments, in_dims):
            if dim is not None:
                batch.new[arg] = new_arg if dim == 0 else transpose_to_front(new_arg, dim)
                batch.batched.add(arg)
            else:
                batch.new[arg] = new_arg
        batch_ops(ops[:-1], batch)
        results = list(ops[-1].operands)
        values = [batch.moved(r) for r in results]
        func.ReturnOp(values)
    new.attributes["function_type"] = ir.TypeAttr.get(ir.FunctionType.get(arg_types, [v.type for v in values]))
    return new, [batch.is_batched(r) for r in results]


def add_batched(module, in_dims, axis_size, of="main", name=None):
    """The batching pass on a module: add `@{of}_batched`, built by
    `build_batched(@{of}, in_dims, axis_size)`; return it and which of its
    results depend on the batch. The derivatives the module declares are
    defined first (ad/differentiate.py): they are batched as the ops they are."""
    with module.context, ir.Location.unknown():
        differentiate(module.operation)
        return build_batched(ir.SymbolTable(module.operation)[of], in_dims, axis_size, name)

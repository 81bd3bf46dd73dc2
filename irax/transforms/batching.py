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
                                  (or: results, which of them are batched)

A `linalg.generic` gains a leading parallel loop over b: its batched operands
and its results index that loop first, its unbatched operands keep their maps,
so elementwise ops, broadcasts, reductions and contractions batch alike.
Structural ops (reshapes, slices, concat, pad, transpose) get the batch axis
as a new leading dimension; a slice at a batched offset is a generic that
reads (or, inserting, writes) each member's own elements, as JAX's gather
and scatter (batching_slices.py). A batched *scalar* (read from a batched
tensor with `tensor.extract`) is a tensor of shape (B,) (batched_values.py);
an op on scalars that reads one runs inside a generic over b.

Control flow follows JAX's rules. A loop (scf.for, scf.while) carries a
value batched where its init is or where its body makes it so, found as a
fixed point; an scf.if's result is batched where either branch makes it so.
A batched predicate becomes data: a cond runs both branches and selects per
member, a while loop runs until every member is done, each member keeping its
carry from the step its own test fails. A scatter scatters into the whole
batch at once.
"""
import collections

from iree.compiler import ir
from iree.compiler.dialects import arith, flow, func, linalg, scf, tensor, util

from irax.ir import kernels, mlir
from irax.ir.convolution import marker
from irax.ir.iree import linalg_ext_scan_like, linalg_ext_scatter, scan_dimension
from irax.ir.linalg import iterator_names, map_results
from irax.ir.scalar import select
from irax.transforms.ad import convolution, custom, host_calls
from irax.transforms.ad.differentiate import differentiate
from irax.transforms.ad.tensor_ops import tensor_type
from irax.transforms.batched_values import (batched_type, broadcast, empty_batched, stored, stored_type,
                                            transpose_to_front, unstored)
from irax.transforms.batching_slices import (batched_placement, extract_at_batched_offsets, insert_at_batched_offsets,
                                             inserts_padded)


class Batch:
    """The state of the walk: the copy of every value and which are batched."""

    def __init__(self, size, symbols):
        self.size = size
        self.symbols = symbols  # the module's functions, for calls
        self.new = {}         # old Value -> its Value in the batched function
        self.batched = set()  # old Values that are batched
        self.padded = set()   # batched slices of batched sizes (extract_at_batched_offsets)

    def is_batched(self, value) -> bool:
        return value in self.batched

    def moved(self, value) -> ir.Value:
        """`value`'s copy with the batch axis first, broadcast if unbatched
        (a fill or an empty tensor is made again, larger)."""
        new = self.new.get(value, value)
        if value in self.padded:  # passed on by a terminator, or read as a whole
            raise NotImplementedError(f"irax.vmap has no batching rule for a slice whose size is batched "
                                      f"(a {value.type}) but its insertion at the same size")
        if value in self.batched:
            return new
        maker = value.owner.operation.name if isinstance(value, ir.OpResult) else None
        if maker == "tensor.empty":
            return empty_batched(new, self.size)
        if maker == "linalg.fill":
            return mlir.fill_tensor(new.owner.operands[0], empty_batched(new, self.size))
        return broadcast(new, self.size)

    def unbatched(self, op, values) -> list:
        """The copies of `values`, which `op` needs the same for every b."""
        if any(self.is_batched(v) for v in values):
            raise NotImplementedError(f"irax.vmap has no batching rule for '{op.operation.name}' with a batched "
                                      "index or size operand")
        return [self.new.get(v, v) for v in values]


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
    scalars = [v for v in mlir.captured(op) if batch.is_batched(v) and not isinstance(v.type, ir.RankedTensorType)]
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
        ins, captured, outs = args[:n_in], args[n_in:n_in + len(scalars)], args[n_in + len(scalars):]
        args = [*ins, *map(unstored, scalars, captured), *outs]
        mapping = collections.ChainMap(dict(zip(old_args[:n_in] + scalars + old_args[n_in:], args)), batch.new)
        for inner in list(old_block.operations)[:-1]:
            name = inner.operation.name
            if name == "linalg.index":
                mapping[inner.result] = linalg.IndexOp(ir.IntegerAttr(inner.attributes["dim"]).value + 1).result
            elif name == "tensor.extract" and batch.is_batched(inner.operands[0]):
                indices = [linalg.IndexOp(0).result] + [mapping.get(v, v) for v in list(inner.operands)[1:]]
                mapping[inner.result] = tensor.ExtractOp(batch.new[inner.operands[0]], indices).result
            elif any(batch.is_batched(v) and isinstance(v.type, ir.RankedTensorType)
                     for v in list(inner.operands) + mlir.captured(inner)):
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
    if batched_placement(op, batch):
        return extract_at_batched_offsets(op, batch)
    if batch.size == 0:  # nothing to read (MLIR refuses the offset 0 of an axis of size 0)
        sizes = iter(batch.unbatched(op, op.sizes))
        shape = [next(sizes) if d == mlir.DYNAMIC() else d for d in tensor_type(op.result).shape]
        return [tensor.EmptyOp([0] + shape, tensor_type(op.result).element_type).result]
    result = batched_type(op.result.type, batch.size)
    return [tensor.ExtractSliceOp(result, batch.moved(op.source), *_slice_attrs(op, batch)).result]


def _insert_slice(op, batch):
    if batched_placement(op, batch):
        return [insert_at_batched_offsets(op, batch)]
    if batch.size == 0:  # nothing to write (MLIR refuses the offset 0 of an axis of size 0)
        return [batch.moved(op.dest)]
    return [tensor.InsertSliceOp(batch.moved(op.source), batch.moved(op.dest), *_slice_attrs(op, batch)).result]


def _concat(op, batch):
    result = batched_type(op.result.type, batch.size)
    dim = ir.IntegerAttr(op.attributes["dim"]).value
    return [tensor.ConcatOp(result, dim + 1, [batch.moved(v) for v in op.inputs]).result]


def _pad(op, batch):
    """The same padding, none along the batch axis; the padding value must be
    one for all b."""
    old_block = op.regions[0].blocks[0]
    if any(batch.is_batched(v) for v in mlir.captured(op)):
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
        return [mlir.fill_tensor(batch.new.get(value, value), init)]
    rank = tensor_type(init).rank
    return mlir.generic([batch.new[value]], [init], [[0], list(range(rank))], [mlir.PARALLEL] * rank,
                        lambda v, _: [unstored(value, v)])


def _extract(op, batch):
    """`S[i...]` of a batched S: the batched scalar S[:, i...], a (B,) tensor."""
    source = batch.new[op.tensor]
    indices = batch.unbatched(op, op.indices)
    rank = len(indices)
    result = ir.RankedTensorType.get([batch.size], op.result.type)
    if batch.size == 0:  # no member (MLIR refuses the offset 0 of an axis of size 0)
        column = tensor.EmptyOp([0], op.result.type).result
    else:
        column = tensor.ExtractSliceOp(result, source, indices, [], [], [0] + [mlir.DYNAMIC()] * rank,
                                       [batch.size] + [1] * rank, [1] * (rank + 1)).result
    if not isinstance(op.result.type, ir.IndexType):
        return [column]
    stored = tensor.EmptyOp([batch.size], stored_type(op.result.type)).result
    return mlir.generic([column], [stored], [[0], [0]], [mlir.PARALLEL], lambda i, _: [stored(i)])


def _dim(op, batch):
    """The size of a batched tensor's dimension, one further in: the same
    for every member (a padded slice's is its padded size, see batch_ops)."""
    index = arith.addi(batch.unbatched(op, [op.index])[0], mlir.index(1))
    return [tensor.DimOp(batch.new[op.source], index).result], [False]


def _barrier(op, batch):
    values = [batch.moved(v) for v in op.operands]
    return list(util.OptimizationBarrierOp([v.type for v in values], values).results)


def _tie_shape(op, batch):
    return [flow.TensorTieShapeOp(batch.moved(op.operands[0]), batch.unbatched(op, list(op.operands)[1:])).result]


# Calls whose batching a rule of the frontend gives (custom_vmap's:
# frontend/custom_batching.py): the attribute that marks such a call ->
# rule(call, batched, size), which adds to the call's module a function of
# the call's operands (those `batched` with the batch axis first) and returns
# it and which of its results are batched.
CALL_RULES = {}


def _call(op, batch):
    """A call of a function: its body, batched in place; the results that
    do not depend on a batched operand stay unbatched (vmap's out_axes=None
    of a jvp's primal output)."""
    if host_calls.is_callback(op):
        return _callback(op, batch)
    rule = next((rule for attribute, rule in CALL_RULES.items() if attribute in op.attributes), None)
    if rule is not None:
        return _ruled_call(op, rule, batch)
    if any(a in op.attributes for a in (custom.VJP_BWD, custom.JVP, custom.NO_DERIVATIVE)):
        return _custom_call(op, batch)
    callee = batch.symbols[ir.FlatSymbolRefAttr(op.attributes["callee"]).value]
    if kernels.kernel_of(callee) is not None:
        return _kernel_call(op, callee, batch)
    block = callee.regions[0].blocks[0]
    operands = list(op.operands)
    _bind(batch, block.arguments, [batch.new.get(v, v) for v in operands], [batch.is_batched(v) for v in operands])
    results = _batch_block(block, batch)
    batched = [batch.is_batched(r) for r in results]  # (a result the batch does not reach stays unbatched)
    return [batch.moved(r) if b else batch.new.get(r, r) for r, b in zip(results, batched)], batched


def _ruled_call(op, rule, batch):
    """A call marked for one of CALL_RULES: a call of the function its rule
    adds for this batch, on the operands as they are."""
    operands = list(op.operands)
    function, batched = rule(op, [batch.is_batched(v) for v in operands], batch.size)
    return list(func.CallOp(function, [batch.new.get(v, v) for v in operands]).results), batched


def _kernel_call(op, callee, batch):
    """A call of a kernel function (ir/kernels.py) stays one call, of the
    function batched with its marks kept: a kernel takes any leading batch
    dims, so a backend's code for it serves the batched one as well. Every
    operand goes in batched (an unbatched one broadcast)."""
    batched = _batched_function(mlir.enclosing_module(op), callee, [0] * len(op.operands), batch.size)
    kernels.copy_marks(callee, batched)
    return list(func.CallOp(batched, [batch.moved(v) for v in op.operands]).results)


def _batched_function(module, function, dims, size):
    """@function batched `size` times, its arguments along `dims` (0 or None
    each), private; made once per batch size and dims, so that a function
    called again (a rule calling its own function) reuses it."""
    name = f"{function.name.value}_vmap{size}_{''.join('b' if d == 0 else 'u' for d in dims)}"
    existing = mlir.find_function(module, name)
    if existing is not None:
        return existing
    new = build_batched(function, dims, size, name)[0]
    new.attributes["sym_visibility"] = ir.StringAttr.get("private")
    return new


def _callback(op, batch):
    """A callback stays one call, of an import declared for the batch: it
    takes the operands as they are, batched or not (its declaration says
    which: host_calls.BATCHED), and gives every result batched. A
    collective's operands go in batched, broadcast if need be, so that its
    host function sees every enclosing vmap's batch axis, outermost first. What Python
    it runs (the callback per member, or once on the batch, as its
    vmap_method says) the frontend decides (callbacks.batched_host_functions)."""
    if host_calls.COLLECTIVE in op.attributes:  # every operand batched here, so its batch axes are in vmap order
        operands, batched = [batch.moved(v) for v in op.operands], [True] * len(op.operands)
    else:
        operands = [batch.new.get(v, v) for v in op.operands]
        batched = [batch.is_batched(v) for v in op.operands]
    result_types = [batched_type(r.type, batch.size) for r in op.results]
    name = _batched_import(op, ir.FlatSymbolRefAttr(op.attributes["callee"]).value, batched,
                           [v.type for v in operands], result_types, batch.size)
    call = func.CallOp(result_types, ir.FlatSymbolRefAttr.get(name), operands)
    _copy_attributes(op, call, {"callee"})
    if host_calls.TRANSPOSE in op.attributes:  # a linear collective's transpose, batched too (for grad of vmap)
        transpose = ir.FlatSymbolRefAttr(op.attributes[host_calls.TRANSPOSE]).value
        call.attributes[host_calls.TRANSPOSE] = ir.FlatSymbolRefAttr.get(_batched_import(
            op, transpose, [True], result_types, [v.type for v in operands], batch.size))
    return list(call.results)


def _batched_import(op, callee, batched, operand_types, result_types, size) -> str:
    """The name of import @callee batched `size` times, its operands
    `batched` or not, declared beside it (with `op`'s kind) if new."""
    name = f"{callee}_vmap{size}_{''.join('b' if b else 'u' for b in batched)}"
    module = mlir.enclosing_module(op)
    if mlir.find_function(module, name) is None:
        with ir.InsertionPoint.at_block_begin(module.regions[0].blocks[0]):
            declaration = func.FuncOp(name, (operand_types, result_types), visibility="private")
        declaration.attributes[host_calls.BATCHED_OF] = ir.StringAttr.get(callee)
        declaration.attributes[host_calls.BATCHED] = ir.DenseBoolArrayAttr.get(batched)
        for attribute in (host_calls.CALLBACK, host_calls.VMAP_METHOD):
            if attribute in op.attributes:
                declaration.attributes[attribute] = op.attributes[attribute]
    return name


def _custom_call(op, batch):
    """A call of a custom_vjp or custom_jvp function (or of one with no
    derivative, its mark kept) stays one, as in JAX:
    the function and each of its rules (custom.py) become functions of their
    own, batched, that a new call names. Every argument %x goes in batched,
    an unbatched one broadcast, so that the rules' derivatives have the
    arguments' shapes; the broadcast's own derivative then sums an unbatched
    argument's cotangent over the batch. The closed-over arrays %c go in as
    they are. Every result comes out batched, and so do the fwd rule's
    residuals: the bwd rule takes them, and the cotangents, batched."""
    args, closed = custom.split_operands(op)
    closed_dims = [0 if batch.is_batched(c) else None for c in closed]
    module = mlir.enclosing_module(op)

    def batched(function, n_batched):
        return _batched_function(module, function, [0] * n_batched + closed_dims, batch.size)

    n = len(args)
    callee = batched(batch.symbols[ir.FlatSymbolRefAttr(op.attributes["callee"]).value], n)
    rules = {}  # a call may carry both kinds (custom_vjp_and_jvp)
    if custom.VJP_BWD in op.attributes:
        bwd = custom.rule_function(op, custom.VJP_BWD)
        rules = {custom.VJP_FWD: batched(custom.rule_function(op, custom.VJP_FWD), n),
                 custom.VJP_BWD: batched(bwd, len(bwd.type.inputs) - len(closed))}
    if custom.JVP in op.attributes:
        rules[custom.JVP] = batched(custom.rule_function(op, custom.JVP), 2 * n)
    call = func.CallOp(callee, [batch.moved(a) for a in args] + [batch.new.get(c, c) for c in closed])
    for attribute, rule in rules.items():
        call.attributes[attribute] = ir.FlatSymbolRefAttr.get(rule.name.value)
    if custom.NO_DERIVATIVE in op.attributes:
        call.attributes[custom.NO_DERIVATIVE] = op.attributes[custom.NO_DERIVATIVE]
    return list(call.results)


# ---------------------------------------------------------------------------
# Control flow: the ops of a region are batched like any others, and which
# values a loop carries batched is a fixed point, as in JAX.

def _bind(batch, olds, news, batched):
    """Let `news` stand for `olds` (block arguments, results), each batched or not."""
    for old, new, is_batched in zip(olds, news, batched):
        batch.new[old] = new
        (batch.batched.add if is_batched else batch.batched.discard)(old)


def _batch_block(block, batch) -> list:
    """Batch the ops of `block` at the insertion point; return the (old)
    values its terminator passes on."""
    ops = list(block.operations)
    batch_ops(ops[:-1], batch)
    return list(ops[-1].operands)


def _carried(batch, value, batched) -> ir.Value:
    """`value`'s copy, with the batch axis if it is to be `batched`."""
    return batch.moved(value) if batched else batch.new.get(value, value)


def _carried_type(value, batched, size) -> ir.Type:
    return batched_type(value.type, size) if batched else value.type


def _fixed_point(build, batched):
    """The op `build(batched)` makes with its carries (or results) batched
    where `batched` says, once the values its regions pass on need no more:
    `build` returns the op and which of those values are batched; a value
    that is batched where its carry is not makes that carry batched from the
    start, and the op is built again (each round batches one carry more)."""
    while True:
        op, needed = build(batched)
        grown = [b or n for b, n in zip(batched, needed)]
        if grown == batched:
            return list(op.results), batched
        op.operation.erase()
        batched = grown


def _select(pred, on_true, on_false) -> ir.Value:
    """Row b of `on_true` where pred[b], else row b of `on_false` (pred: a
    batched scalar, a (B,) tensor of i1)."""
    rank = tensor_type(on_true).rank
    every = list(range(rank))
    init = tensor.EmptyOp(mlir.dims(on_true), tensor_type(on_true).element_type).result
    return mlir.generic([pred, on_true, on_false], [init], [[0], every, every, every], [mlir.PARALLEL] * rank,
                        lambda p, t, f, _: [select(p, t, f)])[0]


def _any(pred) -> ir.Value:
    """The i1 scalar `pred[0] or pred[1] or ...` of a batched scalar `pred`."""
    i1 = tensor_type(pred).element_type
    init = mlir.fill_tensor(arith.ConstantOp(i1, 0).result, tensor.EmptyOp([], i1).result)
    reduced = mlir.generic([pred], [init], [[0], []], [mlir.REDUCTION], lambda p, acc: [arith.ori(p, acc)])[0]
    return tensor.ExtractOp(reduced, []).result


def _for(op, batch):
    """scf.for (fori_loop, scan: a trip count the same for every b) on the
    batch: the same loop, its body batched, each carry batched where its init
    is or where the body makes it so."""
    lower, upper, step = batch.unbatched(op, list(op.operands)[:3])
    old = op.regions[0].blocks[0]
    inits = list(op.operands)[3:]

    def build(batched):
        new = scf.ForOp(lower, upper, step, [_carried(batch, v, b) for v, b in zip(inits, batched)])
        _bind(batch, old.arguments, [new.induction_variable, *new.inner_iter_args], [False, *batched])
        with ir.InsertionPoint(new.body):
            yields = _batch_block(old, batch)
            scf.YieldOp([_carried(batch, v, b) for v, b in zip(yields, batched)])
        return new, [batch.is_batched(v) for v in yields]

    return _fixed_point(build, [batch.is_batched(v) for v in inits])


def _if(op, batch):
    """scf.if (cond, switch). A predicate the same for every b: the same if,
    its branches batched, a result batched where either branch makes it so.
    A batched predicate, as JAX does: both branches run on the whole batch
    and member b takes its results from the branch its predicate picks,

        result = select(pred, then(x), else(x))

    (switch's nested ifs become nested selects). Each branch reads the float
    values from outside through `select(pred, x, stop_gradient(x))` (the else
    branch: taken where pred fails), as JAX's rule does: the gradient of
    member b flows through its own branch only, not through a NaN or inf of
    the branch it did not take (grad of vmap of cond(x > 0, sqrt, ...) at
    x < 0: JAX's 0, not NaN); forward values are unchanged."""
    if batch.is_batched(op.condition):
        pred = batch.new[op.condition]
        floats = [v for v in mlir.captured(op) if isinstance(v.type, ir.RankedTensorType) and v not in batch.padded
                  and isinstance(tensor_type(v).element_type, (ir.FloatType, ir.ComplexType))]
        outside = [(batch.new.get(v, v), batch.is_batched(v)) for v in floats]
        moved = [batch.moved(v) for v in floats]
        frozen = [mlir.stop_gradient(x) for x in moved]
        guards = ([_select(pred, x, f) for x, f in zip(moved, frozen)],   # then: x where pred holds
                  [_select(pred, f, x) for x, f in zip(moved, frozen)])   # else: x where it fails
        branches = []
        for region, guarded in zip(op.regions, guards):
            _bind(batch, floats, guarded, [True] * len(floats))
            branches.append([batch.moved(v) for v in _batch_block(region.blocks[0], batch)])
        for v, (new, batched) in zip(floats, outside):  # outside the if, the values are unguarded again
            _bind(batch, [v], [new], [batched])
        return [_select(pred, a, b) for a, b in zip(*branches)]
    pred = batch.new.get(op.condition, op.condition)

    def build(batched):
        types = [_carried_type(r, b, batch.size) for r, b in zip(op.results, batched)]
        new = scf.IfOp(pred, types, has_else=len(op.regions[1].blocks) > 0)
        needed = [False] * len(batched)
        for old_region, region in zip(op.regions, new.regions):
            for old, block in zip(old_region.blocks, region.blocks):
                with ir.InsertionPoint(block):
                    yields = _batch_block(old, batch)
                    scf.YieldOp([_carried(batch, v, b) for v, b in zip(yields, batched)])
                needed = [n or batch.is_batched(v) for n, v in zip(needed, yields)]
        return new, needed

    return _fixed_point(build, [False] * len(op.results))


def _while(op, batch):
    """scf.while (while_loop, fori_loop with traced bounds), which irax emits
    as `scf.while (c = init) { scf.condition(test(c)) c } do { yield body(c) }`.
    A test the same for every b: the same loop, its carry batched as scf.for's.
    A batched test (members stop after different numbers of steps), as JAX
    does: every carry batched, the loop runs while any member's test holds,
    and a member whose test fails keeps its carry:

        scf.while (c = init) { scf.condition(any_b test(c)) c }
        do { yield select(test(c), body(c), c) }
    """
    before, after = (region.blocks[0] for region in op.regions)
    condition = list(before.operations)[-1]
    if list(condition.operands)[1:] != list(before.arguments):
        raise NotImplementedError("irax.vmap has no batching rule for 'scf.while' whose condition does not pass on "
                                  "its carry unchanged")
    inits = list(op.operands)

    def build(batched):
        types = [_carried_type(v, b, batch.size) for v, b in zip(inits, batched)]
        new = scf.WhileOp(types, [_carried(batch, v, b) for v, b in zip(inits, batched)])
        test_block, body_block = new.before.blocks.append(*types), new.after.blocks.append(*types)
        _bind(batch, before.arguments, test_block.arguments, batched)
        with ir.InsertionPoint(test_block):
            test = _batch_block(before, batch)[0]
            selects = batch.is_batched(test)
            if selects and not all(batched):
                return new, [True] * len(batched)  # built again with every carry batched
            scf.ConditionOp(_any(batch.new[test]) if selects else batch.new.get(test, test), test_block.arguments)
        _bind(batch, after.arguments, body_block.arguments, batched)
        with ir.InsertionPoint(body_block):
            yields = _batch_block(after, batch)
            values = [_carried(batch, v, b) for v, b in zip(yields, batched)]
            if selects:  # the test again, on the carry the body got
                _bind(batch, before.arguments, body_block.arguments, batched)
                pred = batch.new[_batch_block(before, batch)[0]]
                values = [_select(pred, v, c) for v, c in zip(values, body_block.arguments)]
            scf.YieldOp(values)
        return new, [batch.is_batched(v) for v in yields]

    return _fixed_point(build, [batch.is_batched(v) for v in inits])


def _scalar(op, batch):
    """An op on scalars (arith, math) reading a batched scalar, a (B,)
    tensor: the op inside a generic over b."""
    batched = [v for v in dict.fromkeys(op.operation.operands) if batch.is_batched(v)]
    inits = [tensor.EmptyOp([batch.size], stored_type(r.type)).result for r in op.operation.results]

    def body(*args):
        mapping = collections.ChainMap({v: unstored(v, a) for v, a in zip(batched, args)}, batch.new)
        return [stored(r) for r in mlir.clone_op(op, mapping).results]

    return mlir.generic([batch.new[v] for v in batched], inits, [[0]] * (len(batched) + len(inits)),
                        [mlir.PARALLEL], body)


def _on_scalars(op) -> bool:
    values = list(op.operation.operands) + list(op.operation.results)
    return not op.operation.regions and not any(isinstance(v.type, ir.ShapedType) for v in values)


def _scatter(op, batch):
    """iree_linalg_ext.scatter as irax emits it (ir/iree.py): 1-D updates,
    (n, 1) targets and a 1-D destination of size m. The batch is one such
    scatter: member b's destination is row b of a (B, m) tensor, flattened,
    so its target t becomes b*m + t; each member's updates keep their order
    (repeated targets accumulate, or the last one wins, as before)."""
    updates, targets, dest = (batch.moved(v) for v in op.operation.operands)
    size, n, m = batch.size, tensor_type(updates).shape[1], tensor_type(dest).shape[1]
    i64 = tensor_type(targets).element_type
    offset = arith.ConstantOp(i64, m).result

    def shift(t, _):
        b = arith.index_cast(i64, linalg.IndexOp(0).result)
        return [arith.addi(t, arith.muli(b, offset))]

    shifted = mlir.generic([targets], [tensor.EmptyOp([size, n, 1], i64).result], [[0, 1, 2]] * 2,
                           [mlir.PARALLEL] * 3, shift)[0]

    def flat(value, shape, groups):
        typ = ir.RankedTensorType.get(shape, tensor_type(value).element_type)
        return tensor.CollapseShapeOp(typ, value, mlir.reassociation(groups)).result

    old = op.regions[0].blocks[0]

    def combine(current, update):
        mapping = collections.ChainMap(dict(zip(old.arguments, [update, current])), batch.new)
        for inner in list(old.operations)[:-1]:
            mlir.clone_op(inner, mapping)
        (value,) = list(old.operations)[-1].operands
        return mapping.get(value, value)

    result = linalg_ext_scatter(flat(updates, [size * n], [[0, 1]]), flat(shifted, [size * n, 1], [[0, 1], [2]]),
                                flat(dest, [size * m], [[0, 1]]), combine)
    return [tensor.ExpandShapeOp(dest.type, result, mlir.reassociation([[0, 1]]), [], [size, m]).result]


def _scan(op, batch):
    """iree_linalg_ext.scan: the same scan of the batch, one dimension further in."""
    x, out, acc = (batch.moved(v) for v in op.operation.operands)
    return linalg_ext_scan_like(op, x, out, acc, scan_dimension(op) + 1)


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
    "tensor.dim": _dim,
    "util.optimization_barrier": _barrier,
    "flow.tensor.tie_shape": _tie_shape,
    "func.call": _call,
    "scf.for": _for,
    "scf.if": _if,
    "scf.while": _while,
    "iree_linalg_ext.scatter": _scatter,
    "iree_linalg_ext.scan": _scan,
    **convolution.BATCH_RULES,
}


# Ops that take only a padded slice's size (zeros the size of a slice, the
# cotangent of an insert): their results are padded too, readable only by an
# insert at each member's own size.
_SIZED_LIKE = {"tensor.dim", "tensor.empty", "linalg.fill"}


def batch_ops(ops, batch):
    """Copy `ops` (in program order) at the insertion point, batched where
    they read a batched value (see the module's docstring)."""
    for op in ops:
        reads = list(op.operation.operands) + mlir.captured(op)
        batch.padded.difference_update(op.operation.results)  # a function called twice: forget the first call
        if any(v in batch.padded for v in reads) and not inserts_padded(op, batch):
            if op.operation.name not in _SIZED_LIKE:
                raise NotImplementedError(f"irax.vmap has no batching rule for '{op.operation.name}' reading a "
                                          "slice whose size is batched (but its insertion at the same size)")
            batch.padded.update(op.operation.results)
        # A collective is batched even when it reads nothing batched: over
        # vmap(axis_name=...)'s axis its host function finds that vmap's
        # batch axis by counting the batch axes in front (collectives.py).
        collective = host_calls.COLLECTIVE in op.operation.attributes
        if not collective and not any(batch.is_batched(v) for v in reads):
            mlir.clone_op(op, batch.new)
            batch.batched.difference_update(op.operation.results)  # a function called twice: forget the first call
            continue
        rule = RULES.get(marker(op) or op.operation.name) or (_scalar if _on_scalars(op) else None)
        if rule is None:
            raise NotImplementedError(f"irax.vmap has no batching rule for '{op.operation.name}'")
        results = rule(op.opview, batch)
        results, batched = results if isinstance(results, tuple) else (results, [True] * len(results))
        _bind(batch, op.operation.results, results, batched)


def build_batched(func_op, in_dims, axis_size, name=None, unbroadcast=()):
    """Add `@{name}` (default `@{f}_batched`), the batched `func_op`.
    Returns it and, per result, whether it depends on the batch (the others
    were broadcast along the batch axis, but for those at the positions
    `unbroadcast`, returned as they are: vmap's out_axes None, which must
    survive a batch of size 0)."""
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
        values = [batch.new.get(r, r) if i in unbroadcast and not batch.is_batched(r) else batch.moved(r)
                  for i, r in enumerate(results)]
        func.ReturnOp(values)
    new.attributes["function_type"] = ir.TypeAttr.get(ir.FunctionType.get(arg_types, [v.type for v in values]))
    return new, [batch.is_batched(r) for r in results]


def add_batched(module, in_dims, axis_size, of="main", name=None, unbroadcast=()):
    """The batching pass on a module: add `@{of}_batched`, built by
    `build_batched(@{of}, in_dims, axis_size, unbroadcast=unbroadcast)`;
    return it and which of its results depend on the batch. The derivatives
    the module declares are defined first (ad/differentiate.py): they are
    batched as the ops they are."""
    with module.context, ir.Location.unknown():
        differentiate(module.operation)
        return build_batched(ir.SymbolTable(module.operation)[of], in_dims, axis_size, name, unbroadcast)

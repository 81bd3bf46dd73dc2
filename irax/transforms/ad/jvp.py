"""Forward-mode autodiff of an MLIR function, written as an MLIR pass.

Given `func.func @f(%x...) -> (%y...)`, `build_jvp` adds

    func.func @f_jvp(%x..., %t[wrt]...) -> (%y..., %t_y...)

which computes each op's output tangent right after the op, in program order:

    RULES[op name](op, operand tangents) -> result tangents      (None = zero)

A `linalg.generic` becomes a second generic over the same loops that reads
the inputs and their tangents and yields the tangent of its body (forward
differentiation of the scalar body, see scalar_jvp.py). Structural ops are
linear, so their tangent is the same op applied to the tangents.
"""
from iree.compiler import ir
from iree.compiler.dialects import tensor

from irax.ir import mlir
from irax.ir.iree import scan_sums
from irax.transforms.ad import control_flow, convolution, custom, generic, host_calls, remat, scatter_extremal, tensor_ops
from irax.transforms.ad.generic import NotDifferentiable
from irax.transforms.ad.scalar_jvp import add, const_like
from irax.transforms.ad.tensor_ops import empty_like, is_float_tensor, tensor_type, zero_of, zeros_like
from irax.transforms.ad.vjp import active_values, while_activity


def _read_tangent(tangent):
    """A gather's extract of S[i...] has the tangent t_S[i...]."""
    return lambda new_extract: tensor.ExtractOp(tangent, list(new_extract.operands)[1:]).result


def _generic(op, tangents, tangent_of_source):
    tangent_of = dict(zip(op.operands, tangents)) | tangent_of_source
    if not generic.differentiable_results(op, lambda v: tangent_of.get(v) is not None)[0]:
        return [None]  # floor(x), x > 0 and the like: a zero tangent, which no later op may scale into NaN
    info = generic.analyze(op)
    n = len(info.inputs)
    active = [k for k in range(n) if tangents[k] is not None]
    result = op.results[0]
    extra, chain = generic.chain_factor(info) or ([], None)
    if info.kind == "sum" and tangents[n] is not None:
        init = tangents[n]
    elif info.kind == "map":
        init = empty_like(result)
    else:
        init = zeros_like(result)

    gathered = {e.result: _read_tangent(tangent_of_source[e.operands[0]])
                for e in info.extracts() if tangent_of_source.get(e.operands[0]) is not None}

    def body(*args):
        new_ins, t_args = args[:n], args[n:n + len(active)]
        extras, acc = args[n + len(active):-1], args[-1]
        mapping, tangent_of = info.clone_body(new_ins, acc, dict(zip(active, t_args)), gathered)
        t = tangent_of.get(info.g)
        if t is None:
            t = const_like(acc, 0.0)
        if info.kind == "map":
            return [t]
        if chain is not None:
            t = chain(t, mapping[info.g], *extras)
        return [add(acc, t)]

    ins = info.inputs + [tangents[k] for k in active] + extra
    maps = info.maps[:n] + [info.maps[k] for k in active] + [info.out_map] * len(extra) + [info.out_map]
    iterators = info.iterators if info.kind != "map" else [mlir.PARALLEL] * len(info.iterators)
    return [mlir.generic(ins, [init], maps, iterators, body)[0]]


def _linear(op, tangents):
    """Ops that only move data: the same op on the tangent of operand 0."""
    new = mlir.clone_op(op, {op.operands[0]: tangents[0]})
    return [new.results[0]]


def _dense(op, tangents):
    """Tangents of every tensor operand of a multi-operand linear op, zeros for
    inactive ones (index operands, such as dynamic offsets, have none)."""
    return [t if t is not None or not isinstance(v.type, ir.RankedTensorType) else zeros_like(v)
            for v, t in zip(op.operands, tangents)]


def _insert_slice(op, tangents):
    src, dest = _dense(op, tangents)[:2]
    new = mlir.clone_op(op, {op.operands[0]: src, op.operands[1]: dest})
    return [new.results[0]]


def _concat(op, tangents):
    new = mlir.clone_op(op, dict(zip(op.operands, _dense(op, tangents))))
    return [new.results[0]]


def _pad(op, tangents):
    """Pad the tangent with zeros (whatever the primal was padded with)."""
    zero = zero_of(tensor_type(op.results[0]).element_type)
    new = mlir.clone_op(op, {op.operands[0]: tangents[0]})
    block = new.regions[0].blocks[0]
    yield_op = block.operations[len(block.operations) - 1]
    yield_op.operands[0] = zero
    return [new.results[0]]


def _scatter(op, tangents):
    """Scatters that set or add are linear in (updates, dest): scatter the tangents.
    One that multiplies is linear in dest alone: scatter its tangent by the same updates.
    max/min: JAX's shares among the candidates equal to the result (scatter_extremal.py)."""
    updates, targets, dest = op.operands
    kind = generic.scatter_kind(op)
    if kind in ("max", "min"):
        t_updates, _, t_dest = _dense(op, tangents)
        return [scatter_extremal.jvp(op, t_updates, t_dest)]
    if kind == "multiply":
        if tangents[0] is not None:
            raise NotDifferentiable("irax autodiff: the derivative of x.at[index_array].multiply(v) with "
                                    "respect to v is not implemented (JAX has it only for unique indices)")
        new = mlir.clone_op(op, {dest: _dense(op, tangents)[2]})
        return [new.results[0]]
    t_updates, _, t_dest = _dense(op, tangents)
    new = mlir.clone_op(op, {updates: t_updates, dest: t_dest})
    return [new.results[0]]


def _call(op, tangents):
    """A call of a custom_jvp function (or of irax's custom_vjp_and_jvp): its
    rule, inlined, gives the results' tangents. The arrays it closes over have none (see custom.py).
    A call of a checkpointed function: the tangents of its body, inlined
    (forward mode keeps no intermediates to recompute; CSE merges the copy
    with the call once that is inlined too), as of a custom_vmap function's."""
    if remat.is_remat(op) or custom.CUSTOM_VMAP in op.operation.attributes:
        block = custom.rule_function(op, "callee").regions[0].blocks[0]
        seeds = [(a, t) for a, t in zip(block.arguments, tangents) if t is not None]
        return region_forward(block, dict(zip(block.arguments, op.operands)), {}, seeds)[1]
    if host_calls.is_collective(op):
        return host_calls.collective_jvp(op, tangents)
    if host_calls.is_callback(op):  # only a pure callback has results to differentiate
        raise host_calls.not_differentiable(op)
    if custom.NO_DERIVATIVE in op.operation.attributes:
        raise custom.no_derivative(op)
    if custom.JVP not in op.operation.attributes and custom.VJP_BWD in op.operation.attributes:
        raise TypeError("can't apply forward-mode autodiff (jvp) to a custom_vjp function.")
    args, closed = custom.split_operands(op)
    if any(t is not None for t in tangents[len(args):]):
        raise custom.closure_error(op)
    tangents = [t if t is not None else zeros_like(v) for v, t in zip(args, tangents)]
    rule = custom.rule_function(op, custom.JVP)
    operands = args + tangents + closed
    outputs = mlir.inline_function(rule, operands)
    custom.read_the_call_not_the_copy(op.results, outputs[:len(op.results)], operands)
    return outputs[len(op.results):]


def _scan(op, tangents):
    """A scan that sums is linear in what it scans: the same scan of its tangent."""
    if not scan_sums(op):
        raise NotDifferentiable("irax autodiff: only an iree_linalg_ext.scan that adds is differentiable")
    return [mlir.clone_op(op, {op.operands[0]: tangents[0]}).results[0], None]


def _no_tangent(op, tangents):
    return [None] * len(op.results)


def _stop_gradient(op, tangents):
    """lax.stop_gradient: no tangent; an identity that only reverse mode
    takes for a constant (mlir.stop_gradient's reverse_only) passes it on."""
    if isinstance(op.operation.attributes[generic.STOP_GRADIENT], ir.StringAttr):  # mlir.REVERSE_ONLY
        return [tangents[0]]
    return [None]


RULES = {
    "linalg.generic": _generic,
    "tensor.collapse_shape": _linear,
    "tensor.expand_shape": _linear,
    "linalg.transpose": _linear,
    "tensor.extract_slice": _linear,
    "linalg.copy": _linear,
    "tensor.insert_slice": _insert_slice,
    "tensor.concat": _concat,
    "tensor.pad": _pad,
    "tensor.empty": _no_tangent,
    "linalg.fill": _no_tangent,
    "arith.constant": _no_tangent,
    "tensor.dim": _no_tangent,
    "util.optimization_barrier": lambda op, tangents: list(tangents),
    "flow.tensor.tie_shape": lambda op, tangents: [tangents[0]],
    generic.STOP_GRADIENT: _stop_gradient,
    "func.call": _call,
    "iree_linalg_ext.scatter": _scatter,
    "iree_linalg_ext.scan": _scan,
    **convolution.JVP_RULES,
}


def _holds_reverse_only(op) -> bool:
    """Whether `op` holds, at any depth, an identity that only reverse mode
    takes for a constant (mlir.stop_gradient's reverse_only)."""
    inner_ops = []
    op.operation.walk(lambda inner: inner_ops.append(inner) or ir.WalkResult.ADVANCE)
    return any(generic.STOP_GRADIENT in inner.attributes
               and isinstance(inner.attributes[generic.STOP_GRADIENT], ir.StringAttr) for inner in inner_ops)


def _tangent_flags(op, tangent_of) -> list:
    """Which of a control-flow op's results (and so of a loop's carries) get
    tangents: those that depend on a value with a tangent, at the loops'
    fixed points (vjp.active_values); a carry that does not (a callback's
    state, a counter kept as a float) costs nothing and may feed a callback,
    as in JAX. Every float one where the op holds a reverse-only identity,
    which forward mode's tangents pass and vjp's analysis stops at."""
    floats = [is_float_tensor(r) for r in op.results]
    if _holds_reverse_only(op):
        return floats
    live = {v for v, t in tangent_of.items() if t is not None}
    if op.operation.name == "scf.while":  # a carry may be active where no result is
        flags = [c or f for c, f in zip(*while_activity(op, live))]
    else:
        active = active_values([op], live)
        flags = [r in active for r in op.results]
    return [f and is_float for f, is_float in zip(flags, floats)]


def forward(ops, tangent_of):
    """Emit the tangent of each of `ops` (in program order) right after it,
    from the tangents of the values it reads (`tangent_of`, which it extends).
    Ops with regions (control flow) read their captured values' tangents too,
    and give tangents only to the results that depend on them (`_tangent_flags`)."""
    for op in ops:
        name = generic.rule_name(op)
        if name in control_flow.JVP_RULES:
            flags = _tangent_flags(op, tangent_of)
            tangent_of.update(control_flow.JVP_RULES[name](op.opview, tangent_of, region_forward, flags))
            continue
        operand_tangents = [tangent_of.get(v) for v in op.operation.operands]
        rule = RULES.get(name)
        extra = ()
        if rule is _generic:  # a gather also depends on the tensors it reads
            extra = ({e.operands[0]: tangent_of.get(e.operands[0]) for e in generic.extracts(op)},)
        if all(t is None for t in operand_tangents + [t for d in extra for t in d.values()]):
            continue
        generic.check_not_into_bit_float(op)
        if not any(is_float_tensor(r) and any(True for _ in r.uses) for r in op.operation.results):
            continue  # comparisons, integer math, argmax's running max that nothing reads: no tangent
        if rule is None:
            raise NotDifferentiable(f"irax forward-mode autodiff has no rule for '{op.operation.name}'")
        with ir.InsertionPoint.after(op):
            for r, t in zip(op.operation.results, rule(op.opview, operand_tangents, *extra)):
                if t is not None:
                    tangent_of[r] = t


def region_forward(block, mapping, tangent_of, tangent_args=()):
    """At the insertion point: the ops of `block` (arguments through
    `mapping`) with their tangents; `tangent_args` are (block argument,
    tangent) pairs. Returns (yielded values, their tangents or None)."""
    cloned = [mlir.clone_op(op, mapping) for op in block.operations]
    local = dict(tangent_of)
    local.update((mapping[a], t) for a, t in tangent_args)
    forward(cloned[:-1], local)
    # read the terminator's operands only now: nested rules reroute values
    yielded = list(cloned[-1].operands)
    cloned[-1].erase()
    return yielded, [local.get(v) for v in yielded]


def build_jvp(func_op, wrt, name=None):
    """Add `@{name}(args..., tangents of args[wrt]...) -> (results..., result tangents)`."""
    new, block, ret = tensor_ops.clone_function(func_op, name or f"{func_op.name.value}_jvp")
    tangent_of = {}
    for i in wrt:
        arg = block.arguments[i]
        tangent_of[arg] = block.add_argument(arg.type, ir.Location.unknown())
    forward(list(block.operations)[:-1], tangent_of)
    results = list(ret.operands)  # read now: control-flow rules reroute results
    with ir.InsertionPoint(ret):
        out_tangents = [tangent_of[r] if r in tangent_of else zeros_like(r) for r in results]
    tensor_ops.set_results(new, block, ret, results + out_tangents)
    return new


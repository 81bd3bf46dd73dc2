"""Reverse-mode rules for structured control flow (`scf.if`, `scf.for`, `scf.while`).

An op with regions reads its operands and also the outer values its regions
capture; both get cotangents. The backward pass of a region is the region
again: its ops are recomputed in the new region, then differentiated there
by the same `vjp.backward` that differentiates a function body. The rules
get that driver as an argument (`region_backward`; forward mode's rules get
`region_forward`): the passes call the rules, not the other way round.

    scf.if %p {A} else {B}   ->  scf.if %p {A; backward(A)} else {B; backward(B)}
                                 yielding the cotangents of the captured values

    scf.for %i = lo to hi step s iter_args(%c = %init) {body}   (static bounds)
        forward:  the same loop, also writing each step's carry into a stack
                  saved[k] (k = the step number), replacing the original loop;
                  not a carry the body only writes into (scan's stacked ys:
                  each step sets its row), whose value no derivative reads,
                  so saving it would cost n copies of the whole stack;
                  and each step's residuals: the values the derivatives
                  read that a product or a reduction computed (the RNN
                  step's h @ W + x), stacked rather than computed again
        backward: for k = n-1 down to 0: recompute the body from saved[k]
                  (what nothing reads is dropped later, so only the cheap
                  elementwise values the derivatives read are computed
                  again), differentiate it with the carry's cotangent as
                  seed; the captured values' cotangents add up across
                  steps, except where no two steps read one row of a
                  captured value (scan's xs): each step writes its rows'
                  cotangents into a stack (`_into_rows`). A stack whose
                  rows are each written once from an inactive init
                  (scan's ys) is not carried: each step reads its rows'
                  cotangents from the loop result's (`_rows_written_once`,
                  `_read_rows_before_writes`), where a carried one cost a
                  copy of the whole stack every iteration in IREE 3.13

    scf.while  has a trip count known only at run time: no reverse mode, as in JAX.
"""
from iree.compiler import ir
from iree.compiler.dialects import arith, scf, tensor

from irax.ir import mlir
from irax.ir.linalg import iterator_names
from irax.transforms.ad import host_calls
from irax.transforms.ad.generic import DynamicBoundsError
from irax.transforms.ad.tensor_ops import add, empty_like, is_float_tensor, is_zeros, tensor_type, zeros_like


def _if(op, cts, active, region_backward):
    outer = [v for v in mlir.captured(op) if v in active]
    if not outer:
        return []
    new = scf.IfOp(op.operands[0], [v.type for v in outer], has_else=True)
    for region, block in zip(op.regions, (new.then_block, new.else_block)):
        with ir.InsertionPoint(block):
            scf.YieldOp(region_backward(region.blocks[0], {}, active, cts, outer))
    return list(zip(outer, new.results))


def _constant_index(value):
    owner = value.owner
    if getattr(owner, "name", None) != "arith.constant":
        return None
    return ir.IntegerAttr(owner.attributes["value"]).value


def _step_number(iv, lo, step):
    """(iv - lo) / step, the 0-based step number of induction value `iv`."""
    k = iv if lo == 0 else arith.subi(iv, mlir.index(lo))
    return k if step == 1 else arith.divsi(k, mlir.index(step))


def _induction_value(k, lo, step):
    """lo + k * step: the induction value of step number `k`."""
    v = k if step == 1 else arith.muli(k, mlir.index(step))
    return v if lo == 0 else arith.addi(v, mlir.index(lo))


def _written_only(body, i) -> bool:
    """Whether carry i of the loop body `body` is only written into: its value
    reaches nothing but the destinations of tensor.insert_slice ops, whose
    results go on only to the same carry's yield (or into further such
    writes). Such a value is never read, so no derivative needs it."""
    yielded = body.operations[len(body.operations) - 1]
    pending = [body.arguments[1 + i]]
    while pending:
        value = pending.pop()
        for use in value.uses:
            owner = use.owner
            if owner.name == "tensor.insert_slice" and use.operand_number == 1:
                pending.append(owner.results[0])
            elif owner != yielded or use.operand_number != i:
                return False
    return True


def _row_offset(value, iv):
    """(sign, base, c) when the index `value` is `base + sign * (iv + c)` for
    constants base, c (the row a scan step writes: `iv + c`, reversed
    `n - 1 - (iv + c)`), else None."""
    if value == iv:
        return 1, 0, 0
    name = getattr(value.owner, "name", None)
    if name == "arith.addi":
        c = _constant_index(value.owner.operands[1])
        return (1, 0, c) if c is not None and value.owner.operands[0] == iv else None
    if name == "arith.subi":
        base, inner = _constant_index(value.owner.operands[0]), _row_offset(value.owner.operands[1], iv)
        return (-1, base, inner[2]) if base is not None and inner is not None and inner[:2] == (1, 0) else None
    return None


def _rows_written_once(body, i, step) -> bool:
    """Whether the inserts into carry i (only written into, `_written_only`)
    write one row each (`mlir.set_row`) at `base + sign * (iv + c)`, with one
    sign and base and distinct c in [0, step): then no row is written twice
    across the loop, so each row's cotangent is the loop result's, untouched
    by later steps."""
    forms, pending = [], [body.arguments[1 + i]]
    while pending:
        for use in pending.pop().uses:
            owner = use.owner
            if owner.name == "tensor.insert_slice" and use.operand_number == 1:
                sizes = list(ir.DenseI64ArrayAttr(owner.attributes["static_sizes"]))
                if len(owner.operands) != 3 or sizes[0] != 1:
                    return False
                forms.append(_row_offset(owner.operands[2], body.arguments[0]))
                pending.append(owner.results[0])
    if None in forms or len({f[:2] for f in forms}) > 1:
        return False
    offsets = [f[2] for f in forms]
    return len(set(offsets)) == len(offsets) and all(0 <= c < step for c in offsets)


def _is_row_read(op, shape) -> bool:
    """Whether `op` reads one whole row at a dynamic offset, as `mlir.row` does."""
    if op.name != "tensor.extract_slice" or len(op.operands) != 2:
        return False
    sizes, offsets, strides = (list(ir.DenseI64ArrayAttr(op.attributes[f"static_{a}"]))
                               for a in ("sizes", "offsets", "strides"))
    return sizes == [1, *shape[1:]] and offsets[1:] == [0] * (len(shape) - 1) and strides == [1] * len(shape)


def _rows_read_once(loop, value, lo, step, n):
    """How the body of `loop` reads `value`, defined outside it: "all" when
    its reads are whole rows (`mlir.row`) at `base + sign * (iv + c)`, one
    sign and base and c in [0, step), so that no two steps read one row
    (scan's xs), and the steps read every row; "some" when no two steps read
    one row but not every row is read; else None."""
    body = loop.regions[0].blocks[0]
    shape = tensor_type(value).shape
    forms = []
    for use in value.uses:
        owner = use.owner.operation
        inside = owner
        while inside is not None and inside != loop.operation:
            inside = inside.parent and inside.parent.operation
        if inside is None:
            continue
        if owner.parent.operation != loop.operation or not _is_row_read(owner, shape):
            return None
        forms.append(_row_offset(owner.operands[1], body.arguments[0]))
    if not forms or None in forms or len({f[:2] for f in forms}) > 1 or not all(0 <= f[2] < step for f in forms):
        return None
    sign, base = forms[0][:2]
    rows = sorted(base + sign * (lo + k * step + c) for k in range(n) for c in {f[2] for f in forms})
    return "all" if rows == list(range(shape[0])) else "some"


def _into_rows(sum_, ct):
    """sum_ + ct, where ct is a step's cotangent of the rows it read of a
    value no two steps read one row of (`_rows_read_once`): rows inserted
    into zeros. Those rows of sum_ are still 0 (no step before wrote them),
    so the sum is the same inserts into sum_: no read, no add, and a carry
    written only by inserts, which IREE updates in place (update-stacks-in-
    place), where it copied a carry read and written (the whole stack every
    iteration)."""
    inserts, base = [], ct
    while isinstance(base, ir.OpResult) and base.owner.name == "tensor.insert_slice":
        inserts.append(base.owner)
        base = base.owner.operands[1]
    if not is_zeros(base):
        return add(sum_, ct)
    for use in list(base.uses):  # a row of the zeros read (after _read_rows_before_writes): zeros of a row
        read = use.owner
        if read.name == "tensor.extract_slice":
            with ir.InsertionPoint(read):
                read.result.replace_all_uses_with(zeros_like(read.result))
    if inserts:
        inserts[-1].operands[1] = sum_
    return ct if inserts else sum_


def _covers_reads(loop, value, ct) -> bool:
    """Whether the inserts of `ct` (`_into_rows`'s, in the body of `loop`) write
    a whole row at every offset the body reads `value` at."""
    shape = tensor_type(value).shape
    written = set()
    while isinstance(ct, ir.OpResult) and ct.owner.name == "tensor.insert_slice":
        if len(ct.owner.operands) == 3 and \
                list(ir.DenseI64ArrayAttr(ct.owner.attributes["static_sizes"])) == [1, *shape[1:]]:
            written.add(ct.owner.operands[2])
        ct = ct.owner.operands[1]
    reads = [use.owner.operation for use in value.uses if use.owner.operation.parent.operation == loop.operation]
    return all(_is_row_read(read, shape) and read.operands[1] in written for read in reads)


def _read_rows_before_writes(block, iv):
    """Each row read (`mlir.row`) of a row write (`mlir.set_row`) at another row
    of one form `base + sign * (iv + c)` reads the written-into tensor instead:
    the same values. The backward pass of a scan step reads the cotangents
    of its rows from the stack's cotangent with the later rows zeroed; read
    from the stack's cotangent itself, the zeroing is dead work (a copy of
    the whole stack per iteration) that canonicalization drops."""
    for op in block.operations:
        if op.operation.name != "tensor.extract_slice" or len(op.operands) != 2:
            continue
        read = _row_offset(op.operands[1], iv)
        while read is not None:
            source = op.operands[0]
            write = source.owner if isinstance(source, ir.OpResult) else None
            if write is None or write.name != "tensor.insert_slice" or len(write.operands) != 3:
                break
            if list(ir.DenseI64ArrayAttr(write.attributes["static_sizes"]))[0] != 1:
                break
            written = _row_offset(write.operands[2], iv)
            if written is None or written[:2] != read[:2] or written[2] == read[2]:
                break
            op.operands[0] = write.operands[1]


def _stack(value, n):
    """An empty tensor [n, *shape of value] to stack a value per step in."""
    return tensor.EmptyOp([n, *tensor_type(value).shape], tensor_type(value).element_type).result


def _recording_loop(op, n, saving, residuals):
    """A copy of the loop `op` right after it that also stacks, into tensors
    [n, *shape], each step's carry for the carries i in `saving`, and each
    step's value of the body's `residuals`; `op`'s results are rerouted to
    it. Returns the stacks, in that order."""
    lo, step = _constant_index(op.operands[0]), _constant_index(op.operands[2])
    body = op.regions[0].blocks[0]
    inits = list(op.operands[3:])
    with ir.InsertionPoint.after(op):
        stacks = [_stack(inits[i], n) for i in saving] + [_stack(r, n) for r in residuals]
        rec = scf.ForOp(op.operands[0], op.operands[1], op.operands[2], inits + stacks)
        with ir.InsertionPoint(rec.body):
            carries = list(rec.inner_iter_args)[:len(inits)]
            k = _step_number(rec.induction_variable, lo, step)
            mapping = dict(zip(body.arguments, [rec.induction_variable] + carries))
            ops = list(body.operations)
            # `op` stays only if it calls back (for that alone): its prints are the ones kept
            host_calls.drop_debug_calls([mlir.clone_op(inner, mapping) for inner in ops[:-1]])
            values = [carries[i] for i in saving] + [mapping[r] for r in residuals]
            saved = [mlir.set_row(s, v, k) for s, v in zip(list(rec.inner_iter_args)[len(inits):], values)]
            scf.YieldOp([mapping.get(v, v) for v in ops[-1].operands] + saved)
    for old, new in zip(op.results, rec.results):
        old.replace_all_uses_with(new)
    return list(rec.results)[len(inits):]


def _live(block) -> set:
    """The values of `block` (a generic's body) that what it yields depends on."""
    *ops, terminator = block.operations
    live = set(terminator.operands)
    for op in reversed(ops):
        if any(r in live for r in op.results):
            live.update(op.operands)
    return live


_CONTRACTIONS = ("matmul", "matvec", "vecmat", "dot", "conv", "pooling", "contract", "reduce")


def _reduces(op) -> bool:
    """Whether a linalg op sums (or folds) over a loop: a contraction, a
    convolution, a reduction; what is worth saving rather than computing again."""
    if op.name == "linalg.generic":
        return "reduction" in iterator_names(op)
    return op.name.startswith("linalg.") and any(word in op.name for word in _CONTRACTIONS)


_RECOMPUTED_CHEAPLY = ("linalg.fill", "linalg.copy", "linalg.transpose", "linalg.broadcast")


def _residuals(body, recomputed, back) -> list:
    """The values of `body` (top level) that the backward pass in loop `back`
    reads from their recomputation (`recomputed`: value -> its copy in
    `back`), which the forward loop can stack instead: tensors computed by
    linalg ops from what changes per step (the induction variable, the
    carries) through a product or a reduction (`_reduces`). Values read only
    to compute others again, the same at every step, or elementwise work on
    what is at hand (the cheap part, and stacking all of it made IREE 3.13
    fail to partition an unrolled fori_loop's gradient) stay recomputed."""
    varying, costly = set(body.arguments), set()
    ops = list(body.operations)[:-1]
    copies = {}
    for op in ops:
        read = list(op.operands) + mlir.captured(op)
        if any(v in varying for v in read):
            varying.update(op.results)
            if _reduces(op) or any(v in costly for v in read):
                costly.update(op.results)
        copies.update((recomputed[r].owner.operation, r) for r in op.results if r in recomputed)

    def top_level(owner):  # the op of back's body that `owner` is, or is nested in
        while owner.parent != back.operation:
            owner = owner.parent
        return owner

    live = {}  # generic -> _live of its body, found once

    def read(use):  # (a generic's input whose element its result does not depend on is pruned later)
        owner = use.owner.operation
        if owner.name == "linalg.generic" and use.operand_number < len(owner.opview.inputs):
            block = owner.regions[0].blocks[0]
            if owner not in live:
                live[owner] = _live(block)
            return block.arguments[use.operand_number] in live[owner]
        return True

    def read_by_derivatives(r):
        return any(top_level(use.owner.operation) not in copies and read(use) for use in recomputed[r].uses)

    return [r for op in ops for r in op.results
            if op.name.startswith(("linalg.", "iree_linalg_ext.")) and op.name not in _RECOMPUTED_CHEAPLY
            and r in costly and r in recomputed and isinstance(r.type, ir.RankedTensorType)
            and read_by_derivatives(r)]


def _for(op, cts, active, region_backward):
    lo, hi, step = (_constant_index(v) for v in op.operands[:3])
    if None in (lo, hi, step):
        raise DynamicBoundsError("Reverse-mode differentiation does not work for loops with dynamic start/stop values. "
                         "Try using lax.scan, or using fori_loop with static start/stop.")
    n = max(0, -(-(hi - lo) // step))
    body = op.regions[0].blocks[0]
    inits = list(op.operands[3:])
    floats = [i for i, r in enumerate(op.results) if is_float_tensor(r)]
    outer = [v for v in mlir.captured(op) if v in active]
    saving = [i for i in range(len(inits)) if not _written_only(body, i)]
    # A stack whose rows are each written once, by a loop that starts from an
    # inactive init (scan's ys): every step reads its rows' cotangents from
    # the loop result's, which no step changes, so it is not carried (a
    # carried stack is copied whole every iteration by IREE 3.13).
    fixed = {i: cts[i] for i in floats if i not in saving and inits[i] not in active
             and _rows_written_once(body, i, step)}
    carried = [i for i in floats if i not in fixed]
    with ir.InsertionPoint.after(op):  # stand-ins for the stacks of saved carries, until the forward loop is made
        stand_ins = {i: _stack(inits[i], n) for i in saving}
    # An outer value whose rows no two steps read (scan's xs): its cotangent
    # is a stack each step writes its rows into, from no init where every row is read.
    rows_read = {v: _rows_read_once(op, v, lo, step, n) for v in outer}
    back = scf.ForOp(mlir.index(0), mlir.index(n), mlir.index(1),
                     [cts[i] for i in carried] + [zeros_like(v) for v in outer])
    with ir.InsertionPoint(back.body):
        k = arith.subi(mlir.index(n - 1), back.induction_variable)
        # a carry only written into is recomputed from garbage: nothing reads it
        carries = [mlir.row(stand_ins[i], k) if i in stand_ins else empty_like(c) for i, c in enumerate(inits)]
        carry_cts = {**fixed, **dict(zip(carried, list(back.inner_iter_args)[:len(carried)]))}
        sums = list(back.inner_iter_args)[len(carried):]
        mapping = dict(zip(body.arguments, [_induction_value(k, lo, step)] + carries))
        wanted = [carries[i] for i in carried] + outer
        seeds = set(active) | set(wanted)
        # the sums of the outer values' cotangents go into the body's backward pass, which adds to them
        # the rows a step reads in place (a scan's xs[i]: summed whole, every step cost all the steps)
        got = region_backward(body, mapping, seeds, [carry_cts.get(i) for i in range(len(inits))], wanted,
                              {v: s for v, s in zip(outer, sums) if not rows_read[v]})
        yield_ = scf.YieldOp(got)
    # What the derivatives read of the body's values is stacked by the
    # forward loop, not computed again (the RNN's h @ W: a third of the
    # backward loop's products).
    residuals = _residuals(body, mapping, back)
    stacks = _recording_loop(op, n, saving, residuals)
    for i, stack in zip(saving, stacks):
        stand_in = stand_ins[i].owner
        stand_in.result.replace_all_uses_with(stack)
        stand_in.erase()
    with ir.InsertionPoint.after(k.owner):
        for r, stack in zip(residuals, stacks[len(saving):]):
            mapping[r].replace_all_uses_with(mlir.row(stack, k))
    _read_rows_before_writes(back.body, mapping[body.arguments[0]])
    for j, v in enumerate(outer):
        if rows_read[v]:
            position = len(carried) + j
            ct = yield_.operands[position]
            with ir.InsertionPoint(yield_):
                yield_.operands[position] = _into_rows(sums[j], ct)
            if rows_read[v] == "all" and _covers_reads(back, v, ct):
                with ir.InsertionPoint(back):
                    back.operands[3 + position] = empty_like(v)
    results = list(back.results)
    return [(inits[i], results[j]) for j, i in enumerate(carried)] + list(zip(outer, results[len(carried):]))


def _while(op, cts, active, region_backward):
    raise DynamicBoundsError("Reverse-mode differentiation does not work for lax.while_loop or lax.fori_loop with dynamic "
                     "start/stop values. Try using lax.scan, or using fori_loop with static start/stop.")


VJP_RULES = {"scf.if": _if, "scf.for": _for, "scf.while": _while}


# ---------------------------------------------------------------------------
# Forward mode: the same op again, carrying tangents beside the values.
#
#     scf.for ... iter_args(%c = %init)          scf.for ... iter_args(%c = %init, %t = %t_init)
#       { body; yield %c' }              ->        { body; jvp(body); yield %c', %t' }
#
# only for the results (a loop's carries) flagged in `flags`, those that
# depend on a value with a tangent (jvp._tangent_flags). The new op replaces
# the old one (its results are rerouted), so the values are computed once.
# Each rule returns {value: tangent} for the new results.

def _with_tangents(values, tangents, positions):
    return values + [tangents[i] if tangents[i] is not None else zeros_like(values[i]) for i in positions]


def _reroute(op, new, positions):
    """Send the uses of `op`'s results to the first results of `new`;
    return {new value: its tangent (the results after those, one for each of `positions`)}."""
    n = len(op.results)
    for old, value in zip(op.results, new.results):
        old.replace_all_uses_with(value)
    tangents = {new.results[i]: new.results[n + j] for j, i in enumerate(positions)}
    op.erase()  # not left to DCE, which keeps an op that calls back (prints would run twice)
    return tangents


def _if_jvp(op, tangent_of, region_forward, flags):
    positions = [i for i, f in enumerate(flags) if f]
    if not positions:
        return {}
    types = [r.type for r in op.results]
    with ir.InsertionPoint.after(op):
        new = scf.IfOp(op.operands[0], types + [types[i] for i in positions], has_else=True)
    for region, block in zip(op.regions, (new.then_block, new.else_block)):
        with ir.InsertionPoint(block):
            values, tangents = region_forward(region.blocks[0], {}, tangent_of)
            scf.YieldOp(_with_tangents(values, tangents, positions))
    return _reroute(op, new, positions)


def _loop_tangents(op, inits, tangent_of, flags):
    """(the carries with tangents, their initial tangents)."""
    positions = [i for i, f in enumerate(flags) if f]
    with ir.InsertionPoint(op):
        return positions, _with_tangents(list(inits), [tangent_of.get(v) for v in inits], positions)[len(inits):]


def _for_jvp(op, tangent_of, region_forward, flags):
    inits = list(op.operands[3:])
    positions, t_inits = _loop_tangents(op, inits, tangent_of, flags)
    if not positions:
        return {}
    body = op.regions[0].blocks[0]
    with ir.InsertionPoint.after(op):
        new = scf.ForOp(op.operands[0], op.operands[1], op.operands[2], inits + t_inits)
    with ir.InsertionPoint(new.body):
        inner = list(new.inner_iter_args)
        mapping = dict(zip(body.arguments, [new.induction_variable] + inner[:len(inits)]))
        carry_args = [body.arguments[1 + i] for i in positions]
        values, tangents = region_forward(body, mapping, tangent_of, zip(carry_args, inner[len(inits):]))
        scf.YieldOp(_with_tangents(values, tangents, positions))
    return _reroute(op, new, positions)


def _while_jvp(op, tangent_of, region_forward, flags):
    inits = list(op.operands)
    positions, t_inits = _loop_tangents(op, inits, tangent_of, flags)
    if not positions:
        return {}
    types = [v.type for v in inits + t_inits]
    with ir.InsertionPoint.after(op):
        new = scf.WhileOp(types, inits + t_inits)
    n = len(inits)
    for old_region, new_region in zip(op.regions, new.regions):
        old_block = old_region.blocks[0]
        block = new_region.blocks.append(*types)
        args = list(block.arguments)
        mapping = dict(zip(old_block.arguments, args[:n]))
        pairs = zip([old_block.arguments[i] for i in positions], args[n:])
        with ir.InsertionPoint(block):
            values, tangents = region_forward(old_block, mapping, tangent_of, pairs)
            if old_region == op.regions[0]:  # before: scf.condition(test, carries...)
                scf.ConditionOp(values[0], _with_tangents(values[1:], tangents[1:], positions))
            else:
                scf.YieldOp(_with_tangents(values, tangents, positions))
    return _reroute(op, new, positions)


JVP_RULES = {"scf.if": _if_jvp, "scf.for": _for_jvp, "scf.while": _while_jvp}

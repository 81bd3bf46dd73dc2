"""A pass that gives each carry of an `scf.while` that its body never reads a
read IREE keeps: the value the body yields for that carry goes through a
`util.optimization_barrier` together with the carry's old value,

    } do { ^bb0(%i, %a, %b):              } do { ^bb0(%i, %a, %b):
      scf.yield %i1, %a1, %a         ->      %new, %_ = util.optimization_barrier %a, %b
                                             scf.yield %i1, %a1, %new

The same values: the barrier is an identity that IREE drops when it
generates code. `lax.while_loop(c, lambda c: (c[0] + 1, c[1] + 1, c[1]), x)`
is such a loop (its body never reads c[2]).

Why: IREE 3.13 cannot compile such a loop; it crashes ("LLVM ERROR: out of
memory" or SIGSEGV), taking the Python process with it, or fails with "failed
to legalize unresolved source materialization". Three of its steps meet:

1. GlobalLoopInvariantCodeMotion rotates every `scf.while` with a
   `tensor.empty` at the top of a region (all of irax's: each
   `linalg.generic` writes into one) into
   `scf.if cond(x) { scf.while (x) { y = body(x); scf.condition(cond(y)) y } }`
   (upstream `scf::wrapWhileLoopInZeroTripCheck`), so the body moves into
   the before region and its arguments become the before region's.
2. Canonicalization (upstream `WhileRemoveUnusedArgs`, scf/IR/SCF.cpp) drops
   a before-region argument that nothing reads, with its init: the carry the
   body never read. The loop is still valid: fewer inits than results.
3. Stream conversion (`ScfWhileOpConversion`,
   https://github.com/iree-org/iree/blob/main/compiler/src/iree/compiler/Dialect/Stream/Conversion/StandardToStream/Patterns.cpp)
   converts the block arguments of both regions with one signature built
   from the inits, so the after region's extra argument is read past the
   end of it.

With the barrier, step 2 finds every argument read. The barrier must carry
the yielded value too: a barrier on the old value alone keeps the argument,
but when the body yields a value defined outside the loop (a constant),
IREE then forwards that value out of the loop and is left with more inits
than results, which it cannot convert either (measured).

Our own canonicalization makes step 3's loop too: a carry that only the
test reads (c[1] in `lax.while_loop(lambda c: c[1] < 9., lambda c: (c[0] + 1,
c[0].sum()), (x, 0.))[0]`; svd's Jacobi loop) is dropped from the test's operands, the after
region's arguments and the results (upstream `WhileUnusedResult`), which
leaves more inits than after-region arguments, and stream conversion fails
("region branch point has 4 operands, but region successor needs 6 inputs").
Such a loop is written again to pass on every carry
(`_pass_on_every_carry`), its body reading each carry its test did not pass
on through a barrier of its own, which nothing reads: otherwise
canonicalization (IREE's) drops it again. Not the barrier above, beside the
yielded value: with that one, svd's loop compiled for Vulkan failed at run
time ("queue_dealloca buffer was not returned by Vulkan queue_alloca").

A while loop whose results nothing reads, kept by drop-unread-work for
the callback it runs (`lax.while_loop` around `irax.debug.callback`, its
carries returned nowhere), IREE 3.13 cannot compile either ("maximum
iteration count exceeded in fixed point pipeline": its stream passes
ElideTimepoints and canonicalize undo each other's joins of the loop's
unread timepoints). Its results are read by a barrier that nothing reads
(`_read_results`), which IREE keeps, as it keeps the loop.

The pass runs after the pipeline's last canonicalize, which can remove the
reads that made a carry read, and sees every loop: while_loop's, fori_loop's
with traced bounds, and those that jvp and vmap write.

It also mends an `scf.for` IREE 3.13 cannot compile: one with an init that
another op of the loop's block reads too (`c0 = 2 * x` in
`sum(fori_loop(0, 3, f, c0)) + sum(c0)` of 24 floats; found as the eager
`grad` of a `checkpoint` returning both, as eager `grad` computes the value
too) fails stream partitioning ("circular dependency: input operation uses
partition output"). Its reference partitioner (ReferencePartitioning.cpp)
places c0's producer in the partition of `sum(c0)`, after the loop, blind to
the loop, which it places in no partition, reading c0 and feeding that
partition. An `scf.while` fails the same way (the same loop with a traced
bound), and either loop when its init is c0 reshaped. Such an init enters
the loop through a barrier (`iree.hide_shared_inits`), which the partitioner
places nothing across: here for `scf.for`, in the CPU's prepare step for
`scf.while` (there the barrier made lavapipe fail hyp1f1 and hyp2f1 at run
time: "queue_dealloca buffer was not returned by Vulkan queue_alloca").
"""
import functools

from iree.compiler import ir
from iree.compiler.dialects import scf, tensor, util

from irax.ir import iree, mlir
from irax.transforms.buffer_reuse import DESTINATIONS


def _uses(value) -> bool:
    return any(True for _ in value.uses)


def _pass_on_every_carry(loop):
    """The `scf.while` `loop` whose test passes on some of its carries, as a
    loop whose test passes on all of them, in order,

        scf.while (%a, %b, %c) {                scf.while (%a, %b, %c) {
          scf.condition(%t) %a, %b          ->    scf.condition(%t) %a, %b, %c
        } do { ^bb0(%a, %b): ... }              } do { ^bb0(%a, %b, %c): ... }

    (the same values: the loop's users ignore its new results, and the body
    reads its new arguments only through a `util.optimization_barrier`, see
    above). Returns the new loop, or `loop` itself where its test passes on
    every tensor carry (a loop of scalars is a generic's), or passes on a
    value other than a carry."""
    before, after = (region.blocks[0] for region in loop.regions)
    _, *passed = before.operations[len(before.operations) - 1].operands
    carries = list(before.arguments)
    dropped = [carry for carry in carries if carry not in passed]
    if not any(isinstance(c.type, ir.RankedTensorType) for c in dropped) or not all(v in carries for v in passed):
        return loop
    types = [v.type for v in carries]
    with ir.InsertionPoint(loop), loop.location:
        new = scf.WhileOp(types, list(loop.operands))
    block = new.before.blocks.append(*types)
    with ir.InsertionPoint(block), loop.location:
        test = mlir.inline_block(before, list(block.arguments))[0]
        scf.ConditionOp(test, list(block.arguments))
    block = new.after.blocks.append(*types)
    with ir.InsertionPoint(block), loop.location:
        unread = [block.arguments[carries.index(carry)] for carry in dropped]
        util.OptimizationBarrierOp([v.type for v in unread], unread)
        scf.YieldOp(mlir.inline_block(after, [block.arguments[carries.index(v)] for v in passed]))
    for old, value in zip(loop.results, passed):
        old.replace_all_uses_with(new.results[carries.index(value)])
    loop.erase()
    return new


def _keep_unread(loop):
    """The barriers of the `scf.while` `loop`'s unread carries (see above)."""
    body = loop.regions[1].blocks[0]
    yield_ = body.operations[len(body.operations) - 1]
    for k, (old, new) in enumerate(zip(body.arguments, list(yield_.operands))):
        if not _uses(old) and isinstance(new.type, ir.RankedTensorType):  # (a loop of scalars: a generic's)
            with ir.InsertionPoint(yield_), ir.Location.unknown():
                yield_.operands[k] = iree.opaque(new, old)[0]


def _read_results(loop):
    """A read of the results of the `scf.while` `loop` if nothing reads them
    (see above)."""
    if loop.results and not any(_uses(r) for r in loop.results):
        with ir.InsertionPoint.after(loop), ir.Location.unknown():
            iree.opaque(*loop.results)


def keep_unread_carries(module_op):
    ops = []
    module_op.walk(lambda op: ops.append(op) or ir.WalkResult.ADVANCE)
    for op in ops:
        if op.name == "scf.while":
            loop = _pass_on_every_carry(op)
            _keep_unread(loop)
            _read_results(loop)
        elif op.name == "scf.for":
            iree.hide_shared_inits(op, 3)


# ---------------------------------------------------------------------------
# Stacks a loop writes row by row, updated in place

def _empty(value) -> bool:
    return mlir.made_by(value, "tensor.empty")


def _written_into(arg, value) -> bool:
    """`value` is `arg` after a chain of inserts into it, each result read once
    (by the next insert or by the yield): the same buffer, updated in place."""
    while value != arg:
        index = DESTINATIONS.get(value.owner.name) if isinstance(value, ir.OpResult) else None
        if index is None or len(list(value.uses)) != 1:
            return False
        value = value.owner.operands[index]
    return True


def _returned(value) -> bool:
    """`value`, after a chain of inserts into it, is read by `func.return` alone."""
    uses = list(value.uses)
    if len(uses) != 1:
        return False
    owner, number = uses[0].owner, uses[0].operand_number
    if owner.name == "func.return":
        return True
    return DESTINATIONS.get(owner.name) == number and _returned(owner.results[0])


def stack_carries(loop, internal=False) -> list:
    """The positions of the carries of the `scf.for` `loop` that are stacks
    written in place: a `tensor.empty` init, what the body yields is its own
    argument with rows inserted, and the loop's result is the function's
    (or any, with `internal`)."""
    body = loop.regions[0].blocks[0]
    yield_ = body.operations[len(body.operations) - 1]
    inits = list(loop.operands)[3:]
    carries = zip(list(body.arguments)[1:], inits, yield_.operands, loop.results)
    return [k for k, (arg, init, new, result) in enumerate(carries)
            if _empty(init) and _written_into(arg, new) and (internal or _returned(result))]


def update_stacks_in_place(module_op):
    """The pass: each carry of an `scf.for` that `stack_carries` finds is read
    through one `util.optimization_barrier` at the top of the body
    (`iree.pin_loop_carries`, which says why),

        scf.for %i ... iter_args(%ys = %empty) {        scf.for %i ... iter_args(%ys = %alloca) {
          %ys1 = tensor.insert_slice %y into %ys[%i] ->    %ys_ = util.optimization_barrier %ys
          scf.yield %ys1                                   %ys1 = tensor.insert_slice %y into %ys_[%i]
                                                           scf.yield %ys1

    The same values (the barrier is an identity IREE drops): the insert
    writes into the stack's buffer where it is, where IREE copied the whole
    stack into a new allocation every iteration (scan's 200x8x128 ys: 800 KB
    a rolled iteration). Only fresh stacks (a `tensor.empty` init, which
    becomes an allocation of the loop's own) whose every iteration hands the
    same buffer on are pinned: the insert then writes into memory of the
    loop's own, never into an argument, a constant, another loop's stack or
    a value read elsewhere. A value written into a stack and read again is
    then read from its row (`_read_rows_back`).

    Only the stacks the function returns are pinned here: IREE packs an
    internal (transient) stack's first allocation with others and, past the
    barrier, releases a subview of it at the end (`stream.resource.dealloca
    origin`), which Vulkan rejects ("queue_dealloca buffer was not returned
    by Vulkan queue_alloca"; grad's saved stacks). The others' positions are
    marked on their loop (`iree.INTERNAL_STACKS`), for a backend whose
    runtime releases a subview to pin (the CPU's prepare step): jit(grad) of
    the RNN, whose forward loop copied its 900 KB of stacks every rolled
    iteration, 4.7-5.0 -> 4.0-4.1 ms. Not their rows read back: the CPU
    runtime then failed on a queued call ("ref is null" in
    `hal.buffer.subspan`, the gradient of an unrolled 20-step scan). The same
    failure, on every backend, where a loop carries two or more returned
    stacks and nothing else (`scan(lambda c, x: (c, (2 * x, 3 * x)), ...)`,
    `lax.map` of a pair), even with one of them pinned: such a loop keeps
    IREE's copies."""
    ops = []
    module_op.walk(lambda op: ops.append(op) or ir.WalkResult.ADVANCE)
    for loop in (op for op in ops if op.name == "scf.for"):
        returned = stack_carries(loop)
        internal = [k for k in stack_carries(loop, internal=True) if k not in returned]
        if internal:
            loop.attributes[iree.INTERNAL_STACKS] = ir.DenseI64ArrayAttr.get(internal)
        if not returned or 1 < len(returned) == len(loop.results):  # (the last: see above)
            continue
        top = loop.regions[0].blocks[0].operations[0]
        for value in iree.pin_loop_carries(loop, returned, hide_allocations=True):
            _read_rows_back(loop, value, top)


def _chain(value) -> list:
    """The ops of the chain of inserts into `value` (each result read once,
    by the next insert or by the yield, as `_written_into` checked)."""
    chain = []
    while True:
        (use,) = list(value.uses)
        if DESTINATIONS.get(use.owner.name) != use.operand_number:
            return chain
        chain.append(use.owner)
        value = use.owner.results[0]


def _read_rows_back(loop, stack, top):
    """Each value that the insert chain into the pinned `stack` (of the
    `scf.for` `loop`, whose body's own ops start at `top`) writes as a slice
    and that is read again before the next insert (the next step of an
    unrolled scan reads the row it just wrote: its carry) is read back from
    the stack instead,

        %ys1 = tensor.insert_slice %h into %ys[%i]      %ys1 = tensor.insert_slice %h into %ys[%i]
        ... matmul(%h, %w) ...                      ->  %h_ = tensor.extract_slice %ys1[%i_]
                                                        ... matmul(%h_, %w) ...

    The same values. Why: a result IREE must both write into a row and hand
    on is computed into memory of its own and copied into the row (a
    `stream.cmd.copy`: one more command, and barrier, per step on the device
    queue); read by the insert alone, it is computed in place, by a dispatch
    that reads and writes the stack. `%i_` is the offset computed again from
    the induction variable behind a `util.optimization_barrier`: with the
    same offset Values canonicalization folds the pair back to `%h`. The
    barrier is at the top of the body, as a barrier between two stream ops
    ends a command buffer (measured: one per step). Only uses before the
    next insert are moved (a later one would read an older version of the
    stack, which IREE keeps by copying the whole stack), and only offsets
    computed by `arith` ops from the induction variable and values defined
    outside the loop (scan's, unrolled or reversed)."""
    iv = loop.regions[0].blocks[0].arguments[0]
    hidden = []  # iv behind a barrier, made when first needed

    def induction():
        if not hidden:
            with ir.InsertionPoint(top), ir.Location.unknown():
                hidden.append(util.OptimizationBarrierOp([iv.type], [iv]).results[0])
        return hidden[0]

    chain = _chain(stack)
    for insert, after in zip(chain, chain[1:] + [None]):
        source = insert.operands[0]
        uses = [(u.owner, u.operand_number) for u in source.uses if u.owner != insert]
        uses = [(op, n) for op, n in uses if op.parent == insert.parent and insert.is_before_in_block(op)
                and (after is None or op.is_before_in_block(after))]
        if insert.name != "tensor.insert_slice" or not uses or not all(_from(v, loop) for v in insert.offsets):
            continue
        first = functools.reduce(lambda a, b: a if a.is_before_in_block(b) else b, [op for op, _ in uses])
        with ir.InsertionPoint(first), ir.Location.unknown():
            offsets = [_recomputed(v, loop, induction()) for v in insert.offsets]
            row = tensor.ExtractSliceOp(source.type, insert.results[0], offsets, insert.sizes, insert.strides,
                                        insert.static_offsets, insert.static_sizes, insert.static_strides).result
        for op, n in uses:
            op.operands[n] = row


def _inside(value, loop) -> bool:
    """`value` is defined in the body of `loop` (or deeper)."""
    return mlir.nested_in(value.owner if isinstance(value, ir.OpResult) else value.owner.owner, loop)


def _from(value, loop) -> bool:
    """`value` is defined outside `loop`, or is its induction variable, or is
    computed in its body by `arith` ops of such values."""
    if not _inside(value, loop):
        return True
    if isinstance(value, ir.BlockArgument):
        return value.owner.owner.operation == loop.operation and value.arg_number == 0
    op = value.owner
    return op.name.startswith("arith.") and op.parent.operation == loop.operation and \
        all(_from(v, loop) for v in op.operands)


def _recomputed(value, loop, iv):
    """`value` (`_from(value, loop)`) computed again, with `iv` for the
    induction variable of `loop`."""
    if not _inside(value, loop):
        return value
    if isinstance(value, ir.BlockArgument):
        return iv
    copy = value.owner.clone()
    for i, operand in enumerate(list(copy.operands)):
        copy.operands[i] = _recomputed(operand, loop, iv)
    return copy.results[0]

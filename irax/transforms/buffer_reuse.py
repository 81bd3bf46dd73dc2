"""Who may write into which buffer: two passes.

    protect_arguments   no op may write into an argument that was not donated
    reuse_dead_buffers  an elementwise op may write into an intermediate
                        that no other op reads

protect_arguments: IREE 3.13 writes in place into a function argument that is the destination
of `tensor.insert_slice` / `tensor.insert` / `iree_linalg_ext.scatter` when
nothing reads the argument afterwards (IREE issue 16168, open): the caller's
array would silently change. The pass puts such arguments and the
function's results behind one `util.optimization_barrier` at the return, so
the arguments are read at the very end and no op may overwrite them. (An elementwise generic
whose outs is an argument was seen not to write into it.)

Every program irax compiles goes through protect_arguments: eager kernels
and staged functions (jit, grad) alike; staged ones through both.
"""
from iree.compiler import ir

from irax.ir import iree
from irax.ir.linalg import iterator_names

# op name -> index of the operand it may update in place
DESTINATIONS = {"tensor.insert_slice": 1, "tensor.insert": 1, "iree_linalg_ext.scatter": 2}


# A unit attribute on an argument of @main whose buffer the caller gave up
# (jit's donate_argnums): IREE may reuse it, which makes `x.at[i].set(v)` an
# in-place write. JAX marks donated arguments the same way (jax.buffer_donor).
DONATED = "irax.donated"


def _main(module_op):
    return next(op for op in module_op.regions[0].blocks[0].operations
                if op.operation.name == "func.func" and op.attributes["sym_name"].value == "main")


def mark_donated(module_op, donated):
    """Mark the arguments of @main at positions `donated` as given up by the caller."""
    if not donated:
        return
    main = _main(module_op)
    n = len(main.regions[0].blocks[0].arguments)
    main.attributes["arg_attrs"] = ir.ArrayAttr.get(
        [ir.DictAttr.get({DONATED: ir.UnitAttr.get()} if i in donated else {}) for i in range(n)])


def kept_arguments(module_op) -> list:
    """The arguments of `@main` that the caller keeps (not marked DONATED)."""
    main = _main(module_op)
    donated = ({i for i, d in enumerate(main.attributes["arg_attrs"]) if DONATED in ir.DictAttr(d)}
               if "arg_attrs" in main.attributes else set())
    return [a for i, a in enumerate(main.regions[0].blocks[0].arguments) if i not in donated]


def protect_arguments(module_op):
    """The pass: keep each argument of `@main` that an op could update in place
    alive to the end, behind one barrier with the function's results (IREE
    rejects a barrier mixing a returned value with an internal or constant one,
    so the barrier sits on the return). Arguments marked DONATED are left alone."""
    block = _main(module_op).regions[0].blocks[0]
    arguments = kept_arguments(module_op)
    guarded = []
    for op in block.operations:
        index = DESTINATIONS.get(op.operation.name)
        if index is not None and op.operands[index] in arguments and op.operands[index] not in guarded:
            guarded.append(op.operands[index])
    ret = block.operations[len(block.operations) - 1]
    computed = [i for i, v in enumerate(ret.operands) if _computed_here(v, block)]
    if not guarded or not computed:
        return  # nothing inserts into an argument, or what did is dead
    with ir.InsertionPoint(ret), ir.Location.unknown():
        kept = iree.opaque(*[ret.operands[i] for i in computed], *guarded)
    for i, value in zip(computed, kept):
        ret.operands[i] = value


def reuse_dead_buffers(module_op):
    """The second pass: each output of an elementwise `linalg.generic` that
    is a fresh `tensor.empty` writes into one of its inputs instead, when that
    input has the same type, is computed by the function (not an argument,
    not a constant), is read by this op alone and no other output of the op
    took it. In destination-passing style that ties the result to the
    input's buffer, so no new buffer is needed for it:

        %y = linalg.generic ins(%t, ...) outs(tensor.empty())   ->   outs(%t)

    Read by this op *alone*, not just for the last time: an op that reads %t
    before this one may share a dispatch (one kernel) with it, and then %t
    is an intermediate of that kernel, not a buffer of its own. IREE puts a
    reduction and the elementwise ops around it in one dispatch, and raises
    softmax written out over the last axis, e / sum(e), to `linalg.softmax`,
    which keeps the divide's destination. Were that destination e, which the
    sum in the same dispatch still reads, IREE 3.13 would have to write e
    whole into the dispatch's output before its distributed loop, and its
    code generation rejects that ("write affecting operations on global
    resources are restricted to workgroup distributed contexts"), on CPU and
    Vulkan alike. An op nested in this one's body must not read %t either:
    it could see elements already overwritten.

    Into an input the body reads only: a body that reads none of its inputs
    yields a constant (`x ^ x` once canonicalize has folded it: cleanup.py),
    and IREE makes such a generic a `linalg.fill` of its destination. A fill
    into %t, not into a fresh tensor, keeps %t's producer and reads it in the
    fill's dispatch, which IREE 3.13 cannot compile when the fill's slices
    are concatenated (`cummin(x ^ x)`: the same "write affecting operations
    on global resources" error).

    IREE's elementwise fusion sets the unused destination of each generic
    that reaches it back to a fresh `tensor.empty` (upstream's
    RemoveOutsDependency): the `vm`-stage IR of sin(x * 2) + sum(x),
    x.at[0].set(1) * 2 + 1 and an MLP training step is the same with and
    without this pass. (Arguments donated to jit are reused by IREE itself.)"""
    for func in module_op.regions[0].blocks[0].operations:
        for block in func.regions[0].blocks:  # none in a declaration: a callback's import (callbacks.py)
            for op in list(block.operations):
                if op.operation.name == "linalg.generic":
                    _write_into_dead_inputs(op.opview, block)


def _read_only_by(x, op):
    """Whether every read of `x` is an operand of `op` itself (not of an op
    before or after it, nor of one nested in its body)."""
    return all(use.owner.operation == op.operation for use in x.uses)


def _computed_here(value, block):
    """Whether an op of `block` computes `value` (not an argument, not a constant)."""
    if isinstance(value.owner, ir.Block) or value.owner.name == "arith.constant":
        return False
    return value.owner.operation.block == block


def _write_into_dead_inputs(op, block):
    if "reduction" in iterator_names(op):
        return
    n_in = len(op.inputs)
    maps = [ir.AffineMapAttr(m).value for m in op.indexing_maps]
    body_arguments = op.regions[0].blocks[0].arguments
    taken = []
    for k, out in enumerate(list(op.outputs)):
        fresh = not isinstance(out.owner, ir.Block) and out.owner.name == "tensor.empty"
        if not fresh or any(True for _ in body_arguments[n_in + k].uses):
            continue
        for x in op.inputs:
            # element i of the result may overwrite element i of x only:
            # every read of x here is through the output's map
            same_reads = all(m == maps[n_in + k] for y, m in zip(op.inputs, maps) if y == x)
            read = any(True for y, a in zip(op.inputs, body_arguments) if y == x for _ in a.uses)
            if (x.type == out.type and same_reads and read and x not in taken and _computed_here(x, block)
                    and _read_only_by(x, op)):
                op.operands[n_in + k] = x
                taken.append(x)
                break

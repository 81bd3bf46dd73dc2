"""Who may write into which buffer: the pass that keeps arguments intact.

IREE 3.13 writes in place into a function argument that is the destination
of `tensor.insert_slice` / `tensor.insert` / `iree_linalg_ext.scatter` when
nothing reads the argument afterwards (IREE issue 16168, open): the caller's
array would silently change. This pass puts such arguments and the
function's results behind one `util.optimization_barrier` at the return, so
the arguments are read at the very end and no op may overwrite them. (An elementwise generic
whose outs is an argument was seen not to write into it.)

Every program irax compiles goes through it: eager kernels and staged
functions (jit, grad) alike.
"""
from iree.compiler import ir

from irax.frontend import mlir

# op name -> index of the operand it may update in place
DESTINATIONS = {"tensor.insert_slice": 1, "tensor.insert": 1, "iree_linalg_ext.scatter": 2}


def protect_arguments(module_op, donated=()):
    """The pass: keep each argument of `@main` that an op could update in place
    alive to the end, behind one barrier with the function's results (IREE
    rejects a barrier mixing a returned value with an internal or constant one,
    so the barrier sits on the return). Arguments at positions `donated` were
    given up by the caller (jit's donate_argnums): IREE may reuse them, which
    makes `x.at[i].set(v)` an in-place write."""
    main = next(op for op in module_op.regions[0].blocks[0].operations
                if op.operation.name == "func.func" and op.attributes["sym_name"].value == "main")
    block = main.regions[0].blocks[0]
    arguments = [a for i, a in enumerate(block.arguments) if i not in donated]
    guarded = []
    for op in block.operations:
        index = DESTINATIONS.get(op.operation.name)
        if index is not None and op.operands[index] in arguments and op.operands[index] not in guarded:
            guarded.append(op.operands[index])
    ret = block.operations[len(block.operations) - 1]
    computed = [i for i, v in enumerate(ret.operands)
                if not isinstance(v.owner, ir.Block) and v.owner.name != "arith.constant"]
    if not guarded or not computed:
        return  # nothing inserts into an argument, or what did is dead
    with ir.InsertionPoint(ret), ir.Location.unknown():
        kept = mlir.opaque(*[ret.operands[i] for i in computed], *guarded)
    for i, value in zip(computed, kept):
        ret.operands[i] = value

"""Cleanups upstream MLIR's canonicalizer lacks.

`prune_unused_generic_inputs`: drop the inputs of a `linalg.generic` its
body never reads. The autodiff passes build each adjoint generic from all of
the primal generic's inputs; once canonicalize has removed the body ops that
are dead, some inputs are read by nothing. They would still be computed and
loaded, and they keep IREE from recognizing a plain contraction (with data
tiling on, its CPU backend then fails on large matmuls: "large vector sizes").
An input passed twice through the same map (`x ^ x`) is read through one
body argument, so that the next canonicalize folds the body as IREE would
after irax's passes (IREE merges such inputs too: `x ^ x`, `x - x` of
integers are 0; reuse-dead-buffers must see that the body reads nothing).

`drop_unread_work`: erase the ops whose results nothing reads that the
canonicalizer keeps: `util.optimization_barrier` (not marked free of side
effects) and loops (`scf.while` might not end), with all the work that
only they read. A custom_jvp rule's own copy of the primal, dead once
autodiff reads the call's results instead, kept eigh's gradient running
its Jacobi sweeps twice through them. A call of a kernel function
(ir/kernels.py) is work like any other, and so is a pure callback's (JAX
drops an `irax.pure_callback` whose results nothing reads, in a loop's body
too); debug and io callbacks are effects, kept with every loop around one.
IREE 3.13 could not compile some dead loops it was handed (a scatter's, a
triangular_solve's: "maximum iteration count exceeded in fixed point
pipeline", its ElideTimepoints and canonicalize undoing each other's joins
of the loop's timepoints).
"""
from iree.compiler import ir

from irax.ir import mlir
from irax.ir.kernels import kernel_of
from irax.ir.linalg import is_projected, iterator_names, map_results
from irax.transforms.ad.host_calls import CALLBACK


def drop_unused_inputs(op):
    """Rebuild the linalg.generic `op` without the inputs its body never reads
    (an input repeated through the same map is read through its first copy)."""
    body = op.regions[0].blocks[0]
    n_in = len(op.inputs)
    maps = [map_results(m) for m in op.indexing_maps]
    for j in range(n_in):
        first = next(i for i in range(j + 1) if op.inputs[i] == op.inputs[j] and maps[i] == maps[j])
        if first != j:
            body.arguments[j].replace_all_uses_with(body.arguments[first])
    used = [any(True for _ in body.arguments[i].uses) for i in range(n_in)]
    # An unread input still gives the loops it indexes their sizes: keep it
    # when nothing else does (a sum of a constant over an axis, say).
    sized = {d for i, m in enumerate(maps) if i >= n_in or used[i] for d in m}
    for i in range(n_in):
        if not used[i] and not set(maps[i]) <= sized:
            used[i] = True
            sized.update(maps[i])
    if all(used):
        return op.results[0]
    keep = [i for i in range(n_in) if used[i]]
    iterators = iterator_names(op)
    old_args = list(body.arguments)

    def new_body(*args):
        mapping = {old_args[i]: a for i, a in zip(keep + list(range(n_in, len(old_args))), args)}
        ops = list(body.operations)
        for inner in ops[:-1]:
            mlir.clone_op(inner, mapping)
        return [mapping.get(v, v) for v in ops[-1].operands]

    with ir.InsertionPoint(op):
        result = mlir.generic([op.inputs[i] for i in keep], list(op.outputs),
                              [maps[i] for i in keep] + maps[n_in:], iterators, new_body)[0]
    op.results[0].replace_all_uses_with(result)
    op.erase()
    return result


def prune_unused_generic_inputs(module_op):
    generics = []
    module_op.walk(lambda op: generics.append(op) or ir.WalkResult.ADVANCE)
    for op in generics:
        if op.name == "linalg.generic" and len(op.results) == 1 and is_projected(op.opview):
            drop_unused_inputs(op.opview)


# Ops that only compute values (before IREE's bufferization, linalg works on tensors).
_VALUE_OPS = ("arith.", "math.", "tensor.", "linalg.", "iree_linalg_ext.", "util.optimization_barrier",
              "flow.tensor.tie_shape")


def _pure(op) -> bool:
    """Whether erasing `op` loses nothing but its results: it computes values
    only, or it is control flow (scf) around such ops, or it calls a kernel
    function (ir/kernels.py: portable code a backend may replace) or a pure
    callback. Another callback (debug, io; a collective) is kept, and every
    loop around one."""
    name = op.name
    if name.startswith("scf."):
        return all(_pure(inner) for region in op.regions for block in region.blocks for inner in block.operations)
    if name == "func.call":
        if CALLBACK in op.attributes:
            return ir.StringAttr(op.attributes[CALLBACK]).value == "pure"
        callee = ir.FlatSymbolRefAttr(op.attributes["callee"]).value
        return kernel_of(mlir.find_function(mlir.enclosing_module(op), callee)) is not None
    return name.startswith(_VALUE_OPS)


def _unread(op) -> bool:
    """Whether `op` computes values and nothing reads them (an op with no
    results, such as a terminator, is there for its effect)."""
    return len(op.results) > 0 and not any(True for r in op.results for _ in r.uses)


def drop_unread_work(module_op):
    for region in module_op.regions:
        _drop_in(region)


def _drop_in(region):
    """Erase, last op first, the ops of `region` whose results nothing reads
    (so those that only they read go too); look into the regions of the rest."""
    for block in region.blocks:
        for op in reversed(list(block.operations)):
            op = op.operation
            if _unread(op) and _pure(op):
                op.erase()
                continue
            for inner in op.regions:
                _drop_in(inner)

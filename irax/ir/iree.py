"""IREE-specific ops and workarounds, each with its reason.

Ops of IREE's own dialects that the upstream Python bindings have no builder
for are created here by name.
"""
import itertools

from iree.compiler import ir
from iree.compiler.dialects import arith, flow, linalg, tensor, util

from irax.ir.linalg import RESHAPES
from irax.ir.mlir import PARALLEL, dims, generic, index, inline_block


def opaque(*values):
    """`values` behind a util.optimization_barrier, which IREE neither fuses
    across nor looks through; flow.tensor.tie_shape then tells it their
    dynamic sizes again (read before the barrier). Used where IREE's default
    choices go wrong, see the callers."""
    sizes = [dims(v) for v in values]
    hidden = util.OptimizationBarrierOp([v.type for v in values], list(values)).results
    return [
        flow.TensorTieShapeOp(h, [d for d in value_sizes if not isinstance(d, int)]).result
        if any(not isinstance(d, int) for d in value_sizes) else h
        for h, value_sizes in zip(hidden, sizes)
    ]


# Marks the `scf.for` loops whose stacks the loop's own function does not
# return, with their carry positions (transforms/loop_carries.py): written
# in place only by a backend that can (pin_loop_carries; the CPU's).
INTERNAL_STACKS = "irax.internal_stacks"


def pin_loop_carries(loop, carries, hide_allocations=False) -> list:
    """Make the carries `carries` (positions) of the `scf.for` `loop`,
    stacks whose init is a `tensor.empty`, written in place: each init
    becomes memory of the loop's own, and the body reads the carries through
    one `util.optimization_barrier` at its top (the values it reads them as).

    Memory of its own: a `flow.tensor.alloca` of the same type, since CSE
    merges equal `tensor.empty`s (irax's and IREE's) and IREE hands an init
    to the loop as it is, so two loops with one empty for init would write
    into one buffer (measured: wrong values); an alloca is never merged.
    The barrier: IREE 3.13's stream conversion asks its affinity analysis
    where each operand lives and moves it when the answer differs from the
    op's device; for a loop's block argument the answer is "unknown", so the
    stack was copied whole into a new allocation every iteration. A
    barrier's result is an ordinary value that the analysis places.

    `hide_allocations`: each alloca goes behind a barrier of its own too, so
    that IREE does not pack it with other allocations. Packed with the init
    of another carry of the loop, the two loop results alias on one path,
    which IREE 3.13's reference counting of resources gets wrong: a queued
    call failed with "transient buffer has not been committed" (jit(grad) of
    a scan with respect to its xs, whose cotangent is such a stack, beside
    the CPU's pinned internal stacks)."""
    for k in carries:
        init = loop.operands[3 + k]
        with ir.InsertionPoint(loop), ir.Location.unknown():
            alloca = flow.TensorAllocaOp(init.type, list(init.owner.operands)).result
            loop.operands[3 + k] = opaque(alloca)[0] if hide_allocations else alloca
        if not list(init.uses):
            init.owner.erase()
    body = loop.regions[0].blocks[0]
    stacks = [body.arguments[1 + k] for k in carries]
    first = body.operations[0]
    with ir.InsertionPoint(first), ir.Location.unknown():
        pinned = opaque(*stacks)
    made = list(itertools.takewhile(lambda op: op != first, body.operations))  # the barrier, sizes
    for arg, value in zip(stacks, pinned):
        arg.replace_all_uses_except(value, [op.operation for op in made])
    return pinned


def copied(x):
    """A copy of x (flow.tensor.clone)."""
    return flow.TensorCloneOp(x, [d for d in dims(x) if not isinstance(d, int)]).result


def materialized(x):
    """x, to be read with tensor.extract inside a generic. IREE vectorizes
    such reads as a vector.gather and fails to lower one from a strided view,
    which is what a fused producer like x[:, ::2] gives: unless x is a block
    argument (in an eager kernel an operand, a plain buffer), keep its
    producer out of the reading dispatch."""
    return x if isinstance(x.owner, ir.Block) else opaque(x)[0]


def linalg_ext_scatter(updates, targets, dest, combine):
    """iree_linalg_ext.scatter: dest[targets[p]] = combine(dest[targets[p]], updates[p])
    for each p in order (1-D updates, (n, 1) targets, 1-D dest).

    Why IREE's op rather than a loop: with unique_indices(false) it applies
    the updates one after another, as repeated indices need (they accumulate,
    or the last one wins). scf.for loops carrying the tensor do not fit IREE:
    at the top level they run on its host, one VM step per element, and fail
    to compile with dynamic shapes; inside a dispatch region they fail to
    bufferize.

    Its `updates` and `targets` go behind a barrier each: IREE would fuse
    their producers into the scatter's dispatch and then fail to allocate
    them (a dynamic stack allocation); one barrier over both fails to verify
    when one is a constant, which static shapes can give. Its result goes
    behind one too: IREE's GPU code generation crashed (SIGSEGV in
    GPUDistributeSharedMemoryCopy) on a scatter written straight into a
    column of a bigger tensor, the vulkan gradient of jnp.flip(x[:, 3:4], 0)."""
    (updates,), (targets,) = opaque(updates), opaque(targets)
    op = ir.Operation.create(
        "iree_linalg_ext.scatter",
        results=[dest.type],
        operands=[updates, targets, dest],
        attributes={"dimension_map": ir.DenseI64ArrayAttr.get([0]), "unique_indices": ir.BoolAttr.get(False)},
        regions=1,
    )
    element = [ir.RankedTensorType(t.type).element_type for t in (updates, dest)]
    block = op.regions[0].blocks.append(*element)
    with ir.InsertionPoint(block):
        update, old = block.arguments
        ir.Operation.create("iree_linalg_ext.yield", operands=[combine(old, update)])
    return opaque(op.results[0])[0]


def linalg_ext_scan(x, out, acc, dimension, combine):
    """iree_linalg_ext.scan, inclusive: along `dimension`,
    out[..., i, ...] = combine(acc, x[..., i, ...]) where acc, which starts
    as `acc` (x's shape without that dimension: the identity), is the result
    at i - 1. `out` gives the result's type. Returns the result.

    Why IREE's op: one pass over x, sequential along the dimension and
    parallel across the others, where a Hillis-Steele scan of parallel
    passes makes ~log2 n of them: a cumsum of 1e7 float32 took 730 ms that
    way, ~50 ms this one. Returns (the result, the last acc)."""
    op = ir.Operation.create(
        "iree_linalg_ext.scan",
        results=[out.type, acc.type],
        operands=[x, out, acc],
        attributes={"dimension": ir.IntegerAttr.get(ir.IntegerType.get_signless(64), dimension),
                    "inclusive": ir.BoolAttr.get(True)},
        regions=1,
    )
    element = ir.RankedTensorType(x.type).element_type
    block = op.regions[0].blocks.append(element, element)
    with ir.InsertionPoint(block):
        ir.Operation.create("iree_linalg_ext.yield", operands=[combine(*block.arguments)])
    return list(op.results)


def linalg_ext_scan_like(scan, x, out, acc, dimension):
    """linalg_ext_scan of these operands with the combiner of the scan op `scan`."""
    body = scan.regions[0].blocks[0]
    return linalg_ext_scan(x, out, acc, dimension, lambda total, here: inline_block(body, [total, here])[0])


def scan_sums(scan) -> bool:
    """Whether the scan op `scan` adds (its combiner is one addf or addi)."""
    ops = list(scan.regions[0].blocks[0].operations)
    return len(ops) == 2 and ops[0].name in ("arith.addf", "arith.addi")


def scan_dimension(scan) -> int:
    return ir.IntegerAttr(scan.attributes["dimension"]).value


def reversed_along(x, axis):
    """x reversed along `axis`: out[..., i, ...] = x[..., n - 1 - i, ...].
    x is read materialized, as rev reads it: with its producer in the
    reading dispatch, jit(grad) of sum(cumsum(x) * w) on 1e7 float32 (a scan
    reversed on both sides) took 75 ms, 40 without (JAX 34)."""
    x = materialized(x)
    sizes = dims(x)
    rank = len(sizes)
    n = sizes[axis] if not isinstance(sizes[axis], int) else index(sizes[axis])

    def element(_):
        at = [linalg.IndexOp(d).result for d in range(rank)]
        at[axis] = arith.subi(arith.subi(n, index(1)), at[axis])
        return [tensor.ExtractOp(x, at).result]

    out = tensor.EmptyOp(sizes, ir.RankedTensorType(x.type).element_type).result
    return generic([], [out], [list(range(rank))], [PARALLEL] * rank, element)[0]


def hide_shared_inits(loop, first) -> bool:
    """Each tensor init of `loop` (its operands from `first` on: an
    `scf.for`'s from 3, an `scf.while`'s all) that an op of its block
    computes and another op of that block reads too, itself or reshaped
    (`tensor.expand_shape`, `tensor.collapse_shape`, which IREE makes no
    dispatch of), is passed to the loop through a `util.optimization_barrier`
    (the same value; see transforms/loop_carries.py). Not constants, nor
    `tensor.empty` (a stack's init: update_stacks_in_place reads it).
    Returns whether it passed any."""
    hidden = False
    for k, init in enumerate(list(loop.operands)[first:], start=first):
        if not isinstance(init.type, ir.RankedTensorType):
            continue
        chain = _reshaped_from(init)
        if not isinstance(chain[-1], ir.OpResult) or chain[-1].owner.name in ("arith.constant", "tensor.empty"):
            continue
        ours = [loop.operation] + [value.owner.operation for value in chain[:-1]]
        readers = [use.owner.operation for value in chain for use in value.uses]
        if any(op not in ours and op.block == loop.operation.block for op in readers):
            with ir.InsertionPoint(loop), ir.Location.unknown():
                loop.operands[k] = opaque(init)[0]
            hidden = True
    return hidden


def _reshaped_from(value) -> list:
    """[`value`, the value it reshapes, the value that one reshapes, ...]."""
    chain = [value]
    while isinstance(chain[-1], ir.OpResult) and chain[-1].owner.name in RESHAPES:
        chain.append(chain[-1].owner.operands[0])
    return chain

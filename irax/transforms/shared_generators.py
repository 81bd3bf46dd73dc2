"""A pass: a tensor computed from constants alone (`arange`, `eye`, `ones`:
generics of indices and constants, fills) that is updated in place and read
elsewhere too is read by all its users through one
`util.optimization_barrier`; one that a reduction reads, by that reduction
through a barrier of its own; a fill that concats read, by each concat
through a barrier of its own; an update of one that a strided insert
reads, through a barrier; one (or a slice or concat of one) that a loop reads
from outside, by that loop through a barrier of its own.

    %g = linalg.generic outs(...) { ...linalg.index... }        %g = linalg.generic outs(...) { ... }
    %a = tensor.insert_slice %x into %g[0] ...          ->      %w = util.optimization_barrier %g
    %b = tensor.insert_slice %y into %g[1] ...                  %a = tensor.insert_slice %x into %w[0] ...
                                                                %b = tensor.insert_slice %y into %w[1] ...

Why: IREE 3.13 makes such work a dispatch with no operands, and the copy
an in-place update needs (copy-on-write) it makes by running that dispatch
again, then its CSE merges the two dispatches back into one: the update
wrote into the buffer every other user read, silently (`jit(lambda a, b:
(arange(3.0).at[0].set(a), arange(3.0).at[1].set(b)))` gave [a, b, 2] and
[0, 0, 0]; `eye(2)` the same). Behind the barrier the value is an ordinary
buffer, which IREE copies for the updates. complex_fills.py does the same
for the complex fills it writes as parts. (Fills of real numbers are
splats, which IREE copies right; two scatters into one tensor are right
too: IREE fuses what they write into into each scatter's dispatch.)

The reduction case: IREE 3.13 folds a fill into the generic that reads it,
and a reduction whose only input was the fill is left with nothing that
sizes its loop: it ran once, silently (`jit(lambda: jnp.ones(4).sum())()`
was 1.0, `jnp.full((2, 3), 2.0).sum(axis=1)` [2, 2], `jnp.ones_like(x).sum()`
1.0). Behind the barrier the reduction reads a buffer, as an eager one does.

The concat case: a fill that two concats take as a piece (pad's border, as
a value and its tangent are padded alike) is read by each through a barrier
of its own. IREE 3.13 wrote both concats into one buffer otherwise: the jvp
of `min(pad(y))` under jit gave the value for its tangent (a barrier shared
by both did the same). Writing pad as an insert into a fill instead avoided
that, but failed to compile for a pad of a pad (an insert into a fill, a
reshape, an insert into a fill) and for a pad with a value per side.

The strided-insert case: an update of a tensor from constants that a
strided insert takes as its source (`zeros((6, 5)).at[2:4, 1::2].set(
zeros((2, 2)).at[:1].set(x))`, and the gradient of a strided, padded
pooling sliced with [::2]) is read through a barrier. IREE 3.13 put both
inserts in one dispatch, with the update written into the fill it loaded,
and rejected that ("write affecting operations on global resources are
restricted to workgroup distributed contexts"), on CPU and Vulkan alike.

The loop case: jacfwd's basis (an `eye` the program computes) read inside a
loop, as slices of it are the tangents the loop carries, and returned too,
as the jacobian of an output that is an input: IREE 3.13 failed to compile
it ("'stream.async.dispatch' op : streamable op expected to be in an
execution region"; `jacfwd(lambda a, b: (a, fori_loop(0, 2, lambda i, c: c
* b, a)), argnums=(0, 1))`). Its constant-expression hoisting, which irax
turns off (compiler.ABI_FLAGS), would have moved the work out of the way.
"""
from iree.compiler import ir

from irax.ir import iree, mlir
from irax.ir.linalg import iterator_names

_LEAVES = ("arith.constant", "tensor.empty")  # what such work starts from
_WORK = ("linalg.generic", "linalg.fill", "tensor.expand_shape", "tensor.collapse_shape")


def is_update_destination(use) -> bool:
    """Whether a use is as the destination of a tensor.insert_slice
    (`x.at[i].set(v)`, `x.at[i].add(v)`), which IREE runs in place."""
    return use.owner.name == "tensor.insert_slice" and use.operand_number == 1


def _from_constants(value, depth=16, work=_WORK) -> bool:
    """Whether `value` is computed from constants alone (no argument, no loop)
    by ops of `work`."""
    if not isinstance(value, ir.OpResult):
        return False
    op = value.owner.operation
    if op.name in _LEAVES:
        return True
    return depth > 0 and op.name in work and all(
        _from_constants(v, depth - 1, work) for v in list(op.operands) + mlir.captured(op))


def copy_shared_generators(module_op):
    """The pass (see the module docstring)."""
    _barrier_reduced_generators(module_op)
    _barrier_concatenated_fills(module_op)
    _barrier_updates_inserted_with_strides(module_op)
    _barrier_generators_read_by_loops(module_op)
    for op in mlir.ops_where(module_op, lambda op: op.name == "linalg.generic" and len(op.results) == 1):
        value = op.results[0]
        uses = [(use.owner, use.operand_number) for use in value.uses]
        updated_and_read = len(uses) >= 2 and any(is_update_destination(use) for use in value.uses)
        if not updated_and_read or not _from_constants(value):
            continue
        with ir.InsertionPoint.after(op), op.location:
            [shared] = iree.opaque(value)
        for owner, index in uses:
            owner.operands[index] = shared


def _barrier_reduced_generators(module_op):
    """Each input of a reduction computed from constants alone, read through a barrier."""
    reductions = mlir.ops_where(module_op, lambda op: op.name == "linalg.generic"
                                and "reduction" in iterator_names(op.opview))
    for op in reductions:
        for index, value in enumerate(op.opview.inputs):
            if _from_constants(value):
                with ir.InsertionPoint(op), op.location:
                    [op.operands[index]] = iree.opaque(value)


def _barrier_concatenated_fills(module_op):
    """Each fill (or tensor from constants) that two or more concats take as
    a piece, read by each of them through a barrier of its own."""
    for op in mlir.ops_where(module_op, lambda op: op.name in ("linalg.fill", "linalg.generic")
                             and len(op.results) == 1):
        value = op.results[0]
        concats = [(use.owner, use.operand_number) for use in value.uses if use.owner.name == "tensor.concat"]
        if len(concats) < 2 or not (op.name == "linalg.fill" or _from_constants(value)):
            continue
        for owner, index in concats:
            with ir.InsertionPoint(owner), owner.location:
                [owner.operands[index]] = iree.opaque(value)


def _barrier_updates_inserted_with_strides(module_op):
    """An update of a tensor from constants (`zeros(2).at[0].set(x)`) that a
    strided insert takes as its source, read through a barrier."""
    for op in mlir.ops_where(module_op, lambda op: op.name == "tensor.insert_slice"):
        source = op.operands[0]
        strided = any(s != 1 for s in op.opview.static_strides)
        if strided and mlir.made_by(source, "tensor.insert_slice") and _from_constants(source.owner.operands[1]):
            with ir.InsertionPoint(op), op.location:
                [op.operands[0]] = iree.opaque(source)


_LOOPS = ("scf.for", "scf.while")
_SLICED_WORK = _WORK + ("tensor.extract_slice", "tensor.concat")
_NOT_COMPUTED = _LEAVES + ("linalg.fill",)  # a literal or a splat: no dispatch of its own


def _barrier_generators_read_by_loops(module_op):
    """Each tensor computed from constants (or a slice or concat of one) that
    a loop reads from outside, read by the loop (its body, its inits) through
    a barrier of its own, made before it. Outer loops first: an inner loop
    then reads the outer one's barrier, which is no constant."""
    for loop in reversed(mlir.ops_where(module_op, lambda op: op.name in _LOOPS)):
        for value in mlir.captured(loop):
            if not (isinstance(value.type, ir.RankedTensorType) and isinstance(value, ir.OpResult)
                    and value.owner.name not in _NOT_COMPUTED and _from_constants(value, work=_SLICED_WORK)):
                continue
            inside = [(use.owner, use.operand_number) for use in value.uses if mlir.nested_in(use.owner, loop)]
            with ir.InsertionPoint(loop), loop.location:
                [hidden] = iree.opaque(value)
            for owner, index in inside:
                owner.operands[index] = hidden


"""The CPU's prepare step for reads of one element: each linalg.generic of
one point that reads with tensor.extract (x[i] with i traced, a 1-element
dynamic_slice) goes into a `flow.dispatch.region` of its own.

Why: IREE 3.13's CPU vectorizer turns such a read, in a generic of one point
(IREE drops unit dims first), into a 0-d vector where the rest of the body
has scalars, and rejects the body: "'arith.mulf' op requires the same type
for all operands and results" with (vector<f32>, f32), or an 'arith.select'
for a read with a fill value. That happens when IREE fuses the read with its
users into a dispatch it vectorizes, such as a reduction's:
a.at[j].set(x[j] * jnp.dot(h[j], q)) in a loop (the two-loop recursion of
L-BFGS). A dispatch of its own is not vectorized. Not a
util.optimization_barrier, which would also keep the read out of its users'
dispatches, since a barrier makes the host wait for the device (a
stream.timepoint.await) at each one, every iteration of a loop.
Vulkan's code generation reads these right, so this is the CPU's alone.

Only a read whose one-point work meets other work: the one-point generics
linked to it by their operands and results (x[i] * 2 + c, all of one
element) are scalar code IREE does not vectorize, and an extra dispatch
costs a loop ~0.4 us a step (a 1000-step `c + x[i] * 2` took 0.29 ms as
one dispatch a step, 0.7 ms as two). When one of them reads what a linalg op
of more than one point made, or one such op reads their result, IREE may
fuse them into its vectorized dispatch, and the read goes apart.
"""
import math
import re

from iree.compiler import ir
from iree.compiler.dialects import flow

from irax.backends import prepare_steps
from irax.ir import mlir

# The text of a generic with one output of one element (tensor<f32>,
# tensor<1x1xi32>): only then is the module parsed.
_ONE_ELEMENT_OUT = re.compile(r"outs\(%[\w#]+ : tensor<(?:1x)*[a-z]+\d*>\)")


def _may_hold_reads(mlir_text: str) -> bool:
    return "tensor.extract %" in mlir_text and _ONE_ELEMENT_OUT.search(mlir_text) is not None


def _regioned(module):
    """`module` with each one-point generic that reads with tensor.extract
    in a dispatch region of its own; None where there is none."""
    reads = mlir.ops_where(module.operation, _is_scalar_read)
    for read in reads:
        _into_own_region(read)
    return module if reads else None


SCALAR_READS = prepare_steps.Step(_may_hold_reads, _regioned)  # this file's step of the CPU's prepare step


def _is_scalar_read(op) -> bool:
    """A one-point generic whose body reads a tensor with tensor.extract, not
    already in a dispatch region, whose one-point work meets other work."""
    if not _one_point(op) or _in_region(op) or not mlir.ops_where(op, lambda o: o.name == "tensor.extract"):
        return False
    return _meets_other_work(op)


def _one_point(op) -> bool:
    """A linalg.generic of one point: all loops parallel, each output one element."""
    if op.name != "linalg.generic":
        return False
    if any(str(it) != "#linalg.iterator_type<parallel>" for it in ir.ArrayAttr(op.attributes["iterator_types"])):
        return False
    outputs = op.results
    return bool(outputs) and all(all(n == 1 for n in ir.RankedTensorType(r.type).shape) for r in outputs)


_RESHAPES = ("tensor.collapse_shape", "tensor.expand_shape", "tensor.cast", "tensor.reshape")


def _meets_other_work(read) -> bool:
    """Whether one of the one-point generics linked to `read` through
    operands and results (and reshapes: a 1-element slice is collapsed to 0-d)
    reads from, or is read by, a linalg op (named or generic) that is not of
    one point: what IREE fuses into a vectorized dispatch. (The tensor `read`
    reads from does not count: it is read, not fused.)"""
    def other_work(op):
        return op.name.startswith(("linalg.", "iree_linalg_ext.")) and not _one_point(op)

    read = read.operation
    seen, todo = {read}, [read]
    while todo:
        op = todo.pop()
        producers = [v.owner.operation for v in op.operands if not isinstance(v.owner, ir.Block)
                     and not (op == read and _elements(v.type) > 1)]
        users = [use.owner.operation for r in op.results for use in r.uses]
        for linked in producers + users:
            if other_work(linked):
                return True
            if (_one_point(linked) or linked.name in _RESHAPES) and linked not in seen:
                seen.add(linked)
                todo.append(linked)
    return False


def _elements(typ) -> float:
    if not isinstance(typ, ir.RankedTensorType):
        return 1
    return math.prod(typ.shape) if typ.has_static_shape else math.inf


def _in_region(op) -> bool:
    parent = op.parent
    while parent is not None:
        if parent.name == "flow.dispatch.region":
            return True
        parent = parent.parent
    return False


def _into_own_region(read):
    """Move `read` into a flow.dispatch.region that returns its results,
    which its users then read."""
    with ir.InsertionPoint(read), read.location:
        region = flow.DispatchRegionOp([r.type for r in read.results], [], [])
    block = region.regions[0].blocks.append()
    with ir.InsertionPoint(block), read.location:
        done = flow.ReturnOp(list(read.results))
    for old, new in zip(read.results, region.results):
        old.replace_all_uses_except(new, [done.operation])
    read.move_before(done)

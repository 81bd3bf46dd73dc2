"""What both autodiff passes need to know about a `linalg.generic`.

A differentiable generic reads inputs x_k through projected-permutation maps
and computes, per loop iteration, a scalar g(x_1, ..., x_n) from its body; it
then either stores g ('map'), adds it to its output ('sum': reductions,
contractions) or keeps the larger/smaller of g and its output ('max'/'min').
"""
from dataclasses import dataclass

from iree.compiler import ir
from iree.compiler.dialects import arith

from irax.frontend import mlir
from irax.transforms.ad import tensor_ops
from irax.transforms.ad.scalar_jvp import const_like
from irax.transforms.ad.tensor_ops import map_results, zeros_like


class NotDifferentiable(NotImplementedError):
    pass


STOP_GRADIENT = "irax.stop_gradient"  # unit attribute on an identity generic: lax.stop_gradient


def rule_name(op) -> str:
    """The key of an op in the rules tables: its name, or STOP_GRADIENT."""
    return STOP_GRADIENT if STOP_GRADIENT in op.operation.attributes else op.operation.name


_COMBINERS = {"arith.addf": "sum", "arith.maximumf": "max", "arith.minimumf": "min"}


@dataclass
class Generic:
    op: object
    inputs: list
    maps: list  # loop dims read by each input, then by the output
    iterators: list  # "parallel" / "reduction" per loop
    body: object
    kind: str  # map / sum / max / min
    g: object  # the body Value combined into the output
    combine: object  # the body op that combines g with the output, or None

    @property
    def out_map(self):
        return self.maps[len(self.inputs)]

    def clone_body(self, new_inputs, acc, seeds, op_seeds=None):
        """Copy the body up to (not including) the combine, as tensor_ops.clone_body."""
        return tensor_ops.clone_body(self.body, list(new_inputs) + [acc], seeds, self.combine, op_seeds)

    def extracts(self):
        return extracts(self.op)

    def loop_sizes(self):
        """Each loop's static size, read off the operands through their maps."""
        sizes = [None] * len(self.iterators)
        for value, dims in zip(list(self.op.inputs) + list(self.op.outputs), self.maps):
            for d, n in zip(dims, ir.RankedTensorType(value.type).shape):
                sizes[d] = n
        if None in sizes or any(n < 0 for n in sizes):
            raise NotDifferentiable("irax autodiff needs static shapes to differentiate a gather")
        return sizes


def extracts(op):
    """A generic body's `tensor.extract`s of tensors from outside the loop (gathers)."""
    body = op.regions[0].blocks[0]
    args = list(body.arguments)
    return [inner for inner in body.operations
            if inner.operation.name == "tensor.extract" and inner.operands[0] not in args]


def analyze(op) -> Generic:
    if len(op.outputs) != 1:
        raise NotDifferentiable("irax autodiff: multi-result linalg.generic is not differentiable")
    body = op.regions[0].blocks[0]
    acc = body.arguments[-1]
    yielded = body.operations[len(body.operations) - 1].operands[0]
    uses = [inner for inner in body.operations for v in inner.operation.operands if v == acc]
    iterators = [str(it).split("<")[-1].rstrip(">") for it in op.iterator_types]
    maps = [map_results(m) for m in op.indexing_maps]
    info = Generic(op, list(op.inputs), maps, iterators, body, "map", yielded, None)
    if not uses:
        return info
    combine = yielded.owner
    if len(uses) == 1 and uses[0] == combine and combine.name in _COMBINERS:
        lhs, rhs = combine.operands
        g = rhs if lhs == acc else lhs
        if g != acc:
            info.kind, info.g, info.combine = _COMBINERS[combine.name], g, combine
            return info
    raise NotDifferentiable(f"irax autodiff: cannot differentiate a linalg.generic whose body ends in:\n{combine}")


def tie_count(info: Generic, chosen):
    """For max/min: how many elements equal the chosen one, per output element
    (ties share the derivative equally, as in JAX)."""

    def body(*args):
        new_ins, chosen_s, acc = args[: len(info.inputs)], args[len(info.inputs)], args[-1]
        mapping, _ = info.clone_body(new_ins, acc, {})
        hit = arith.cmpf(arith.CmpFPredicate.OEQ, mapping[info.g], chosen_s)
        return [arith.addf(acc, arith.select(hit, const_like(acc, 1.0), const_like(acc, 0.0)))]

    maps = info.maps[: len(info.inputs)] + [info.out_map, info.out_map]
    return mlir.generic(info.inputs + [chosen], [zeros_like(chosen)], maps, info.iterators, body)[0]


def share_of_chosen(g_value, chosen, count):
    """1/count where g is the chosen max/min, else 0."""
    hit = arith.cmpf(arith.CmpFPredicate.OEQ, g_value, chosen)
    return arith.select(hit, arith.divf(const_like(count, 1.0), count), const_like(count, 0.0))

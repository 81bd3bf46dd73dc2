"""What both autodiff passes need to know about a `linalg.generic` (and,
at the end, about a scatter).

A differentiable generic reads inputs x_k through projected-permutation maps
and computes, per loop iteration, a scalar g(x_1, ..., x_n) from its body; it
then either stores g ('map'), adds it to its output ('sum': reductions,
contractions) or keeps the larger/smaller of g and its output ('max'/'min').
"""
from dataclasses import dataclass

import numpy as np
from iree.compiler import ir
from iree.compiler.dialects import arith, math, tensor

from irax.ir import convolution, mlir
from irax.ir.linalg import iterator_names, loop_sizes, map_results
from irax.ir.scalar import cmpf, select
from irax.ir.scalar_parts import is_nan
from irax.transforms.ad import scalar_jvp, tensor_ops
from irax.transforms.ad.scalar_jvp import const_like, constant, divide, equal, multiply


class NotDifferentiable(NotImplementedError):
    pass


class DynamicBoundsError(ValueError):
    """JAX's ValueError for reverse mode through a loop whose trip count is
    known only at run time. An eager grad then runs its function on values
    (frontend/tape.py), where the bounds may be Python ints, as JAX's does."""


STOP_GRADIENT = mlir.STOP_GRADIENT  # lax.stop_gradient's identity generic
# Unit attribute on a conversion into an 8- or 4-bit float. Those values are
# their bits (i8) to the passes, so a derivative would stop there, silently 0.
TO_BIT_FLOAT = "irax.to_bit_float"


def check_not_into_bit_float(op):
    """Raise where a derivative would flow into an 8- or 4-bit float."""
    if TO_BIT_FLOAT in op.operation.attributes:
        raise NotDifferentiable("irax cannot differentiate through a conversion to an 8- or 4-bit float (float8_*, "
                                "float4_e2m1fn) yet: the autodiff passes see their bits as integers. Keep the "
                                "differentiated values in float32 or bfloat16, or use nn.scaled_dot_general, whose "
                                "custom VJP quantizes inside.")


def rule_name(op) -> str:
    """The key of an op in the rules tables: its name, or STOP_GRADIENT, or
    the marker of a convolution or windowed reduction (ir/convolution.py)."""
    if STOP_GRADIENT in op.operation.attributes:
        return STOP_GRADIENT
    return convolution.marker(op) or op.operation.name


_COMBINERS = {"arith.addf": "sum", "complex.add": "sum", "arith.mulf": "prod", "complex.mul": "prod",
              "arith.maximumf": "max", "arith.minimumf": "min"}


@dataclass
class Generic:
    op: object
    inputs: list
    maps: list  # loop dims read by each input, then by the output
    iterators: list  # "parallel" / "reduction" per loop
    body: object
    kind: str  # map / sum / prod / max / min
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
        sizes = loop_sizes(self.op)
        if len(sizes) != len(self.iterators) or any(n < 0 for n in sizes.values()):
            raise NotDifferentiable("irax autodiff needs static shapes to differentiate a gather")
        return [sizes[d] for d in range(len(self.iterators))]


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
    uses = [use.owner for use in acc.uses]  # (one per operand read, as an op reading it twice uses it twice)
    iterators = iterator_names(op)
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


def differentiable_results(op, is_active) -> list:
    """Which results of generic `op` have a derivative that is not zero by
    construction, given `is_active(value)` for the values it reads. A body op
    whose derivative is always zero (floor, sign's selects of constants,
    comparisons, casts to integers) cuts the chain there, as JAX's symbolic
    zeros do: d floor(log x) is 0, not 0 * (1/x), which is NaN at x = 0."""
    body = op.regions[0].blocks[0]
    live = {arg for arg, value in zip(body.arguments, op.operands) if is_active(value)}
    for inner in list(body.operations)[:-1]:
        reads = [v for v in inner.operands if v in live or is_active(v)]
        if reads and not scalar_jvp.is_zero_rule(inner.operation.name):
            live.update(inner.results)
    return [v in live for v in body.operations[len(body.operations) - 1].operands]


def _fold(info: Generic, extra, init, step, elem=None):
    """A generic over `info`'s loops that folds `step(acc, g, *extra scalars)`
    into an output shaped like the op's result (of element type `elem`, the
    result's by default), starting from `init`."""

    def body(*args):
        new_ins, extras, acc = args[: len(info.inputs)], args[len(info.inputs):-1], args[-1]
        mapping, _ = info.clone_body(new_ins, acc, {})
        return [step(acc, mapping[info.g], *extras)]

    result = info.op.results[0]
    elem = elem or tensor_ops.tensor_type(result).element_type
    filled = mlir.fill_tensor(constant(elem, init), tensor.EmptyOp(mlir.dims(result), elem).result)
    maps = info.maps[: len(info.inputs)] + [info.out_map] * (len(extra) + 1)
    return mlir.generic(info.inputs + list(extra), [filled], maps, info.iterators, body)[0]


def _indicator(condition, like):
    return arith.select(condition, const_like(like, 1.0), const_like(like, 0.0))


def _is_zero(x):
    return equal(x, const_like(x, 0.0))


def chain_factor(info: Generic):
    """For reductions whose output is not a plain sum of g: how a change v of
    g at one element moves the output, as (extra input tensors indexed like
    the output, chain(v, g, *extra scalars)). None for 'map' and 'sum',
    where it is v itself.

    max/min: v/count at the chosen elements (ties share, as in JAX), else 0,
             a select, not v * 0: a NaN or inf tangent of an element not
             chosen stays out, as JAX's select does; where none equals the
             result (a NaN one), 0/0: NaN, as JAX's.
    prod:    v times the product of the others (JAX's: its rule multiplies
             the others out). Real: from the product F of the finite nonzero
             factors (times the signs of the infinite ones) and the counts
             of zeros, infinities and NaNs, less g's own: NaN with a NaN or
             with 0 and inf among the others, else 0 with a zero, else
             ±inf with an inf, else F (over g where g is finite and
             nonzero). So an inf or NaN factor gives the others' product,
             not p/g's NaN or 0. Complex (complex.mul): with z zeros and p
             the product of the nonzero factors, p/g if z == 0, p at the
             zero if z == 1, else 0. Counts are folded in floats.
    """
    result = info.op.results[0]
    if info.kind in ("max", "min"):
        count = _fold(info, [result], 0.0, lambda acc, g, chosen: arith.addf(acc, _indicator(equal(g, chosen), acc)))

        def share(v, g, chosen, n):
            return arith.divf(select(equal(g, chosen), v, const_like(v, 0.0)), n)

        return [result, count], share
    if info.kind == "prod" and isinstance(tensor_ops.tensor_type(result).element_type, ir.ComplexType):
        count_elem = tensor_ops.tensor_type(result).element_type.element_type
        nonzero = _fold(info, [], 1.0, lambda acc, g: multiply(acc, select(_is_zero(g), const_like(g, 1.0), g)))
        zeros = _fold(info, [], 0.0, lambda acc, g: arith.addf(acc, _indicator(_is_zero(g), acc)), count_elem)

        def times_others(v, g, p, z):
            lone_zero = arith.andi(equal(z, const_like(z, 1.0)), _is_zero(g))
            return multiply(v, select(_is_zero(z), divide(p, g), select(lone_zero, p, const_like(g, 0.0))))

        return [nonzero, zeros], times_others
    if info.kind == "prod":
        finite = _fold(info, [], 1.0, lambda acc, g: arith.mulf(acc, _finite_factor(g)))
        counts = [_fold(info, [], 0.0, lambda acc, g, kind=kind: arith.addf(acc, _indicator(kind(g), acc)))
                  for kind in (_is_zero, _is_inf, is_nan)]

        def times_others(v, g, finite, zeros, infs, nans):
            own = [_indicator(kind(g), zeros) for kind in (_is_zero, _is_inf, is_nan)]
            zeros, infs, nans = (cmpf("ogt", arith.subf(n, o), const_like(n, 0.0))
                                 for n, o in zip((zeros, infs, nans), own))
            finite = arith.divf(finite, _finite_factor(g))  # (g's factor in it: the others' finite part)
            others = select(arith.ori(nans, arith.andi(zeros, infs)), const_like(g, np.nan),
                            select(zeros, const_like(g, 0.0),
                                   select(infs, arith.mulf(finite, const_like(g, np.inf)), finite)))
            return arith.mulf(v, others)

        return [finite, *counts], times_others
    return None


def _finite_factor(g):
    """g's factor in prod's finite part: g itself if finite and nonzero, its
    sign if infinite, 1 if zero or NaN."""
    one = const_like(g, 1.0)
    sign = select(cmpf("ogt", g, const_like(g, 0.0)), one, const_like(g, -1.0))
    return select(_is_inf(g), sign, select(arith.ori(_is_zero(g), is_nan(g)), one, g))


def _is_inf(x):
    return cmpf("oeq", math.absf(x), const_like(x, np.inf))



def scatter_kind(op) -> str:
    """'set', 'add', 'multiply', 'max' or 'min' for an iree_linalg_ext.scatter
    (the .at[index_array] forms autodiff knows), from its combining region."""
    block = op.regions[0].blocks[0]
    update, old = block.arguments
    result = block.operations[len(block.operations) - 1].operands[0]
    if result == update:
        return "set"
    combine = result.owner
    kinds = {"arith.addf": "add", "arith.mulf": "multiply", "arith.maximumf": "max", "arith.minimumf": "min"}
    if combine.name in kinds and set(combine.operands) == {update, old}:
        return kinds[combine.name]
    raise NotDifferentiable(f"irax autodiff: a scatter combining by {combine.name} is not differentiable; "
                            "x.at[index_array].set, add, max, min and multiply (with respect to x) are")

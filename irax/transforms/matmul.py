"""Matrix products as plain `linalg.matmul`s, the form IREE's CPU backend
recognizes and tiles best.

irax writes every contraction as a `linalg.generic` (see
primitives/linalg.py), and autodiff writes the matmuls of a backward pass
with transposed operands: dX = dY @ W^T reads W through a permuted map.
This pass finds the generics that are 2-D matrix products,

    C[m, n] += A[.., ..] * B[.., ..]    (three loops: m, n parallel, k reduction)

and rewrites each as `linalg.matmul(A', B')` on (m, k) and (k, n) operands,
transposing an operand (`linalg.transpose`, a copy of O(size) beside the
product's O(m n k)) where its map reads it the other way round.
"""
from iree.compiler import ir
from iree.compiler.dialects import linalg, tensor

from irax.ir.linalg import is_projected, iterator_names, map_results


def _is_multiply_add(op):
    """Whether the body is `out + a * b` (in either operand order)."""
    ops = list(op.regions[0].blocks[0].operations)
    if [o.name for o in ops] != ["arith.mulf", "arith.addf", "linalg.yield"]:
        return False
    a, b, out = op.regions[0].blocks[0].arguments
    mul, add, _ = ops
    return {*mul.operands} == {a, b} and len(mul.operands) == 2 and {*add.operands} == {out, mul.result}


def _matmul_dims(op):
    """(m, n, k, map of input 0, map of input 1) for a 2-D matrix-product generic, else None."""
    if len(op.inputs) != 2 or len(op.outputs) != 1 or iterator_names(op).count("reduction") != 1 \
            or not is_projected(op):
        return None
    maps = [map_results(m) for m in op.indexing_maps]
    if len(iterator_names(op)) != 3 or any(len(m) != 2 for m in maps) or not _is_multiply_add(op):
        return None
    m, n = maps[2]
    (k,) = {0, 1, 2} - {m, n}
    return m, n, k, maps[0], maps[1]


def _transposed(x):
    typ = ir.RankedTensorType(x.type)
    return linalg.transpose(x, outs=[tensor.EmptyOp(typ.shape[::-1], typ.element_type).result], permutation=[1, 0])


def plain_matmul(op):
    """Replace the generic `op` by a linalg.matmul if it is a matrix product."""
    dims = _matmul_dims(op)
    if dims is None:
        return
    m, n, k, a_map, b_map = dims
    a, b = op.inputs
    if m not in a_map:  # the operands come as (rhs, lhs)
        a, b, a_map, b_map = b, a, b_map, a_map
    if {*a_map} != {m, k} or {*b_map} != {k, n}:
        return
    with ir.InsertionPoint(op):
        lhs = a if a_map == [m, k] else _transposed(a)
        rhs = b if b_map == [k, n] else _transposed(b)
        result = linalg.matmul(lhs, rhs, outs=[op.outputs[0]])
    op.results[0].replace_all_uses_with(result)
    op.erase()


def plain_matmuls(module_op):
    generics = []
    module_op.walk(lambda op: (op.name == "linalg.generic" and generics.append(op.opview)) or ir.WalkResult.ADVANCE)
    for op in generics:
        plain_matmul(op)

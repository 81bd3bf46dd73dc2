"""`dot_general`: every contraction of two arrays, as `lax.dot_general`.

    dimension_numbers = ((lhs_contracting, rhs_contracting), (lhs_batch, rhs_batch))

    out[b..., i..., j...] = sum_k lhs[b, i, k] * rhs[b, j, k]

with the dims of each operand sorted into batch dims `b` (paired, kept),
contracting dims `k` (paired, summed over) and free dims (`i` of lhs, `j` of
rhs, kept). The output lists batch dims (in the order given), then the free
dims of lhs, then those of rhs, each in operand order. dot, matmul, inner,
outer, tensordot and einsum are all this op.

It is one `linalg.generic`: a loop per output dim (parallel) and one per
contracted pair (reduction); each operand's map sends its dims to their
loops, a projected permutation. The output starts as zeros (`linalg.fill`)
and the body accumulates `out + lhs * rhs` in the operand dtype, so int32
wraps around on overflow like XLA, bool is `out or (lhs and rhs)`, and
float16/bfloat16 accumulate in float32 and are rounded once at the end.

A GPU thread runs one output element's reduction loops, over all K
contracted elements (IREE linearizes several contracted dims into one loop),
and lavapipe silently stops a shader loop after 65 535 iterations: a (1, 70000)
@ (70000, 1) of ones came out 65535. So where K > LOOP_LIMIT the contraction
runs in chunks of C <= BLOCK (reductions.py): the contracted dims of each
operand are made adjacent (a transpose where they are not) and collapsed
into one of K elements, zero-padded to G = ceil(K / C) chunks (zeros add
nothing) and split into (G, C), and

    partials[g, b..., i..., j...] = sum_c lhs[b, i, g, c] * rhs[b, j, g, c]
    out = sum_g partials[g, ...]            a staged reduction (reductions.py)

Eager kernels know K only at run time: an `scf.if` picks the chunks where
K > LOOP_LIMIT, else the single contraction, which is the only program
traced code with a smaller static K gets (its CPU matmul stays as it was).
An operand of STATIC_ABOVE elements or more gets an eager kernel of its
exact shapes, as a reduction does (docs/architecture.md, "Eager kernels for
big arrays"): a long vector dot then folds columns, its products fused into
the fold (backends/cpu_fold_fusion.py), and a big matmul gets the CPU's
register tiles (cpu_tiles.py); the eager dot of two 1e7 float32 vectors took
4.7 ms shape-generic, against JAX's 1.1.
"""
import numpy as np
from iree.compiler import ir
from iree.compiler.dialects import scf, tensor

from irax.frontend.core import ShapedArray
from irax.frontend.primitives import Primitive
from irax.frontend.primitives.scalar_rules import BINARY
from irax.frontend.primitives.reductions import (
    BLOCK, STATIC_ABOVE, _add, _block_size, _div, _mixed, _mul, _split, accumulator_dtype, cast, long_axis, monoid_fold,
    reduce_axes,
)
from irax.ir import mlir
from irax.ir.scalar import cmpi, convert_scalar


def _free_dims(ndim, contracting, batch):
    """The dims of an operand that are neither contracted nor batch, in order."""
    return tuple(d for d in range(ndim) if d not in contracting and d not in batch)


def _check_dimension_numbers(lhs, rhs, lc, rc, lb, rb):
    """lax.dot_general's checks, with its error messages."""
    for side, aval, c, b in (("lhs", lhs, lc, lb), ("rhs", rhs, rc, rb)):
        if not all(0 <= d < aval.ndim for d in c + b):
            raise TypeError(
                f"dot_general requires {side} dimension numbers to be nonnegative and less than the number "
                f"of axes of the {side} value, got {side}_batch of {b} and {side}_contracting of {c} "
                f"for {side} of rank {aval.ndim}"
            )
    if len(lb) != len(rb):
        raise TypeError(
            f"dot_general requires equal numbers of lhs_batch and rhs_batch dimensions, got lhs_batch {lb} and rhs_batch {rb}."
        )
    for side, kind, dims in (("lhs", "batch", lb), ("rhs", "batch", rb), ("lhs", "contracting", lc), ("rhs", "contracting", rc)):
        if len(set(dims)) != len(dims):
            raise TypeError(f"dot_general requires {side} {kind} dimensions to be distinct, got {side}_{kind} {dims}.")
    for side, c, b in (("lhs", lc, lb), ("rhs", rc, rb)):
        if set(c) & set(b):
            raise TypeError(
                f"dot_general requires {side} batch dimensions to be disjoint from contracting dimensions, "
                f"got {side}_batch {b} and {side}_contracting {c}."
            )
    # Dynamic (None) sizes only occur in eager kernels, whose operands were
    # checked with their real sizes first: None then matches None.
    for kind, l_dims, r_dims in (("lhs batch dimensions and rhs batch", lb, rb), ("contracting", lc, rc)):
        l_shape, r_shape = tuple(lhs.shape[d] for d in l_dims), tuple(rhs.shape[d] for d in r_dims)
        if l_shape != r_shape:
            raise TypeError(f"dot_general requires {kind} dimensions to have the same shape, got {l_shape} and {r_shape}.")


def _dot_general_eval(lhs, rhs, *, dimension_numbers):
    (lc, rc), (lb, rb) = dimension_numbers
    if lhs.dtype != rhs.dtype:
        raise TypeError(f"dot_general requires operands of the same dtype, got {lhs.dtype.name} and {rhs.dtype.name}.")
    _check_dimension_numbers(lhs, rhs, lc, rc, lb, rb)
    shape = (
        [lhs.shape[d] for d in lb]
        + [lhs.shape[d] for d in _free_dims(lhs.ndim, lc, lb)]
        + [rhs.shape[d] for d in _free_dims(rhs.ndim, rc, rb)]
    )
    return ShapedArray(shape, lhs.dtype, lhs.weak_type and rhs.weak_type)


def _dot_general_emit(ctx, lhs, rhs, *, dimension_numbers):
    (lc, rc), (lb, rb) = dimension_numbers
    lhs_aval, rhs_aval = ctx.avals_in
    out = ctx.avals_out[0]
    lhs_free, rhs_free = _free_dims(lhs_aval.ndim, lc, lb), _free_dims(rhs_aval.ndim, rc, rb)
    # Loops: one per output dim (batch, lhs free, rhs free), then one per contracted pair.
    n_out, n_batch = out.ndim, len(lb)
    contracted = range(n_out, n_out + len(lc))
    lhs_loop = {**dict(zip(lb + lhs_free, range(n_out))), **dict(zip(lc, contracted))}
    rhs_loop = {**dict(zip(rb, range(n_batch))), **dict(zip(rhs_free, range(n_batch + len(lhs_free), n_out))),
                **dict(zip(rc, contracted))}
    maps = [[lhs_loop[d] for d in range(lhs_aval.ndim)], [rhs_loop[d] for d in range(rhs_aval.ndim)], list(range(n_out))]
    iterators = [mlir.PARALLEL] * n_out + [mlir.REDUCTION] * len(lc)

    lhs_sizes, rhs_sizes = mlir.dims(lhs), mlir.dims(rhs)
    sizes = [lhs_sizes[d] for d in lb + lhs_free] + [rhs_sizes[d] for d in rhs_free]
    dtype = out.dtype
    acc = accumulator_dtype("sum", dtype)
    add, mul = BINARY["add"], BINARY["mul"]  # on bool: or, and

    def multiply_add(a, b, total):
        a, b = convert_scalar(dtype, acc, a), convert_scalar(dtype, acc, b)
        return [add(acc, total, mul(acc, a, b))]

    if len(lc) == lhs_aval.ndim == rhs_aval.ndim == 1 and long_axis(lhs_sizes[0]):
        # A long vector dot: products, then their sum as a tree (see reductions.tree_reduce).
        mul_in_acc = lambda a, b, _: [mul(acc, convert_scalar(dtype, acc, a), convert_scalar(dtype, acc, b))]  # noqa: E731
        (products,) = mlir.generic([lhs, rhs], [mlir.empty(lhs_sizes, acc)], [[0], [0], [0]], [mlir.PARALLEL],
                                   mul_in_acc)
        (total,) = reduce_axes(products, (0,), *monoid_fold("sum", acc, acc), keepdims=False)
        return [cast(total, acc, dtype)]

    def single():
        init = mlir.fill(mlir.scalar_constant(0, acc), sizes, acc)
        return mlir.generic([lhs, rhs], [init], maps, iterators, multiply_add)[0]

    def chunked():
        return _chunked_contraction(lhs, rhs, (lc, rc), (lhs_loop, rhs_loop), n_out, sizes, acc, multiply_add)

    k = _product([lhs_sizes[d] for d in lc])
    if isinstance(k, int):
        total = chunked() if k > LOOP_LIMIT else single()
    else:
        static = [d if isinstance(d, int) else mlir.DYNAMIC() for d in sizes]
        total = _if(cmpi("ugt", k, mlir.index(LOOP_LIMIT)), ir.RankedTensorType.get(static, mlir.element_type(acc)),
                    chunked, single)
    return [cast(total, acc, dtype)]


# The most iterations lavapipe runs of one shader loop (see the module docstring).
LOOP_LIMIT = 65535


def _product(sizes):
    total = 1
    for size in sizes:
        total = _mul(total, size)
    return total


def _if(condition, typ, then, otherwise):
    """`then()` where `condition` holds at run time, else `otherwise()`: one
    tensor each, cast to `typ`."""
    op = scf.IfOp(condition, [typ], has_else=True)
    for block, build in ((op.then_block, then), (op.else_block, otherwise)):
        with ir.InsertionPoint(block):
            value = build()
            scf.YieldOp([value if value.type == typ else tensor.CastOp(typ, value).result])
    return op.results[0]


def _contracted_last(x, contracted):
    """`x` with its `contracted` dims (in that order) collapsed into one dim
    at position p, after a transpose that moves them to the end unless they
    already sit side by side in order. Returns (x, p, the other dims of x in
    their new order)."""
    rank = ir.RankedTensorType(x.type).rank
    n = len(contracted)
    others = [d for d in range(rank) if d not in contracted]
    p = contracted[0]
    if list(contracted) != list(range(p, p + n)):
        order = others + list(contracted)
        sizes = mlir.dims(x)
        out = mlir.empty([sizes[d] for d in order], mlir.aval_parts(ir.RankedTensorType(x.type))[1])
        to_loop = [order.index(d) for d in range(rank)]
        x = mlir.generic([x], [out], [to_loop, list(range(rank))], [mlir.PARALLEL] * rank, lambda v, _: [v])[0]
        p = rank - n
    if n > 1:
        typ = ir.RankedTensorType(x.type)
        groups = [[i] for i in range(p)] + [list(range(p, p + n))] + [[i] for i in range(p + n, rank)]
        shape = list(typ.shape)
        k = mlir.DYNAMIC() if mlir.DYNAMIC() in shape[p:p + n] else int(np.prod(shape[p:p + n]))
        collapsed = ir.RankedTensorType.get(shape[:p] + [k] + shape[p + n:], typ.element_type)
        x = tensor.CollapseShapeOp(collapsed, x, mlir.reassociation(groups)).result
    return x, p, others


def _zero_padded(x, axis, size):
    """`x` extended with zeros along `axis` to `size` elements: inserted into
    zeros, which the autodiff pass differentiates for sizes known at run time too."""
    sizes = mlir.dims(x)
    dtype = mlir.aval_parts(ir.RankedTensorType(x.type))[1]
    zeros = mlir.fill(mlir.scalar_constant(0, dtype), sizes[:axis] + [size] + sizes[axis + 1:], dtype)
    dynamic, static = _mixed(sizes)
    rank = len(sizes)
    return tensor.InsertSliceOp(x, zeros, [], dynamic, [], [0] * rank, static, [1] * rank).result


def _chunked_contraction(lhs, rhs, contracting, loops, n_out, sizes, acc, multiply_add):
    """The contraction in chunks of C along K, as the module docstring says.
    `loops` maps each operand's dims to the single contraction's loops; here
    loop 0 runs over the chunks, the output's loops follow, and the last
    runs over one chunk."""
    operands = [_contracted_last(x, contracted) for x, contracted in zip((lhs, rhs), contracting)]
    k = mlir.dims(operands[0][0])[operands[0][1]]
    c = _block_size(k, BLOCK) if isinstance(k, int) else BLOCK
    g = _div(_add(k, c - 1), c)
    padded = _mul(g, c)
    inputs, maps = [], []
    for (x, p, others), loop in zip(operands, loops):
        if padded != k:  # always where k is only known at run time
            x = _zero_padded(x, p, padded)
        inputs.append(_split(x, p, g, c))
        outer = [1 + loop[d] for d in others]
        maps.append(outer[:p] + [0, n_out + 1] + outer[p:])
    init = mlir.fill(mlir.scalar_constant(0, acc), [g] + sizes, acc)
    iterators = [mlir.PARALLEL] * (n_out + 1) + [mlir.REDUCTION]
    (partials,) = mlir.generic(inputs, [init], maps + [list(range(n_out + 1))], iterators, multiply_add)
    return reduce_axes(partials, (0,), *monoid_fold("sum", acc, acc), keepdims=False)[0]


dot_general = Primitive("dot_general", _dot_general_eval, _dot_general_emit, dynamic_shapes=True,
                        static_above=STATIC_ABOVE)

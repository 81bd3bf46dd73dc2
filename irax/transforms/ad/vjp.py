"""Reverse-mode autodiff of an MLIR function, written as an MLIR pass.

Given `func.func @f(%x...) -> (%y...)`, `build_vjp` adds to the module

    func.func @f_vjp(%x..., %ct_y...) -> (%y..., %ct_x[wrt]...)

whose body is @f's body (the forward pass) followed by the backward pass:
the ops of @f in reverse order, each replaced by its VJP rule, which turns
the cotangents of an op's results into contributions to the cotangents of
its operands (summed when a value has several uses). One rule per op kind:

    RULES[op name](op, result cotangents, active operands) -> [(operand, cotangent)]

The one rule that does most of the work is for `linalg.generic` (see
`_generic`): elementwise ops, broadcasts, sums, dot, matmul and einsum are
all generics with projected-permutation maps, and they share it.

Only *active* values, those that depend on a differentiated argument, get
cotangents, so constants and integer index math cost nothing.
"""
import functools

import numpy as np
from iree.compiler import ir
from iree.compiler.dialects import arith, linalg, tensor
from iree.compiler.dialects import complex as cx

from irax.ir import mlir
from irax.ir.iree import (linalg_ext_scan_like, linalg_ext_scatter, opaque, reversed_along, scan_dimension,
                          scan_sums)
from irax.transforms.ad import (
    control_flow, convolution, custom, generic, host_calls, remat, scalar_jvp, scatter_extremal, tensor_ops,
)
from irax.transforms.ad.generic import NotDifferentiable
from irax.transforms.ad.scalar_jvp import const_like
from irax.transforms.ad.tensor_ops import add, is_float_tensor, is_zeros, reshape_static, tensor_type, zeros_like


def active_values(ops, seeds) -> set:
    """Values that depend on `seeds` (forward sweep over `ops`). An op with
    regions reads the values its regions capture too; the results of
    scf.if, scf.for and scf.while are active where what their regions yield
    for them is, those of a generic where its body's derivative is not zero
    by construction (`_ACTIVE_RESULTS`), those of other ops all at once."""
    active = set(seeds)
    for op in ops:
        used = []
        op.operation.walk(lambda inner: used.extend(inner.operands) or ir.WalkResult.ADVANCE)
        if generic.rule_name(op) != generic.STOP_GRADIENT and any(v in active for v in used):
            generic.check_not_into_bit_float(op)
            results = _ACTIVE_RESULTS.get(op.operation.name, lambda op, active: op.results)(op.operation, active)
            active.update(r for r in results if is_float_tensor(r))
    return active


def _yields_active(block, active, args):
    """Which values `block`'s terminator passes on depend on `active`, with
    the block arguments `args` (flags, one per argument) active too."""
    seeds = active | {a for a, flag in zip(block.arguments, args) if flag and is_float_tensor(a)}
    inner = active_values(list(block.operations)[:-1], seeds)
    return [v in inner for v in block.operations[len(block.operations) - 1].operands]


def _if_results(op, active):
    """A result of scf.if is active if either branch yields an active value for it."""
    flags = [_yields_active(region.blocks[0], active, []) for region in op.regions if len(region.blocks)]
    return [r for i, r in enumerate(op.results) if any(f[i] for f in flags)]


def _for_results(op, active):
    """scf.for %iv iter_args(%c = %init): carry i is active if its init is,
    or if the body yields an active value for it given the active carries
    (iterated to a fixed point: the flags only grow)."""
    body, carried = op.regions[0].blocks[0], [v in active for v in op.operands[3:]]
    while True:
        yielded = _yields_active(body, active, [False] + carried)
        grown = [c or y for c, y in zip(carried, yielded)]
        if grown == carried:
            return [r for r, c in zip(op.results, carried) if c]
        carried = grown


def while_activity(op, active):
    """(carried, forwarded): which carries of scf.while `op` depend on
    `active`, and which values its before region forwards (scf.condition's
    operands after the predicate: the after region's arguments and the
    results). The after region yields the next carries. Iterated to a fixed
    point as for scf.for."""
    before, after = op.regions[0].blocks[0], op.regions[1].blocks[0]
    carried = [v in active for v in op.operands]
    while True:
        forwarded = _yields_active(before, active, carried)[1:]
        grown = [c or y for c, y in zip(carried, _yields_active(after, active, forwarded))]
        if grown == carried:
            return carried, forwarded
        carried = grown


def _while_results(op, active):
    return [r for r, f in zip(op.results, while_activity(op, active)[1]) if f]


def _generic_results(op, active):
    return [r for r, live in zip(op.results, generic.differentiable_results(op, active.__contains__)) if live]


_ACTIVE_RESULTS = {"scf.if": _if_results, "scf.for": _for_results, "scf.while": _while_results,
                   "linalg.generic": _generic_results}


# ---------------------------------------------------------------------------
# linalg.generic

def _adjoint_generic(info, k, ct, extra_inputs=(), chain=None):
    """Cotangent of input k: sum, over the loops input k does not index, of
    ct * dg/dx_k (through `chain` for max, min and prod), as one new generic.

    Where input k indexes every loop there is nothing to sum: the generic
    stores the product into an empty tensor instead of adding it to zeros, so
    that `ct * 1` (the adjoint of an add) folds away to `ct` in canonicalize.
    (A `0 + x` generic would stay, and be stored as one more result of the
    matmul it fuses into: IREE 3.13 with data tiling then fails to compile
    the matmul, "large vector sizes".)

    ct and dg/dx_k have g's type, which differs from x_k's where the body
    converts (half precision computes in float32): the sum is taken in the
    wider of the two types and the cotangent converted to x_k's, as the
    adjoint of extf is truncf and vice versa."""
    n = len(info.inputs)
    x = info.inputs[k]
    keep = info.maps[k]
    iterators = [mlir.PARALLEL if d in keep else mlir.REDUCTION for d in range(len(info.iterators))]
    summed = mlir.REDUCTION in iterators
    x_elem, ct_elem = tensor_type(x).element_type, tensor_type(ct).element_type
    complex_case = any(isinstance(t, ir.ComplexType) for t in (x_elem, ct_elem))
    wider = summed and not complex_case
    acc_elem = max(x_elem, ct_elem, key=lambda t: ir.FloatType(t).width) if wider else x_elem

    def body(*args):
        new_ins, ct_s, extras, acc = args[:n], args[n], args[n + 1:-1], args[-1]
        if complex_case:
            def dg(v):  # the tangent of the output where x_k moves by v (that of g, through `chain`)
                mapping, tangents = info.clone_body(new_ins, acc, {k: scalar_jvp.constant(x_elem, v)})
                d = tangents.get(info.g)
                if d is None or chain is None:
                    return d
                return chain(d, mapping[info.g], *extras)

            contribution = _complex_contribution(ct_s, x_elem, dg)
        else:
            mapping, tangents = info.clone_body(new_ins, acc, {k: const_like(new_ins[k], 1.0)})
            d = tangents.get(info.g)  # None: g does not depend on x_k (floor, comparisons)
            contribution = const_like(ct_s, 0.0) if d is None else _times(ct_s, d)
            if chain is not None:
                contribution = chain(contribution, mapping[info.g], *extras)
        contribution = scalar_jvp.convert(contribution, acc_elem)
        return [scalar_jvp.add(acc, contribution) if summed else contribution]

    maps = info.maps[:n] + [info.out_map] * (1 + len(extra_inputs)) + [keep]
    shaped_like_x = tensor.EmptyOp(mlir.dims(x), acc_elem).result
    init = mlir.fill_tensor(tensor_ops.zero_of(acc_elem), shaped_like_x) if summed else shaped_like_x
    adjoint = mlir.generic(info.inputs + [ct, *extra_inputs], [init], maps, iterators, body)[0]
    return tensor_ops.convert(adjoint, x_elem)


def _times(ct, d):
    """ct * d, with a select d (the tangent of a `where`) taken branch by
    branch and a zero branch left 0, as JAX transposes select(c, t, 0) to
    select(c, ct, 0): a NaN or inf cotangent must not reach the input that
    was not selected, where ct * 0 would be NaN (grad of sum(x, where=m) *
    nan was NaN at the masked-out elements too)."""
    owner = d.owner
    name = owner.name if isinstance(owner, (ir.Operation, ir.OpView)) else None
    if name == "arith.select":
        return arith.select(owner.operands[0], _times(ct, owner.operands[1]), _times(ct, owner.operands[2]))
    if name == "arith.constant" and isinstance(d.type, ir.FloatType) and \
            ir.FloatAttr(owner.attributes["value"]).value == 0.0:
        return d
    return arith.mulf(ct, d)


def _complex_contribution(ct, x_type, dg):
    """ct * dg/dx where g or x is complex, transposed as JAX transposes, with
    `dg(v)` the tangent of g (None: 0) where x moves by v. re, conj and abs
    are not complex-differentiable, so dx -> dg is linear over the reals
    only: it is read off two directions, d1 = dg(1) and di = dg(i), and

        real x:     ct_x = re(ct d1)
        complex x:  ct_x = re(ct d1) - i re(ct di)

    For holomorphic g, di = i d1 and that is ct g'(x), with no conjugate
    (JAX's convention: grad(f, holomorphic=True) is f'); for a real loss L
    of complex z it is dL/dre z - i dL/dim z, the conjugate of the gradient."""
    part = x_type.element_type if isinstance(x_type, ir.ComplexType) else x_type

    def re_of_ct_times_dg(direction):
        d = dg(direction)
        if d is None:
            return scalar_jvp.constant(part, 0.0)
        p = scalar_jvp.multiply(ct, d)
        return scalar_jvp.convert(cx.re(p) if isinstance(p.type, ir.ComplexType) else p, part)

    along_1 = re_of_ct_times_dg(1.0)
    if part == x_type:
        return along_1
    # 0 - re(ct di), not its negation: where it is 0, +0 as JAX's transposes
    # of re and abs give it (complex(t, 0)), not -0 (`1.-0.j` printed).
    return cx.create_(x_type, along_1, arith.subf(scalar_jvp.constant(part, 0.0), re_of_ct_times_dg(1j)))


def _generic(op, cts, active):
    (ct,) = cts
    info = generic.analyze(op)
    extra, chain = generic.chain_factor(info) or ((), None)
    out = [(x, _adjoint_generic(info, k, ct, extra, chain)) for k, x in enumerate(info.inputs) if x in active]
    init = op.outputs[0]
    if info.kind == "sum" and init in active:
        out.append((init, ct))
    for extract in info.extracts():
        if extract.operands[0] in active:
            out.append((extract.operands[0], _scatter_back(info, extract, ct)))
    return out


def _scatter_back(info, extract, ct):
    """The cotangent of a tensor S a gather reads (`tensor.extract S[i...]` in
    the body): ct * dg/dS[i...] added into zeros at every position read,
    with IREE's scatter (repeated positions accumulate)."""
    n = len(info.inputs)
    source = extract.operands[0]
    loops = info.loop_sizes()
    all_loops = list(range(len(loops)))
    parallel = [mlir.PARALLEL] * len(loops)
    elem = tensor_type(source).element_type
    i64 = ir.IntegerType.get_signless(64)

    def contribution(*args):
        new_ins, ct_s, acc = args[:n], args[n], args[-1]

        def dg(v):  # the tangent of g where S[i...] moves by v
            seed = {extract.result: lambda new_op: const_like(new_op.results[0], v)}
            return info.clone_body(new_ins, acc, {}, op_seeds=seed)[1].get(info.g)

        if any(isinstance(t, ir.ComplexType) for t in (elem, ct_s.type)):
            return [_complex_contribution(ct_s, elem, dg)]
        d = dg(1.0)
        return [scalar_jvp.convert(_times(ct_s, d) if d is not None else const_like(ct_s, 0.0), elem)]

    def position(*args):
        mapping, _ = info.clone_body(args[:n], args[-1], {})
        shape = tensor_type(source).shape
        linear = mlir.index(0)
        for size, i in zip(shape, extract.operands[1:]):
            linear = arith.addi(arith.muli(linear, mlir.index(size)), mapping[i])
        return [arith.index_cast(i64, linear)]

    updates = mlir.generic(info.inputs + [ct], [tensor.EmptyOp(loops, elem).result],
                           info.maps[:n] + [info.out_map, all_loops], parallel, contribution)[0]
    targets = mlir.generic(info.inputs, [tensor.EmptyOp(loops, i64).result], info.maps[:n] + [all_loops],
                           parallel, position)[0]
    count = int(np.prod(loops, dtype=np.int64))
    flat = [count]
    updates = reshape_static(updates, flat) if len(loops) != 1 else updates
    targets = reshape_static(reshape_static(targets, flat) if len(loops) != 1 else targets, [count, 1])
    shape = tensor_type(source).shape
    size = [int(np.prod(shape, dtype=np.int64))]
    dest = zeros_like(reshape_static(source, size) if len(shape) != 1 else source)
    summed = linalg_ext_scatter(updates, targets, dest, scalar_jvp.add)
    return summed if len(shape) == 1 else reshape_static(summed, shape)


# ---------------------------------------------------------------------------
# Structural tensor ops: their cotangents move data back the way it came.

def _reassociation(op):
    return op.attributes["reassociation"]


def _collapse(op, cts, active):
    """The cotangent expanded back to src's shape; where it is a slice
    inserted into zeros and each merged group has one dim not 1 (x[0]'s
    (1, 3) -> (3,)), the slice is inserted into zeros of src's shape
    instead, so that a slice before can compose with it (`_extract_slice`)."""
    (ct,) = cts
    src = op.operands[0]
    shape = tensor_type(src).shape
    groups = [[ir.IntegerAttr(d).value for d in group] for group in _reassociation(op)]
    carriers = [[d for d in group if shape[d] != 1] or group[-1:] for group in groups]
    inner = _slice_of_zeros(ct)
    if inner is None or any(len(c) != 1 for c in carriers):
        return [(src, tensor.ExpandShapeOp(src.type, ct, _reassociation(op), [], _static_shape(src)).result)]
    piece, slice_ = inner
    offsets, sizes, strides = [0] * len(shape), [1] * len(shape), [1] * len(shape)
    for (d,), o, s, t in zip(carriers, *slice_):
        offsets[d], sizes[d], strides[d] = o, s, t
    return [(src, _insert(piece, zeros_like(src), (offsets, sizes, strides)))]


def _expand(op, cts, active):
    (ct,) = cts
    src = op.operands[0]
    return [(src, tensor.CollapseShapeOp(src.type, ct, _reassociation(op)).result)]


def _static_shape(value):
    return ir.DenseI64ArrayAttr.get(tensor_type(value).shape)


def _transpose(op, cts, active):
    (ct,) = cts
    perm = list(ir.DenseI64ArrayAttr(op.attributes["permutation"]))
    inverse = [perm.index(i) for i in range(len(perm))]
    src = op.operands[0]
    transposed = linalg.transpose(ct, outs=[tensor_ops.empty_like(src)], permutation=inverse)
    return [(src, transposed if isinstance(transposed, ir.Value) else transposed.results[0])]


def _slice_args(op):
    """The dynamic and static offsets, sizes and strides of a slice op, in the
    order the tensor.extract_slice / insert_slice builders take them."""
    dynamic = [list(op.offsets), list(op.sizes), list(op.strides)]
    return dynamic + [op.attributes[name] for name in ("static_offsets", "static_sizes", "static_strides")]


_DYNAMIC = ir.ShapedType.get_dynamic_size()


def _mixed(op):
    """A slice op's (offsets, sizes, strides): ints where static, index Values where dynamic."""
    out = []
    for name in ("offsets", "sizes", "strides"):
        dynamic = iter(getattr(op, name))
        static = ir.DenseI64ArrayAttr(op.attributes[f"static_{name}"])
        out.append([next(dynamic) if v == _DYNAMIC else v for v in static])
    return tuple(out)


def _slice_operands(slice_):
    """A slice op's operands for slice_ = (offsets, sizes, strides), as
    `_mixed` gives them: the dynamic values of each, then each static list."""
    dynamic = [[v for v in vs if isinstance(v, ir.Value)] for vs in slice_]
    static = [ir.DenseI64ArrayAttr.get([_DYNAMIC if isinstance(v, ir.Value) else v for v in vs]) for vs in slice_]
    return dynamic + static


def _insert(piece, dest, slice_):
    """tensor.insert_slice piece into dest at slice_."""
    return tensor.InsertSliceOp(piece, dest, *_slice_operands(slice_)).result


def _extract(source, slice_, result_type):
    """tensor.extract_slice of `source` at slice_."""
    return tensor.ExtractSliceOp(result_type, source, *_slice_operands(slice_)).result


def _slice_of_zeros(value):
    """(piece, its slice) if `value` is `tensor.insert_slice piece into` a
    fill with 0 at static strides (what `_extract_slice` makes), else None."""
    op = value.owner if isinstance(value, ir.OpResult) else None
    if op is None or op.name != "tensor.insert_slice" or not is_zeros(op.operands[1]):
        return None
    slice_ = _mixed(op)
    if not all(isinstance(t, int) for t in slice_[2]):
        return None
    return op.operands[0], slice_


def _kept_dims(sizes, shape):
    """The dims of a slice of `sizes` that its result of `shape` keeps, in
    order (MLIR's rank reduction drops the unit dims `shape` has no match
    for), or None where that is unknown."""
    kept = []
    for d, size in enumerate(sizes):
        j = len(kept)
        if j < len(shape) and (size == shape[j] if isinstance(size, int) else shape[j] == _DYNAMIC):
            kept.append(d)
        elif size != 1:
            return None
    return kept if len(kept) == len(shape) else None


def _index_value(v):
    """An int or index Value of a slice, as an index Value."""
    return v if isinstance(v, ir.Value) else mlir.index(v)


def _plus_times(a, b, c: int):
    """a + b * c, an int where a and b are, else an index Value."""
    if isinstance(a, int) and isinstance(b, int):
        return a + b * c
    return arith.addi(_index_value(a), arith.muli(_index_value(b), mlir.index(c)))


def _extract_slice(op, cts, active):
    """ct inserted into zeros of src's shape. Where ct is itself a slice
    `piece` inserted into zeros (x[0][1:]), the two slices compose into one
    of src: piece lands at offset + inner offset * stride, with the strides
    multiplied. (IREE 3.13 fails to compile an insert into zeros inserted
    rank-reduced into zeros: "expected 2 offset values, got 1".)"""
    (ct,) = cts
    src = op.operands[0]
    offsets, sizes, strides = _mixed(op)
    inner = _slice_of_zeros(ct)
    kept = _kept_dims(sizes, tensor_type(op.result).shape)
    if inner is None or kept is None or not all(isinstance(t, int) for t in strides):
        return [(src, tensor.InsertSliceOp(ct, zeros_like(src), *_slice_args(op)).result)]
    piece, (o, s, t) = inner
    for k, d in enumerate(kept):
        offsets[d], sizes[d], strides[d] = _plus_times(offsets[d], o[k], strides[d]), s[k], strides[d] * t[k]
    return [(src, _insert(piece, zeros_like(src), (offsets, sizes, strides)))]


def _insert_slice(op, cts, active):
    """src's cotangent is ct's slice, dest's is ct with the slice zeroed
    (in place: the slice's readers get a copy of it, barrier-self-updates)."""
    (ct,) = cts
    src, dest = op.operands[0], op.operands[1]
    out = []
    if src in active:
        out.append((src, tensor.ExtractSliceOp(src.type, ct, *_slice_args(op)).result))
    if dest in active:
        out.append((dest, tensor.InsertSliceOp(zeros_like(src), ct, *_slice_args(op)).result))
    return out


def _concat(op, cts, active):
    (ct,) = cts
    dim = ir.IntegerAttr(op.attributes["dim"]).value
    out, offset = [], 0
    rank = tensor_type(ct).rank
    for x in op.operands:
        shape = tensor_type(x).shape
        if x in active:
            offsets = [offset if d == dim else 0 for d in range(rank)]
            piece = tensor.ExtractSliceOp(x.type, ct, [], [], [], ir.DenseI64ArrayAttr.get(offsets),
                                          ir.DenseI64ArrayAttr.get(shape), ir.DenseI64ArrayAttr.get([1] * rank))
            out.append((x, piece.result))
        offset += shape[dim]
    return out


def _pad(op, cts, active):
    (ct,) = cts
    src = op.operands[0]
    if len(op.operands) > 1:
        raise NotDifferentiable("irax autodiff: tensor.pad with dynamic padding is not differentiable yet")
    low = op.attributes["static_low"]
    rank = tensor_type(src).rank
    piece = tensor.ExtractSliceOp(src.type, ct, [], [], [], low, _static_shape(src), ir.DenseI64ArrayAttr.get([1] * rank))
    return [(src, piece.result)]


def _copy(op, cts, active):
    return list(zip(op.operands, cts))


def _scatter(op, cts, active):
    """x.at[index_array].add(v): ct_x = ct, ct_v[p] = ct[target p].
    .set(v): the same for the v[p] that were written (`_where_written`: of
    updates to one position, only the last); x's elements that were
    overwritten get no cotangent.
    .multiply(v): linear in x, so ct_x is the same scatter applied to ct.
    .max(v)/.min(v): shared among the candidates equal to the result (scatter_extremal.py)."""
    (ct,) = cts
    updates, targets, dest = op.operands
    kind = generic.scatter_kind(op)
    if kind in ("max", "min"):
        ct_updates, ct_dest = scatter_extremal.vjp(op, ct)
        return [(v, c) for v, c in ((updates, ct_updates), (dest, ct_dest)) if v in active]
    out = []
    if updates in active:
        if kind == "multiply":
            raise NotDifferentiable("irax autodiff: the gradient of x.at[index_array].multiply(v) with respect "
                                    "to v is not implemented (JAX has it only for unique indices)")
        received = scatter_extremal.gather_at_targets(ct, targets, updates)
        unique = ir.BoolAttr(op.attributes["unique_indices"]).value
        out.append((updates, received if kind == "add" or unique else _where_written(received, op)))
    if dest in active:
        # zeros behind a barrier, as linalg_ext_scatter's updates are (IREE would fuse a fill in)
        replaced = {updates: opaque(zeros_like(updates))[0]} if kind == "set" else {}
        out.append((dest, ct if kind == "add" else mlir.clone_op(op, {**replaced, dest: ct}).results[0]))
    return out


def _where_written(received, op):
    """received[p] where update p of the set scatter `op` is the one written
    at its target, else 0: where indices repeat, the others are overwritten
    and have no effect on the result. JAX's scheme (its _scatter_jvp): scatter
    the update ids p, with the same targets and order, into -1s; the id read
    back at target p is the update that won there. (The mask reads the ids as
    an input, not as a linalg.index of its own: the CPU backend's
    cpu_fold_fusion moves an elementwise body into a column fold through
    reshapes, where an index op would count the fold's loops.)"""
    updates, targets, dest = op.operands
    i64 = ir.IntegerType.get_signless(64)
    ids = mlir.generic([], [tensor.EmptyOp(mlir.dims(updates), i64).result], [[0]], [mlir.PARALLEL],
                       lambda _: [arith.index_cast(i64, linalg.IndexOp(0).result)])[0]
    unwritten = mlir.fill_tensor(arith.ConstantOp(i64, ir.IntegerAttr.get(i64, -1)).result,
                                 tensor.EmptyOp(mlir.dims(dest), i64).result)
    winners = linalg_ext_scatter(ids, targets, unwritten, lambda old, update: update)
    won = scatter_extremal.gather_at_targets(winners, targets, ids)
    return mlir.generic([received, won, ids], [tensor_ops.empty_like(received)], [[0]] * 4, [mlir.PARALLEL],
                        lambda r, w, p, _: [arith.select(arith.cmpi(arith.CmpIPredicate.eq, w, p), r,
                                                         const_like(r, 0.0))])[0]


def _scan(op, cts, active):
    """The transpose of a scan that sums is the same scan from the other end,
    ct_x[i] = sum of ct[j] for j >= i: the scan of ct reversed, reversed. (irax
    reads only the scan itself, never its second result, the last acc.)"""
    if not scan_sums(op):
        raise NotDifferentiable("irax autodiff: only an iree_linalg_ext.scan that adds is differentiable")
    x, out, acc = op.operands
    axis = scan_dimension(op)
    scanned = linalg_ext_scan_like(op, reversed_along(cts[0], axis), out, acc, axis)[0]
    return [(x, reversed_along(scanned, axis))]


def _call(op, cts, active):
    """A call of a custom_vjp function: its fwd rule recomputes the residuals
    (CSE merges it with the call once both are inlined) and its bwd rule maps
    them and the cotangents to the operands' cotangents. A custom_jvp
    function: its rule is linear in the tangents, so the operands'
    cotangents are its VJP with respect to them, at zero tangents.
    The arrays it closes over get none (see custom.py). A call of a
    checkpointed function: `_remat`. A custom_vmap function's: JAX's error."""
    if remat.is_remat(op):
        return _remat(op, cts, active)
    if custom.CUSTOM_VMAP in op.operation.attributes:
        raise custom.no_reverse_mode()
    if host_calls.is_collective(op):
        return host_calls.collective_vjp(op, cts)
    if host_calls.is_callback(op):  # only a pure callback has results to differentiate
        raise host_calls.not_differentiable(op)
    if custom.NO_DERIVATIVE in op.operation.attributes:
        raise custom.no_derivative(op)
    (args, closed), n_out = custom.split_operands(op), len(op.results)
    if any(c in active for c in closed):
        raise custom.closure_error(op)
    if custom.VJP_BWD in op.operation.attributes:
        residuals = mlir.inline_function(custom.rule_function(op, custom.VJP_FWD), args + closed)[n_out:]
        grads = mlir.inline_function(custom.rule_function(op, custom.VJP_BWD), residuals + list(cts) + closed)
    else:
        rule = custom.rule_function(op, custom.JVP)
        n = len(args)
        transposed = build_vjp(rule, range(n, 2 * n), [False] * n_out + [True] * n_out,
                               name=f"{rule.name.value}_transposed")
        zeros = [zeros_like(v) for v in args]
        operands = args + zeros + closed + list(cts)
        outputs = mlir.inline_function(transposed, operands)
        custom.read_the_call_not_the_copy(op.results, outputs[:n_out], operands)
        grads = outputs[2 * n_out:]
        transposed.erase()
    return list(zip(args, grads))


def _remat(op, cts, active):
    """A call of a checkpointed function f (see remat.py): the forward part
    keeps the call, which computes f's outputs only, and here f's body is
    computed again from the call's operands and differentiated.

    With prevent_cse, the recomputation reads the operands through
    optimization barriers, as JAX's remat does, so that CSE cannot merge it
    with the forward call once both are inlined. (One barrier each: IREE
    fails to compile one over a constant and other values.) The ops whose
    results the policy saves are computed in the forward part instead: f's
    body is inlined there in place of the call, and the backward part reads
    their results from it, through barriers too."""
    function = custom.rule_function(op, "callee")
    block = function.regions[0].blocks[0]
    body = list(block.operations)[:-1]
    saved = remat.saved(op, body)
    forward = dict(zip(block.arguments, op.operands))
    if saved:
        with ir.InsertionPoint.after(op):
            for inner in body:
                mlir.clone_op(inner, forward)
        for old, new in zip(op.results, block.operations[len(block.operations) - 1].operands):
            old.replace_all_uses_with(forward.get(new, new))
    kept = {r: forward[r] for inner in saved for r in inner.results}
    operands = list(op.operands)
    if remat.PREVENT_CSE in op.operation.attributes and len(saved) < len(body):
        operands = [opaque(x)[0] for x in operands]
        kept = {r: opaque(v)[0] for r, v in kept.items()}
    again = dict(zip(block.arguments, operands))
    wanted = [(x, again[a]) for x, a in zip(op.operands, block.arguments) if x in active]
    grads = region_backward(block, again, [v for _, v in wanted], cts, [v for _, v in wanted])
    for result, value in kept.items():
        again[result].replace_all_uses_with(value)  # the recomputed copy is left dead
    return [(x, g) for (x, _), g in zip(wanted, grads)]


def _no_cotangent(op, cts, active):
    return []


RULES = {
    "linalg.generic": _generic,
    "tensor.collapse_shape": _collapse,
    "tensor.expand_shape": _expand,
    "linalg.transpose": _transpose,
    "tensor.extract_slice": _extract_slice,
    "tensor.insert_slice": _insert_slice,
    "tensor.concat": _concat,
    "tensor.pad": _pad,
    "linalg.copy": _copy,
    "util.optimization_barrier": _copy,
    "flow.tensor.tie_shape": _copy,
    "tensor.empty": _no_cotangent,
    "linalg.fill": _no_cotangent,
    "arith.constant": _no_cotangent,
    generic.STOP_GRADIENT: _no_cotangent,
    "func.call": _call,
    "iree_linalg_ext.scatter": _scatter,
    "iree_linalg_ext.scan": _scan,
    **convolution.VJP_RULES,
}


# ---------------------------------------------------------------------------
# The transformation.

def accumulate(cts, value, ct):
    """Add `ct` to the cotangent of `value` in `cts`. Where one of the two
    is a slice inserted into zeros (the cotangent of a read x[i]), the sum
    is the other updated in that slice alone, in place: summed whole, the
    gradient of a scan with respect to its xs added a tensor of all the
    steps at every step (the H=128 RNN's: 61 ms, JAX 3.2)."""
    if value not in cts:
        cts[value] = ct
        return
    for whole, part in ((cts[value], ct), (ct, cts[value])):
        inner = _slice_of_zeros(part)
        if inner is not None:
            piece, slice_ = inner
            cts[value] = _insert(add(_extract(whole, slice_, piece.type), piece), whole, slice_)
            return
    cts[value] = add(cts[value], ct)


def backward(ops, cts, active):
    """The backward pass of `ops` (in program order) at the insertion point:
    from the cotangents `cts` of their results, accumulate into `cts` those of
    the active values they read."""
    for op in reversed(ops):
        result_cts = [cts.get(r) for r in op.operation.results]
        if all(c is None for c in result_cts):
            continue
        rule = RULES.get(generic.rule_name(op))
        if rule is None:
            raise NotDifferentiable(f"irax autodiff has no rule for '{op.operation.name}'")
        result_cts = [c if c is not None else zeros_like(r) for c, r in zip(result_cts, op.operation.results)]
        for operand, ct in rule(op.opview if hasattr(op, "opview") else op, result_cts, active):
            if operand in active:
                accumulate(cts, operand, ct)


def region_backward(block, mapping, seeds, result_cts, wanted, sums=None):
    """At the insertion point: recompute the ops of `block` (its arguments
    read through `mapping`), then run the backward pass from `result_cts`
    (the cotangents of what it yields; None for none). Returns the
    cotangents of the values `wanted`, those of the values `sums` maps
    (values from outside the region) added to theirs there (`accumulate`:
    in place where the region reads one row of them)."""
    ops = list(block.operations)
    cloned = host_calls.drop_debug_calls([mlir.clone_op(op, mapping) for op in ops[:-1]])
    yielded = [mapping.get(v, v) for v in ops[-1].operands]
    active = active_values(cloned, seeds)
    cts = dict(sums or {})
    for value, ct in zip(yielded, result_cts):
        if ct is not None and value in active:
            accumulate(cts, value, ct)
    backward(cloned, cts, active)
    return [cts[v] if v in cts else zeros_like(v) for v in wanted]


# Control flow's rules differentiate their regions with this pass's driver.
RULES.update({name: functools.partial(rule, region_backward=region_backward)
              for name, rule in control_flow.VJP_RULES.items()})


def build_vjp(func_op, wrt, seeded=None, name=None):
    """Add `@{name}(args..., cts...) -> (results..., cotangents of args[wrt])`
    after `func_op` and return it. `seeded[i]` says whether result i takes a
    cotangent argument (default: all do); the others get none."""
    new, block, ret = tensor_ops.clone_function(func_op, name or f"{func_op.name.value}_vjp")
    seeded = [True] * len(ret.operands) if seeded is None else seeded
    cts = {}
    args = [block.arguments[i] for i in wrt]
    forward_ops = list(block.operations)[:-1]
    with ir.InsertionPoint(ret):
        # (inside the insertion point: a value returned twice adds its two
        # cotangents, an op that was made detached, then freed: a segfault)
        for r in (r for r, s in zip(ret.operands, seeded) if s):
            accumulate(cts, r, block.add_argument(r.type, ir.Location.unknown()))
        backward(forward_ops, cts, active_values(forward_ops, args))
        grads = [cts[a] if a in cts else zeros_like(a) for a in args]
    # read the results only now: a loop's rule may have rerouted them (ad/control_flow.py)
    tensor_ops.set_results(new, block, ret, list(ret.operands) + grads)
    return new


"""Elementwise primitives: one `linalg.generic` each, with NumPy broadcasting.

Every elementwise op is the same loop nest; only the scalar body differs. So
there is one emitter (`emit_elementwise`) and one primitive per rule of the
table in scalar_rules.py (`unary`, `binary`), besides select, convert and
bitcast, whose operands or results differ in dtype.

Broadcasting follows NumPy: shapes are aligned on the right, and an operand
dimension of size 1 is repeated. Such unit dimensions are collapsed away
first, so every indexing map is a projected permutation, e.g.

    x: (1, 3) -> collapse -> (3,)      map (d0, d1) -> (d1)
    y: (4, 3)                          map (d0, d1) -> (d0, d1)

which is the form the autodiff pass understands.
"""
import numpy as np
from iree.compiler import ir
from iree.compiler.dialects import arith, tensor

from irax.frontend import dtypes
from irax.frontend.core import ShapedArray
from irax.frontend.primitives import Primitive
from irax.frontend.primitives.scalar_rules import BINARY, OUT_DTYPES, UNARY, dtype_kind
from irax.ir import mlir
from irax.ir.scalar import convert_scalar, select as select_scalar


def broadcast_shapes(op_name, *shapes):
    """NumPy's broadcast of shapes; None (a dynamic dim) matches anything but 1.
    A mismatch raises JAX's error: jnp's ValueError where the ranks differ
    (jnp broadcasts those before the op), else lax's TypeError naming the op."""
    rank = max(len(s) for s in shapes)
    padded = [(1,) * (rank - len(s)) + tuple(s) for s in shapes]
    out = []
    for sizes in zip(*padded):
        big = {d for d in sizes if d != 1}
        known = {d for d in big if d is not None}
        if len(known) > 1 and len({len(s) for s in shapes}) > 1:
            raise ValueError(f"Incompatible shapes for broadcasting: shapes={[tuple(s) for s in shapes]}")
        if len(known) > 1:
            raise TypeError(
                f"{op_name} got incompatible shapes for broadcasting: {', '.join(str(tuple(s)) for s in shapes)}."
            )
        out.append(known.pop() if known else (None if big else 1))
    return tuple(out)


# ---------------------------------------------------------------------------
# The shared emitter.

def drop_broadcast_dims(value, aval, out_shape):
    """Collapse the unit dims of `value` that broadcast; return it and the
    loop dims (of the output's loop nest) that its remaining dims follow."""
    offset = len(out_shape) - aval.ndim
    keep = [i for i, d in enumerate(aval.shape) if not (d == 1 and out_shape[offset + i] != 1)]
    loop_dims = [offset + i for i in keep]
    if len(keep) == aval.ndim:
        return value, loop_dims
    groups, pending = [], []
    for i in range(aval.ndim):
        pending.append(i)
        if i in keep:
            groups.append(pending)
            pending = []
    if pending and groups:
        groups[-1].extend(pending)
    collapsed_type = mlir.tensor_type([aval.shape[i] for i in keep], aval.dtype)
    return tensor.CollapseShapeOp(collapsed_type, value, mlir.reassociation(groups)).result, loop_dims


def output_sizes(values, avals, out_shape):
    """The output's dimension sizes: static ints, or `tensor.dim` of an operand
    that has the full extent of that dimension."""
    sizes = []
    for j, d in enumerate(out_shape):
        if d is not None:
            sizes.append(d)
            continue
        for v, a in zip(values, avals):
            i = j - (len(out_shape) - a.ndim)
            if i >= 0 and a.shape[i] != 1:
                sizes.append(tensor.DimOp(v, mlir.index(i)).result)
                break
    return sizes


def emit_elementwise(ctx, *values, body):
    """`linalg.generic` over the broadcast output shape, with `body` as its
    scalar body; a primitive with several outputs (of one shape) has a body
    that returns a list of scalars, one per output."""
    out = ctx.avals_out[0]
    rank = len(out.shape)
    inputs, maps = [], []
    for v, a in zip(values, ctx.avals_in):
        collapsed, loop_dims = drop_broadcast_dims(v, a, out.shape)
        inputs.append(collapsed)
        maps.append(loop_dims)
    sizes = output_sizes(values, ctx.avals_in, out.shape)
    inits = [mlir.empty(sizes, a.dtype) for a in ctx.avals_out]

    def scalar_body(*xs):
        result = body(*xs[:len(inputs)])
        return result if isinstance(result, list) else [result]

    return mlir.generic(inputs, inits, maps + [list(range(rank))] * len(inits), [mlir.PARALLEL] * rank, scalar_body)


def _same_dtype_eval(name):
    def abstract_eval(*avals, **params):
        dts = {a.dtype for a in avals}
        if len(dts) != 1:
            raise TypeError(f"{name} requires arguments to have the same dtypes, got {', '.join(d.name for d in dts)}.")
        return dts.pop(), broadcast_shapes(name, *(a.shape for a in avals)), all(a.weak_type for a in avals)

    return abstract_eval


def _make(name, rule, out_dtype=None):
    """The primitive of a rule; `out_dtype(dtype)` is its result's dtype
    (bool for predicates), if not the operands'. Weakly typed operands give
    a weakly typed result, a bool too (JAX: `jnp.equal(1, 2)` is a weak
    bool, which promotes as a strong one)."""
    same = _same_dtype_eval(name)

    def abstract_eval(*avals):
        dtype, shape, weak = same(*avals)
        if dtype_kind(dtype) not in rule.kinds:
            raise TypeError(f"{name} does not accept dtype {dtype.name}")
        result_dtype = dtype if out_dtype is None else out_dtype(dtype)
        return ShapedArray(shape, result_dtype, weak)

    def emit(ctx, *values):
        dtype = ctx.avals_in[0].dtype
        return emit_elementwise(ctx, *values, body=lambda *xs: rule(dtype, *xs))

    return Primitive(name, abstract_eval, emit, dynamic_shapes=True)


unary = {name: _make(name, rule, OUT_DTYPES.get(name)) for name, rule in UNARY.items()}
binary = {name: _make(name, rule, OUT_DTYPES.get(name)) for name, rule in BINARY.items()}


# ---------------------------------------------------------------------------
# select and convert: the two elementwise ops whose operands differ in dtype.

def _select_eval(pred, on_true, on_false):
    if pred.dtype != dtypes.bool_:
        raise TypeError(f"select requires a boolean predicate, got {pred.dtype.name}")
    dtype, shape, weak = _same_dtype_eval("select")(on_true, on_false)
    return ShapedArray(broadcast_shapes("select", pred.shape, shape), dtype, weak)


select = Primitive(
    "select",
    _select_eval,
    lambda ctx, *values: emit_elementwise(ctx, *values, body=select_scalar),
    dynamic_shapes=True,
)


def _convert_emit(ctx, x, new_dtype, weak_type):
    src, dst = ctx.avals_in[0].dtype, np.dtype(new_dtype)
    results = emit_elementwise(ctx, x, body=lambda s: convert_scalar(src, dst, s))
    if dtypes.is_bit_float(dst) and dtypes.is_float(src) and not dtypes.is_bit_float(src):
        # autodiff stops there with an error (transforms/ad/generic.py, TO_BIT_FLOAT)
        results[0].owner.attributes["irax.to_bit_float"] = ir.UnitAttr.get()
    return results


convert_element_type = Primitive(
    "convert_element_type",
    lambda x, new_dtype, weak_type: x.update(dtype=new_dtype, weak_type=weak_type),
    _convert_emit,
    dynamic_shapes=True,
)


def _bitcast_eval(x, new_dtype):
    new_dtype = np.dtype(new_dtype)
    if dtypes.is_bool(x.dtype) or dtypes.is_bool(new_dtype) or x.dtype.itemsize != new_dtype.itemsize:
        raise TypeError("bitcast_convert_type: irax reinterprets bits only between dtypes of the same width "
                        f"(not bool), got {x.dtype.name} to {new_dtype.name}.")
    return ShapedArray(x.shape, new_dtype)


# The same bits read as another dtype of the same width (float32 <-> uint32):
# random.uniform builds its floats this way.
bitcast_convert_type = Primitive(
    "bitcast_convert_type",
    _bitcast_eval,
    lambda ctx, x, new_dtype: emit_elementwise(
        ctx, x, body=lambda s: arith.bitcast(mlir.element_type(np.dtype(new_dtype)), s)
    ),
    dynamic_shapes=True,
)

"""Elementwise primitives: one `linalg.generic` each, with NumPy broadcasting.

Every elementwise op is the same loop nest; only the scalar body differs. So
there is one emitter (`emit_elementwise`) and a table of scalar rules:

    rule(dtype, *scalars) -> scalar     dtype is the operands' common dtype

Broadcasting follows NumPy: shapes are aligned on the right, and an operand
dimension of size 1 is repeated. Such unit dimensions are collapsed away
first, so every indexing map is a projected permutation, e.g.

    x: (1, 3) -> collapse -> (3,)      map (d0, d1) -> (d1)
    y: (4, 3)                          map (d0, d1) -> (d0, d1)

which is the form the autodiff pass understands.
"""
import numpy as np
from iree.compiler import ir
from iree.compiler.dialects import arith, math, tensor

from irax.frontend import dtypes, mlir
from irax.frontend.core import Primitive, ShapedArray


def broadcast_shapes(op_name, *shapes):
    """NumPy's broadcast of shapes; None (a dynamic dim) matches anything but 1."""
    rank = max(len(s) for s in shapes)
    padded = [(1,) * (rank - len(s)) + tuple(s) for s in shapes]
    out = []
    for sizes in zip(*padded):
        big = {d for d in sizes if d != 1}
        known = {d for d in big if d is not None}
        if len(known) > 1:
            raise TypeError(
                f"{op_name} got incompatible shapes for broadcasting: {', '.join(str(tuple(s)) for s in shapes)}."
            )
        out.append(known.pop() if known else (None if big else 1))
    return tuple(out)


def dtype_kind(dtype):
    if dtypes.is_bool(dtype):
        return "b"
    if dtypes.is_float(dtype):
        return "f"
    return "u" if dtypes.is_unsigned(dtype) else "i"


def _by_kind(**rules):
    """A scalar rule that dispatches on the operand kind: f(loat), i(signed),
    u(nsigned), b(ool); `iu` covers both integer kinds."""
    table = {}
    for kinds, fn in rules.items():
        for k in kinds:
            table[k] = fn

    def rule(dtype, *xs):
        fn = table[dtype_kind(dtype)]
        return fn(dtype, *xs)

    rule.kinds = set(table)
    return rule


def cmpf(predicate: str, a, b):
    return arith.cmpf(arith.CmpFPredicate[predicate.upper()], a, b)


def cmpi(predicate: str, a, b):
    return arith.cmpi(arith.CmpIPredicate[predicate], a, b)


def _const(dtype, value):
    return mlir.scalar_constant(value, dtype)


def _in_f32(fn):
    """Transcendental functions compute in float32: half precision widens (as
    XLA does), and float64 narrows, because IREE's CPU code has only float32
    versions of them (its embedded linker has no double-precision libm)."""

    def rule(dtype, *xs):
        if dtype.itemsize == 4:
            return fn(*xs)
        f32, own = ir.F32Type.get(), mlir.element_type(dtype)
        to_f32, back = (arith.extf, arith.truncf) if dtype.itemsize < 4 else (arith.truncf, arith.extf)
        return back(own, fn(*[to_f32(f32, x) for x in xs]))

    return _by_kind(f=lambda dtype, *xs: rule(dtype, *xs))


def _cmp(fpred, ipred, upred):
    return _by_kind(
        f=lambda d, a, b: cmpf(fpred, a, b),
        i=lambda d, a, b: cmpi(ipred, a, b),
        ub=lambda d, a, b: cmpi(upred, a, b),  # i1 true is 1 unsigned, -1 signed
    )


def _floor_divide_float(d, a, b):
    return math.floor(arith.divf(a, b))


def _remainder(rem, zero_like):
    """NumPy's `mod`: the result takes the sign of the divisor."""

    def rule(d, a, b):
        r = rem(a, b)
        zero = zero_like(d)
        r_nonzero = _cmp("une", "ne", "ne")(d, r, zero)
        signs_differ = arith.xori(_cmp("olt", "slt", "slt")(d, r, zero), _cmp("olt", "slt", "slt")(d, b, zero))
        fix = arith.andi(r_nonzero, signs_differ)
        add = arith.addf if dtypes.is_float(d) else arith.addi
        return arith.select(fix, add(r, b), r)

    return rule


def _integer_power(d, base, exponent):
    """Exponentiation by squaring over every bit of the exponent, unrolled
    (IREE's CPU backend cannot lower `math.ipowi`)."""
    one = _const(d, 1)
    result = one
    for _ in range(d.itemsize * 8):
        bit_set = cmpi("ne", arith.andi(exponent, one), _const(d, 0))
        result = arith.select(bit_set, arith.muli(result, base), result)
        base = arith.muli(base, base)
        exponent = arith.shrui(exponent, one)
    return result


def _float_power(d, x, y):
    """x ** y as NumPy computes it. IREE's powf is exp(y log x), NaN for any
    x < 0, but a negative base with an integral exponent is well defined:
    (-2) ** 3 = -8."""
    magnitude = _in_f32(math.powf)(d, math.absf(x), y)
    integral = cmpf("oeq", math.floor(y), y)
    half = arith.mulf(y, _const(d, 0.5))
    odd = arith.andi(integral, cmpf("une", math.floor(half), half))
    signed = arith.select(odd, arith.negf(magnitude), magnitude)
    negative = cmpf("olt", x, _const(d, 0.0))
    return arith.select(negative, arith.select(integral, signed, _const(d, np.nan)), magnitude)


def _sign(d, x):
    zero, one, minus_one = _const(d, 0), _const(d, 1), _const(d, -1)
    if dtypes.is_float(d):
        s = arith.select(cmpf("ogt", x, zero), one, arith.select(cmpf("olt", x, zero), minus_one, x))
        return s  # 0, -0 and NaN map to themselves
    if dtypes.is_unsigned(d):
        return arith.select(cmpi("ne", x, zero), one, zero)
    return arith.select(cmpi("sgt", x, zero), one, arith.select(cmpi("slt", x, zero), minus_one, zero))


def _isinf(d, x):
    return cmpf("oeq", math.absf(x), _const(d, np.inf))


def _isfinite(d, x):
    return cmpf("one", math.absf(x), _const(d, np.inf))


def _is_true(d, x):
    """x != 0, the conversion of any number to bool (NaN is True, as in NumPy)."""
    zero = _const(d, 0)
    return cmpf("une", x, zero) if dtypes.is_float(d) else cmpi("ne", x, zero)


UNARY = {
    "neg": _by_kind(f=lambda d, x: arith.negf(x), iu=lambda d, x: arith.subi(_const(d, 0), x)),
    "abs": _by_kind(f=lambda d, x: math.absf(x), i=lambda d, x: math.absi(x), u=lambda d, x: x),
    "sign": _by_kind(fiu=_sign),
    "floor": _by_kind(f=lambda d, x: math.floor(x)),
    "ceil": _by_kind(f=lambda d, x: math.ceil(x)),
    "round": _by_kind(f=lambda d, x: math.roundeven(x)),
    "trunc": _by_kind(f=lambda d, x: math.trunc(x)),
    "isnan": _by_kind(f=lambda d, x: cmpf("uno", x, x)),
    "isinf": _by_kind(f=_isinf),
    "isfinite": _by_kind(f=_isfinite),
    "not": _by_kind(b=lambda d, x: arith.xori(x, _const(d, True)), iu=lambda d, x: arith.xori(x, _const(d, -1))),
    "exp": _in_f32(math.exp),
    "exp2": _in_f32(math.exp2),
    "expm1": _in_f32(math.expm1),
    "log": _in_f32(math.log),
    "log1p": _in_f32(math.log1p),
    "log2": _in_f32(math.log2),
    "log10": _in_f32(lambda x: arith.mulf(math.log(x), mlir.float_constant(x.type, np.log10(np.e)))),  # no log10f in IREE's CPU runtime
    "sqrt": _by_kind(f=lambda d, x: _in_f32(math.sqrt)(d, x) if d.itemsize < 4 else math.sqrt(x)),
    "rsqrt": _in_f32(math.rsqrt),
    "cbrt": _in_f32(math.cbrt),
    "sin": _in_f32(math.sin),
    "cos": _in_f32(math.cos),
    "tan": _in_f32(math.tan),
    "asin": _in_f32(math.asin),
    "acos": _in_f32(math.acos),
    "atan": _in_f32(math.atan),
    "sinh": _in_f32(math.sinh),
    "cosh": _in_f32(math.cosh),
    "tanh": _in_f32(math.tanh),
    "asinh": _in_f32(math.asinh),
    "acosh": _in_f32(math.acosh),
    "atanh": _in_f32(math.atanh),
    "erf": _in_f32(math.erf),
}

BINARY = {
    "add": _by_kind(f=lambda d, a, b: arith.addf(a, b), iu=lambda d, a, b: arith.addi(a, b), b=lambda d, a, b: arith.ori(a, b)),
    "sub": _by_kind(f=lambda d, a, b: arith.subf(a, b), iu=lambda d, a, b: arith.subi(a, b)),
    "mul": _by_kind(f=lambda d, a, b: arith.mulf(a, b), iu=lambda d, a, b: arith.muli(a, b), b=lambda d, a, b: arith.andi(a, b)),
    "div": _by_kind(f=lambda d, a, b: arith.divf(a, b), i=lambda d, a, b: arith.divsi(a, b), u=lambda d, a, b: arith.divui(a, b)),
    "floor_divide": _by_kind(f=_floor_divide_float, i=lambda d, a, b: arith.floordivsi(a, b), u=lambda d, a, b: arith.divui(a, b)),
    "rem": _by_kind(
        f=_remainder(arith.remf, lambda d: _const(d, 0.0)),
        i=_remainder(arith.remsi, lambda d: _const(d, 0)),
        u=lambda d, a, b: arith.remui(a, b),
    ),
    "pow": _by_kind(f=lambda d, a, b: _float_power(d, a, b), iu=lambda d, a, b: _integer_power(d, a, b)),
    "max": _by_kind(f=lambda d, a, b: arith.maximumf(a, b), i=lambda d, a, b: arith.maxsi(a, b), u=lambda d, a, b: arith.maxui(a, b), b=lambda d, a, b: arith.ori(a, b)),
    "min": _by_kind(f=lambda d, a, b: arith.minimumf(a, b), i=lambda d, a, b: arith.minsi(a, b), u=lambda d, a, b: arith.minui(a, b), b=lambda d, a, b: arith.andi(a, b)),
    "atan2": _in_f32(math.atan2),
    "and": _by_kind(iub=lambda d, a, b: arith.andi(a, b)),
    "or": _by_kind(iub=lambda d, a, b: arith.ori(a, b)),
    "xor": _by_kind(iub=lambda d, a, b: arith.xori(a, b)),
    "shift_left": _by_kind(iu=lambda d, a, b: arith.shli(a, b)),
    "shift_right": _by_kind(i=lambda d, a, b: arith.shrsi(a, b), u=lambda d, a, b: arith.shrui(a, b)),
    "eq": _cmp("oeq", "eq", "eq"),
    "ne": _cmp("une", "ne", "ne"),
    "lt": _cmp("olt", "slt", "ult"),
    "le": _cmp("ole", "sle", "ule"),
    "gt": _cmp("ogt", "sgt", "ugt"),
    "ge": _cmp("oge", "sge", "uge"),
}
COMPARISONS = {"eq", "ne", "lt", "le", "gt", "ge"}
PREDICATES = {"isnan", "isinf", "isfinite"}


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
    """`linalg.generic` over the broadcast output shape, with `body` as its scalar body."""
    out = ctx.avals_out[0]
    rank = len(out.shape)
    inputs, maps = [], []
    for v, a in zip(values, ctx.avals_in):
        collapsed, loop_dims = drop_broadcast_dims(v, a, out.shape)
        inputs.append(collapsed)
        maps.append(loop_dims)
    init = mlir.empty(output_sizes(values, ctx.avals_in, out.shape), out.dtype)
    return mlir.generic(
        inputs, [init], maps + [list(range(rank))], [mlir.PARALLEL] * rank, lambda *xs: [body(*xs[:-1])]
    )


def _same_dtype_eval(name):
    def abstract_eval(*avals, **params):
        dts = {a.dtype for a in avals}
        if len(dts) != 1:
            raise TypeError(f"{name} requires arguments to have the same dtypes, got {', '.join(d.name for d in dts)}.")
        return dts.pop(), broadcast_shapes(name, *(a.shape for a in avals)), all(a.weak_type for a in avals)

    return abstract_eval


def _make(name, rule, out_dtype=None):
    same = _same_dtype_eval(name)

    def abstract_eval(*avals):
        dtype, shape, weak = same(*avals)
        if dtype_kind(dtype) not in rule.kinds:
            raise TypeError(f"{name} does not accept dtype {dtype.name}")
        result_dtype = dtypes.bool_ if out_dtype is not None else dtype
        return ShapedArray(shape, result_dtype, weak and out_dtype is None)

    def emit(ctx, *values):
        dtype = ctx.avals_in[0].dtype
        return emit_elementwise(ctx, *values, body=lambda *xs: rule(dtype, *xs))

    return Primitive(name, abstract_eval, emit, dynamic_shapes=True)


unary = {name: _make(name, rule, bool if name in PREDICATES else None) for name, rule in UNARY.items()}
binary = {name: _make(name, rule, bool if name in COMPARISONS else None) for name, rule in BINARY.items()}


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
    lambda ctx, *values: emit_elementwise(ctx, *values, body=lambda p, a, b: arith.select(p, a, b)),
    dynamic_shapes=True,
)


def convert_scalar(src, dst, x):
    """Convert one scalar from dtype `src` to dtype `dst` (NumPy's casting)."""
    if src == dst:
        return x
    if dtypes.is_bool(dst):
        return _is_true(src, x)
    to = mlir.element_type(dst)
    if dtypes.is_float(src) and dtypes.is_float(dst):
        return arith.extf(to, x) if dst.itemsize > src.itemsize else arith.truncf(to, x)
    if dtypes.is_float(dst):  # bool/int -> float
        unsigned = dtypes.is_unsigned(src) or dtypes.is_bool(src)
        return (arith.uitofp if unsigned else arith.sitofp)(to, x)
    if dtypes.is_float(src):  # float -> int
        return (arith.fptoui if dtypes.is_unsigned(dst) else arith.fptosi)(to, x)
    src_bits = 1 if dtypes.is_bool(src) else src.itemsize * 8
    if dst.itemsize * 8 == src_bits:
        return x
    if dst.itemsize * 8 < src_bits:
        return arith.trunci(to, x)
    widen_unsigned = dtypes.is_unsigned(src) or dtypes.is_bool(src)
    return (arith.extui if widen_unsigned else arith.extsi)(to, x)


convert_element_type = Primitive(
    "convert_element_type",
    lambda x, new_dtype, weak_type: x.update(dtype=new_dtype, weak_type=weak_type),
    lambda ctx, x, new_dtype, weak_type: emit_elementwise(
        ctx, x, body=lambda s: convert_scalar(ctx.avals_in[0].dtype, np.dtype(new_dtype), s)
    ),
    dynamic_shapes=True,
)

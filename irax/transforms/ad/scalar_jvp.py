"""Derivatives of the scalar ops found inside `linalg.generic` bodies.

Both autodiff passes differentiate a generic by differentiating its body, one
scalar op at a time, in forward mode: given the tangents of an op's operands
(None stands for an exact zero), a rule emits the tangent of its result.

    rule(op, new_operands, tangents) -> tangent Value or None

`new_operands` are the operands as cloned into the body being built and
`op.results[0]` there is `out`; the rules read the maths straight off:
d tanh(x) = (1 - tanh(x)^2) dx, and so on.

A tangent has its value's type: complex ops (the `complex` dialect) have
complex tangents, and re, im and abs real ones. Holomorphic ops take
f'(z) dz; re, im, conj and abs, which are not, take their real-linear
tangents (abs: re(conj(z) dz) / |z|). How reverse mode transposes them is
in vjp.py.
"""
import numpy as np
from iree.compiler import ir
from iree.compiler.dialects import arith, math
from iree.compiler.dialects import complex as cx

from irax.ir import elementary, incomplete, mlir, scalar_parts, special
from irax.ir.scalar import convert_scalar


def constant(typ: ir.Type, value) -> ir.Value:
    """A scalar constant of float or complex type `typ`."""
    if isinstance(typ, ir.ComplexType):
        return mlir.complex_constant(typ, value)
    return mlir.float_constant(typ, value)


def const_like(x: ir.Value, value) -> ir.Value:
    """A float (or complex) scalar constant of x's type."""
    return constant(x.type, value)


def add(a, b):
    """a + b of two float or two complex scalars."""
    return cx.add(a, b) if isinstance(a.type, ir.ComplexType) else arith.addf(a, b)


def multiply(a, b):
    """a * b of two float or two complex scalars."""
    return cx.mul(a, b) if isinstance(a.type, ir.ComplexType) else arith.mulf(a, b)


def divide(a, b):
    """a / b of two float or two complex scalars."""
    return cx.div(a, b) if isinstance(a.type, ir.ComplexType) else arith.divf(a, b)


def equal(a, b):
    """a == b (an i1) of two float or two complex scalars; false where either is NaN."""
    return cx.eq(a, b) if isinstance(a.type, ir.ComplexType) else arith.cmpf(arith.CmpFPredicate.OEQ, a, b)


def convert(x: ir.Value, elem: ir.Type) -> ir.Value:
    """The float scalar x as type `elem`, as astype converts it. Half-precision
    code computes in float32 inside one body (extf, truncf), so a derivative
    and the value it multiplies may differ in type."""
    def dtype(typ):
        return mlir.aval_parts(ir.RankedTensorType.get([], typ))[1]

    return convert_scalar(dtype(x.type), dtype(elem), x)


def _mul(a, b):
    return arith.mulf(a, b)


def _add(a, b):
    """a + b where either may be None (zero)."""
    if a is None:
        return b
    if b is None:
        return a
    return add(a, b)


def _scale(t, factor):
    return None if t is None else _mul(t, factor)


def _unary(derivative):
    """Rule for out = f(x): tangent = f'(x) * dx, with `derivative(x, out)` = f'(x)."""

    def rule(out, operands, tangents):
        (x,), (tx,) = operands, tangents
        return None if tx is None else _mul(tx, derivative(x, out))

    return rule


def _sq(x):
    return _mul(x, x)


def _one_minus(x, v):
    return arith.subf(const_like(x, 1.0), v)


def _divide(out, operands, tangents):
    (_, y), (tx, ty) = operands, tangents
    # d(x/y) = (dx - out * dy) / y
    num = _add(tx, None if ty is None else arith.negf(_mul(out, ty)))
    return None if num is None else arith.divf(num, y)


def _multiply(out, operands, tangents):
    (x, y), (tx, ty) = operands, tangents
    return _add(_scale(tx, y), _scale(ty, x))


def _subtract(out, operands, tangents):
    (tx, ty) = tangents
    return _add(tx, None if ty is None else arith.negf(ty))


def _remainder(out, operands, tangents):
    """C's fmod: x - y trunc(x / y), so d = dx - trunc(x / y) dy (JAX's rem rule)."""
    (x, y), (tx, ty) = operands, tangents
    return _add(tx, _scale(ty, arith.negf(math.trunc(arith.divf(x, y)))))


def _power(out, operands, tangents):
    """d x^y = y x^(y-1) dx + log(x) x^y dy (the log term is 0 where x == 0, as in JAX)."""
    (x, y), (tx, ty) = operands, tangents
    dx = None
    if tx is not None:
        dx = _mul(tx, _mul(y, math.powf(x, arith.subf(y, const_like(y, 1.0)))))
    dy = None
    if ty is not None:
        zero = const_like(x, 0.0)
        safe_log = arith.select(arith.cmpf(arith.CmpFPredicate.OEQ, x, zero), zero, math.log(x))
        dy = _mul(ty, _mul(safe_log, out))
    return _add(dx, dy)


def _asin_derivative(x):
    return math.rsqrt(_one_minus(x, _sq(x)))


def _acosh_derivative(x):
    return math.rsqrt(arith.subf(_sq(x), const_like(x, 1.0)))


def _tanh_derivative(x, out):
    """(1 + out)(1 - out), as JAX's: 1 - out^2 loses 1 - out's digits near |out| = 1."""
    one = const_like(x, 1.0)
    return _mul(arith.addf(one, out), arith.subf(one, out))


def _atan_derivative(x):
    return arith.divf(const_like(x, 1.0), arith.addf(const_like(x, 1.0), _sq(x)))


def _exp2_derivative(x, out):
    return _mul(out, const_like(x, np.log(2.0)))


def _cbrt_derivative(x, out):
    """(1/3) (1/out)^2: inf at 0, as JAX's, whose own derivative there is
    -inf, JAX's too (through (1/3) / out^2 it was -inf + NaN: d(out^2) is 0 inf)."""
    return _mul(const_like(x, 1.0 / 3.0), _sq(arith.divf(const_like(x, 1.0), out)))


def _atan2(out, operands, tangents):
    """d atan2(y, x) = (x dy - y dx) / (x^2 + y^2)."""
    (y, x), (ty, tx) = operands, tangents
    num = _add(_scale(ty, x), None if tx is None else arith.negf(_mul(tx, y)))
    return None if num is None else arith.divf(num, _add(_sq(x), _sq(y)))


def _copysign(out, operands, tangents):
    """copysign(x, y) = |x| sign(y): d = sign(x) sign(y) dx (y only picks a sign)."""
    (x, y), (tx, _) = operands, tangents
    one = const_like(x, 1.0)
    return _scale(tx, _mul(math.copysign(one, x), math.copysign(one, y)))


def _chooser(predicate):
    """max/min: the tangent of the chosen operand; at ties, the mean of both
    (JAX's convention, which keeps max(x, x) differentiable with slope 1);
    where either is NaN (so is the result), 0. As JAX's, each tangent is
    multiplied by its weight, 1, 1/2 or 0 (tx [x == out] / (1 + [y == out])
    + ...), not selected: so a NaN or infinite cotangent (or tangent) makes
    NaN on the side not chosen too (grad of exp(min(x, 0)) at x = NaN)."""

    def rule(out, operands, tangents):
        (x, y), (tx, ty) = operands, tangents
        if tx is None and ty is None:
            return None
        zero, half, one = (const_like(x, v) for v in (0.0, 0.5, 1.0))
        tie = arith.select(equal(x, y), half, zero)
        weights = (arith.select(arith.cmpf(predicate, x, y), one, tie),
                   arith.select(arith.cmpf(predicate, y, x), one, tie))
        return _add(*(_scale(t, w) for t, w in zip((tx, ty), weights)))

    return rule


def _select(out, operands, tangents):
    (c, a, _), (_, ta, tb) = operands, tangents
    if ta is None and tb is None:
        return None
    zero = const_like(a, 0.0)
    return arith.select(c, zero if ta is None else ta, zero if tb is None else tb)


def _cast(make):
    def rule(out, operands, tangents):
        (tx,) = tangents
        return None if tx is None else make(out.type, tx)

    return rule


def _asinh_derivative(x):
    return math.rsqrt(arith.addf(_sq(x), const_like(x, 1.0)))


def _atanh_derivative(x):
    return arith.divf(const_like(x, 1.0), _one_minus(x, _sq(x)))


def _abs_derivative(x, out):
    """1 where x >= 0 (0 and -0 included), else -1, as JAX's select(x >= 0, t, -t):
    the L1 norm's gradient at 0 is 1, and so |x| ** y's (pow's magnitude)
    is y * 0 ** (y - 1) there (inf for 0 ** 0.5), not 0 * inf."""
    one = const_like(x, 1.0)
    return arith.select(arith.cmpf(arith.CmpFPredicate.OGE, x, const_like(x, 0.0)), one, arith.negf(one))


def _zero_rule(out, operands, tangents):
    """Piecewise-constant or non-float results: the derivative is zero."""
    return None


def is_zero_rule(name: str) -> bool:
    """Whether the op named `name` always has a zero derivative."""
    return RULES.get(name) is _zero_rule


def _c_add(a, b):
    """a + b of complex tangents, where either may be None (zero)."""
    return b if a is None else a if b is None else cx.add(a, b)


def _c_scale(t, factor):
    return None if t is None else cx.mul(t, factor)


def _c_unary(derivative):
    """out = f(z), f holomorphic: tangent = f'(z) dz, `derivative(z, out)` = f'(z)."""

    def rule(out, operands, tangents):
        (z,), (tz,) = operands, tangents
        return _c_scale(tz, derivative(z, out))

    return rule


def _c_one_plus(z, v):
    return cx.add(const_like(z, 1.0), v)


def _c_divide(out, operands, tangents):
    (_, y), (tx, ty) = operands, tangents
    num = _c_add(tx, None if ty is None else cx.neg(cx.mul(out, ty)))
    return None if num is None else cx.div(num, y)


def _c_abs(out, operands, tangents):
    """d|z| = re(conj(z) dz) / |z|, and 0 at z = 0 (JAX's choice)."""
    (z,), (tz,) = operands, tangents
    if tz is None:
        return None
    zero = const_like(out, 0.0)
    slope = arith.divf(cx.re(cx.mul(cx.conj(z), tz)), out)
    return arith.select(arith.cmpf(arith.CmpFPredicate.OEQ, out, zero), zero, slope)


def _c_create(out, operands, tangents):
    (re, im), (tre, tim) = operands, tangents
    if tre is None and tim is None:
        return None
    return cx.create_(out.type, tre or const_like(re, 0.0), tim or const_like(im, 0.0))


def _c_linear(op):
    """The tangent of an op linear over the reals (re, im, conj): the op of the tangent."""
    return lambda out, ops, ts: None if ts[0] is None else op(ts[0])


_COMPLEX_RULES = {
    "complex.add": lambda out, ops, ts: _c_add(*ts),
    "complex.sub": lambda out, ops, ts: _c_add(ts[0], None if ts[1] is None else cx.neg(ts[1])),
    "complex.mul": lambda out, ops, ts: _c_add(_c_scale(ts[0], ops[1]), _c_scale(ts[1], ops[0])),
    "complex.div": _c_divide,
    "complex.neg": _c_linear(cx.neg),
    "complex.conj": _c_linear(cx.conj),
    "complex.re": _c_linear(cx.re),
    "complex.im": _c_linear(cx.im),
    "complex.create": _c_create,
    "complex.abs": _c_abs,
    "complex.exp": _c_unary(lambda z, out: out),
    "complex.expm1": _c_unary(lambda z, out: _c_one_plus(z, out)),
    "complex.log": _c_unary(lambda z, out: cx.div(const_like(z, 1.0), z)),
    "complex.log1p": _c_unary(lambda z, out: cx.div(const_like(z, 1.0), _c_one_plus(z, z))),
    "complex.sqrt": _c_unary(lambda z, out: cx.div(const_like(z, 0.5), out)),
    "complex.rsqrt": _c_unary(lambda z, out: cx.div(cx.mul(out, const_like(z, -0.5)), z)),
    "complex.sin": _c_unary(lambda z, out: cx.cos(z)),
    "complex.cos": _c_unary(lambda z, out: cx.neg(cx.sin(z))),
    "complex.tan": _c_unary(lambda z, out: _c_one_plus(z, cx.mul(out, out))),
    "complex.tanh": _c_unary(lambda z, out: cx.sub(const_like(z, 1.0), cx.mul(out, out))),
}


RULES = {
    **_COMPLEX_RULES,
    "arith.addf": lambda out, ops, ts: _add(*ts),
    "arith.subf": _subtract,
    "arith.mulf": _multiply,
    "arith.divf": _divide,
    "arith.remf": _remainder,
    "arith.negf": lambda out, ops, ts: None if ts[0] is None else arith.negf(ts[0]),
    "arith.maximumf": _chooser(arith.CmpFPredicate.OGT),
    "arith.minimumf": _chooser(arith.CmpFPredicate.OLT),
    "arith.select": _select,
    "arith.extf": _cast(arith.extf),
    "arith.truncf": _cast(arith.truncf),
    "math.exp": _unary(lambda x, out: out),
    "math.exp2": _unary(_exp2_derivative),
    "math.expm1": _unary(lambda x, out: arith.addf(out, const_like(x, 1.0))),
    "math.log": _unary(lambda x, out: arith.divf(const_like(x, 1.0), x)),
    "math.log1p": _unary(lambda x, out: arith.divf(const_like(x, 1.0), arith.addf(x, const_like(x, 1.0)))),
    "math.log2": _unary(lambda x, out: arith.divf(const_like(x, 1.0 / np.log(2.0)), x)),
    "math.sqrt": _unary(lambda x, out: arith.divf(const_like(x, 0.5), out)),
    "math.rsqrt": _unary(lambda x, out: arith.divf(_mul(out, const_like(x, -0.5)), x)),
    "math.cbrt": _unary(lambda x, out: _cbrt_derivative(x, out)),
    "math.sin": _unary(lambda x, out: math.cos(x)),
    "math.cos": _unary(lambda x, out: arith.negf(math.sin(x))),
    "math.tan": _unary(lambda x, out: arith.addf(const_like(x, 1.0), _sq(out))),
    "math.asin": _unary(lambda x, out: _asin_derivative(x)),
    "math.acos": _unary(lambda x, out: arith.negf(_asin_derivative(x))),
    "math.atan": _unary(lambda x, out: _atan_derivative(x)),
    "math.sinh": _unary(lambda x, out: math.cosh(x)),
    "math.cosh": _unary(lambda x, out: math.sinh(x)),
    "math.tanh": _unary(_tanh_derivative),
    "math.asinh": _unary(lambda x, out: _asinh_derivative(x)),
    "math.acosh": _unary(lambda x, out: _acosh_derivative(x)),
    "math.atanh": _unary(lambda x, out: _atanh_derivative(x)),
    "math.erf": _unary(lambda x, out: _mul(const_like(x, 2.0 / np.sqrt(np.pi)), math.exp(arith.negf(_sq(x))))),
    "math.absf": _unary(_abs_derivative),
    "math.powf": _power,
    "math.atan2": _atan2,
    "math.copysign": _copysign,
    "math.fma": lambda out, ops, ts: _add(_multiply(out, ops[:2], ts[:2]), ts[2]),
}
for _name in [
    "arith.bitcast",  # of a float to an integer (its bits): piecewise constant
    "math.floor", "math.ceil", "math.roundeven", "math.round", "math.trunc", "arith.cmpf", "arith.cmpi",
    "arith.sitofp", "arith.uitofp", "arith.fptosi", "arith.fptoui", "arith.constant", "linalg.index",
    "arith.index_cast", "arith.andi", "arith.ori", "arith.xori", "complex.constant", "complex.eq", "complex.neq",
]:
    RULES[_name] = _zero_rule



# The special and elementary functions (irax/ir/special.py, elementary.py) are approximations whose own
# derivatives are poor ones; each ends in an op marked with its name, whose
# rule reads the function's inputs off the op (scalar_parts.tie) and gives the
# analytic derivative, in terms of special functions again (so that it
# differentiates once more the same way):
#
#     MARKED[name] = [partial_k(out, *inputs) for each input k]
#
# A partial that is an exception is JAX's error for differentiating that input.

def _sqrt_pi_over_2_exp_square(out, x):
    return _mul(const_like(x, np.sqrt(np.pi) / 2), math.exp(_sq(out)))


def _erfc(out, x):
    return _mul(const_like(x, -2 / np.sqrt(np.pi)), math.exp(arith.negf(_sq(x))))


def _sign(x):
    """-1, 0 or 1."""
    zero = const_like(x, 0.0)
    positive = arith.select(arith.cmpf(arith.CmpFPredicate.OGT, x, zero), const_like(x, 1.0), zero)
    return arith.select(arith.cmpf(arith.CmpFPredicate.OLT, x, zero), const_like(x, -1.0), positive)


def _i0e(out, x):
    """d i0e = i1e(x) - sign(x) i0e(x)."""
    return arith.subf(special.bessel_i1e(x), _mul(_sign(x), out))


def _i1e(out, x):
    """d i1e = i0e(x) - i1e(x) (sign(x) + 1/x), 1/2 where |x| <= eps (JAX's)."""
    eps = const_like(x, np.finfo(np.float32).eps)
    not_tiny = arith.cmpf(arith.CmpFPredicate.OGT, math.absf(x), eps)
    safe = arith.select(not_tiny, x, eps)
    slope = arith.subf(special.bessel_i0e(safe),
                       _mul(out, arith.addf(_sign(safe), arith.divf(const_like(x, 1.0), safe))))
    return arith.select(not_tiny, slope, const_like(x, 0.5))


def _igamma_x(out, a, x):
    """d P(a, x)/dx = x^(a-1) e^-x / Gamma(a)."""
    one = const_like(x, 1.0)
    return math.exp(arith.subf(arith.subf(_mul(arith.subf(a, one), math.log(x)), x), special.lgamma(a)))


def _betainc_x(out, a, b, x):
    """d I_x(a, b)/dx = x^(a-1) (1-x)^(b-1) / B(a, b)."""
    one = const_like(x, 1.0)
    lbeta = special.lbeta(a, b)
    log_terms = arith.addf(_mul(arith.subf(b, one), math.log1p(arith.negf(x))), _mul(arith.subf(a, one), math.log(x)))
    return math.exp(arith.subf(log_terms, lbeta))


def _power_x(out, x, y):
    """d x^y/dx = y x^(y-1): NaN at x = 0 for y = 0, as JAX's (0 * 0^-1)."""
    return _mul(y, elementary.power(x, arith.subf(y, const_like(y, 1.0))))


def _power_to_integers_x(out, x, y):
    """d x^n/dx = n x^(n-1), and 0 where n = 0 (JAX's pow of an integer n,
    whose x^(n-1) is a pow of floats again: its own derivative at x = 0 for
    n = 1 is NaN, as JAX's)."""
    zero = const_like(x, 0.0)
    slope = _mul(y, elementary.power(x, arith.subf(y, const_like(y, 1.0))))
    return arith.select(equal(y, zero), zero, slope)


def _power_y(out, x, y):
    """d x^y/dy = log(x) x^y, with log(x) read as 0 at x = 0 (JAX's
    _replace_zero), so NaN only for x < 0."""
    zero = const_like(x, 0.0)
    return _mul(math.log(arith.select(equal(x, zero), const_like(x, 1.0), x)), out)


def _negated(partial):
    return lambda *args: arith.negf(partial(*args))


MARKED = {
    # scalar_rules._near_zero: x in place of f(x) = fx near 0, a value only
    "near_zero": [lambda out, fx: const_like(fx, 1.0)],
    # scalar_rules._float_divmod: a zero remainder given b's sign, a value only
    "signed_zero": [lambda out, mod: const_like(mod, 1.0)],
    "logistic": [lambda out, x: _mul(out, _one_minus(x, out))],
    "sinh": [lambda out, x: elementary.cosh(x)],
    "cosh": [lambda out, x: elementary.sinh(x)],
    "asinh": [lambda out, x: _asinh_derivative(x)],
    "atanh": [lambda out, x: _atanh_derivative(x)],
    "atan2": [lambda out, y, x: arith.divf(x, _add(_sq(x), _sq(y))),
              lambda out, y, x: arith.divf(arith.negf(y), _add(_sq(x), _sq(y)))],
    "atan": [lambda out, x: _atan_derivative(x)],
    "asin": [lambda out, x: _asin_derivative(x)],
    "acos": [lambda out, x: arith.negf(_asin_derivative(x))],
    "acosh": [lambda out, x: _acosh_derivative(x)],
    "cbrt": [lambda out, x: _cbrt_derivative(x, out)],
    "exp2": [lambda out, x: _exp2_derivative(x, out)],
    "power": [_power_x, _power_y],
    "power_to_integers": [_power_to_integers_x, _power_y],
    "erf_inv": [_sqrt_pi_over_2_exp_square],
    "erf": [lambda out, x: _negated(_erfc)(out, x)],
    "erfc": [_erfc],
    "lgamma": [lambda out, x: special.digamma(x)],
    "digamma": [lambda out, x: special.polygamma(const_like(x, 1.0), x)],
    "bessel_i0e": [_i0e],
    "bessel_i1e": [_i1e],
    "igamma": [lambda out, a, x: incomplete.igamma_grad_a(a, x), _igamma_x],
    "igammac": [lambda out, a, x: arith.negf(incomplete.igamma_grad_a(a, x)), _negated(_igamma_x)],
    "betainc": [ValueError("Betainc gradient with respect to a and b not supported.")] * 2 + [_betainc_x],
    "zeta": [NotImplementedError("Differentiation rule for 'zeta' not implemented"),
             lambda out, s, q: arith.negf(_mul(s, special.zeta(arith.addf(s, const_like(s, 1.0)), q)))],
    "polygamma": [ValueError("polygamma gradient with respect to m is not supported"),
                  lambda out, n, x: special.polygamma(arith.addf(n, const_like(n, 1.0)), x)],
}


class NotDifferentiableInput(Exception):
    """A marked op's input that JAX does not differentiate has a tangent; the
    cause is JAX's error, raised if the derivative is read (tensor_ops.clone_body)."""


def _marked_rule(partials):
    def rule(out, inputs, tangents):
        total = None
        for partial, x, t in zip(partials, inputs, tangents):
            if t is None:
                continue
            if isinstance(partial, Exception):
                raise NotDifferentiableInput() from partial
            total = _add(total, _mul(t, partial(out, *inputs)))
        return total

    return rule


def rule_for(op):
    """(rule, the old values whose new values and tangents the rule takes) for
    the scalar op `op`: its operands, or a special function's inputs; the rule
    is None where there is none."""
    attributes = op.operation.attributes
    if scalar_parts.MARK in attributes:
        partials = MARKED[ir.StringAttr(attributes[scalar_parts.MARK]).value]
        return _marked_rule(partials), scalar_parts.tied_inputs(op, len(partials))
    return RULES.get(op.operation.name), list(op.operation.operands)

"""JAX's derivative of x.at[index_array].max(v) and .min(v) (its
`_scatter_extremal_jvp`), on irax's flat scatter (frontend/primitives/
indexing.py: a 1-D dest with a spare last slot that dropped updates go to,
1-D updates, (n, 1) targets).

Each element out[i] is the extreme of dest[i] and the updates targeting i.
Its derivative is shared equally among the candidates equal to it (ties and
repeated indices alike, as JAX's max):

    retained[i] = dest[i] == out[i]             (1 or 0)
    wins[p]     = updates[p] == out[t[p]]
    n[i]        = retained[i] + the wins among the updates targeting i
    d out[i]    = retained[i] / n[i] d dest[i]  +  sum over t[p] == i of wins[p] / n[i] d updates[p]

so the tangent is a scatter-add of the scaled update tangents into the
scaled dest tangent, and the cotangents are ct * dest_coef and
ct[t[p]] * update_coef[p]. (Where a NaN is involved nothing compares equal:
the coefficients are 0, as JAX's.)"""
from iree.compiler import ir
from iree.compiler.dialects import arith, tensor

from irax.ir import mlir
from irax.ir.iree import linalg_ext_scatter
from irax.transforms.ad.scalar_jvp import add, const_like, divide, equal, multiply
from irax.transforms.ad.tensor_ops import empty_like, tensor_type


def gather_at_targets(values, targets, like):
    """values[targets[p]] for each update p (a 1-D tensor shaped as `like`):
    what an update position received or reads."""
    n = tensor_type(targets).shape[0]
    flat_targets = tensor.CollapseShapeOp(ir.RankedTensorType.get([n], tensor_type(targets).element_type), targets,
                                          mlir.reassociation([[0, 1]])).result

    def body(target, _):
        return [tensor.ExtractOp(values, [arith.index_cast(ir.IndexType.get(), target)]).result]

    return mlir.generic([flat_targets], [empty_like(like)], [[0], [0]], [mlir.PARALLEL], body)[0]


def _map(inputs, body):
    """An elementwise generic over 1-D tensors of the first input's type."""
    return mlir.generic(inputs, [empty_like(inputs[0])], [[0]] * (len(inputs) + 1), [mlir.PARALLEL], body)[0]


def _share(condition, count):
    """1/count where `condition`, else 0 (never 0/0)."""
    return arith.select(condition, divide(const_like(count, 1.0), count), const_like(count, 0.0))


def coefficients(op):
    """(dest_coef per dest element, update_coef per update) of a max/min scatter."""
    updates, targets, dest = op.operands
    out = op.results[0]
    wins = _map([updates, gather_at_targets(out, targets, updates)],
                lambda u, o, _: [arith.select(equal(u, o), const_like(u, 1.0), const_like(u, 0.0))])
    retained = _map([dest, out], lambda d, o, _: [arith.select(equal(d, o), const_like(d, 1.0), const_like(d, 0.0))])
    count = linalg_ext_scatter(wins, targets, retained, add)
    dest_coef = _map([retained, count], lambda r, n, _: [_share(equal(r, const_like(r, 1.0)), n)])
    update_coef = _map([wins, gather_at_targets(count, targets, updates)],
                       lambda w, n, _: [_share(equal(w, const_like(w, 1.0)), n)])
    return dest_coef, update_coef


def times(a, b):
    return _map([a, b], lambda x, y, _: [multiply(x, y)])


def jvp(op, t_updates, t_dest):
    """The tangent of the scatter's result from its updates' and dest's (dense)."""
    dest_coef, update_coef = coefficients(op)
    return linalg_ext_scatter(times(t_updates, update_coef), op.operands[1], times(t_dest, dest_coef), add)


def vjp(op, ct):
    """(ct of the updates, ct of dest) from the result's cotangent."""
    dest_coef, update_coef = coefficients(op)
    updates, targets, _ = op.operands
    return times(gather_at_targets(ct, targets, updates), update_coef), times(ct, dest_coef)

"""Calls of checkpointed functions (`irax.checkpoint`), as the autodiff passes see them.

The frontend (irax/frontend/checkpoint.py) traces `checkpoint(f)(x)` as a
`func.call` of a private function holding f, marked with the policy that
says which of its values the backward pass may keep from the forward pass:

    %y = func.call @f(%x..., %c...) {irax.remat = "nothing_saveable", irax.prevent_cse}
    func.func private @f(%x..., %c...) -> (%y...)

%c are the arrays f closes over. Reverse mode (vjp.py, `_remat`) leaves the
call in the forward part, where it computes its outputs only, and computes
f's body again in the backward part, from the call's operands, to
differentiate that copy; the ops whose results the policy saves are computed
once, in the forward part. Forward mode differentiates through the call
(jvp.py). The `inline` pass removes the calls left afterwards.
"""
from iree.compiler import ir

from irax.ir import mlir
from irax.ir.linalg import is_projected, iterator_names, map_results
from irax.transforms.ad.generic import NotDifferentiable

REMAT = "irax.remat"  # the policy's name, a string attribute
NAMES = "irax.remat_names"  # a policy of names' names (save_only_these_names('a')): an array of strings
PREVENT_CSE = "irax.prevent_cse"  # unit attribute: keep the recomputation apart from the forward call
CHECKPOINT_NAME = "irax.checkpoint_name"  # on the linalg.copy that checkpoint_name(x, name) makes: the name


def is_remat(call) -> bool:
    return REMAT in call.operation.attributes


def _dot(op, batch_dims_allowed=True) -> bool:
    """Whether `op` is a contraction `C[...] += A[...] * B[...]` (what irax
    emits for dot, matmul, einsum, tensordot: JAX's dot_general). A batch
    dimension is a parallel loop that A, B and C all index."""
    if op.operation.name != "linalg.generic" or len(op.inputs) != 2 or "reduction" not in iterator_names(op):
        return False
    body = op.regions[0].blocks[0]
    total = body.operations[len(body.operations) - 1].operands[0]
    if not mlir.made_by(total, "arith.addf"):
        return False
    addends = [v for v in total.owner.operands if v != body.arguments[-1]]
    if len(addends) != 1 or not mlir.made_by(addends[0], "arith.mulf"):
        return False
    if batch_dims_allowed:
        return True
    if not is_projected(op):  # a grouped convolution, whose groups are batch dims
        return False
    a, b, c = (set(map_results(m)) for m in op.indexing_maps)
    return not (a & b & c)


# Policy name -> which ops' results it saves; the names and meanings are
# those of jax.checkpoint_policies.
POLICIES = {
    "nothing_saveable": lambda op: False,
    "everything_saveable": lambda op: True,
    "dots_saveable": _dot,
    "dots_with_no_batch_dims_saveable": lambda op: _dot(op, batch_dims_allowed=False),
}


def _name(op) -> str | None:
    """The name checkpoint_name gave `op`'s result, if any."""
    attributes = op.operation.attributes
    return ir.StringAttr(attributes[CHECKPOINT_NAME]).value if CHECKPOINT_NAME in attributes else None


# Policy of names -> whether it saves an op's result, given its name (None:
# not named) and the policy's names; as in jax.checkpoint_policies.
NAMES_POLICIES = {
    "save_only_these_names": lambda name, names: name is not None and name in names,
    "save_any_names_but_these": lambda name, names: name is not None and name not in names,
    "save_anything_except_these_names": lambda name, names: name not in names,
}


def saved(call, ops) -> list:
    """The ops among `ops` (the callee's body) whose results `call`'s policy saves."""
    attributes = call.operation.attributes
    name = ir.StringAttr(attributes[REMAT]).value
    if name in NAMES_POLICIES and NAMES in attributes:
        names = {ir.StringAttr(n).value for n in ir.ArrayAttr(attributes[NAMES])}
        # (arrays only: a scalar op, an arith.constant, is recomputed for free)
        return [op for op in ops if NAMES_POLICIES[name](_name(op), names)
                and all(isinstance(r.type, ir.RankedTensorType) for r in op.results)]
    if name not in POLICIES:  # only in MLIR written by hand
        raise NotDifferentiable(f"irax autodiff: func.call {attributes['callee']} names the unknown "
                                f"checkpoint policy {name!r}; the policies are {', '.join(POLICIES)}")
    return [op for op in ops if POLICIES[name](op)]

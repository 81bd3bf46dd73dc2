"""`irax.checkpoint` (alias `irax.remat`): intermediates recomputed in the
backward pass instead of kept from the forward pass, as `jax.checkpoint`.

    @irax.checkpoint
    def block(w, x):
        return jnp.tanh(x @ w)

    irax.grad(lambda w, x: block(w, block(w, x)).sum())(w, x)

Traced, a call of a checkpointed function becomes a `func.call` of a private
function holding it, which attributes of the call mark with the policy's
name and with prevent_cse (the IR is in transforms/ad/remat.py). Reverse mode
keeps the call for the forward part, where it computes the outputs only,
and differentiates a second copy of its body computed in the backward part;
a policy names the values kept from the forward part instead (matrix
products, for `dots_saveable`). Forward mode and plain tracing inline the call.
Outside any trace there is nothing to differentiate: `checkpoint(f)(x)` is
`f(x)`, run eagerly.
"""
import functools
import types
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from typing import Any

from iree.compiler import ir
from iree.compiler.dialects import func, linalg

from irax import tree_util
from irax.frontend import core, source_info, staging
from irax.frontend.numpy.util import asarray
from irax.ir import mlir
from irax.transforms.ad import remat as remat_ir


@dataclass(frozen=True)
class _Policy:
    """Which values of a checkpointed function the backward pass may keep
    from the forward pass; the others it computes again. `name` is the
    policy's in jax.checkpoint_policies and in transforms/ad/remat.py (POLICIES);
    a policy of names (save_only_these_names) has the `names` it was given."""
    name: str
    names: tuple[str, ...] | None = None

    def __repr__(self):
        names = "" if self.names is None else f"({', '.join(map(repr, self.names))})"
        return f"irax.checkpoint_policies.{self.name}{names}"


def _unsupported(name):
    """A policy factory of jax.checkpoint_policies that irax lacks (a union of policies)."""
    def factory(*args, **kwargs):
        raise NotImplementedError(f"irax.checkpoint_policies.{name} is not implemented; irax implements "
                                  f"{', '.join(remat_ir.POLICIES)}")
    factory.__name__ = name
    return factory


everything_saveable = _Policy("everything_saveable")  # keep everything: checkpoint changes nothing
nothing_saveable = _Policy("nothing_saveable")  # recompute everything: the default
dots_saveable = _Policy("dots_saveable")  # keep the results of contractions (dot, matmul, einsum)
dots_with_no_batch_dims_saveable = _Policy("dots_with_no_batch_dims_saveable")  # those without batch dimensions

def _names_policy(name):
    """A policy factory of names given to values by checkpoint_name."""
    def factory(*names: str) -> _Policy:
        return _Policy(name, tuple(sorted(set(names))))
    factory.__name__ = name
    return factory


def save_and_offload_only_these_names(*, names_which_can_be_saved, names_which_can_be_offloaded, offload_src,
                                      offload_dst) -> _Policy:
    """JAX's policy that keeps the values checkpoint_name named in
    `names_which_can_be_saved`, moves those named in
    `names_which_can_be_offloaded` from memory space `offload_src` to
    `offload_dst` (pinned host memory) until the backward pass, and
    recomputes the rest. irax has one memory space per device, so a value
    offloaded is a value kept where it is: this saves both sets of names,
    as save_only_these_names of them all, and the memory spaces change
    nothing. The two sets must not share a name (JAX's ValueError)."""
    saved, offloaded = set(names_which_can_be_saved), set(names_which_can_be_offloaded)
    if saved & offloaded:
        raise ValueError("The names should be exclusive and should not intersect in `names_which_can_be_saved` and "
                         f"`names_which_can_be_offloaded`. Got names_which_can_be_saved={saved}, "
                         f"names_which_can_be_offloaded={offloaded} and the intersection={saved & offloaded}")
    return _names_policy("save_only_these_names")(*saved, *offloaded)


def offload_dot_with_no_batch_dims(offload_src, offload_dst) -> _Policy:
    """JAX's policy that moves the results of contractions without batch
    dimensions to memory space `offload_dst` until the backward pass. With
    one memory space per device (save_and_offload_only_these_names), an
    offloaded value is kept: dots_with_no_batch_dims_saveable."""
    return dots_with_no_batch_dims_saveable


checkpoint_policies = types.SimpleNamespace(
    everything_saveable=everything_saveable,
    nothing_saveable=nothing_saveable,
    dots_saveable=dots_saveable,
    checkpoint_dots=dots_saveable,
    dots_with_no_batch_dims_saveable=dots_with_no_batch_dims_saveable,
    checkpoint_dots_with_no_batch_dims=dots_with_no_batch_dims_saveable,
    **{name: _names_policy(name) for name in remat_ir.NAMES_POLICIES},
    save_and_offload_only_these_names=save_and_offload_only_these_names,
    offload_dot_with_no_batch_dims=offload_dot_with_no_batch_dims,
    save_from_both_policies=_unsupported("save_from_both_policies"),
)


def _checked_policy(policy) -> _Policy:
    if policy is None:
        return nothing_saveable
    if not isinstance(policy, _Policy):
        name = getattr(policy, "__name__", repr(policy))
        raise NotImplementedError(f"irax.checkpoint: policy {name} is not implemented; irax implements the "
                                  "policies of irax.checkpoint_policies: "
                                  f"{', '.join([*remat_ir.POLICIES, *remat_ir.NAMES_POLICIES])}")
    return policy


def _static_positions(static_argnums, n_args) -> set:
    """The positions `static_argnums` names among n_args arguments, with JAX's errors."""
    nums = (static_argnums,) if type(static_argnums) is int else static_argnums
    if not (type(nums) is tuple and all(type(i) is int for i in nums)):
        raise TypeError("the `static_argnums` argument to `jax.checkpoint` / `jax.remat` must be an int, tuple of "
                        f"ints or, bool, but got value {static_argnums}")
    if not all(-n_args <= i < n_args for i in nums):
        raise ValueError("the `static_argnums` argument to `jax.checkpoint` / `jax.remat` can only take integer "
                         "values greater than or equal to `-len(args)` and less than `len(args)`, but got "
                         f"{nums}, while `len(args)` = {n_args}")
    return {i % n_args for i in nums}


def checkpoint(fun: Callable, *, prevent_cse: bool = True, policy: Callable[..., bool] | None = None,
               static_argnums: int | tuple[int, ...] = (), static_argnames: str | Iterable[str] = ()) -> Callable:
    """`fun`, whose intermediates reverse-mode differentiation (grad, vjp)
    computes again in the backward pass instead of keeping them from the
    forward pass: less memory for more work. The values are the same.

    `policy` (one of `irax.checkpoint_policies`; default `nothing_saveable`)
    says which intermediates may be kept after all. With `prevent_cse` (the
    default) an optimization barrier keeps the compiler from merging the
    recomputation with the forward pass (which would keep everything again);
    JAX turns it off inside scan loops, where the loop keeps them apart.
    The arguments `static_argnums` and `static_argnames` are Python values
    that `fun` may branch on, as with jit."""
    if not isinstance(prevent_cse, bool):
        raise NotImplementedError("irax.checkpoint: prevent_cse must be a bool (one per argument is not implemented)")
    policy = _checked_policy(policy)
    static_names = {static_argnames} if isinstance(static_argnames, str) else set(static_argnames)

    @functools.wraps(fun)
    def checkpointed(*args, **kwargs):
        statics = _static_positions(static_argnums, len(args))
        dynamic_args = [a for i, a in enumerate(args) if i not in statics]
        dynamic_kwargs = {k: v for k, v in kwargs.items() if k not in static_names}

        def with_statics(*dynamic, **more):
            rest = iter(dynamic)
            full = [args[i] if i in statics else next(rest) for i in range(len(args))]
            return fun(*full, **more, **{k: v for k, v in kwargs.items() if k in static_names})

        arguments = staging.Arguments(dynamic_args, dynamic_kwargs)
        if core.current_trace() is None:  # nothing to recompute; numbers still reach fun as (weak) arrays
            dynamic_args, dynamic_kwargs = arguments.rebuild(arguments.dynamic)
            return with_statics(*dynamic_args, **dynamic_kwargs)
        return _emit_call(with_statics, arguments, policy, prevent_cse)

    return checkpointed


remat = checkpoint  # JAX's other name for it


def _emit_call(fun, arguments, policy, prevent_cse):
    """Trace `fun` on `arguments` into a private function of the current
    module and call it there, the call marked for the autodiff passes."""
    trace = core.current_trace()
    traced = staging.trace_arguments(fun, arguments)
    name = staging.fresh_name("irax_remat")
    staging.add_private(traced, name)
    operands = [trace.to_tracer(x).value for x in arguments.dynamic + traced.lifted]
    call = func.CallOp(list(traced.func.type.results), ir.FlatSymbolRefAttr.get(name), operands)
    call.attributes[remat_ir.REMAT] = ir.StringAttr.get(policy.name)
    if policy.names is not None:
        call.attributes[remat_ir.NAMES] = ir.ArrayAttr.get([ir.StringAttr.get(n) for n in policy.names])
    if prevent_cse:
        call.attributes[remat_ir.PREVENT_CSE] = ir.UnitAttr.get()
    results = [core.Tracer(trace, v, a) for v, a in zip(call.results, traced.out_avals)]
    return tree_util.tree_unflatten(traced.out_tree, results)


def checkpoint_name(x: Any, name: str) -> Any:
    """`x` (a pytree of arrays), its values given the name `name`, which the
    policies save_only_these_names, save_any_names_but_these and
    save_anything_except_these_names refer to (jax.ad_checkpoint.checkpoint_name).
    Traced, each is a copy marked with the name (transforms/ad/remat.py);
    outside a trace, `x` itself."""
    trace = core.current_trace()
    if trace is None:
        return x

    # (JAX's primitive `name`; its location names the user's line while print_saved_residuals traces)
    location = source_info.op_location("name") if source_info.recording_now() else ir.Location.unknown()

    def named(leaf):
        t = trace.to_tracer(asarray(leaf))
        with location:
            copy = linalg.copy(t.value, outs=[mlir.empty(list(t.aval.shape), t.aval.dtype)])
        copy.owner.attributes[remat_ir.CHECKPOINT_NAME] = ir.StringAttr.get(name)
        return core.Tracer(trace, copy, t.aval)

    return tree_util.tree_map_data(named, x)  # (a key array: its data, rebuilt)

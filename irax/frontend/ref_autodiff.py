"""`irax.vjp` with Refs (JAX's docs/array_refs.md, "Differentiating with
respect to Ref arguments" and "Gradient refs for value arguments").

    y, f_vjp = irax.vjp(f, x_ref, w)              # x_ref: a Ref argument
    f_vjp.with_refs(x_grad_ref, irax.ad.GradValue())(ct)

autodiff.vjp differentiates functions of arrays; here a Ref argument is
passed to it as its value, the function gets a Ref of its own holding it
(internal, so the function is pure), and the final values of those Refs come
back beside the output, undifferentiated, to be written into the caller's
Refs: the forward pass updates them as JAX's does in place. So the gradient
for a Ref argument is the gradient with respect to its value on entry.

The VJP function (`VJP`) is autodiff's pullback with `with_refs(*specs)`,
one spec per argument: a Ref (the gradient is *added* into it; the call
returns a GradRef() there), GradValue() (returned, the default) or
DontWant() (not wanted: DidntWant() there). A Ref argument's gradient must
go into a Ref: calling the VJP function plainly is JAX's error then.
"""
from collections.abc import Callable
from typing import Any

from irax import tree_util
from irax.backends.cache import LRU
from irax.frontend import autodiff, core
from irax.frontend.refs import Ref, accumulate


class GradValue:
    """with_refs: return this argument's gradient as a value (jax.ad.GradValue)."""

    def __repr__(self):
        return "GradValue()"


class DontWant:
    """with_refs: do not return this argument's gradient (jax.ad.DontWant)."""

    def __repr__(self):
        return "DontWant()"


class DidntWant:
    """What the VJP returns for an argument given DontWant() (jax.ad.DidntWant)."""

    def __repr__(self):
        return "DidntWant()"


class GradRef:
    """What the VJP returns for an argument whose gradient went into a Ref (jax.ad.GradRef)."""

    def __repr__(self):
        return "GradRef()"


class VJP:
    """vjp's function: `vjp_fn(ct)` gives the arguments' gradients; a pytree
    (its child autodiff's, vjp_function.VJP), as JAX's."""

    def __init__(self, pullback, ref_types):
        self.pullback = pullback
        self.ref_types = ref_types  # per argument: its Ref's type name, or None

    def __call__(self, cotangent):
        grads = self.pullback(cotangent)
        for name, g in zip(self.ref_types, grads):
            if name is not None:
                raise ValueError(f"Expected cotangent type {name} but got {core.aval_of(g).str_short()}")
        return grads

    def with_refs(self, *specs):
        """The VJP function putting each argument's gradient where its spec says (module docstring)."""
        if len(specs) != len(self.ref_types):
            raise TypeError(f"with_refs takes one entry per argument of the differentiated function "
                            f"({len(self.ref_types)}), got {len(specs)}")
        for spec, name in zip(specs, self.ref_types):
            if not isinstance(spec, (Ref, GradValue, DontWant)):
                raise TypeError(f"with_refs entries are Refs, GradValue() or DontWant(), got {spec!r}")
            if name is not None and isinstance(spec, GradValue):
                raise ValueError(f"Expected cotangent type {name} but got a GradValue(): the gradient of a Ref "
                                 "argument must be accumulated into a ref bound with `with_refs`")

        def vjp_fn(cotangent):
            grads = self.pullback(cotangent)
            out = []
            for spec, g in zip(specs, grads):
                if isinstance(spec, Ref):
                    accumulate(spec, g)  # added, not set
                    out.append(GradRef())
                else:
                    out.append(DidntWant() if isinstance(spec, DontWant) else g)
            return tuple(out)

        return vjp_fn


for _placeholder in (DidntWant, GradRef):  # pytrees with no leaves, as JAX's: a jitted function may return them
    tree_util.register_pytree_node(_placeholder, lambda p: ((), None), lambda _, __, cls=_placeholder: cls())
tree_util.register_pytree_node(VJP, lambda v: ((v.pullback,), v.ref_types),
                               lambda ref_types, children: VJP(children[0], ref_types))

_on_values = LRU()  # (fun, which arguments are Refs, has_aux) -> fun of the Refs' values


def vjp(fun: Callable, *primals: Any, has_aux: bool = False) -> tuple:
    """jax.vjp, Refs among the positional arguments allowed (module docstring)."""
    is_ref = tuple(isinstance(p, Ref) for p in primals)
    if not any(is_ref):  # autodiff's VJP as it is (a pytree, as before), with_refs added
        out = autodiff.vjp(fun, *primals, has_aux=has_aux)
        out[1].with_refs = VJP(out[1], (None,) * len(primals)).with_refs
        return out
    key = (fun, is_ref, has_aux)
    on_values = _on_values.get(key)
    if on_values is None:
        def on_values(*values):
            refs = [Ref(v, core.current_trace(), None) if r else v for v, r in zip(values, is_ref)]
            out = fun(*refs)
            out, aux = out if has_aux else (out, None)
            return out, (aux, tuple(r._value for r, is_r in zip(refs, is_ref) if is_r))

        core.named_as(on_values, fun)
        _on_values[key] = on_values
    refs = [p for p in primals if isinstance(p, Ref)]
    out, pullback, (aux, final) = autodiff.vjp(on_values, *[p[...] if r else p for p, r in zip(primals, is_ref)],
                                               has_aux=True)
    for ref, value in zip(refs, final):
        ref[...] = value
    f_vjp = VJP(pullback, tuple(p.type_name() if r else None for p, r in zip(primals, is_ref)))
    return (out, f_vjp, aux) if has_aux else (out, f_vjp)

"""Mutable array references: `irax.new_ref`, `irax.Ref`, `irax.freeze` (JAX's
docs/array_refs.md).

    x_ref = irax.new_ref(jnp.zeros(3))
    x_ref[1] += 1.            # reads x_ref[1], writes it back
    irax.freeze(x_ref)        # Array([0., 1., 0.], dtype=float32)

A Ref is a box holding an immutable value (an Array eagerly, a Tracer in a
trace). A read `ref[idx]` is `value[idx]`; a write `ref[idx] = v` puts
`value.at[idx].set(v)` in the box. So every program stays pure: mutation is
functionalized at trace time, never compiled.

- A Ref made inside a traced function (*internal*) is only a value being
  updated there: the function is pure, and grad, vmap and jit treat it as any.
- A staged program called eagerly (jit, grad, vmap, control flow: every
  staging.run_staged) that uses Refs from outside, passed as arguments or
  closed over, is *impure*: `run_staged` calls it through `call_impure`,
  which traces `fun` with each such Ref's value taken as an extra argument
  and its final value returned as an extra result, and writes the results
  back into the Refs after the call. Closed-over Refs are found while
  tracing: a read or write of an unknown one stops the trace (`Found`),
  and the trace runs again with it among the Refs (remembered per program
  key, so later calls know it at once).

Each Ref has an owner: the trace that made it, or that `call_impure` bound
it in (None eagerly). Reads from a trace nested in the owner's (grad's or
a loop body's function) see the owner's value as a closed-over value.
Writes from there: loop bodies and cond branches carry the Ref's value
(`carry_refs`, so JAX's `foreach` recipe works); grad's function returns
its final value beside its output, not differentiated (`plumbing`); vmap's
are JAX's error (a vmapped value written into an unbatched Ref); others
(checkpoint, custom_vjp rules, grad inside grad) are not supported yet, a
NotImplementedError. vmap over Ref *arguments* is `vmap_with_refs`.
"""
import contextlib
import inspect
import threading
from typing import Any

import numpy as np

from irax import tree_util
from irax.backends.cache import LRU
from irax.frontend import core, printing, source_info
from irax.frontend.numpy.util import asarray, is_array
from irax.frontend.primitives.elementwise import convert_element_type
from irax.ir import mlir
from irax.typing import Array, ArrayLike


class Ref:
    """A mutable array reference (jax.Ref). Not an Array: read it (`ref[...]`)
    to compute with its value."""

    __slots__ = ("_value", "_owner", "_origin", "_weak")

    def __init__(self, value, owner, origin):
        self._value = value  # an Array, or a Tracer of `_owner`
        self._owner = owner  # the trace it belongs to, None eagerly
        self._origin = origin  # 'file:line:column (function)' of the user's new_ref, for errors
        # A Ref made eagerly keeps its first weak type, which its reads have
        # (its type, as JAX's Ref aval); one made in a trace is a value there
        self._weak = value.aval.weak_type if owner is None else None

    aval = property(lambda self: self._value.aval)
    shape = property(lambda self: self._value.shape)
    dtype = property(lambda self: self._value.dtype)
    ndim = property(lambda self: self._value.ndim)
    size = property(lambda self: self._value.size)
    weak_type = property(lambda self: self._value.aval.weak_type)

    def type_name(self) -> str:
        """JAX's name of a Ref's type: Ref{float32[3]}."""
        return f"Ref{{{self.aval.str_short()}}}"

    def __getitem__(self, idx):
        _check_access(self, write=False)
        idx = _checked_index(self.shape, idx)
        value = self._value
        if self._weak is not None and value.aval.weak_type != self._weak:
            value = convert_element_type.bind(value, new_dtype=value.dtype, weak_type=self._weak)
        return value if idx == () else value[idx]

    def __setitem__(self, idx, value):
        _check_access(self, write=True)
        idx = _checked_index(self.shape, idx)
        value = asarray(value)
        if value.dtype != self.dtype:
            raise ValueError(f"Invalid dtype for `swap`. Ref dtype: {self.dtype}. Value dtype: {value.dtype}. ")
        expected = self.shape if idx == () else _indexed_shape(self.aval, idx)
        if value.shape != expected:
            raise ValueError(f"Invalid shape for `swap`. Ref shape: {self.shape}. Expected shape: {expected}. "
                             f"Value shape: {value.shape}. Indexer: {idx}.")
        if idx != ():
            value = self._value.at[idx].set(value)
        if value.aval.weak_type:  # as JAX's, a value written is strongly typed (a Ref's repr shows it)
            value = value.astype(self.dtype)
        self._value = value

    def __repr__(self):
        if isinstance(self._value, core.Tracer):
            return self.type_name()
        return "Ref" + printing.array_repr(self._value._value, self.weak_type)[len("Array"):]

    __str__ = __repr__

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of unsized object")
        return self.shape[0]


def new_ref(init_val: ArrayLike, *, memory_space: Any = None, kind: str | None = None) -> Ref:
    """A new Ref holding `init_val` (an array or a number): jax.new_ref.
    irax's devices have one memory space and one kind of Ref: the defaults."""
    if memory_space is not None or kind is not None:
        raise NotImplementedError(f"irax's Refs live in the device's one memory space and are of one kind; got "
                                  f"memory_space={memory_space!r}, kind={kind!r}.")
    if not (is_array(init_val) or isinstance(init_val, (bool, int, float, complex, np.ndarray, np.generic))):
        raise TypeError(f"Error interpreting argument to new_ref as a JAX value. The problematic value is of type "
                        f"{type(init_val)} and was passed to new_ref at position 0.\n")
    return Ref(asarray(init_val), core.current_trace(), source_info.user_line())


def freeze(ref: Ref) -> Array:
    """The final value of `ref` (jax.freeze). As JAX 0.10.2 does, the Ref
    can still be used afterwards."""
    if not isinstance(ref, Ref):
        raise TypeError(f"freeze takes a Ref, got {type(ref)}")
    return ref[...]


def accumulate(ref: Ref, value):
    """`ref[...] += value` as JAX's gradient accumulation into a Ref does it,
    in place: the Ref keeps its weak type."""
    total = ref[...] + value
    ref[...] = total
    if total.aval.weak_type:
        ref._value = total


# ---------------------------------------------------------------------------
# Indexing: NumPy's, with JAX's checks of static indices.

def _checked_index(shape, idx) -> tuple:
    """`idx` as a tuple (`...` alone as ()), with JAX's errors for a static
    int out of bounds and for a slice step below 1."""
    idx = idx if isinstance(idx, tuple) else (idx,)
    if len(idx) == 1 and idx[0] is Ellipsis:
        return ()
    dims = iter(shape)
    for i in idx:
        if i is Ellipsis:
            break
        dim = next(dims, None)
        if isinstance(i, (int, np.integer)) and not isinstance(i, bool) and dim is not None and not -dim <= i < dim:
            raise ValueError(f"Out of bound indexer: idx={i}, dim={dim}.")
        if isinstance(i, slice) and i.step is not None and i.step < 1:
            raise ValueError(f"slice must have a step >= 1 (found: {i.step})")
    return idx


def _indexed_shape(aval, idx) -> tuple:
    """The shape of `x[idx]` for `x` of `aval`, by indexing a Tracer of a
    throwaway trace (nothing is run)."""
    trace = core.Trace()
    with trace.active():
        return trace.new_argument(aval)[idx].shape


# ---------------------------------------------------------------------------
# Who may read and write a Ref where.

class Found(Exception):
    """A trace under call_impure met a Ref from outside it that it was not
    given: trace again with `ref` bound too."""

    def __init__(self, ref):
        super().__init__("a closed-over Ref, found while tracing")
        self.ref = ref


class _Binding(threading.local):
    depth = 0  # how many call_impure traces are running on this thread


_binding = _Binding()


def _check_access(ref, write):
    trace = core.current_trace()
    if trace is None or ref._owner is trace:
        return
    if ref._owner is None and _binding.depth:  # an eager Ref the program closes over
        raise Found(ref)
    if not write:
        return  # the owner's value, closed over by this (nested) trace
    if trace.batch is not None:
        raise Exception(f"performing a set/swap operation with vmapped value on an unbatched array reference of "
                        f"type {ref.type_name()}. Move the array reference to be an argument to the vmapped "
                        "function?")
    if _carrying.depth:
        raise _Written(ref)
    raise _nested_write_error(ref)


def _nested_write_error(ref):
    return NotImplementedError(
        f"irax cannot yet write to an array reference of type {ref.type_name()} from inside a transformation "
        "(checkpoint, a custom_vjp rule, grad inside grad, ...; loop bodies, cond branches and grad's function "
        "can) nested where the reference was made or passed in. Move the array reference to be an argument of "
        "the transformed function, or return the value and write it outside.")


# ---------------------------------------------------------------------------
# Impure staged calls: Refs as extra arguments and results.

class _Slot:
    """Where the `n`th Ref argument was: a static leaf of the program's key."""
    __slots__ = ("n",)

    def __init__(self, n):
        self.n = n

    def __eq__(self, other):
        return type(other) is _Slot and other.n == self.n

    def __hash__(self):
        return hash(("Ref", self.n))


_VALUES = "__irax_ref_values__"  # the keyword argument carrying the Refs' values into the program


def watching(fun):
    """`fun`, under which a read or write of a Ref from outside it (an
    argument or closed over) raises Found: a trace of it for a pure call
    stops at the first one (staging.run_staged then calls call_impure)."""
    return _seeing(fun, [])


def call_impure(key, fun, args, kwargs, run, closed_by_key):
    """`run(pure, args, kwargs, impure)`: the staged call of `fun(*args,
    **kwargs)` as a pure program `pure`, its Ref arguments (leaves of
    args/kwargs) replaced by `_Slot`s and the Refs' values passed in
    keyword `_VALUES`; when `impure`, it returns (out, the Refs' new
    values), which are written back. The Refs `fun` closes over are found
    while tracing and remembered in `closed_by_key[key]` (a key None: for
    this call alone)."""
    leaves, tree = tree_util.tree_flatten((tuple(args), dict(kwargs or {})))
    given = [x for x in leaves if isinstance(x, Ref)]
    if given:
        slots = iter(map(_Slot, range(len(given))))
        args, kwargs = tree_util.tree_unflatten(tree, [next(slots) if isinstance(x, Ref) else x for x in leaves])
    closed = list(closed_by_key.get(key) or ()) if key is not None else []
    while True:
        refs = given + [r for r in closed if all(r is not g for g in given)]
        values = {_VALUES: tuple(r._value for r in refs)} if refs else {}
        try:
            result = run(_pure(fun, refs), args, {**(kwargs or {}), **values}, bool(refs))
        except Found as found:
            if any(found.ref is r for r in refs):
                raise RuntimeError("irax: a Ref bound for a staged call was found again") from None
            closed.append(found.ref)
            if key is not None:
                closed_by_key[key] = list(closed)
            continue
        if not refs:
            return result
        out, new_values = result
        for ref, value in zip(refs, new_values):
            if value is not None:
                ref._value = value
        return out


def trace_only(trace, fun):
    """`trace(f)` for a trace that is never run (make_jaxpr, eval_shape),
    where `f` is `fun` seeing the eager Refs it uses as values closed over:
    what it writes into them is dropped with the trace."""
    refs = []
    while True:
        try:
            return trace(_seeing(fun, refs))
        except Found as found:
            if any(found.ref is r for r in refs):
                raise RuntimeError("irax: a Ref bound for a trace was found again") from None
            refs.append(found.ref)


def _seeing(fun, refs):
    def seeing(*args, **kwargs):
        _binding.depth += 1
        try:
            with _bound(refs, [r._value for r in refs]):
                return fun(*args, **kwargs)
        finally:
            _binding.depth -= 1

    core.named_as(seeing, fun)
    return seeing


@contextlib.contextmanager
def _bound(refs, values):
    """While the block runs, each Ref holds its value of `values` and
    belongs to the current trace; then they are as they were."""
    trace = core.current_trace()
    saved = [(r._value, r._owner) for r in refs]
    try:
        for r, v in zip(refs, values):
            r._value, r._owner = v, trace
        yield
    finally:
        for r, (v, owner) in zip(refs, saved):
            r._value, r._owner = v, owner


def _pure(fun, refs):
    """`fun` as a pure function of its arguments and the Refs' values
    (keyword _VALUES): in the trace, each Ref holds its argument while `fun`
    runs; the outputs are (out, the values of the Refs written, None for
    the others)."""

    def pure(*args, **kwargs):
        values = kwargs.pop(_VALUES, ())
        leaves, tree = tree_util.tree_flatten((args, kwargs))
        args, kwargs = tree_util.tree_unflatten(tree, [refs[x.n] if isinstance(x, _Slot) else x for x in leaves])
        _binding.depth += 1
        try:
            with _bound(refs, values):
                out = fun(*args, **kwargs)
                if not refs:
                    return out
                return out, tuple(None if r._value is v else r._value for r, v in zip(refs, values))
        finally:
            _binding.depth -= 1

    core.named_as(pure, fun)
    return pure


# ---------------------------------------------------------------------------
# Functions traced inside a trace (loop bodies, cond branches, grad's
# function) that write a Ref of the trace around them: its value is
# threaded through them (carried, or returned beside the output).

class _Written(Exception):
    """A function traced inside the trace that owns `ref` wrote it: trace it
    again with the Ref's value threaded through."""

    def __init__(self, ref):
        super().__init__("a Ref from outside written in a nested trace")
        self.ref = ref


class _Carrying(threading.local):
    depth = 0  # how many _writing_outer_refs are running on this thread


_carrying = _Carrying()


def _writing_outer_refs(attempt):
    """`attempt(written)`, first with no Refs, again with each Ref of the
    current trace that a function traced inside it turned out to write
    (a Ref of a trace further out is left to an attempt there)."""
    written = []
    while True:
        _carrying.depth += 1
        try:
            return attempt(list(written))
        except _Written as found:
            if any(found.ref is r for r in written):
                raise _nested_write_error(found.ref) from None
            if found.ref._owner is not core.current_trace():  # a Ref of a trace further out: for its
                if _carrying.depth > 1:  # function (grad of grad), if one is here, else refused
                    raise
                raise _nested_write_error(found.ref) from None
            written.append(found.ref)
        finally:
            _carrying.depth -= 1


def carry_refs(loop, bodies, init):
    """`loop(bodies, init, reading)` for a scan-like `loop` (each body(carry,
    x) -> (carry, y), returning (carry, ys)), where the bodies may write Refs
    of the trace around the loop: their values join the carry, and their
    final values are written into them after the loop (JAX's foreach
    recipe). `reading(f)` is f(carry) seeing the Refs' values of that carry
    (a while_loop's predicate)."""
    def attempt(written):
        if not written:
            return loop(bodies, init, lambda f: f)
        (carry, values), ys = loop([_carried(body, written) for body in bodies],
                                   (init, tuple(_strong(r._value) for r in written)), lambda f: _reading(f, written))
        for ref, value in zip(written, values):
            ref[...] = value
        return carry, ys

    return _writing_outer_refs(attempt)


def _strong(value):
    """A Ref's value as it is after a write, strongly typed: one type for the carry in and out."""
    return value.astype(value.dtype) if value.aval.weak_type else value


def _carried(body, refs):
    def carried(carry, x):
        carry, values = carry
        with _bound(refs, values):
            carry, y = body(carry, x)
            return (carry, tuple(_strong(r._value) for r in refs)), y

    carried.__name__ = getattr(body, "__name__", "body")
    return carried


def _reading(f, refs):
    def reading(carry):
        carry, values = carry
        with _bound(refs, values):
            return f(carry)

    core.named_as(reading, f)
    return reading


def plumbing(differentiate, fun_pair, differentiated):
    """`differentiate(fun_pair)` for grad's `fun_pair` (-> (output, aux);
    `differentiate` returns (output, aux, grads)), where `fun_pair` may
    write Refs of the trace around it, plumbing data out (array_refs.md):
    their final values come out beside aux, not differentiated, and are
    written into them after. As in JAX, a value written must not depend on
    the arguments differentiated (positions `differentiated` among the
    traced function's arguments): stop_gradient it."""
    def attempt(written):
        if not written:
            return differentiate(fun_pair)
        output, (aux, values), grads = differentiate(_plumbed(fun_pair, written, differentiated))
        for ref, value in zip(written, values):
            ref[...] = value
        return output, aux, grads

    return _writing_outer_refs(attempt)


def _plumbed(fun_pair, refs, differentiated):
    def plumbed(*args, **kwargs):
        trace = core.current_trace()
        with _bound(refs, [r[...] for r in refs]):
            output, aux = fun_pair(*args, **kwargs)
            values = [trace.to_tracer(r._value) for r in refs]
        arguments = list(trace.block.arguments)
        depends = mlir.differentiable_dependencies(trace.block, [v.value for v in values],
                                                   [arguments[k] for k in differentiated])
        for ref, differentiated_value in zip(refs, depends):
            if differentiated_value:
                raise Exception(f"performing a set/swap operation with a differentiated value on a "
                                f"non-differentiated array reference of type {ref.type_name()}. Move the array "
                                "reference to be an argument of the differentiated function?")
        return output, (aux, tuple(values))

    core.named_as(plumbed, fun_pair)
    return plumbed


# ---------------------------------------------------------------------------
# jit's checks, with JAX's errors.

def _named_refs(fun, args, kwargs) -> list:
    """(path as JAX names it, Ref) of each Ref leaf among the arguments."""
    try:
        named = inspect.signature(fun).bind(*args, **kwargs).arguments
    except (TypeError, ValueError):
        named = {"args": tuple(args), **kwargs}
    return [(name + tree_util.keystr(path), leaf) for name, value in named.items()
            for path, leaf in tree_util.tree_leaves_with_path(value) if isinstance(leaf, Ref)]


def check_arguments(fun, args, kwargs):
    """JAX's errors for a Ref passed to a jitted function twice, or both
    passed and closed over."""
    named = _named_refs(fun, args, kwargs)
    if not named:
        return
    for i, (path, ref) in enumerate(named):
        for other_path, other in named[:i]:
            if other is ref:
                raise ValueError(
                    "only one reference to a mutable array may be passed as an argument to a function, but when "
                    f"tracing {core.function_name(fun)} for jit the mutable array reference of type "
                    f"{ref.type_name()} appeared at both {other_path} and {path}.")
    try:
        closure = inspect.getclosurevars(fun)
    except (TypeError, ValueError):
        return
    seen = list(closure.nonlocals.values()) + list(closure.globals.values())
    for path, ref in named:
        if any(value is ref for value in seen):
            raise ValueError(f"when tracing {core.function_name(fun)} for jit, a mutable array reference of type "
                             f"{ref.type_name()} was both closed over and passed as the argument {path}")


def check_outputs(fun, args, kwargs, out):
    """JAX's error for a Ref among a jitted function's outputs."""
    for ref in (x for x in tree_util.tree_leaves(out) if isinstance(x, Ref)):
        passed = [path for path, r in _named_refs(fun, args, kwargs) if r is ref]
        if passed:
            source = f"was passed in as the argument {passed[0]}"
        elif ref._origin is not None:
            source = f"was created on line {ref._origin}"
        else:
            source = "was created inside it"
        raise ValueError(f"function {core.function_name(fun)} traced for jit returned a mutable array reference of "
                         f"type {ref.type_name()}, but mutable array references cannot be returned.\n\n"
                         f"The returned mutable array {source}.")


# ---------------------------------------------------------------------------
# vmap over Ref arguments

def has_refs(args, kwargs) -> bool:
    """Whether a Ref is among the leaves of a call's arguments (arrays alone,
    the common case, are not flattened)."""
    if not kwargs and all(map(is_array, args)):
        return False
    return any(isinstance(x, Ref) for x in tree_util.tree_leaves((args, kwargs)))


_over_values = LRU()  # (fun, axes, argument structure, where its Refs are) -> fun on the Refs' values


def vmap_with_refs(vmap, fun, in_axes, out_axes, axis_name, axis_size, args, kwargs):
    """`vmap(fun, in_axes, out_axes, ...)(*args, **kwargs)` where Refs are
    among the arguments (array_refs.md: "vmap over ref args is okay"): the
    vmapped function takes the Refs' values, mapped as `in_axes` says, makes
    Refs of its slices, and returns their final values beside its output,
    mapped back along the same axes; they are written back into the Refs."""
    leaves, tree = tree_util.tree_flatten((tuple(args), dict(kwargs)))
    is_ref = tuple(isinstance(x, Ref) for x in leaves)
    key = (fun, repr(in_axes), repr(out_axes), axis_name, axis_size, tree, is_ref)
    vmapped = _over_values.get(key)
    if vmapped is None:
        def on_values(*args, **kwargs):
            leaves = tree_util.tree_leaves((args, kwargs))
            slices = [Ref(x, core.current_trace(), None) if r else x for x, r in zip(leaves, is_ref)]
            args, kwargs = tree_util.tree_unflatten(tree, slices)
            out = fun(*args, **kwargs)
            written = [x._value if r else None for x, r in zip(slices, is_ref)]
            return out, tree_util.tree_unflatten(tree, written)

        core.named_as(on_values, fun)
        axes = in_axes if isinstance(in_axes, tuple) else (in_axes,) * len(args)
        vmapped = _over_values[key] = vmap(on_values, in_axes, (out_axes, (axes, 0)), axis_name, axis_size)
    args, kwargs = tree_util.tree_unflatten(tree, [x[...] if r else x for x, r in zip(leaves, is_ref)])
    out, written = vmapped(*args, **kwargs)
    for ref, value in zip((x for x in leaves if isinstance(x, Ref)), tree_util.tree_leaves(written)):
        ref[...] = value
    return out

"""`vmap`: vectorizing map, as a transformation of MLIR.

`vmap(f)(xs)` computes `stack([f(x) for x in xs])` without the loop:

    1. trace `f` on one slice, the arguments' avals without their mapped
       axes (staging.trace_function);
    2. let the batching pass (transforms/batching.py, a function of the
       module alone) add the batched function, whose ops each work on the
       whole batch at once;
    3. copy that function's body into the enclosing trace, then move each
       output's batch axis (first) to where `out_axes` asks.

It is one staged call (staging.staged_call), as grad is: under a trace it
nests, so `vmap(grad(f))`, `grad(vmap(f))`, `jit(vmap(f))` and
`vmap(vmap(f))` are the passes composed; called eagerly, it is traced and
compiled once per argument signature.
"""
import functools
import inspect
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np

from iree.compiler import ir

from irax import tree_util
from irax.frontend import callbacks, collectives, core, lowering, refs, staging
from irax.frontend.extended import is_extended, physical
from irax.frontend.numpy.shape import moveaxis
from irax.transforms.batching import add_batched


def _is_none(x) -> bool:
    return x is None


def _is_axis(x) -> bool:
    return x is None or (isinstance(x, int) and not isinstance(x, bool))


def _check_axes_spec(spec, what):
    if what == "in_axes" and not (_is_axis(spec) or isinstance(spec, tuple)):
        raise TypeError("vmap in_axes must be an int, None, or a tuple of entries corresponding to the positional "
                        f"arguments passed to the function, but got {spec}.")
    if not all(_is_axis(leaf) for leaf in tree_util.tree_leaves(spec, is_leaf=_is_none)):
        raise TypeError(f"vmap {what} must be an int, None, or (nested) container with those types as leaves, "
                        f"but got {spec}.")


def _hashable(spec):
    """An axes spec (a pytree of ints and Nones) as part of a cache key."""
    leaves, tree = tree_util.tree_flatten(spec, is_leaf=_is_none)
    return tuple(leaves), tree


def _leaf_axes(spec, tree, what) -> list:
    """The axis (or None) of each leaf of `tree`, from `spec`, a prefix of it."""
    prefix = tree_util.tree_structure(spec, is_leaf=_is_none)
    try:
        subtrees = prefix.flatten_up_to(tree)
    except ValueError as e:
        raise ValueError(f"vmap {what} specification must be a tree prefix of the corresponding value; "
                         f"got specification {spec}.\n{e}") from None
    return [axis for axis, subtree in zip(tree_util.tree_leaves(spec, is_leaf=_is_none), subtrees)
            for _ in range(tree_util.tree_structure(subtree).num_leaves)]


def _argument_names(fun, args, kwargs) -> list:
    """How JAX names each leaf of (args, kwargs) in an error: "argument x['w']"."""
    try:
        params = [p.name for p in inspect.signature(fun).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    names = []
    # The paths of the arguments themselves: a treedef's key_paths() rebuilds custom
    # nodes from stand-in leaves, which a node whose constructor converts them rejects.
    for path, _ in tree_util.tree_flatten_with_path((tuple(args), dict(kwargs)))[0]:
        path = tree_util.keystr(path)
        top, rest = path[3:].split("]", 1)  # "[0][1]['w']" -> "1", "['w']"
        if path.startswith("[0]"):
            i = int(top[1:])
            names.append(f"argument {params[i]}{rest}" if i < len(params) else f"args[{i}]{rest}")
        else:
            names.append(f"argument {top[1:].strip(chr(39))}{rest}")
    return names


def _axis_size(mapped, axis_size) -> int:
    """The one size of the mapped axes (and `axis_size`), or JAX's error.
    `mapped`: (size, axis, description) of each mapped leaf."""
    sizes = {size for size, _, _ in mapped} | ({axis_size} if axis_size is not None else set())
    if len(sizes) == 1:
        return sizes.pop()
    lines = [] if axis_size is None else [f"the `axis_size` argument was {axis_size}"]
    counts = Counter(size for size, _, _ in mapped).most_common()
    for k, (size, count) in enumerate(counts):
        _, axis, example = next(m for m in mapped if m[0] == size)
        if count == 1:
            lines.append(f"one axis had size {size}: axis {axis} of {example}")
        else:
            lines.append(f"{'most' if k == 0 else 'some'} axes ({count} of them) had size {size}, "
                         f"e.g. axis {axis} of {example}")
    raise ValueError("vmap got inconsistent sizes for array axes to be mapped:\n"
                     + ";\n".join(f"  * {line}" for line in lines))


def _in_axes(fun, in_axes, axis_size, arguments, args, kwargs):
    """(the mapped axis of each dynamic leaf of the arguments, or None; the
    batch size), checked as JAX checks them."""
    if isinstance(in_axes, tuple) and len(in_axes) != len(args):
        raise ValueError("vmap in_axes must be an int, None, or a tuple of entries corresponding to the positional "
                         f"arguments passed to the function, but got len(in_axes)={len(in_axes)}, "
                         f"len(args)={len(args)}")
    spec = (in_axes if isinstance(in_axes, tuple) else (in_axes,) * len(args), {k: 0 for k in kwargs})
    leaves = tree_util.tree_leaves((args, kwargs))  # (a key array: one leaf, as its data is one dynamic leaf)
    axes, mapped = [], []
    dynamic = iter(arguments.dynamic)
    for axis, is_dynamic, name, leaf in zip(_leaf_axes(spec, (tuple(args), dict(kwargs)), "in_axes"),
                                            arguments.is_dynamic, _argument_names(fun, args, kwargs), leaves):
        if not is_dynamic:
            if axis is not None:
                raise TypeError(f"Argument '{leaf}' of type {type(leaf)} is not a valid JAX type")
            continue
        x = next(dynamic)
        if axis is not None:
            logical = leaf if is_extended(leaf) else x  # a key array's axes: those of its data but the last
            if not -logical.ndim <= axis < logical.ndim:
                raise ValueError(f"vmap was requested to map its argument along axis {axis}, which implies that its "
                                 f"rank should be at least {axis + 1 if axis >= 0 else -axis}, but is only "
                                 f"{logical.ndim} (its shape is {logical.shape})")
            axis %= logical.ndim
            mapped.append((x.shape[axis], axis, f"{name} of type {logical.aval.str_short()}"))
        axes.append(axis)
    if not mapped and axis_size is None:
        if not arguments.dynamic:
            raise ValueError("vmap wrapped function must be passed at least one argument containing an array or "
                             f"axis_size must be specified, got empty *args={args} and **kwargs={kwargs}")
        raise ValueError("vmap must have at least one non-None value in in_axes or axis_size must be specified")
    return axes, _axis_size(mapped, axis_size)


class _Untraced:
    """An output leaf that is no traced value (a Python number, a NumPy or a
    concrete array) where out_axes is None: as in JAX, vmap gives it back as
    it is (`vmap(lambda x: 1.0, out_axes=None)(xs)` is the float 1.0). A
    pytree node with no leaves, so that no trace makes it an array, until
    _given_back."""

    def __init__(self, value):
        self.value = value


tree_util.register_pytree_node(_Untraced, lambda u: ((), u), lambda u, _: u)


class _Given(_Untraced):
    """An argument leaf not mapped (its in_axes None) that is no traced value
    (a NumPy or concrete array, a Python number): as JAX's vmap does, `fun`
    gets it as it is, so that NumPy functions and Python control flow work
    on it. Inside a trace it is so at once; called eagerly, where the
    function is compiled whole, only where `fun` turns out to need its
    values (`vmap`'s on_values), and it is then part of the signature by its
    value (other values compile again)."""

    @functools.cached_property
    def _key(self):
        x = self.value
        if isinstance(x, (bool, int, float, complex)):
            return type(x), x
        value = np.asarray(x)
        return type(x), value.dtype.str, value.shape, value.tobytes(), getattr(x, "weak_type", None)

    def __eq__(self, other):
        return type(other) is _Given and self._key == other._key

    def __hash__(self):
        return hash(self._key)


tree_util.register_pytree_node(_Given, lambda u: ((), u), lambda u, _: u)


def _is_traced(x) -> bool:
    """Whether the leaf `x` is a Tracer, or a key array over one."""
    return isinstance(physical(x), core.Tracer)


def _given_as_they_are(in_axes, args, kwargs):
    """(args, kwargs, whether any is) with each leaf that is not mapped and
    no Tracer a _Given node."""
    spec = (in_axes if isinstance(in_axes, tuple) else (in_axes,) * len(args), {k: 0 for k in kwargs})
    leaves, tree = tree_util.tree_flatten((tuple(args), dict(kwargs)))
    given = [a is None and not _is_traced(x) for x, a in
             zip(leaves, _leaf_axes(spec, (tuple(args), dict(kwargs)), "in_axes"))]
    args, kwargs = tree_util.tree_unflatten(tree, [_Given(x) if g else x for x, g in zip(leaves, given)])
    return args, kwargs, any(given)


def _untraced_kept(output, axes=None):
    """`output` with each leaf that is no Tracer (at an out_axes of None,
    where `axes` are given) an _Untraced node."""
    leaves, tree = tree_util.tree_flatten(output)
    axes = [None] * len(leaves) if axes is None else axes
    return tree_util.tree_unflatten(tree, [_Untraced(x) if a is None and not _is_traced(x) else x
                                           for x, a in zip(leaves, axes)])


def _given_back(output):
    """`output` with each _Untraced (and _Given) node its value again."""
    return tree_util.tree_map(lambda x: x.value if isinstance(x, _Untraced) else x, output,
                              is_leaf=lambda x: isinstance(x, _Untraced))


def _with_axis(shape, axis, size) -> tuple:
    """`shape` with a new axis of `size` at `axis` (counted in the result)."""
    axis %= len(shape) + 1
    return shape[:axis] + (size,) + shape[axis:]


class Batch:
    """The batch of a vmap's trace, for its tracers' repr: `size`, and the
    batch axis of each argument of one slice (None: not mapped)."""

    def __init__(self, size, axes):
        self.size, self.axes = size, axes

    def describe(self, tracer):
        """JAX's repr of a batched value, VmapTracer(aval=float32[], batched=float32[3]);
        None for one that depends on no mapped argument (in JAX, no VmapTracer)."""
        axis = self._axis(tracer.trace.block, tracer.value)
        if axis is None:
            return None
        shape = tracer.aval.shape
        return f"VmapTracer(aval={tracer.aval}, batched={tracer.aval.update(shape=_with_axis(shape, axis, self.size))})"

    def _axis(self, block, value):
        """`value`'s batch axis: a mapped argument's own; 0 for a value made
        from one (the batching pass puts batch axes first); else None."""
        pending, seen = [value], set()
        while pending:
            v = pending.pop()
            if isinstance(v, ir.BlockArgument):
                n = v.arg_number
                if v.owner == block and n < len(self.axes) and self.axes[n] is not None:
                    return self.axes[n] if v == value else 0
            elif v not in seen:
                seen.add(v)
                v.owner.walk(lambda op: pending.extend(op.operands) or ir.WalkResult.ADVANCE)
        return None


def _vmap_inline(fun, in_axes, out_axes, axis_size, axis_name, args, kwargs, unmapped=()):
    """Inside a trace: `fun` mapped over the axes `in_axes` of its arguments
    (the Python numbers of the positional arguments `unmapped` static, and
    every leaf not mapped that is no Tracer given as it is: _Given)."""
    arguments = staging.Arguments(args, kwargs, static_numbers=unmapped)
    axes_in, size = _in_axes(fun, in_axes, axis_size, arguments, args, kwargs)
    args, kwargs, given = _given_as_they_are(in_axes, args, kwargs)
    if given:
        axes_in = [a for x, a in zip(arguments.given, axes_in) if a is not None or isinstance(x, core.Tracer)]
        arguments = staging.Arguments(args, kwargs, static_numbers=unmapped)

    result_axes = []  # the out_axes entry of each result (float0 leaves are in the output but no results)

    def one_slice(*dynamic_values):
        args, kwargs = _given_back(arguments.rebuild(dynamic_values))
        output = fun(*args, **kwargs)
        output = _untraced_kept(output, _leaf_axes(out_axes, output, "out_axes"))
        axes = _leaf_axes(out_axes, output, "out_axes")
        result_axes[:] = [a for leaf, a in zip(tree_util.tree_leaves(output), axes) if not staging.is_float0(leaf)]
        return output

    core.named_as(one_slice, fun)
    avals = [x.aval if a is None else x.aval.update(shape=x.shape[:a] + x.shape[a + 1:])
             for x, a in zip(arguments.dynamic, axes_in)]
    with collectives.axis_env(axis_name, size, vmapped=True):
        traced = staging.trace_function(one_slice, avals, tree_util.tree_structure(tuple(avals)),
                                        batch=Batch(size, axes_in))
    # an unbatched result at out_axes None comes back as it is: no member of a batch of size 0 holds it
    kept = {i for i, axis in enumerate(result_axes) if axis is None}
    batched_func, out_batched = add_batched(traced.module, axes_in + [None] * len(traced.lifted), size,
                                            unbroadcast=kept)
    callbacks.batched_host_functions(traced.module)
    out_avals = [a if i in kept and not batched else a.update(shape=(size,) + a.shape)
                 for i, (a, batched) in enumerate(zip(traced.out_avals, out_batched))]
    results = staging.inline(batched_func, list(arguments.dynamic) + traced.lifted, out_avals)

    output = traced.out_tree.unflatten(results)
    computed = iter(zip(results, out_batched))
    outputs = []
    leaves = tree_util.tree_flatten_with_path(output)[0]
    for (path, leaf), axis in zip(leaves, _leaf_axes(out_axes, output, "out_axes")):
        if staging.is_float0(leaf):
            outputs.append(leaf if axis is None else np.zeros(_with_axis(leaf.shape, axis, size), leaf.dtype))
            continue
        r, batched = next(computed)
        r = leaf if is_extended(leaf) else r  # a key array over its result
        if axis is None:
            if batched:
                raise ValueError(f"at vmap out_axes{tree_util.keystr(path)}, got axis spec None but output was "
                                 "batched on axis 0")
            outputs.append(r)
        elif not -r.ndim <= axis < r.ndim:
            raise ValueError(f"axis {axis} is out of bounds for array of dimension {r.ndim}")
        else:
            outputs.append(moveaxis(r, 0, axis))
    return _given_back(tree_util.tree_unflatten(tree_util.tree_structure(output), outputs))


def vmap(fun: Callable, in_axes: Any = 0, out_axes: Any = 0, axis_name: Any = None,
         axis_size: int | None = None, spmd_axis_name: Any = None) -> Callable:
    """Vectorize `fun` over an axis of its arguments, as `jax.vmap`.

    `in_axes`: an int (the axis mapped in every positional argument; negative
    counts from the end), None (not mapped: the same value for every slice),
    or a tuple with one entry per positional argument, each an int, None or a
    pytree prefix of that argument. Keyword arguments are mapped along axis 0.
    `out_axes`: where each output gets the mapped axis, an int, None (the
    output must not depend on the slice) or a pytree prefix of the output.
    `axis_size`: the size of the mapped axis, needed only when no argument
    is mapped.
    `axis_name`: names the mapped axis for collectives inside `fun`
    (lax.psum(x, "i"), all_gather, axis_index, ...: frontend/collectives.py),
    which then combine the members of the batch, as under jax.vmap.
    `spmd_axis_name` (the mesh axis JAX shards the batch over) is accepted:
    irax runs a program whole on one device."""
    if isinstance(in_axes, list):
        in_axes = tuple(in_axes)  # as JAX: a list of axes means one per argument
    _check_axes_spec(in_axes, "in_axes")
    _check_axes_spec(out_axes, "out_axes")
    key = ("vmap", fun, _hashable(in_axes), _hashable(out_axes), axis_name, axis_size)
    # A Python number not mapped (its in_axes None) is a number to `fun`, as in JAX, where
    # `fun` needs its value (a loop over it); else an operand, so that its values share a program
    unmapped = frozenset(i for i, axis in enumerate(in_axes) if axis is None) if isinstance(in_axes, tuple) else ()

    def with_numbers(args, kwargs):
        return staging.staged_call(key, staged, args, kwargs, static_numbers=unmapped)

    # Signatures whose unmapped numbers make a shape, slice or axis (x.reshape(n, -1)):
    # the error there is a TypeError or IndexError, not one that tape's fallback knows
    shaping = set()

    def staged_or_with_numbers(args, kwargs):
        from irax.frontend import tape  # (tape imports irax.numpy, which imports this module)
        if shaping and staging.Arguments(args, kwargs).signature() in shaping:  # (flattened only once one has)
            return with_numbers(args, kwargs)
        try:
            return tape.staged_or_on_values(key, staged, on_values, args, kwargs)
        except (TypeError, IndexError):
            if not any(isinstance(leaf, (bool, int, float, complex)) for i in unmapped if i < len(args)
                       for leaf in tree_util.tree_leaves(args[i])):
                raise
        result = with_numbers(args, kwargs)  # (raising again if numbers were not what it needed)
        shaping.add(staging.Arguments(args, kwargs).signature())
        return result

    # Signatures where `fun` needs the values of unmapped arrays too (np.sum(a), `if a[0] > 0:`)
    needs_arrays = set()

    def on_values(args, kwargs):
        """Where staging needed values: the unmapped numbers static, and
        where that is not enough the unmapped arrays too, given to `fun` as
        they are (_Given); not at first, so that arrays a loop over a number
        reads (parameters) are no part of the signature."""
        from irax.frontend import tape
        signature = staging.Arguments(args, kwargs).signature()
        if signature not in needs_arrays:
            try:
                return with_numbers(args, kwargs)
            except tape.VALUE_NEEDED:
                if not _given_as_they_are(in_axes, args, kwargs)[2]:
                    raise
            needs_arrays.add(signature)
        args, kwargs, _ = _given_as_they_are(in_axes, args, kwargs)
        return with_numbers(args, kwargs)

    @functools.wraps(fun)
    def vmapped(*args, **kwargs):
        if refs.has_refs(args, kwargs):  # their values mapped, and written back (array_refs.md)
            return refs.vmap_with_refs(vmap, fun, in_axes, out_axes, axis_name, axis_size, args, kwargs)
        if core.current_trace() is not None:  # the outputs as they are, for the enclosing trace
            return batched(*args, **kwargs)
        return _given_back(staged_or_with_numbers(args, kwargs))

    @functools.wraps(fun)
    def staged(*args, **kwargs):  # called eagerly: the untraced outputs kept out of the program
        return _untraced_kept(batched(*args, **kwargs))

    @functools.wraps(fun)
    def batched(*args, **kwargs):
        return _vmap_inline(fun, in_axes, out_axes, axis_size, axis_name, args, kwargs, unmapped)

    vmapped.lower = lambda *args, **kwargs: lowering.lower(vmapped, args, kwargs)
    return vmapped

"""`irax.jit`: a whole Python function as one compiled program.

    @irax.jit
    def update(theta, x, y, lr=0.1): ...

The first call with a new argument signature (tree structure, shapes,
dtypes, static values) traces the function to one `func.func`, runs the pass
pipeline and compiles it with IREE; later calls with the same signature only
run the program (staging.staged_call). Under an enclosing trace (jit inside
grad, or inside another jit) the function is simply traced inline.

Static arguments (`static_argnums`, `static_argnames`) are Python values that
shape the program: they are part of the cache key and reach the function as
they are, so `if n > 2:` works on them. They are found as JAX finds them
(resolve_argnums): through the function's signature, a name covers its
parameter passed by position too, and a number the parameter passed by name.
Two static values are the same program when they are of one type and equal
(`__eq__`, `__hash__`): 1, 1.0 and True are three programs, as in JAX.

A warm call (leaves all irax Arrays or numbers, no enclosing trace or
tape) skips the staging machinery: its key is the argument structure and
avals (and IRAX_PASSES; warm_key), with the static values and keywords'
names if any, one dict lookup away from the program, which runs at once
where the arguments lie if that is where it ran last and nothing is
donated (executable.run_warm), else where array.place says
(executable.run). Any other call, or a warm one placed elsewhere than last
time, takes the full path. A loop calling it on flat Arrays of one
signature, with no static arguments or keywords, takes that signature's
fast call (executable.fast_call) without making the key.

A program met for the first time runs in two tiers (tiered.py; the setting
irax_tiered_jit, IRAX_TIERED_JIT=0 turns it off): its first calls are
evaluated op by op with NumPy while IREE compiles it in a background
thread, and the first call after the compile loads the program in their
place, where the warm path finds it (the Executable it keeps is the same
object). The trace runs once either way.

`disable_jit()` (or the setting irax_disable_jit, JAX's jax_disable_jit)
turns jitted functions back into plain Python calls, run op by op on
concrete arrays, so `print` and `if x > 0:` work in them while debugging.
"""
import contextlib
import dataclasses
import functools
import inspect
import operator
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from irax import tree_util
from irax.backends.cache import LRU
from irax.config import config
from irax.frontend import core, dtypes, executable, lowering, refs, staging
from irax.frontend.sharding import PartitionSpec, over_context_mesh
from irax.frontend.array import Array, place
from irax.frontend.shapes import abstract_structs, argument_at, make_jaxpr
from irax.plugins import Device, registry


def _positions(argnums, n_args):
    """Argument numbers (negative allowed) as a set of positions among `n_args`."""
    return {i % n_args for i in argnums if -n_args <= i < n_args}


def _index_tuple(argnums) -> tuple[int, ...]:
    try:
        return (operator.index(argnums),)
    except TypeError:
        return tuple(map(operator.index, argnums))


def _name_tuple(argnames) -> tuple[str, ...]:
    if isinstance(argnames, str):
        return (argnames,)
    names = tuple(argnames)
    for name in names:
        if not isinstance(name, str):
            raise TypeError(f"argument is not a string: {name}")
    return names


def _signature(fun) -> inspect.Signature | None:
    try:
        return inspect.signature(fun)
    except (ValueError, TypeError):  # some builtins have none
        return None


POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
BY_NAME = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


def _check_argnums(signature, argnums, option):
    """Every number names a positional parameter, unless `*args` takes any number."""
    kinds = [p.kind for p in signature.parameters.values()]
    if inspect.Parameter.VAR_POSITIONAL in kinds or not argnums:
        return
    n = sum(kind in POSITIONAL for kind in kinds)
    if -min(argnums) > n or max(argnums) >= n:
        raise ValueError(f"Jitted function has {option}={argnums}, but only accepts {n} positional arguments.")


def _check_argnames(signature, argnames, option):
    """Every name names a parameter that may be passed by name, unless `**kwargs` takes any name."""
    parameters = signature.parameters.values()
    positional_only = {p.name for p in parameters if p.kind is inspect.Parameter.POSITIONAL_ONLY} & set(argnames)
    if positional_only:
        raise ValueError(f"Jitted function has invalid argnames {positional_only} in {option}. "
                         "These are positional-only")
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return
    unknown = set(argnames) - {p.name for p in parameters if p.kind in BY_NAME}
    if unknown:
        raise ValueError(f"Jitted function has invalid argnames {unknown} in {option}. "
                         "Function does not take these args.")


def resolve_argnums(signature, argnums, argnames, option="static") -> tuple[tuple[int, ...], tuple[str, ...]]:
    """The (argument numbers, argument names) an option names, static or
    donated (`option`), by JAX's rule (jax/_src/api_util.py
    resolve_argnums): when only one of the two is given,
    the other is inferred through the signature, a parameter that may be
    passed either way (neither *args, positional-only nor keyword-only) being
    both its number and its name; both are then checked against the
    signature. A function without a signature (None) takes them as given."""
    nums = None if argnums is None else _index_tuple(argnums)
    names = None if argnames is None else _name_tuple(argnames)
    if signature is None:
        return nums or (), names or ()
    either = [(i, p.name) for i, p in enumerate(signature.parameters.values())
              if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD]
    if names is None and nums is not None:
        names = tuple(name for i, name in either if i in nums)
    elif nums is None and names is not None:
        nums = tuple(i for i, name in either if name in names)
    nums, names = nums or (), names or ()
    _check_argnums(signature, nums, f"{option}_argnums")
    _check_argnames(signature, names, f"{option}_argnames")
    return nums, names


class _Static:
    """A static argument in a cache key: the same program for values of one
    type that are equal, as JAX's _HashableWithStrictTypeEquality (1 and 1.0
    are equal and hash alike, but may shape different programs)."""
    __slots__ = ("value", "hash")

    def __init__(self, value, argument: int | str):
        try:
            self.hash = hash(value)
        except TypeError as error:
            unhashable = core.TracedStaticArgumentError if isinstance(value, core.Tracer) else ValueError
            raise unhashable(
                "Non-hashable static arguments are not supported. An error occurred while trying to hash an object "
                f"of type {type(value)}, {value}. The error was:\n{type(error).__name__}: {error}\n"
                f"It is static argument {argument!r}: make it hashable (a tuple for a list, say), or pass it as a regular argument."
            ) from None
        self.value = value

    def __hash__(self):
        return self.hash

    def __eq__(self, other):
        return type(other) is _Static and type(self.value) is type(other.value) and self.value == other.value

    def __repr__(self):  # as IRAX_LOG_COMPILES shows it
        return repr(self.value)


class _Disabled(threading.local):
    value = None  # the default, read from the class: a getattr that misses costs ~0.5 us, each jitted call


_disabled = _Disabled()  # disable_jit's value in this thread, over config.irax_disable_jit


@contextlib.contextmanager
def disable_jit(disable: bool = True) -> Iterator[None]:
    """Within this block (in this thread), jitted functions are plain Python
    calls: every op runs eagerly on concrete arrays, so `print(x)` shows
    values and `if x > 0:` works (jax.disable_jit)."""
    before = _disabled.value
    _disabled.value = bool(disable)
    try:
        yield
    finally:
        _disabled.value = before


_NO_CONTEXT_MESH = (
    "jit requires a non-empty mesh in context if you are passing `PartitionSpec`s to in_shardings. You can define a "
    "context mesh via `irax.set_mesh(mesh)`. Alternatively, provide `Sharding`s to in_shardings and then the mesh "
    "context manager is not required.")


def _sharded_device(device, in_shardings, out_shardings):
    """`device`, or the one device jit's shardings name (None naming none)."""
    shardings = [over_context_mesh(s, RuntimeError(_NO_CONTEXT_MESH)) if isinstance(s, PartitionSpec) else s
                 for s in tree_util.tree_leaves((in_shardings, out_shardings))]
    named = {d for sharding in shardings for d in sharding.device_set}
    if len(named) > 1 or any(sharding.num_devices != 1 for sharding in shardings):
        raise NotImplementedError(
            f"irax runs a jitted program whole on one device; in_shardings/out_shardings name {len(named)}. "
            "Split work into blocks over a mesh with irax.shard_map (on one device), spread it over devices with "
            "irax.pmap, or give shardings of one device (SingleDeviceSharding, or a NamedSharding over a mesh of one "
            "device: irax.make_mesh((1,), ('x',))).")
    if not named:
        return device
    (sharded,) = named
    if device is not None and device is not sharded and not (isinstance(device, str) and device == sharded.platform):
        raise ValueError(f"jit's device {device} is not the device its shardings name, {sharded}.")
    return sharded


def jit_disabled() -> bool:
    """Whether jitted functions run as plain Python here and now: disable_jit's
    block in this thread if any, else the setting."""
    disabled = _disabled.value
    return config.irax_disable_jit if disabled is None else disabled


def warm_key(args, keep_numbers: bool) -> tuple:
    """(key, leaves) of a call on positional `args` whose leaves are all irax
    Arrays, numbers or NumPy arrays (those made arrays: staging.argument_array,
    which keeps numbers' arrays where `keep_numbers`): its argument
    structure, IRAX_PASSES and the identities of the leaves' avals; (None,
    None) for another. Flat arguments of Arrays, the usual case, are
    counted rather than flattened.

    Identities, because a tuple of ints hashes and compares in C, where
    ShapedArray's __hash__ is a Python call (~0.1 us a leaf: ~13 us a call
    of a 200-leaf tree). Equal avals are one object (array.canonical_aval),
    so equal signatures have equal keys; the entry a key finds holds its
    avals (`_WarmEntry.avals`), so while it is kept no other object can have
    their ids. An aval made anew (canonical_aval's table restarted) only
    misses, and the call takes the full path."""
    # One comprehension both checks the types and takes the ids (a leaf
    # that is not an Array is left out, so the counts differ): cheaper than
    # a set of types and map(attrgetter), whose attribute lookups are not
    # specialized in 3.11.
    ids = [id(x.aval) for x in args if type(x) is Array]
    if len(ids) == len(args):
        return (len(args), config.irax_passes, *ids), args
    if all(type(x) is Array or isinstance(x, staging.CONVERTED) for x in args):  # flat, numbers among them
        structure, leaves = len(args), args
    else:
        leaves, structure = tree_util.tree_flatten_data(args)
        if not all(type(x) is Array or isinstance(x, staging.CONVERTED) for x in leaves):
            return None, None
    leaves = [x if type(x) is Array else staging.argument_array(x, keep_numbers) for x in leaves]
    return (structure, config.irax_passes, *[id(x.aval) for x in leaves]), leaves


class _WarmCache(LRU):
    """warm_key -> _WarmEntry, and `last`: the fast call of the last warm
    call on flat Arrays (_WarmEntry.fast), which a loop on one signature
    takes with no key to make; cleared with the entries (irax.clear_caches:
    the next call traces again)."""
    last = None

    def clear(self):
        super().clear()
        self.last = None


@dataclasses.dataclass(slots=True)
class _WarmEntry:
    """What a warm call runs: found by its warm_key."""
    device: Device
    staged: executable.Executable
    donated: tuple  # positions among the leaves
    avals: tuple  # the leaves' avals, kept alive for their ids in the key (warm_key)
    fast: Callable | None = None  # its flat arguments' call in one frame, once made (executable.fast_call)


def _check_array_arguments(fun, args, kwargs, static_positions, static_names, dynamic_args, dynamic_kwargs):
    """JAX's TypeError for an argument not marked static that has a leaf which
    is not an array or a number (a string, an object): jit traces every leaf
    of the others. And JAX's OverflowError, naming the argument, for a Python
    int out of the range of its dtype (int32; int64 in 64-bit mode)."""
    leaves = tree_util.tree_flatten_data((dynamic_args, dynamic_kwargs))[0]
    too_big = any(map(_out_of_range, leaves))
    if not too_big and all(staging.is_traceable_leaf(x) for x in leaves):
        return
    if not too_big and all(staging.is_traceable_leaf(x) or isinstance(x, refs.Ref) for x in leaves):
        refs.check_arguments(fun, args, kwargs)  # (binds fun's signature: only where a Ref is passed)
        return
    # the arguments as passed, static ones left out, for the path's parameter name
    args = [None if i in static_positions else a for i, a in enumerate(args)]
    kwargs = {k: None if k in static_names else v for k, v in kwargs.items()}
    if too_big:
        path, value = argument_at(fun, args, kwargs, _out_of_range)
        raise OverflowError("An overflow was encountered while parsing an argument to a jitted computation, "
                            f"whose argument path is {path}. Got {type(value)} with value {value}")
    path, value = argument_at(fun, args, kwargs)
    raise TypeError(
        f"Error interpreting argument to {fun} as an abstract array. The problematic value is of type "
        f"{type(value)} and was passed to the function at path {path}.\nThis typically means that a jit-wrapped "
        "function was called with a non-array argument, and this argument was not marked as static using the "
        "static_argnums or static_argnames parameters of irax.jit.")


def _out_of_range(leaf) -> bool:
    """Whether `leaf` is a Python int its dtype (int32; int64 in 64-bit mode) cannot hold."""
    if type(leaf) is not int:
        return False
    info = np.iinfo(dtypes.canonicalize_dtype(int))
    return not info.min <= leaf <= info.max


def jit(fun: Callable | None = None, *, in_shardings: Any = None, out_shardings: Any = None,
        static_argnums: int | Sequence[int] | None = None, static_argnames: str | Sequence[str] | None = None,
        donate_argnums: int | Sequence[int] | None = None, donate_argnames: str | Sequence[str] | None = None,
        keep_unused: bool = False, device: Device | str | None = None, backend: str | None = None,
        inline: bool = False, passes: str | Sequence[str] | None = None) -> Callable:
    """Compile `fun` once per argument signature; see the module docstring.
    The arrays of the arguments `donate_argnums` (or `donate_argnames`, found
    through the signature as static arguments are) are given to the program,
    which may write into them (in-place `.at[].set`); they are deleted after
    the call. irax donates arguments passed by position: one passed by name
    is left as it is (donation is a hint, as in JAX). `device` (a Device or
    backend name; `backend`, JAX's older option, is a name) is where it runs,
    arguments moved there; `passes` changes its pass pipeline by pass name
    (e.g. ["default", "count-ops"]; see transforms/pipeline.py).
    `in_shardings` and `out_shardings` (pytrees of shardings, None for any)
    may name one device, which is then `device`: irax runs a program whole
    on one device. `keep_unused` and `inline` are accepted as JAX's: irax's
    programs keep every argument, and a jitted call inside a trace is
    traced inline."""
    if fun is None:
        return functools.partial(jit, in_shardings=in_shardings, out_shardings=out_shardings,
                                 static_argnums=static_argnums, static_argnames=static_argnames,
                                 donate_argnums=donate_argnums, donate_argnames=donate_argnames,
                                 keep_unused=keep_unused, device=device, backend=backend, inline=inline, passes=passes)
    if not callable(fun):
        raise TypeError(f"Expected a callable value, got {fun}")
    signature = _signature(fun)
    static_nums, static_names = resolve_argnums(signature, static_argnums, static_argnames)
    donate_argnums, _ = resolve_argnums(signature, donate_argnums, donate_argnames, "donate")
    if device is not None and backend is not None:
        raise ValueError(f"can't specify both a device and a backend for jit, got device={device} and "
                         f"backend={backend!r}")
    device = _sharded_device(device if backend is None else backend, in_shardings, out_shardings)
    if isinstance(device, str):
        device = registry.devices(device)[0]
    if passes is not None and not isinstance(passes, str):
        passes = tuple(passes)  # part of the program's cache key
    name = getattr(fun, "__name__", "function")

    @functools.lru_cache(maxsize=None)
    def static_positions(n_args):
        return _positions(static_nums, n_args)

    def split(args, kwargs):
        """(static values by position and name, the remaining args and kwargs)."""
        positions = static_positions(len(args))
        static_args = tuple((i, _Static(args[i], i)) for i in sorted(positions))
        static_kwargs = tuple(sorted((k, _Static(v, k)) for k, v in kwargs.items() if k in static_names))
        dynamic_args = [a for i, a in enumerate(args) if i not in positions]
        dynamic_kwargs = {k: v for k, v in kwargs.items() if k not in static_names}
        return static_args, static_kwargs, dynamic_args, dynamic_kwargs

    @functools.lru_cache(maxsize=None)
    def donated(n_args):
        """The donated positions among the non-static positional arguments."""
        static = static_positions(n_args)
        return tuple(i - sum(1 for p in static if p < i) for i in sorted(_positions(donate_argnums, n_args) - static))

    def with_statics(static_args, static_kwargs):
        def call(*dynamic_args, **dynamic_kwargs):
            args = list(dynamic_args)
            for i, static in static_args:
                args.insert(i, static.value)
            kwargs = {**dynamic_kwargs, **{k: static.value for k, static in static_kwargs}}
            out = fun(*args, **kwargs)
            refs.check_outputs(fun, args, kwargs, out)
            # (nested in a trace too, its outputs are arrays, as JAX's jit makes them)
            paths, tree = tree_util.tree_flatten_data_with_path(out)
            return tree.unflatten(staging.output_array(fun, x, path) for path, x in paths)

        core.named_as(call, fun, name)
        return call

    warm = _WarmCache()  # what the call ran last

    @functools.wraps(fun)
    def jitted(*args, **kwargs):
        last = warm.last  # (set for flat positional Arrays alone: no statics)
        if last is not None and not kwargs and core.untraced() and not jit_disabled():
            out = last(args)  # (a loop calls with one signature: no key to make, no lookup)
            if out is not executable.NOT_WARM:
                return out
        if jit_disabled():
            return fun(*args, **kwargs)
        key = parts = None
        if core.untraced():
            if kwargs or static_nums:
                parts = split(args, kwargs)
                static_args, static_kwargs, dynamic_args, dynamic_kwargs = parts
                dynamic = (*dynamic_args, *(dynamic_kwargs[k] for k in sorted(dynamic_kwargs)))  # as flattened
                statics = (static_args, static_kwargs, tuple(sorted(dynamic_kwargs)))
            else:
                dynamic, statics = args, None
            try:
                key, leaves = warm_key(dynamic, not donate_argnums)
            except OverflowError:  # (a Python int out of range: the full path names the argument)
                key = None
            if key is not None and statics is not None:
                key = (statics, *key)  # (not an int first: never the fast call, which is for flat Arrays alone)
            hit = None if key is None else warm.get(key)
            if hit is not None and hit.staged.context == config.trace_context():  # (traced under these settings)
                if not hit.donated:  # (the arrays a call donates are checked, maybe copied, then deleted: run's)
                    out = executable.run_warm(hit.staged, hit.device, leaves, device is not None)
                    if out is not executable.NOT_WARM:
                        if type(key[0]) is int:  # flat (warm_key): the next call of this signature takes the fast call
                            if hit.fast is None:
                                hit.fast = executable.fast_call(hit.staged, hit.device, leaves, device is not None,
                                                                [i for i, x in enumerate(args) if type(x) is not Array])
                            warm.last = hit.fast
                        return out
                placed_on, operands, committed = place(name, leaves, device)
                if placed_on is hit.device:
                    return executable.run(hit.staged, placed_on, operands, committed, hit.donated)
        static_args, static_kwargs, dynamic_args, dynamic_kwargs = parts or split(args, kwargs)
        _check_array_arguments(fun, args, kwargs, static_positions(len(args)), static_names, dynamic_args,
                               dynamic_kwargs)
        staged_key = ("jit", fun, *((f"args[{i}]", v) for i, v in static_args), *static_kwargs)
        if core.current_trace() is not None:  # nested: numbers reach fun as (weak) arrays, as eagerly
            arguments = staging.Arguments(dynamic_args, dynamic_kwargs)
            dynamic_args, dynamic_kwargs = arguments.rebuild(arguments.dynamic)
        if key is not None:
            def ran(on, staged, donated):
                warm[key] = _WarmEntry(on, staged, donated, tuple(x.aval for x in leaves))
        else:
            ran = None
        return staging.staged_call(staged_key, with_statics(static_args, static_kwargs), dynamic_args,
                                   dynamic_kwargs, passes=passes, donate_argnums=donated(len(args)),
                                   device=device, warm=ran)

    def lower(*args, **kwargs):
        """The program for these arguments (arrays, or ShapeDtypeStructs for
        their shapes and dtypes), stage by stage (lowering.Lowered)."""
        static_args, static_kwargs, dynamic_args, dynamic_kwargs = split(args, kwargs)
        dynamic_args, dynamic_kwargs = abstract_structs((dynamic_args, dynamic_kwargs))
        _check_array_arguments(fun, args, kwargs, static_positions(len(args)), static_names, dynamic_args,
                               dynamic_kwargs)
        return lowering.lower(with_statics(static_args, static_kwargs), dynamic_args, dynamic_kwargs,
                              passes=passes, donate_argnums=donated(len(args)), device=device)

    def trace(*args, **kwargs):
        """The function traced for these arguments, before lowering (lowering.Traced)."""
        static_args, static_kwargs, dynamic_args, dynamic_kwargs = split(args, kwargs)
        dynamic_args, dynamic_kwargs = abstract_structs((dynamic_args, dynamic_kwargs))
        _check_array_arguments(fun, args, kwargs, static_positions(len(args)), static_names, dynamic_args,
                               dynamic_kwargs)
        program, out_info = make_jaxpr(with_statics(static_args, static_kwargs), return_shape=True)(
            *dynamic_args, **dynamic_kwargs)
        return lowering.Traced(name, program, out_info, functools.partial(lower, *args, **kwargs))

    jitted.lower, jitted.trace = lower, trace
    return jitted

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
they are, so `if n > 2:` works on them.
"""
import functools
from collections.abc import Callable, Sequence

from irax.frontend import lowering, staging
from irax.plugins import Device, registry


def _positions(argnums, n_args):
    """Argument numbers (int or sequence, negative allowed) as a set of positions."""
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    return {i % n_args for i in nums if -n_args <= i < n_args}


def _hashable(value, where):
    try:
        hash(value)
    except TypeError:
        raise ValueError(
            f"Non-hashable static arguments are not supported. An error occurred while trying to hash an object "
            f"of type {type(value)}, {value!r}, passed as {where}. Make it hashable, or pass it as a regular argument."
        ) from None
    return value


def jit(fun: Callable | None = None, *, static_argnums: int | Sequence[int] = (), static_argnames: str | Sequence[str] = (),
        donate_argnums: int | Sequence[int] = (), device: Device | str | None = None,
        passes: str | Sequence[str] | None = None) -> Callable:
    """Compile `fun` once per argument signature; see the module docstring.
    The arrays of positional arguments `donate_argnums` are given to the
    program, which may write into them (in-place `.at[].set`); they are
    deleted after the call. `device` (a Device or backend name) is where it
    runs, arguments moved there; `passes` changes its pass pipeline by pass
    name (e.g. ["default", "count-ops"]; see transforms/pipeline.py)."""
    if fun is None:
        return functools.partial(jit, static_argnums=static_argnums, static_argnames=static_argnames,
                                 donate_argnums=donate_argnums, device=device, passes=passes)
    names = (static_argnames,) if isinstance(static_argnames, str) else tuple(static_argnames)
    if isinstance(device, str):
        device = registry.devices(device)[0]
    if passes is not None and not isinstance(passes, str):
        passes = tuple(passes)  # part of the program's cache key

    @functools.lru_cache(maxsize=None)
    def static_positions(n_args):
        return _positions(static_argnums, n_args)

    def split(args, kwargs):
        """(static values by position and name, the remaining args and kwargs)."""
        positions = static_positions(len(args))
        static_args = tuple((i, _hashable(args[i], f"static argument {i}")) for i in sorted(positions))
        static_kwargs = tuple(sorted((k, _hashable(v, f"static argument {k!r}")) for k, v in kwargs.items() if k in names))
        dynamic_args = [a for i, a in enumerate(args) if i not in positions]
        dynamic_kwargs = {k: v for k, v in kwargs.items() if k not in names}
        return static_args, static_kwargs, dynamic_args, dynamic_kwargs

    @functools.lru_cache(maxsize=None)
    def donated(n_args):
        """The donated positions among the non-static positional arguments."""
        static = static_positions(n_args)
        return tuple(i - sum(1 for p in static if p < i) for i in sorted(_positions(donate_argnums, n_args) - static))

    def with_statics(static_args, static_kwargs):
        def call(*dynamic_args, **dynamic_kwargs):
            args = list(dynamic_args)
            for i, value in static_args:
                args.insert(i, value)
            return fun(*args, **dynamic_kwargs, **dict(static_kwargs))

        call.__name__ = getattr(fun, "__name__", "function")
        return call

    @functools.wraps(fun)
    def jitted(*args, **kwargs):
        static_args, static_kwargs, dynamic_args, dynamic_kwargs = split(args, kwargs)
        key = ("jit", fun, *((f"args[{i}]", v) for i, v in static_args), *static_kwargs)
        return staging.staged_call(key, with_statics(static_args, static_kwargs), dynamic_args, dynamic_kwargs,
                                   passes=passes, donate_argnums=donated(len(args)), device=device)

    def lower(*args, **kwargs):
        """The program for these arguments, stage by stage (lowering.Lowered)."""
        static_args, static_kwargs, dynamic_args, dynamic_kwargs = split(args, kwargs)
        return lowering.lower(with_statics(static_args, static_kwargs), dynamic_args, dynamic_kwargs,
                              passes=passes, donate_argnums=donated(len(args)), device=device)

    jitted.lower = lower
    return jitted

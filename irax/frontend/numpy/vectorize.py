"""`vectorize`: NumPy's generalized ufuncs, on top of vmap.

`vectorize(f, signature="(n),(n)->()")` calls `f` on the *core* dimensions
that the signature names (the trailing ones of each argument) and maps it
over the *loop* dimensions in front of them, broadcast across the arguments
as NumPy broadcasts: one vmap per loop dimension, in which an argument whose
loop dimension is 1 (or missing) is shared rather than mapped. Without a
signature `f` takes scalars: every dimension is a loop dimension.
"""
import functools
import re
from collections.abc import Callable, Collection

import numpy as np

from irax.frontend.numpy.shape import squeeze
from irax.frontend.numpy.util import asarray
from irax.frontend.vmap import vmap

_NAME = r"\w+"
_ARGUMENT = rf"\((?:{_NAME}(?:,{_NAME})*)?\)"
_SIGNATURE = rf"^{_ARGUMENT}(?:,{_ARGUMENT})*->{_ARGUMENT}(?:,{_ARGUMENT})*$"


def _parse_signature(signature: str) -> list:
    """[input core dims, output core dims], each a list of name tuples."""
    if not re.match(_SIGNATURE, signature):
        raise ValueError(f"not a valid gufunc signature: {signature}")
    return [[tuple(re.findall(_NAME, a)) for a in re.findall(_ARGUMENT, side)] for side in signature.split("->")]


def _check_core_sizes(shapes, core_dims, sizes, context, inputs):
    """Record the size of each named core dimension in `sizes`, raising
    NumPy's (and JAX's) errors where shapes disagree with the signature."""
    for shape, dims in zip(shapes, core_dims):
        if inputs and len(shape) < len(dims):
            raise ValueError(f"input with shape {shape!r} does not have enough dimensions for all core "
                             f"dimensions {dims!r} {context}")
        if not inputs and len(shape) != len(dims):
            raise ValueError(f"output shape {shape!r} does not match core dimensions {dims!r} {context}")
        for name, size in zip(dims, shape[len(shape) - len(dims):]):
            if sizes.setdefault(name, size) != size:
                raise ValueError(f"inconsistent size for core dimension {name!r}: {size!r} vs {sizes[name]!r} "
                                 f"{context}")


def check_core_dims(signature: str, *args) -> None:
    """Raise vectorize's errors where the arrays `args` lack the core
    dimensions of `signature`, or disagree on their sizes: for a function
    that broadcasts as `vectorize(f, signature=signature)` does, as JAX
    writes matvec and vecmat, without mapping."""
    context = f"on vectorized function with excluded={frozenset()!r} and signature={signature!r}"
    _check_core_sizes([np.shape(a) for a in args], _parse_signature(signature)[0], {}, context, inputs=True)


def _checking_outputs(fun, out_core_dims, sizes, context):
    """`fun`, checking that its outputs have the signature's core dimensions."""
    def checked(*args):
        out = fun(*args)
        outs = out if isinstance(out, tuple) else (out,)
        if len(out_core_dims) > 1 and not isinstance(out, tuple):
            raise TypeError(f"output must be a tuple when multiple outputs are expected, got: {out!r}\n{context}")
        if len(outs) != len(out_core_dims):
            raise TypeError(f"wrong number of output arguments: expected {len(out_core_dims)!r}, got {len(outs)!r} "
                            f"{context}")
        _check_core_sizes([np.shape(o) for o in outs], out_core_dims, dict(sizes), context, inputs=False)
        return out

    return checked


def _without(fun, excluded, args, kwargs):
    """(fun with the `excluded` positional and keyword arguments bound, the other arguments)."""
    static = {i: args[i] for i in sorted(e for e in excluded if isinstance(e, int)) if i < len(args)}
    dynamic = [a for i, a in enumerate(args) if i not in static]

    def bound(*dynamic_args):
        rest = iter(dynamic_args)
        return fun(*[static[i] if i in static else next(rest) for i in range(len(static) + len(dynamic_args))],
                   **kwargs)

    return bound, dynamic


def vectorize(pyfunc: Callable, *, excluded: Collection[int | str] = frozenset(),
              signature: str | None = None) -> Callable:
    """`pyfunc` mapped over the leading dimensions of its arguments, with
    broadcasting (numpy.vectorize's interface, vmap underneath). `excluded`
    positional arguments (by index) and keyword arguments are passed
    through unmapped; `signature` (e.g. "(m,n),(n)->(m)") names the core
    dimensions `pyfunc` takes and returns."""
    if any(not isinstance(e, (str, int)) for e in excluded):
        raise TypeError(f"jax.numpy.vectorize can only exclude integer or string arguments, but excluded={excluded!r}")
    if any(isinstance(e, int) and e < 0 for e in excluded):
        raise ValueError(f"excluded={excluded!r} contains negative numbers")

    @functools.wraps(pyfunc)
    def wrapped(*args, **kwargs):
        context = f"on vectorized function with excluded={excluded!r} and signature={signature!r}"
        none = {i for i, a in enumerate(args) if a is None}
        fun, args = _without(pyfunc, set(excluded) | none, args, kwargs)
        args = [asarray(a) for a in args]
        in_core, out_core = _parse_signature(signature) if signature else ([()] * len(args), None)
        if signature and len(in_core) - len(none) != len(args):
            raise TypeError(f"wrong number of positional arguments: expected {len(in_core)!r}, got {len(args)!r} "
                            f"{context}")
        in_core = [dims for i, dims in enumerate(in_core) if i not in none] if signature else in_core
        sizes = {}
        _check_core_sizes([a.shape for a in args], in_core, sizes, context, inputs=True)
        if out_core is not None:
            fun = _checking_outputs(fun, out_core, sizes, context)
        loop_shapes = [a.shape[:a.ndim - len(dims)] for a, dims in zip(args, in_core)]
        loop_shape = np.broadcast_shapes(*loop_shapes)
        for position in range(-1, -len(loop_shape) - 1, -1):  # innermost first: the outermost vmap maps first
            in_axes = tuple(0 if len(s) >= -position and s[position] != 1 else None for s in loop_shapes)
            fun = vmap(fun, in_axes=in_axes, axis_size=loop_shape[position])
        # An argument's loop dimensions of size 1 are shared: squeezed, never mapped.
        squeezed = [squeeze(a, tuple(i for i, n in enumerate(s) if n == 1)) for a, s in zip(args, loop_shapes)]
        return fun(*squeezed)

    return wrapped

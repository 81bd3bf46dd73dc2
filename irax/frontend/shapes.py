"""Abstract values: what a program computes, without compiling or running it.

    irax.ShapeDtypeStruct((3,), jnp.float32)    an array's shape and dtype, standing in for it
    irax.eval_shape(f, x, y)                    the shapes and dtypes f(x, y) returns (a pytree
                                                of ShapeDtypeStruct), found by tracing f
    irax.typeof(x)                              x's abstract value: ShapedArray(float32[3])
    irax.make_jaxpr(f)(x, y)                    the program irax traces for f(x, y): its str is
                                                the MLIR module (irax's counterpart of a jaxpr)

eval_shape and make_jaxpr trace `f` on the abstract value of every leaf of
their arguments, be it an array, a number or a ShapeDtypeStruct: a
ShapeDtypeStruct standing for a 10 GB array costs nothing. The trace emits MLIR into a
module that is never compiled; arrays `f` closes over are referred to, not
copied. A value that is not an array (a string, an object) is JAX's
TypeError: bind it with functools.partial instead.
"""
from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from irax import tree_util
from irax.frontend import core, dtypes, refs, staging
from irax.frontend.extended import ExtendedDType, is_extended
from irax.frontend.numpy.util import is_array
from irax.typing import DTypeLike

__all__ = ["ShapeDtypeStruct", "eval_shape", "make_jaxpr", "typeof"]


@dataclasses.dataclass(init=False, unsafe_hash=True)
class ShapeDtypeStruct:
    """An array's shape, dtype and weak type, without its values. The dtype
    is kept as given (float64 stays float64, as in JAX); it is canonicalized
    where it becomes an abstract value (typeof, eval_shape). Immutable."""

    shape: tuple
    dtype: np.dtype
    weak_type: bool

    def __init__(self, shape, dtype: DTypeLike, *, weak_type: bool = False):
        if dtype is None:
            raise ValueError("ShapeDtypeStruct: dtype must be specified.")
        object.__setattr__(self, "shape", tuple(shape))
        object.__setattr__(self, "dtype", dtype if isinstance(dtype, ExtendedDType) else np.dtype(dtype))
        object.__setattr__(self, "weak_type", bool(weak_type))

    def __setattr__(self, name, value):
        raise RuntimeError(f"Cannot reassign attributes ({name}) of immutable ShapeDtypeStruct objects")

    ndim = property(lambda self: len(self.shape))
    size = property(lambda self: int(np.prod(self.shape, dtype=np.int64)))

    @classmethod
    def like(cls, x) -> ShapeDtypeStruct:
        """The shape, dtype and weak type of `x` (an array, a number or a
        ShapeDtypeStruct), as `jax.ShapeDtypeStruct.like`."""
        aval = typeof(x)
        return cls(aval.shape, aval.dtype, weak_type=aval.weak_type)

    def abstract(self):
        """What a transformation traces for this: its abstract value, or for an
        extended dtype (a key) its array type over its data's abstract value."""
        if not isinstance(self.dtype, ExtendedDType):
            return core.ShapedArray(self.shape, dtypes.canonicalize_dtype(self.dtype), self.weak_type)
        return self.dtype.array_type(core.ShapedArray((*self.shape, *self.dtype.element_shape),
                                                      self.dtype.physical_dtype))

    def update(self, **changes) -> ShapeDtypeStruct:
        """A copy with some of shape, dtype and weak_type replaced."""
        return dataclasses.replace(self, **changes)

    def __repr__(self):
        weak = ", weak_type=True" if self.weak_type else ""
        return f"ShapeDtypeStruct(shape={self.shape}, dtype={self.dtype.name}{weak})"


def _aval(x) -> core.ShapedArray | None:
    """x's abstract value, or None for a value that is not an array."""
    if isinstance(x, core.ShapedArray):
        return x
    if isinstance(x, ShapeDtypeStruct):  # (an extended dtype's, not the array type abstract() traces)
        return x.dtype.aval_of_shape(x.shape) if isinstance(x.dtype, ExtendedDType) else x.abstract()
    numeric = isinstance(x, (bool, int, float, complex, np.ndarray, np.generic)) and not isinstance(x, (str, bytes))
    return core.aval_of(x) if is_array(x) or numeric else None  # (np.str_ is a str and an np.generic)


def abstract_structs(tree: Any) -> Any:
    """`tree` with each ShapeDtypeStruct as what a transformation traces for
    it (ShapeDtypeStruct.abstract): jit's `lower` and `trace`, eval_shape."""
    return tree_util.tree_map(lambda x: x.abstract() if isinstance(x, ShapeDtypeStruct) else x, tree)


def typeof(x: Any) -> core.ShapedArray:
    """The abstract value of `x` (an array, a number or a ShapeDtypeStruct):
    its shape, its dtype in the current 64-bit mode and its weak type."""
    aval = _aval(x)
    if aval is None and isinstance(getattr(x, "aval", None), core.ShapedArray):
        aval = x.aval  # (an array of another kind: typed PRNG keys)
    if aval is None:
        raise TypeError(f"Argument '{x}' of type {type(x)} is not a valid irax type")
    return aval


def tangent_typeof(x) -> core.ShapedArray:
    """typeof a tangent: float0 zeros (a NumPy array, which no irax array
    holds) too."""
    if isinstance(x, (np.ndarray, np.generic)) and x.dtype == dtypes.float0:
        return core.ShapedArray(x.shape, dtypes.float0)
    return typeof(x)


def argument_at(fun, args, kwargs, where=lambda leaf: _aval(leaf) is None) -> tuple[str, Any]:
    """(path, value) of the first leaf of the arguments for which `where`
    holds (by default: one that is not an array), the path named as JAX
    does: the parameter, then its keys ("y['a']")."""
    try:
        named = inspect.signature(fun).bind(*args, **kwargs).arguments
    except (TypeError, ValueError):  # no signature, or the arguments do not fit it
        named = {"args": tuple(args), **kwargs}
    return next((name + tree_util.keystr(path), leaf) for name, value in named.items()
                for path, leaf in tree_util.tree_flatten_data_with_path(value)[0] if where(leaf))


def _trace(fun, args, kwargs) -> tuple[staging.TracedFunction, list]:
    """`fun(*args, **kwargs)` traced with every leaf of the arguments
    abstract, and the abstract values of those leaves."""
    args, kwargs = abstract_structs((tuple(args), dict(kwargs)))
    leaves, tree = tree_util.tree_flatten_data((args, kwargs))
    avals = [_aval(x) for x in leaves]
    if None in avals:
        path, value = argument_at(fun, args, kwargs)
        raise TypeError(
            f"Error interpreting argument to {fun} as an abstract array. The problematic value is of type "
            f"{type(value)} and was passed to the function at path {path}.\nEvery leaf of the arguments is "
            "traced as an array (or irax.ShapeDtypeStruct): pass other values with functools.partial."
        )

    def call(args, kwargs):
        return fun(*args, **kwargs)

    core.named_as(call, fun)
    return refs.trace_only(lambda f: staging.trace_function(f, avals, tree), call), avals


def _out_shapes(traced: staging.TracedFunction):
    structs = [ShapeDtypeStruct(a.shape, a.dtype, weak_type=a.weak_type) for a in traced.out_avals]
    out = tree_util.tree_unflatten(traced.out_tree, structs)  # (a key array over its data's struct)
    return tree_util.tree_map(lambda x: ShapeDtypeStruct(x.shape, x.dtype) if is_extended(x) else x, out)


def eval_shape(fun: Callable, *args: Any, **kwargs: Any) -> Any:
    """The shapes, dtypes and weak types of `fun(*args, **kwargs)`, as a
    pytree of ShapeDtypeStruct like its result, found by tracing `fun` on the
    abstract values of the arguments (arrays, numbers, ShapeDtypeStructs):
    nothing is compiled or run."""
    return _out_shapes(_trace(fun, args, kwargs)[0])


class TracedProgram:
    """The program irax traced for a function: `str()` is its MLIR module as
    traced, before any pass. `in_avals` are its arguments' abstract values,
    `consts` the arrays the function closes over (the module's last
    arguments), `out_avals` its results'."""

    def __init__(self, traced: staging.TracedFunction, in_avals):
        self.module = traced.module
        self.in_avals = list(in_avals)
        self.consts = list(traced.lifted)
        self.out_avals = list(traced.out_avals)

    def __str__(self):
        return str(self.module)

    __repr__ = __str__


def make_jaxpr(fun: Callable, static_argnums: int | Sequence[int] = (), *,
               return_shape: bool = False) -> Callable[..., Any]:
    """A function of `fun`'s arguments returning the TracedProgram of
    `fun(*args, **kwargs)` (traced as eval_shape traces), the positional
    arguments `static_argnums` reaching `fun` as the Python values they are;
    with `return_shape` also eval_shape's result: `(program, shapes)`."""
    static_argnums = (static_argnums,) if isinstance(static_argnums, int) else tuple(static_argnums)

    def make(*args, **kwargs):
        static = {i % len(args) for i in static_argnums if -len(args) <= i < len(args)}

        def with_statics(*dynamic, **kwargs):
            rest = iter(dynamic)
            return fun(*(args[i] if i in static else next(rest) for i in range(len(args))), **kwargs)

        dynamic = [a for i, a in enumerate(args) if i not in static]
        traced, avals = _trace(with_statics if static else fun, dynamic, kwargs)
        program = TracedProgram(traced, avals)
        return (program, _out_shapes(traced)) if return_shape else program

    make.__name__ = f"make_jaxpr({getattr(fun, '__name__', 'function')})"
    return make

"""`lax`'s scans and maps: `associative_scan` (Blelloch's parallel prefix),
the cumulative reductions (`cumsum`, `cummax`, ...) and `map`, with
`jax.lax`'s signatures.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from irax import tree_util
from irax.frontend import dtypes
from irax.frontend import numpy as jnp
from irax.frontend.control_flow import scan
from irax.frontend.lax_elementwise import max as lax_max
from irax.frontend.lax_elementwise import min as lax_min
from irax.frontend.lax_structural import collapse, concatenate, expand_dims, rev, slice_in_dim
from irax.frontend.numpy.reductions import running_product
from irax.frontend.numpy.util import asarray, canonicalize_axis
from irax.frontend.primitives import scans
from irax.frontend.vmap import vmap
from irax.typing import Array, ArrayLike, PyTree

__all__ = ["associative_scan", "cumlogsumexp", "cummax", "cummin", "cumprod", "cumsum", "map"]


def _interleave(a, b, axis):
    """a[0], b[0], a[1], b[1], ... along `axis`; a has as many elements as b or one more."""
    tail = []
    if a.shape[axis] > b.shape[axis]:
        tail = [slice_in_dim(a, -1, None, axis=axis)]
        a = slice_in_dim(a, 0, -1, axis=axis)
    pairs = concatenate([expand_dims(a, (axis + 1,)), expand_dims(b, (axis + 1,))], axis + 1)
    merged = collapse(pairs, axis, axis + 2)
    return concatenate([merged] + tail, axis) if tail else merged


def associative_scan(fn: Callable, elems: PyTree, reverse: bool = False, axis: int = 0) -> PyTree:
    """The prefix combinations fn(...fn(fn(e[0], e[1]), e[2])..., e[i]) along
    `axis` of a pytree of arrays, for an associative `fn`, as
    `jax.lax.associative_scan` and by its parallel algorithm (Blelloch's):

        r = fn(e[0::2], e[1::2])         pairs combined
        odd = scan(r)                    the results at odd positions
        even = fn(odd[:-1], e[2::2])     those at even positions (even[0] = e[0])

    so ~2 log2(n) calls of fn on slices, each differentiable."""
    flat, tree = tree_util.tree_flatten(elems)
    flat = [asarray(x) for x in flat]
    axis = canonicalize_axis("associative_scan", axis, flat[0].ndim)
    if reverse:
        flat = [rev(x, (axis,)) for x in flat]
    n = flat[0].shape[axis]
    if any(x.shape[axis] != n for x in flat):
        raise ValueError(f"Array inputs to associative_scan must have the same first dimension. "
                         f"(saw: {[x.shape for x in flat]})")

    def combine(a, b):
        return tree_util.tree_leaves(fn(tree_util.tree_unflatten(tree, a), tree_util.tree_unflatten(tree, b)))

    def prefix(xs):
        count = xs[0].shape[axis]
        if count < 2:
            return xs
        odd = prefix(combine([slice_in_dim(x, 0, -1, 2, axis) for x in xs], [slice_in_dim(x, 1, None, 2, axis) for x in xs]))
        rest = [slice_in_dim(x, 2, None, 2, axis) for x in xs]
        if rest[0].shape[axis] == 0:
            even = [slice_in_dim(x, 0, 1, 1, axis) for x in xs]
        else:
            head = [slice_in_dim(o, 0, -1, 1, axis) for o in odd] if count % 2 == 0 else odd
            even = [concatenate([slice_in_dim(x, 0, 1, 1, axis), e], axis) for x, e in zip(xs, combine(head, rest))]
        return [_interleave(e, o, axis) for e, o in zip(even, odd)]

    out = prefix(flat)
    if reverse:
        out = [rev(x, (axis,)) for x in out]
    return tree_util.tree_unflatten(tree, out)


def _cumulative(name, prim=None, combine=None, accepted=np.number):
    def fn(operand: ArrayLike, axis: int = 0, reverse: bool = False) -> Array:
        x = asarray(operand)
        # (JAX's TypeError; bool is not a number; dtypes' issubdtype knows bfloat16 and the float8s, NumPy's not)
        if not dtypes.issubdtype(x.dtype, accepted):
            raise TypeError(f"{name} does not accept dtype {x.dtype.name}. Accepted dtypes are subtypes of "
                            f"{accepted.__name__}.")
        axis = canonicalize_axis(name, axis, x.ndim)
        if combine is not None:
            return associative_scan(combine, x, reverse, axis)
        x = rev(x, (axis,)) if reverse else x
        out = running_product(x, axis, x.dtype) if prim == "prod" else scans.cumulative[prim].bind(x, axis=axis,
                                                                                                  dtype=x.dtype)
        return rev(out, (axis,)) if reverse else out

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"The running {name[3:]} along `axis` (from the end where `reverse`), as `jax.lax.{name}`."
    return fn


cumsum = _cumulative("cumsum", "sum")
cumprod = _cumulative("cumprod", "prod")
cummax = _cumulative("cummax", combine=lax_max)
cummin = _cumulative("cummin", combine=lax_min)
cumlogsumexp = _cumulative("cumlogsumexp", combine=jnp.logaddexp, accepted=np.floating)  # (JAX: an OverflowError for ints)


def map(f: Callable, xs: PyTree, *, batch_size: int | None = None) -> PyTree:  # noqa: A001 (lax's name)
    """[f(x) for x in xs] along the leading axis, stacked, as `jax.lax.map`:
    a `scan`, one element per step, or `batch_size` elements per step
    (f vmapped over them; the remainder in one last vmapped call)."""
    if batch_size is None:
        return scan(lambda _, x: ((), f(x)), (), xs)[1]
    leaves = [asarray(x) for x in tree_util.tree_flatten_data(xs)[0]]
    n = leaves[0].shape[0]
    steps, left = divmod(n, batch_size)
    batched = tree_util.tree_map_data(lambda x: jnp.reshape(asarray(x)[:steps * batch_size],
                                                            (steps, batch_size) + asarray(x).shape[1:]), xs)
    ys = tree_util.tree_map_data(lambda y: jnp.reshape(y, (-1,) + y.shape[2:]),
                                 scan(lambda _, x: ((), vmap(f)(x)), (), batched)[1]) if steps else None
    if not left:
        return ys
    rest = vmap(f)(tree_util.tree_map_data(lambda x: asarray(x)[steps * batch_size:], xs))
    return rest if ys is None else tree_util.tree_map_data(lambda a, b: jnp.concatenate([a, b]), ys, rest)

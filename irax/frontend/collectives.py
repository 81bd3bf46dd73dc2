"""Collectives over the mapped axis of irax.pmap, as jax.lax's:

    irax.pmap(lambda x: x / lax.psum(x, "i"), axis_name="i")(xs)

    psum(x, "i")            sum over the devices (pmean: / size; pmax, pmin)
    all_gather(x, "i")      every device's x, stacked on a new axis `axis`
                            (tiled: concatenated along `axis`)
    psum_scatter(x, "i")    psum, then device d keeps block d of
                            `scatter_dimension` (the transpose of all_gather)
    ppermute(x, "i", perm)  device dst gets the x of device src, for each
                            (src, dst) in perm; zeros where none is sent
    axis_index("i")         this device's position on the axis, int32

How they run. pmap runs one copy of the same program per device, each
called from a thread of its own (frontend/pmap.py). A collective is traced
as a call of a function the program imports from the host (the machinery
of callbacks.py): when a device's program reaches it, the program waits on
the host, on that device's thread, while the Python function hands its
operand to a *communicator* shared by the devices of the axis, which
returns once every device has handed in its own, with this device's
result. `ThreadCommunicator` does that for devices of one process (a
condition variable, NumPy for the arithmetic). Each device thread knows its
communicator and rank by the axis name (`bound`), so one compiled program
serves every device: the program text names no device.

Why host calls and not IREE's collectives (`flow.collective.*`): those run
on a HAL channel, which IREE 3.13's runtime has for CUDA (NCCL), HIP (RCCL)
and through an MPI channel provider that a device must be given; its CPU
driver's channels take one participant only ("exactly one participant is
allowed in a channel"), Vulkan has none, and its Python API sets no channel
provider. Host calls work on every backend, and a communicator that talks
to other processes (MPI: irax/distributed.py) plugs in at the same place.

Derivatives follow JAX (transforms/ad/host_calls.py): psum's transpose is
psum, all_gather's psum_scatter and back, ppermute's the inverse
permutation; pmean is psum divided by the axis size; pmax and pmin are not
differentiable (JAX's NotImplementedError). Under vmap each collective
runs once on the whole batch (vmap_method "broadcast_all"); its Python sees
the batch axes in front of the operand's own, which is how it knows where
`axis` is.

Over a vmap's axis (`vmap(f, axis_name="i")`, as jax.vmap) the same traced
call is used, with other Python: no communicator, since the call gets every
member's operand at once. The batching pass batches a collective over every
enclosing vmap, even one its operand does not depend on (an axis_index gets
a zero to batch), so the operand holds all batch axes, outermost vmap first;
vmap `name` is the one with k vmaps traced inside it, so its members lie
along batch axis  nbatch - 1 - k,  and psum is the sum along that axis
broadcast back over it, all_gather moves that axis to `axis`, axis_index is
an iota along it, and so on (the `_vmap_*` functions). A pmap called inside
jit, grad or vmap runs as that vmap (frontend/pmap.py).
"""
import contextlib
import functools
import threading
from collections.abc import Hashable, Sequence
from typing import Any, Protocol

import numpy as np
from iree.compiler import ir

from irax import tree_util
from irax.frontend import callbacks, core, staging
from irax.frontend.numpy.util import asarray
from irax.transforms.ad import host_calls


class CollectiveError(RuntimeError):
    """A collective could not finish: another device of its axis failed."""


class Communicator(Protocol):
    """What a collective asks of the `size` devices (ranks 0 .. size-1) of
    one mapped axis. Every rank calls the same methods in the same order
    (each runs the same program), each from its own thread (or process),
    and a call returns once every rank has made it. Arrays are NumPy arrays
    of one shape and dtype on every rank. irax.distributed.MpiCommunicator
    implements it across processes (MPI on the arrays' buffers)."""
    size: int

    def all_reduce(self, rank: int, x: np.ndarray, op: str) -> np.ndarray:
        """The elementwise "sum", "max" or "min" of every rank's x."""

    def all_gather(self, rank: int, x: np.ndarray) -> np.ndarray:
        """Every rank's x, stacked in rank order: shape (size, *x.shape)."""

    def permute(self, rank: int, x: np.ndarray, perm: tuple) -> np.ndarray:
        """The x of the rank that `perm` ((source, destination) pairs) says
        sends to this one; zeros if none does."""

    def leave(self, rank: int) -> None:
        """Rank `rank`'s program has ended: it makes no more calls (if
        others wait for it, they raise CollectiveError)."""

    def abort(self) -> None:
        """A rank failed: the calls that others wait in, and later ones, raise CollectiveError."""


_REDUCE = {"sum": np.add, "max": np.maximum, "min": np.minimum}


class ThreadCommunicator:
    """The devices of one process, one thread each. A rank's call puts its
    array in its slot and waits; the last rank to arrive computes every
    rank's result from the slots (NumPy) and wakes the others. A rank cannot
    overwrite a result before the others have read it: the next collective
    completes only once every rank, having read its result, has arrived.

    A rank whose program ended (`leave`) while others wait at a collective,
    or that fails (`abort`), makes them raise CollectiveError rather than
    wait forever: with collectives that differ between devices (one under a
    `cond` whose branch differs), or a device that failed."""

    def __init__(self, size: int):
        self.size = size
        self._condition = threading.Condition()
        self._slots = [None] * size
        self._combine = None  # what the collective being gathered computes from the slots
        self._arrived = 0
        self._generation = 0  # how many collectives have completed
        self._results = None
        self._left = set()  # ranks whose program has ended
        self._broken = None  # the CollectiveError every waiting and later call raises

    def _exchange(self, rank, x, combine):
        """`combine(every rank's x)[rank]`, once every rank has called."""
        with self._condition:
            if self._broken is None and self._left:
                self._break(rank, min(self._left))
            if self._broken is not None:
                raise self._broken
            self._slots[rank] = x
            self._combine = combine
            self._arrived += 1
            if self._arrived == self.size:
                try:
                    self._results = self._combine(self._slots)
                except Exception as error:  # every rank raises it
                    self._results = [error] * self.size
                self._slots, self._arrived = [None] * self.size, 0
                self._generation += 1
                self._condition.notify_all()
            else:
                generation = self._generation
                while self._generation == generation and self._broken is None:
                    self._condition.wait()
                if self._generation == generation:
                    raise self._broken
            result = self._results[rank]
        if isinstance(result, Exception):
            raise result
        return result

    def _break(self, rank, left):
        self._broken = CollectiveError(
            f"device {rank} of a pmap waits at a collective that device {left} never reaches: its program ended. "
            "Every device must make the same collectives in the same order (not, e.g., a collective inside a "
            "lax.cond whose branch differs between devices)")

    def all_reduce(self, rank, x, op):
        return self._exchange(rank, x, lambda xs: [functools.reduce(_REDUCE[op], xs)] * self.size)

    def all_gather(self, rank, x):
        return self._exchange(rank, x, lambda xs: [np.stack(xs)] * self.size)

    def permute(self, rank, x, perm):
        def combine(xs):
            received = [np.zeros_like(xs[0])] * self.size
            for source, destination in perm:
                received[destination] = xs[source]
            return received
        return self._exchange(rank, x, combine)

    def leave(self, rank):
        with self._condition:
            self._left.add(rank)
            if self._arrived and self._broken is None:
                self._break(next(r for r, x in enumerate(self._slots) if x is not None), rank)
                self._condition.notify_all()

    def abort(self):
        with self._condition:
            if self._broken is None:
                self._broken = CollectiveError("a collective was abandoned: another device of its pmap failed")
            self._condition.notify_all()


# ---------------------------------------------------------------------------
# Axis names: bound while pmap traces its function (for the checks and the
# shapes), and while each device's thread runs it (for the communicator).

class _Axes(threading.local):
    def __init__(self):
        self.traced = []  # (name, size, vmapped) of the pmaps and vmaps being traced, innermost last
        self.running = {}  # name -> (communicator, rank) of this device thread


_axes = _Axes()


@contextlib.contextmanager
def axis_env(name, size: int, vmapped: bool = False):
    """While pmap (or vmap, `vmapped`; name None if it has no axis_name)
    traces its function: collectives over `name` have `size` members."""
    _axes.traced.append((name, size, vmapped))
    try:
        yield
    finally:
        _axes.traced.pop()


def axis_size(name) -> int:
    """The size of the pmap axis `name`, or JAX's NameError outside one."""
    for bound, size, _ in reversed(_axes.traced):
        if bound is not None and bound == name:
            return size
    raise NameError(f"unbound axis name: {name}")


def _vmaps_inside(name):
    """None if `name` is a pmap's axis; if a vmap's, how many vmaps are
    traced inside it (their batch axes come after its own: see _batch_axis)."""
    inner = 0
    for bound, _, vmapped in reversed(_axes.traced):
        if bound is not None and bound == name:
            return inner if vmapped else None
        inner += vmapped


@contextlib.contextmanager
def bound(name, communicator: Communicator, rank: int):
    """While this thread runs rank `rank`'s program: collectives over `name` use `communicator`."""
    before = _axes.running.get(name)
    _axes.running[name] = (communicator, rank)
    try:
        yield
    finally:
        if before is None:
            del _axes.running[name]
        else:
            _axes.running[name] = before


def _communicator(name):
    try:
        return _axes.running[name]
    except KeyError:
        raise CollectiveError(f"a program with collectives over axis {name!r} ran outside irax.pmap") from None


# ---------------------------------------------------------------------------
# The host functions: what each device's program calls. `ndim` is the rank
# the operand was traced with: under vmap it has the batch axes in front.

def _reduce(name, op, x):
    communicator, rank = _communicator(name)
    return communicator.all_reduce(rank, x, op)


def _gather(name, axis, tiled, ndim, x):
    communicator, rank = _communicator(name)
    axis += x.ndim - ndim
    stacked = np.moveaxis(communicator.all_gather(rank, x), 0, axis)
    if tiled:
        shape = list(x.shape)
        shape[axis] *= communicator.size
        return stacked.reshape(shape)
    return stacked


def _scatter(name, axis, tiled, ndim, x):
    communicator, rank = _communicator(name)
    axis += x.ndim - ndim
    total = communicator.all_reduce(rank, x, "sum")
    if tiled:
        block = x.shape[axis] // communicator.size
        return np.take(total, range(rank * block, (rank + 1) * block), axis=axis)
    return np.take(total, rank, axis=axis)


def _permute(name, perm, x):
    communicator, rank = _communicator(name)
    return communicator.permute(rank, x, perm)


def _index(name):
    return np.array(_communicator(name)[1], np.int32)


# Over a vmap's axis (vmap(f, axis_name="i")) a collective needs no
# communicator: it runs once on the whole batch ("broadcast_all": every
# member's operand, stacked), so it is a NumPy reduction or rearrangement
# along that vmap's batch axis, its result given to every member.

def _batch_axis(x, ndim, inner):
    """Where the batch axis of the vmap is in `x`: batched operands carry
    the batch axes in front of their own `ndim`, outermost vmap first, so
    the vmap with `inner` vmaps traced inside it is the (inner+1)-th from
    the last batch axis."""
    return x.ndim - ndim - 1 - inner


def _vmap_reduce(inner, ndim, op, x):
    """op-reduce over the batch axis b, broadcast back: out[.., i, ..] = op_j x[.., j, ..]."""
    reduced = _REDUCE[op].reduce(x, axis=_batch_axis(x, ndim, inner), keepdims=True)
    return np.broadcast_to(reduced, x.shape).astype(x.dtype)


def _vmap_gather(inner, axis, tiled, ndim, x):
    """Every member gets all members' x along `axis` of its own (tiled:
    concatenated): the batch axis b moved there, then broadcast over b."""
    b = _batch_axis(x, ndim, inner)
    size, nbatch = x.shape[b], x.ndim - ndim
    stacked = np.moveaxis(x, b, nbatch - 1 + axis)
    if tiled:
        shape = list(stacked.shape)
        shape[nbatch - 1 + axis: nbatch + 1 + axis] = [size * shape[nbatch + axis]]
        stacked = stacked.reshape(shape)
    stacked = np.expand_dims(stacked, b)
    return np.broadcast_to(stacked, stacked.shape[:b] + (size,) + stacked.shape[b + 1:])


def _vmap_scatter(inner, axis, tiled, ndim, x):
    """psum_scatter: the sum over the batch axis b, of which member r keeps
    slice r (tiled: block r) of `axis`; all_gather's transpose."""
    b = _batch_axis(x, ndim, inner)
    size, at = x.shape[b], x.ndim - ndim - 1 + axis  # `axis` in the sum, which has no b
    total = np.sum(x, axis=b, dtype=x.dtype)
    if tiled:
        shape = list(total.shape)
        shape[at:at + 1] = [size, shape[at] // size]
        total = total.reshape(shape)
    return np.moveaxis(total, at, b)


def _vmap_permute(inner, ndim, perm, x):
    """Member dst gets member src's x, for (src, dst) in perm; zeros elsewhere."""
    b = _batch_axis(x, ndim, inner)
    out = np.zeros_like(x)
    for source, destination in perm:
        out[(slice(None),) * b + (destination,)] = x[(slice(None),) * b + (source,)]
    return out


def _vmap_index(inner, x):
    """Member i's index i: an iota along the batch axis of `x` (zeros of
    rank 0 per member, there only to be batched)."""
    b = _batch_axis(x, 0, inner)
    iota = np.arange(x.shape[b], dtype=np.int32).reshape([-1 if a == b else 1 for a in range(x.ndim)])
    return np.broadcast_to(iota, x.shape)


def _host(fn, out_aval):
    """`fn` as a host function of one result, `out_aval`'s, checked."""
    return callbacks.checked_host(lambda *arrays: [fn(*arrays)], (out_aval,))


def _collective(kind, x, host, out_aval, transpose=None):
    """The traced call of collective `kind`'s `host` on `x`; `transpose`
    ("self", or a host function from out_aval's arrays to x's) makes it linear."""
    (result,) = callbacks.host_call("collective", _host(host, out_aval), staging.Arguments((x,)), (out_aval,),
                                    "broadcast_all")
    call = result.value.owner
    call.attributes[host_calls.COLLECTIVE] = ir.StringAttr.get(kind)
    if transpose == "self":
        call.attributes[host_calls.TRANSPOSE] = call.attributes["callee"]
    elif transpose is not None:
        symbol = callbacks.declare_host_function(_host(transpose, x.aval), (out_aval,), (x.aval,))
        call.attributes[host_calls.TRANSPOSE] = ir.FlatSymbolRefAttr.get(symbol)
    return result


def _traced(name, x):
    """`x` as a Tracer of the current trace, after the axis check."""
    axis_size(name)
    return core.current_trace().to_tracer(asarray(x))


def _no_groups(groups):
    if groups is not None:
        raise NotImplementedError("irax collectives do not support axis_index_groups")


def _check_axis_name(name):
    if isinstance(name, (tuple, list)):
        if len(name) != 1:
            raise NotImplementedError("irax collectives take one axis name (nested pmap is not supported)")
        return name[0]
    return name


def _reducer(name, op, x):
    """The host function of an op-reduction of `x` over axis `name`: by the
    communicator (pmap) or along the batch axis (vmap)."""
    inner = _vmaps_inside(name)
    if inner is None:
        return functools.partial(_reduce, name, op)
    return functools.partial(_vmap_reduce, inner, x.ndim, op)


def psum(x: Any, axis_name: Hashable, *, axis_index_groups: Sequence | None = None) -> Any:
    """The sum of `x` (a pytree of arrays) over the devices of `axis_name`
    (jax.lax.psum); booleans are summed as int32, as in JAX."""
    _no_groups(axis_index_groups)
    name = _check_axis_name(axis_name)

    def one(x):
        x = _traced(name, x)
        if x.dtype == np.bool_:
            x = x.astype(np.int32)
        return _collective("psum", x, _reducer(name, "sum", x), x.aval, transpose="self")
    return tree_util.tree_map(one, x)


def pmean(x: Any, axis_name: Hashable, *, axis_index_groups: Sequence | None = None) -> Any:
    """psum(x) / the axis size (integers give floats, as in JAX)."""
    name = _check_axis_name(axis_name)
    return tree_util.tree_map(lambda s: s / axis_size(name), psum(x, name, axis_index_groups=axis_index_groups))


def _extremum(kind, op, x, axis_name, axis_index_groups):
    _no_groups(axis_index_groups)
    name = _check_axis_name(axis_name)

    def one(x):
        x = _traced(name, x)
        return _collective(kind, x, _reducer(name, op, x), x.aval)
    return tree_util.tree_map(one, x)


def pmax(x: Any, axis_name: Hashable, *, axis_index_groups: Sequence | None = None) -> Any:
    """The elementwise maximum of `x` over the devices of `axis_name`."""
    return _extremum("pmax", "max", x, axis_name, axis_index_groups)


def pmin(x: Any, axis_name: Hashable, *, axis_index_groups: Sequence | None = None) -> Any:
    """The elementwise minimum of `x` over the devices of `axis_name`."""
    return _extremum("pmin", "min", x, axis_name, axis_index_groups)


def _axis(axis, ndim, what):
    if not -ndim <= axis < ndim:
        raise ValueError(f"{what} axis {axis} is out of bounds for array of dimension {ndim}")
    return axis % ndim


def all_gather(x: Any, axis_name: Hashable, *, axis_index_groups: Sequence | None = None, axis: int = 0,
               tiled: bool = False) -> Any:
    """Every device's `x` along a new axis `axis` (tiled: concatenated along
    the existing axis `axis`), on every device (jax.lax.all_gather)."""
    _no_groups(axis_index_groups)
    name = _check_axis_name(axis_name)

    def one(x):
        x = _traced(name, x)
        size = axis_size(name)
        shape = list(x.shape)
        if tiled:
            a = _axis(axis, x.ndim, "all_gather")
            shape[a] *= size
        else:
            a = _axis(axis, x.ndim + 1, "all_gather")
            shape.insert(a, size)
        return _gather_or_scatter("all_gather", name, x, a, tiled, x.aval.update(shape=tuple(shape), weak_type=False))
    return tree_util.tree_map(one, x)


def psum_scatter(x: Any, axis_name: Hashable, *, scatter_dimension: int = 0,
                 axis_index_groups: Sequence | None = None, tiled: bool = False) -> Any:
    """psum(x), of which device d keeps slice d along `scatter_dimension`
    (tiled: block d), as jax.lax.psum_scatter."""
    _no_groups(axis_index_groups)
    name = _check_axis_name(axis_name)

    def one(x):
        x = _traced(name, x)
        size = axis_size(name)
        a = _axis(scatter_dimension, x.ndim, "psum_scatter")
        shape = list(x.shape)
        if tiled:
            if shape[a] % size:
                raise ValueError(f"reduce_scatter operand scatter dimension size {shape[a]} must be divisible by "
                                 f"shard_count {size}")
            shape[a] //= size
        else:
            if shape[a] != size:
                raise ValueError(f"reduce_scatter operand scatter dimension size {shape[a]} must match shard count "
                                 f"{size}")
            del shape[a]
        return _gather_or_scatter("psum_scatter", name, x, a, tiled,
                                  x.aval.update(shape=tuple(shape), weak_type=False))
    return tree_util.tree_map(one, x)


def _gather_or_scatter(prim, name, x, axis, tiled, out_aval):
    """all_gather or psum_scatter of `x` along `axis`, each the other's
    transpose: over a vmap's batch axis (host NumPy) when `name` is a vmap's,
    else over the devices (the Communicator)."""
    inner = _vmaps_inside(name)
    gather, scatter = ((functools.partial(_vmap_gather, inner), functools.partial(_vmap_scatter, inner))
                       if inner is not None else (functools.partial(_gather, name), functools.partial(_scatter, name)))
    forward, backward = (gather, scatter) if prim == "all_gather" else (scatter, gather)
    return _collective(prim, x, functools.partial(forward, axis, tiled, x.ndim), out_aval,
                       transpose=functools.partial(backward, axis, tiled, len(out_aval.shape)))


def ppermute(x: Any, axis_name: Hashable, perm: Sequence[tuple[int, int]]) -> Any:
    """Device dst gets the `x` of device src for each (src, dst) in `perm`;
    a device nothing is sent to gets zeros (jax.lax.ppermute)."""
    name = _check_axis_name(axis_name)
    size = axis_size(name)
    perm = tuple((int(s), int(d)) for s, d in perm)
    sources, destinations = [s for s, _ in perm], [d for _, d in perm]
    if len(set(sources)) != len(sources) or len(set(destinations)) != len(destinations):
        raise ValueError(f"ppermute sources and destinations must be unique, got {perm}.")
    if any(not 0 <= i < size for i in sources + destinations):
        raise ValueError(f"ppermute permutation {perm} names a device outside axis {name!r} of size {size}")
    inverse = tuple((d, s) for s, d in perm)

    def one(x):
        x = _traced(name, x)
        inner = _vmaps_inside(name)
        if inner is not None:
            return _collective("ppermute", x, functools.partial(_vmap_permute, inner, x.ndim, perm), x.aval,
                               transpose=functools.partial(_vmap_permute, inner, x.ndim, inverse))
        return _collective("ppermute", x, functools.partial(_permute, name, perm), x.aval,
                           transpose=functools.partial(_permute, name, inverse))
    return tree_util.tree_map(one, x)


def axis_index(axis_name: Hashable) -> Any:
    """This device's position (int32) along the pmap axis `axis_name`."""
    name = _check_axis_name(axis_name)
    axis_size(name)
    out_aval = core.ShapedArray((), np.dtype(np.int32))
    inner = _vmaps_inside(name)
    if inner is not None:
        zero = core.current_trace().to_tracer(asarray(np.int32(0)))
        return _collective("axis_index", zero, functools.partial(_vmap_index, inner), out_aval)
    (result,) = callbacks.host_call("collective", _host(functools.partial(_index, name), out_aval),
                                    staging.Arguments(()), (out_aval,), "broadcast_all")
    result.value.owner.attributes[host_calls.COLLECTIVE] = ir.StringAttr.get("axis_index")
    return result

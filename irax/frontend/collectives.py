"""Collectives over the mapped axis of irax.pmap, as jax.lax's:

    irax.pmap(lambda x: x / lax.psum(x, "i"), axis_name="i")(xs)

    psum(x, "i")            sum over the devices (pmean: / size; pmax, pmin)
    all_gather(x, "i")      every device's x, stacked on a new axis `axis`
                            (tiled: concatenated along `axis`)
    psum_scatter(x, "i")    psum, then device d keeps block d of
                            `scatter_dimension` (the transpose of all_gather)
    ppermute(x, "i", perm)  device dst gets the x of device src, for each
                            (src, dst) in perm; zeros where none is sent
    all_to_all(x, "i", s, c) device d gets chunk d along axis s of every
                            device's x, along axis c (its own transpose,
                            with s and c swapped); pswapaxes(x, "i", a) is
                            all_to_all(x, "i", a, a)
    axis_index("i")         this device's position on the axis, int32

`axis_name` may be a tuple of names, the collective then being over all
their members at once; the reductions, all_gather and psum_scatter take
`axis_index_groups`, groups of members that are each a collective of their
own (both as JAX: see "What a collective is over" below).

How they run. pmap runs one copy of the same program per device, each
called from a thread of its own (frontend/pmap.py). A collective is traced
as a call of a function the program imports from the host (the machinery
of callbacks.py): when a device's program reaches it, the program waits on
the host, on that device's thread, while the Python function hands its
operand to a *communicator* shared by the devices of the axis, which
returns once every device has handed in its own, with this device's
result. `ThreadCommunicator` (communicators.py) does that for devices of
one process (a condition variable, NumPy for the arithmetic). Each device thread knows its
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
permutation, all_to_all's all_to_all back; pmean is psum divided by the axis size; pmax and pmin are not
differentiable (JAX's NotImplementedError). Under vmap each collective
runs once on the whole batch (vmap_method "broadcast_all"); its Python sees
the batch axes in front of the operand's own, which is how it knows where
`axis` is.

Over a vmap's axis (`vmap(f, axis_name="i")`, as jax.vmap) the same traced
call is used, with other Python: no communicator, since the call gets every
member's operand at once (`_on_members`). So does a collective over several
axes (`psum(x, ("i", "j"))`), or with `axis_index_groups`: it gathers every
device's operand if a pmap axis is among them, and combines the members on
the host. A pmap called inside jit, grad, vmap or another pmap's function
runs as that vmap (frontend/pmap.py), so a nested pmap has one axis of
devices (the outermost) and vmap axes inside.
"""
import contextlib
import functools
import math
import operator
import threading
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
from iree.compiler import ir

from irax import tree_util
from irax.frontend import callbacks, core, staging
from irax.frontend.communicators import REDUCE, CollectiveError, Communicator
from irax.frontend.numpy.util import asarray
from irax.transforms.ad import host_calls


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


def _axis_size(name) -> int:
    """The size of the mapped axis `name`, or JAX's NameError outside one."""
    for bound, size, _ in reversed(_axes.traced):
        if bound is not None and bound == name:
            return size
    raise NameError(f"unbound axis name: {name}")


def axis_size(axis_name: Hashable) -> int:
    """The size of the mapped axis `axis_name` (a pmap's or a named vmap's),
    or of several at once (a tuple: the product), as jax.lax.axis_size."""
    return _members(_names(axis_name))


def _vmaps_inside(name):
    """None if `name` is a pmap's axis; if a vmap's, how many vmaps are
    traced inside it (their batch axes come after its own: see _on_members)."""
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
# What a collective is over: one axis name, or several at once (a tuple, as
# jax.lax's: member (i, j) of axes ("a", "b") is member i * size("b") + j of
# the collective, as axis_index(("a", "b")) says), optionally split into
# `axis_index_groups` (lists of member numbers), each a collective of its own.

def _names(axis_name) -> tuple:
    """The axis names a collective is over, checked: bound, none twice."""
    names = tuple(axis_name) if isinstance(axis_name, (tuple, list)) else (axis_name,)
    if len(set(names)) != len(names):
        raise ValueError(f"axis_name {axis_name} names an axis more than once")
    for name in names:
        _axis_size(name)  # JAX's NameError if unbound
    return names


def _members(names) -> int:
    """How many members a collective over `names` has (the product of their sizes)."""
    return math.prod(_axis_size(name) for name in names)


def _groups(groups, names, equal=None):
    """`axis_index_groups` as tuples, or JAX's error: they must partition
    the members (JAX checks they cover 0 .. n-1 exactly once; irax also that
    n is the number of members, which JAX's XLA checks when it compiles);
    `equal` (the collective's name): and be of one size, as all_gather and
    psum_scatter need (their result's shape is the group size)."""
    if groups is None:
        return None
    groups = tuple(tuple(operator.index(i) for i in group) for group in groups)
    covered = sum(len(group) for group in groups)
    if {i for group in groups for i in group} != set(range(covered)):
        raise ValueError("axis_index_groups must cover all indices exactly once")
    if covered != _members(names):
        raise ValueError(f"axis_index_groups must cover all indices exactly once: they cover {covered}, but axis "
                         f"{names[0] if len(names) == 1 else names!r} has {_members(names)}")
    if equal is not None and len({len(group) for group in groups}) > 1:
        raise ValueError(f"{equal} axis_index_groups must all be of one size, got sizes "
                         f"{[len(group) for group in groups]}")
    return groups


def _group_size(names, groups) -> int:
    """The members a collective combines (JAX's: the first group's size)."""
    return _members(names) if groups is None else len(groups[0])


# ---------------------------------------------------------------------------
# The host functions: what each device's program calls, on its operand `x`
# of the rank `ndim` it was traced with (under vmap, the batch axes are in
# front: see below).
#
# A collective over one pmap axis, without groups, is one call of the
# communicator's own collective (for MPI, one MPI call): `_device_*`.
#
# Every other one (over vmap axes, several axes, or groups) is computed on
# the host with every member's operand in one array (`_on_members`): a
# vmap's members are there already, since the call runs once on the whole
# batch ("broadcast_all"): its operand holds all batch axes, outermost vmap
# first, even those it does not depend on (the batching pass batches a
# collective over every enclosing vmap), so the vmap with k vmaps traced
# inside it has its members along batch axis  nbatch - 1 - k. A pmap axis
# among the names adds every device's operand (the communicator's
# all_gather), on a new axis in front. The members' axes, moved to the front
# in the order of the names and flattened, number the members as JAX does;
# the `_members_*` function computes every member's result, and each
# device keeps its own.

def _device_reduce(op, ndim, communicator, rank, x):
    return communicator.all_reduce(rank, x, op)


def _device_gather(axis, tiled, ndim, communicator, rank, x):
    axis += x.ndim - ndim
    stacked = np.moveaxis(communicator.all_gather(rank, x), 0, axis)
    if tiled:
        shape = list(x.shape)
        shape[axis] *= communicator.size
        return stacked.reshape(shape)
    return stacked


def _device_scatter(axis, tiled, ndim, communicator, rank, x):
    axis += x.ndim - ndim
    total = communicator.all_reduce(rank, x, "sum")
    if tiled:
        block = x.shape[axis] // communicator.size
        return np.take(total, range(rank * block, (rank + 1) * block), axis=axis)
    return np.take(total, rank, axis=axis)


def _device_permute(perm, ndim, communicator, rank, x):
    return communicator.permute(rank, x, perm)


def _device_index(ndim, communicator, rank, x):
    return np.full(x.shape, rank, np.int32)


def _on_members(names, where, ndim, compute, x):
    """`compute(members)`, members[k] being member k's operand (and what
    batch axes of other vmaps it has), for this device's members; `where`:
    per name, None for the pmap axis, else how many vmaps are traced inside
    that vmap."""
    pmapped = [name for name, inner in zip(names, where) if inner is None]
    assert len(pmapped) <= 1, pmapped  # (a pmap inside another's function runs as a vmap: pmap.py)
    every, rank = x, None
    if pmapped:
        communicator, rank = _communicator(pmapped[0])
        every = communicator.all_gather(rank, x)
    front = every.ndim - ndim  # the axes before the operand's own: devices (if gathered), then batch axes
    axes = [0 if inner is None else front - 1 - inner for inner in where]
    members = np.moveaxis(every, axes, range(len(axes)))
    counts = members.shape[:len(axes)]
    out = compute(ndim, members.reshape((-1,) + members.shape[len(axes):]))
    out = np.moveaxis(out.reshape(counts + out.shape[1:]), range(len(axes)), axes)
    return out if rank is None else out[rank]


def _each_group(groups, members):
    """(the member numbers, their operands) of each group: all members if no groups."""
    if groups is None:
        return [(slice(None), members)]
    return [(list(group), members[list(group)]) for group in groups]


def _members_reduce(op, groups, ndim, members):
    out = np.empty_like(members)
    for group, operands in _each_group(groups, members):
        out[group] = REDUCE[op].reduce(operands, axis=0)
    return out


def _members_gather(axis, tiled, groups, ndim, members):
    """Each member: its group's operands along a new axis `axis` of its own
    (tiled: concatenated along `axis`), in the group's order."""
    at = members.ndim - 1 - ndim + axis  # `axis` in one member's array (after its other batch axes)
    out = None
    for group, operands in _each_group(groups, members):
        stacked = np.moveaxis(operands, 0, at)
        if tiled:
            stacked = stacked.reshape(stacked.shape[:at] + (-1,) + stacked.shape[at + 2:])
        if out is None:
            out = np.empty(members.shape[:1] + stacked.shape, members.dtype)
        out[group] = stacked
    return out


def _members_scatter(axis, tiled, groups, ndim, members):
    """Each member: slice p (tiled: block p) along `axis` of its group's sum,
    p being its place in the group; all_gather's transpose."""
    at = members.ndim - 1 - ndim + axis
    out = None
    for group, operands in _each_group(groups, members):
        total = np.sum(operands, axis=0, dtype=members.dtype)
        order = range(len(members)) if groups is None else group
        block = total.shape[at] // len(order)
        for p, member in enumerate(order):
            part = np.take(total, range(p * block, (p + 1) * block) if tiled else p, axis=at)
            if out is None:
                out = np.empty(members.shape[:1] + part.shape, members.dtype)
            out[member] = part
    return out


def _members_all_to_all(split, concat, tiled, groups, ndim, members):
    """Member p of a group: chunk p (tiled: block p) along `split` of each of
    its group's operands, in the group's order, stacked on a new axis
    `concat` of the result (tiled: concatenated along `concat`)."""
    front = members.ndim - 1 - ndim  # (the other vmaps' batch axes, in each member's array)
    split, concat = front + split, front + concat
    out = None
    for group, operands in _each_group(groups, members):
        order = range(len(members)) if groups is None else group
        block = operands.shape[1 + split] // len(order) if tiled else None
        for p, member in enumerate(order):
            chunks = [np.take(x, range(p * block, (p + 1) * block) if tiled else p, axis=split) for x in operands]
            part = np.concatenate(chunks, axis=concat) if tiled else np.stack(chunks, axis=concat)
            if out is None:
                out = np.empty(members.shape[:1] + part.shape, members.dtype)
            out[member] = part
    return out


def _device_all_to_all(split, concat, tiled, ndim, communicator, rank, x):
    """all_to_all over one pmap axis: every device's operand gathered, this device's chunks kept."""
    return _members_all_to_all(split, concat, tiled, None, ndim, communicator.all_gather(rank, x))[rank]


def _members_permute(perm, ndim, members):
    out = np.zeros_like(members)
    for source, destination in perm:
        out[destination] = members[source]
    return out


def _members_index(ndim, members):
    """Member k's number k (the operand is zeros, there to be batched)."""
    numbers = np.arange(len(members), dtype=np.int32).reshape((-1,) + (1,) * (members.ndim - 1))
    return np.broadcast_to(numbers, members.shape)


def _over(names, groups, ndim, on_members, on_devices):
    """The host function of a collective over `names`, on an operand of rank
    `ndim`: the communicator's collective (`on_devices`) over one pmap axis
    without groups, else `on_members` on every member's operand."""
    where = tuple(_vmaps_inside(name) for name in names)
    if groups is None and where == (None,):
        name = names[0]
        return lambda x: on_devices(ndim, *_communicator(name), x)
    return functools.partial(_on_members, names, where, ndim, on_members)


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


def _traced(x):
    """`x` as a Tracer of the current trace."""
    return core.current_trace().to_tracer(asarray(x))


def psum(x: Any, axis_name: Hashable, *, axis_index_groups: Sequence | None = None) -> Any:
    """The sum of `x` (a pytree of arrays) over the devices of `axis_name`
    (jax.lax.psum); booleans are summed as int32, as in JAX. `axis_name`: a
    name, or a tuple of names (the sum over all their members);
    `axis_index_groups`: lists of member numbers partitioning the axis, each
    summed alone."""
    names = _names(axis_name)
    if not names:
        return x
    groups = _groups(axis_index_groups, names)

    def one(x):
        x = _traced(x)
        if x.dtype == np.bool_:
            x = x.astype(np.int32)
        host = _over(names, groups, x.ndim, functools.partial(_members_reduce, "sum", groups),
                     functools.partial(_device_reduce, "sum"))
        return _collective("psum", x, host, x.aval, transpose="self")
    return tree_util.tree_map(one, x)


def pmean(x: Any, axis_name: Hashable, *, axis_index_groups: Sequence | None = None) -> Any:
    """psum(x) / the number of members summed (integers give floats, as in JAX)."""
    names = _names(axis_name)
    size = _group_size(names, _groups(axis_index_groups, names))
    return tree_util.tree_map(lambda s: s / size, psum(x, names, axis_index_groups=axis_index_groups))


def _extremum(kind, op, x, axis_name, axis_index_groups):
    names = _names(axis_name)
    if not names:
        return x
    groups = _groups(axis_index_groups, names)

    def one(x):
        x = _traced(x)
        host = _over(names, groups, x.ndim, functools.partial(_members_reduce, op, groups),
                     functools.partial(_device_reduce, op))
        return _collective(kind, x, host, x.aval)
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
    the existing axis `axis`), on every device (jax.lax.all_gather); with
    `axis_index_groups`, the devices of its group, in the group's order."""
    names = _names(axis_name)
    if not names:
        return x
    groups = _groups(axis_index_groups, names, equal="all_gather")
    size = _group_size(names, groups)

    def one(x):
        x = _traced(x)
        shape = list(x.shape)
        if tiled:
            a = _axis(axis, x.ndim, "all_gather")
            shape[a] *= size
        else:
            a = _axis(axis, x.ndim + 1, "all_gather")
            shape.insert(a, size)
        return _gather_or_scatter("all_gather", names, groups, x, a, tiled,
                                  x.aval.update(shape=tuple(shape), weak_type=False))
    return tree_util.tree_map(one, x)


def psum_scatter(x: Any, axis_name: Hashable, *, scatter_dimension: int = 0,
                 axis_index_groups: Sequence | None = None, tiled: bool = False) -> Any:
    """psum(x), of which device d keeps slice d along `scatter_dimension`
    (tiled: block d), as jax.lax.psum_scatter; with `axis_index_groups`,
    the sum over d's group, of which d keeps the slice of its place in it."""
    names = _names(axis_name)
    if not names:
        return x
    groups = _groups(axis_index_groups, names, equal="psum_scatter")
    size = _group_size(names, groups)

    def one(x):
        x = _traced(x)
        a = _axis(scatter_dimension, x.ndim, "psum_scatter")
        shape = list(x.shape)
        if tiled:
            if shape[a] % size:
                raise ValueError(f"tiled reduce_scatter operand scatter dimension size "
                                 f"{shape[a]} must be divisible by shard_count {size}")
            shape[a] //= size
        else:
            if shape[a] != size:
                raise ValueError(f"reduce_scatter operand scatter dimension size {shape[a]} must match shard count "
                                 f"{size}")
            del shape[a]
        return _gather_or_scatter("psum_scatter", names, groups, x, a, tiled,
                                  x.aval.update(shape=tuple(shape), weak_type=False))
    return tree_util.tree_map(one, x)


def _gather_or_scatter(prim, names, groups, x, axis, tiled, out_aval):
    """all_gather or psum_scatter of `x` along `axis`, each the other's transpose."""
    def host(kind, ndim):
        members, devices = ((_members_gather, _device_gather) if kind == "all_gather"
                            else (_members_scatter, _device_scatter))
        return _over(names, groups, ndim, functools.partial(members, axis, tiled, groups),
                     functools.partial(devices, axis, tiled))
    backward = "psum_scatter" if prim == "all_gather" else "all_gather"
    return _collective(prim, x, host(prim, x.ndim), out_aval, transpose=host(backward, len(out_aval.shape)))


def ppermute(x: Any, axis_name: Hashable, perm: Sequence[tuple[int, int]]) -> Any:
    """Device dst gets the `x` of device src for each (src, dst) in `perm`;
    a device nothing is sent to gets zeros (jax.lax.ppermute)."""
    names = _names(axis_name)
    size = _members(names)
    perm = tuple((int(s), int(d)) for s, d in perm)
    sources, destinations = [s for s, _ in perm], [d for _, d in perm]
    if len(set(sources)) != len(sources) or len(set(destinations)) != len(destinations):
        raise ValueError(f"ppermute sources and destinations must be unique, got {perm}.")
    if any(not 0 <= i < size for i in sources + destinations):
        raise ValueError(f"ppermute permutation {perm} names a device outside axis {axis_name!r} of size {size}")
    inverse = tuple((d, s) for s, d in perm)

    def host(perm, ndim):
        return _over(names, None, ndim, functools.partial(_members_permute, perm),
                     functools.partial(_device_permute, perm))

    def one(x):
        x = _traced(x)
        return _collective("ppermute", x, host(perm, x.ndim), x.aval, transpose=host(inverse, x.ndim))
    return tree_util.tree_map(one, x)


def pshuffle(x: Any, axis_name: Hashable, perm: Sequence[int]) -> Any:
    """Device i gets the `x` of device perm[i] (jax.lax.pshuffle: ppermute
    with the permutation as a list of sources)."""
    if set(perm) != set(range(len(perm))):
        raise ValueError(f"`perm` does not represent a permutation: {perm}")
    return ppermute(x, axis_name, list(zip(perm, range(len(perm)))))


def all_to_all(x: Any, axis_name: Hashable, split_axis: int, concat_axis: int, *,
               axis_index_groups: Sequence | None = None, tiled: bool = False) -> Any:
    """Device d gets chunk d along `split_axis` of every device's `x`, in
    device order (jax.lax.all_to_all): stacked on a new axis `concat_axis`
    of the result, `split_axis` having as many elements as devices and
    being dropped; tiled: `split_axis` cut into as many blocks as devices,
    and the blocks concatenated along `concat_axis`. With
    `axis_index_groups`, among the devices of d's group."""
    names = _names(axis_name)
    if not names:
        return x
    groups = _groups(axis_index_groups, names, equal="all_to_all")
    size = _group_size(names, groups)

    def host(split, concat, ndim):
        return _over(names, groups, ndim, functools.partial(_members_all_to_all, split, concat, tiled, groups),
                     functools.partial(_device_all_to_all, split, concat, tiled))

    def one(x):
        x = _traced(x)
        split, concat = _axis(split_axis, x.ndim, "all_to_all split"), _axis(concat_axis, x.ndim, "all_to_all concat")
        shape = list(x.shape)
        if tiled:
            if shape[split] % size:
                raise ValueError(f"The size of all_to_all split_axis ({shape[split]}) has to be divisible by the "
                                 f"size of the named axis {axis_name} ({size})")
            shape[split] //= size
            shape[concat] *= size
        else:
            if shape[split] != size:
                raise ValueError(f"all_to_all requires the size of the mapped axis axis_name to equal "
                                 f"x.shape[split_axis], but they are {size} and {shape[split]} respectively.")
            del shape[split]
            shape.insert(concat, size)
        out_aval = x.aval.update(shape=tuple(shape), weak_type=False)
        return _collective("all_to_all", x, host(split, concat, x.ndim), out_aval,
                           transpose=host(concat, split, x.ndim))
    return tree_util.tree_map(one, x)


def pswapaxes(x: Any, axis_name: Hashable, axis: int, *, axis_index_groups: Sequence | None = None) -> Any:
    """The devices' axis `axis_name` swapped with the axis `axis` of `x`, whose
    size is the number of devices (jax.lax.pswapaxes): all_to_all(x,
    axis_name, axis, axis)."""
    return all_to_all(x, axis_name, axis, axis, axis_index_groups=axis_index_groups)


def axis_index(axis_name: Hashable) -> Any:
    """This device's position (int32) along the pmap axis `axis_name` (a
    tuple of names: its member number, the first name's index major)."""
    names = _names(axis_name)
    out_aval = core.ShapedArray((), np.dtype(np.int32))
    # (a zero operand, there to be batched: under vmap, the host function sees the batch axes)
    zero = _traced(np.int32(0))
    return _collective("axis_index", zero, _over(names, None, 0, _members_index, _device_index), out_aval)

"""The processes of a computation (jax.process_index / process_count), and
the communicator a pmap's devices use when there are several.

One process alone (the default) has index 0 of 1. `irax.distributed.initialize()`
makes it one of several: it sets `world`, a communicator whose ranks are the
processes (MPI's, irax/distributed.py; this module imports no MPI, so pmap
and `import irax` never load it).

A pmap over the devices of several processes: each process runs the same
pmap on its L local devices (the mapped axis of its arguments has size L),
and the axis spans all P * L devices: process p's device d has axis index
p * L + d, and a collective over the axis is one global collective. Its
devices first meet on the host as in one process (a ThreadCommunicator);
the last to arrive makes one call of `world` for the whole process (the
local sum, then one MPI all-reduce across processes) and hands each device
its part of the result. One MPI rank per process, not per device, keeps one
MPI call per collective whatever L is, and the devices of a process need no
MPI of their own.
"""
import functools
import warnings

import numpy as np

from irax.backends import runtime
from irax.backends.iree_backend import IreeBackend
from irax.frontend import communicators
from irax.plugins import registry

world = None  # the communicator among the processes, rank = process index; None: one process
_remote = {}  # backend name -> the RemoteDevices of the other processes, in process order


def process_index(backend: str | None = None) -> int:
    """This process's index among the processes of the computation
    (jax.process_index); every backend spans the same processes."""
    return 0 if world is None else world.rank


def process_count(backend: str | None = None) -> int:
    """How many processes the computation runs on (jax.process_count); every backend spans the same processes."""
    return 1 if world is None else world.size


def process_indices(backend: str | None = None) -> list[int]:
    """The indices of the computation's processes (jax.process_indices);
    every backend spans the same processes."""
    return list(range(process_count()))


def _renamed(old: str, new: str) -> None:
    """JAX's warning for its old host_* names (which it words with the new name twice)."""
    warnings.warn(f"irax.{old} has been renamed to irax.{new}. This alias will eventually be removed; please update "
                  "your code.", stacklevel=3)


def host_id(backend: str | None = None) -> int:
    """jax.host_id: the older name of process_index, with JAX's warning."""
    _renamed("host_id", "process_index")
    return process_index()


def host_count(backend: str | None = None) -> int:
    """jax.host_count: the older name of process_count, with JAX's warning."""
    _renamed("host_count", "process_count")
    return process_count()


def host_ids(backend: str | None = None) -> list[int]:
    """jax.host_ids: the older name of process_indices, with JAX's warning."""
    _renamed("host_ids", "process_indices")
    return process_indices(backend)


_this_process = process_index  # (local_devices's argument hides the name)


# ---------------------------------------------------------------------------
# The devices of every process (jax.devices is global, jax.local_devices this
# process's). Each process has its own devices; initialize() tells it how
# many each other process has, per backend (`join`), and those appear here
# as RemoteDevices: named, never run on from this process.

class RemoteDevice:
    """A device of another process: what jax.devices() lists of it. `id`
    counts that process's devices of `platform` from 0, as irax's ids do
    in every process (JAX numbers them across processes: process p's CPU
    devices are p * 2048 + i); `process_index` tells the processes apart."""

    def __init__(self, platform: str, id: int, process_index: int):
        self.platform, self.id, self.process_index = platform, id, process_index

    def __repr__(self):
        return f"{self.platform.capitalize()}Device(id={self.id}, process_index={self.process_index})"


def join(communicator, device_counts: list) -> None:
    """Make this process rank `communicator.rank` of `communicator.size`,
    whose process p has device_counts[p][backend name] devices; this
    process's own devices get their `process_index`."""
    global world
    world = communicator
    _remote.clear()
    _set_process_index(world.rank)
    for name in device_counts[world.rank]:
        _remote[name] = [RemoteDevice(name, i, p) for p, counts in enumerate(device_counts) if p != world.rank
                         for i in range(counts.get(name, 0))]


def leave() -> None:
    """Back to one process (jax.distributed.shutdown)."""
    global world
    _set_process_index(0)
    world = None
    _remote.clear()


def _set_process_index(index: int) -> None:
    """Give this process's devices their `process_index`: irax's own through
    their class, so that those made later (a backend's devices are made on
    first use) have it too; a plugin's, those it has made."""
    runtime.Device.process_index = index
    for name in registry.available_backends():
        backend = registry.backends()[name]
        if not isinstance(backend, IreeBackend):  # (whose devices are runtime.Devices)
            for device in backend.devices():
                device.process_index = index


def devices(backend: str | None = None) -> list:
    """The devices of every process, of `backend` or the default backend, in
    process order (jax.devices); other processes' are RemoteDevices."""
    local = registry.devices(backend)
    if world is None:
        return local
    others = _remote.get(registry.get_backend(backend).name, [])
    return [d for d in others if d.process_index < world.rank] + local + \
        [d for d in others if d.process_index > world.rank]


def device_count(backend: str | None = None) -> int:
    """How many devices every process has together (jax.device_count; local_device_count: this process)."""
    others = _remote.get(registry.get_backend(backend).name, []) if world is not None else []
    return registry.device_count(backend) + len(others)


def local_devices(process_index: int | None = None, backend: str | None = None) -> list:
    """The devices of process `process_index` (default: this one), as jax.local_devices."""
    if process_index is None or process_index == _this_process():
        return registry.local_devices(backend=backend)
    if not 0 <= process_index < process_count():
        raise ValueError(f"Unknown process_index {process_index}")
    return [d for d in devices(backend) if getattr(d, "process_index", 0) == process_index]


class DevicesOfProcesses:
    """The Communicator of a pmap's devices, `local_size` in each process of
    `world`: ranks are global axis indices, process p's from p * local_size."""

    def __init__(self, local_size: int, world):
        self.world, self.local_size = world, local_size
        self.size = local_size * world.size
        self.first = world.rank * local_size
        self._local = communicators.ThreadCommunicator(local_size)

    def _exchange(self, rank, x, combine):
        # (ThreadCommunicator's rendezvous: `combine` runs once per process, on its last device to arrive)
        return self._local._exchange(rank - self.first, x, combine)

    def all_reduce(self, rank, x, op):
        def combine(xs):
            local = functools.reduce(communicators.REDUCE[op], xs)
            return [self.world.all_reduce(self.world.rank, local, op)] * self.local_size
        return self._exchange(rank, x, combine)

    def all_gather(self, rank, x):
        def combine(xs):
            gathered = self.world.all_gather(self.world.rank, np.stack(xs))  # (processes, local devices, ...)
            return [gathered.reshape((self.size, *x.shape))] * self.local_size
        return self._exchange(rank, x, combine)

    def permute(self, rank, x, perm):
        # Every process gathers every device's x and keeps what its devices
        # receive: simple, but moves size times the data a point-to-point
        # exchange would (ppermute across processes is rare in data parallelism).
        def combine(xs):
            every = self.world.all_gather(self.world.rank, np.stack(xs)).reshape((self.size, *x.shape))
            received = [np.zeros_like(x)] * self.local_size
            for source, destination in perm:
                if self.first <= destination < self.first + self.local_size:
                    received[destination - self.first] = every[source]
            return received
        return self._exchange(rank, x, combine)

    def leave(self, rank):
        self._local.leave(rank - self.first)

    def abort(self):
        self._local.abort()
        self.world.abort("a device of its pmap failed")


def communicator(local_size: int):
    """(the communicator of a pmap over `local_size` devices of this process,
    the axis index of its first device)."""
    if world is None:
        return communicators.ThreadCommunicator(local_size), 0
    devices = DevicesOfProcesses(local_size, world)
    return devices, devices.first

"""`irax.pmap`: one program, run on several devices at once (jax.pmap).

    step = irax.pmap(lambda x: x / lax.psum(x, "i"), axis_name="i")
    step(xs)        # xs.shape[0] == the number of devices it runs on

A call goes

    split   each mapped argument is cut along its mapped axis (`in_axes`)
            into one slice per device, and put on that device; unmapped
            arguments are copied to every device
    trace   `f` is traced once on one slice's avals, with `axis_name` bound
            (so collectives know the axis and its size), through the pass
            pipeline: one program, whatever the number of devices
    load    compiled once per backend among the devices (the compile cache),
            loaded on each device (once per argument signature: cached)
    run     device d's program is called from a thread of its own (device 0's
            from the calling thread), bound to rank d of a fresh
            ThreadCommunicator (communicators.py): a collective in the program
            waits on the host for the others (with several processes, the
            axis spans every process's devices: processes.py). A device that fails aborts the
            communicator, so the others fail too instead of waiting forever,
            and the first failure is raised
    stack   the results of the devices, stacked along `out_axes`, make one
            irax.Array on the first device (uncommitted; JAX returns an array
            sharded over the devices). Stacking reads the results, so a pmap
            call returns when its computation is done

Several devices of one process come from IRAX_CPU_DEVICES=N (the CPU split
in N) or from several backends (`devices=[cpu, vulkan]`); docs/distributed.md.
"""
import contextlib
import functools
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from irax import tree_util
from irax.backends.cache import LRU
from irax.config import config
from irax.frontend import collectives, communicators, core, executable, processes, staging
from irax.frontend.array import device_put_numpy, place
from irax.frontend.jit import _Static, _index_tuple
from irax.frontend.vmap import _check_axes_spec, _in_axes, _leaf_axes, vmap
from irax.plugins import registry
from irax.transforms import pipeline

# (f, axis name, size, statics, signature, devices, donated, IRAX_PASSES, trace context) -> (Executables, tree)
_programs = LRU()


def _devices(size, devices, backend):
    """The devices a call of axis size `size` runs on, or JAX's error."""
    if devices is not None:  # (as JAX's: each process runs on its own devices of the list)
        devices = [d for d in devices if not isinstance(d, processes.RemoteDevice)]
        if len(devices) != size:
            raise ValueError(f"Leading axis size of input to pmapped function must equal the number of local devices "
                             f"passed to pmap. Got axis_size={size}, num_local_devices={len(devices)}.")
        return devices
    available = registry.local_devices(backend=backend)
    if size > len(available):
        raise ValueError(f"compiling computation that requires {size} logical devices, but only {len(available)} "
                         f"XLA devices are available (num_replicas={size})")
    return available[:size]


def _split(x, axis, devices):
    """Device d's part of argument `x`: x[..., d, ...] at `axis`, or all of x
    if axis is None (a copy on every device but the one x is on)."""
    value = _host(x) if axis is not None or any(x.device is not d for d in devices) else None
    if axis is None:
        return [x if x.device is d else device_put_numpy(value, d, x.weak_type) for d in devices]
    return [device_put_numpy(np.asarray(np.take(value, d, axis=axis)), device, x.weak_type)
            for d, device in enumerate(devices)]


def _host(x) -> np.ndarray:
    """`x`'s data on the host, read-only: its own buffer where that is host
    memory (the CPU's), without keeping a host copy in `x` as np.asarray
    would; np.asarray for the dtypes DLPack lacks (bfloat16)."""
    try:
        return np.from_dlpack(x)
    except BufferError:
        return np.asarray(x)


def _mapped_axes(f, in_axes, axis_size, arguments, args, kwargs):
    """(each dynamic leaf's mapped axis or None, the mapped size), checked
    as vmap checks them, with pmap's words."""
    try:
        axes, size = _in_axes(f, in_axes, None, arguments, args, kwargs)
    except ValueError as error:
        if "at least one non-None" in str(error) or "at least one argument" in str(error):
            raise ValueError("pmap requires at least one argument with a mapped axis.") from None
        raise ValueError(str(error).replace("vmap", "pmap")) from None
    if axis_size is not None and axis_size != size:
        raise ValueError(f"Specified axis_size {axis_size} doesn't match received axis_size {size}.")
    return axes, size


def _with_statics(f, statics):
    """`f` taking only its dynamic positional arguments, the static ones
    ((position, _Static) pairs) put back in place."""
    def fn(*dynamic, **kwargs):
        args = list(dynamic)
        for i, static in statics:
            args.insert(i, static.value)
        return f(*args, **kwargs)
    core.named_as(fn, f)
    return fn


def _load(name, fn, arguments, axis_name, size, devices, donated):
    """Trace `fn` on device 0's `arguments` with the axis bound, run the
    passes, and load the program on every device: (Executable per device,
    the pytree of its results)."""
    with collectives.axis_env(axis_name, size) if axis_name is not None else contextlib.nullcontext():
        traced = staging.trace_arguments(fn, arguments)
    pipeline.run(traced.module, None, donated=donated)
    text = str(traced.module)
    executables = []
    for device in devices:
        program = executable.load(device, device.backend.compile(text), traced.trace.host_functions)
        lifted = place(name, traced.lifted, device)[1]
        executables.append(executable.Executable(program, traced.out_avals, lifted))
    return executables, traced.out_tree


def _run(name, executables, operands, devices, axis_name, donated):
    """Call each device's program on its operands, concurrently, each bound
    to its rank of one communicator: the results of each device."""
    communicator, first = processes.communicator(len(devices))
    results, errors = [None] * len(devices), [None] * len(devices)

    def run(rank):
        try:
            with collectives.bound(axis_name, communicator, first + rank):
                results[rank] = executable.execute(name, operands[rank], lambda device, placed: executables[rank],
                                                   devices[rank], donated)
            communicator.leave(first + rank)  # (a program makes its host calls before its call returns)
        except BaseException as error:  # the others must not wait for this one at a collective
            errors[rank] = error
            communicator.abort()

    threads = [threading.Thread(target=run, args=(rank,), daemon=True) for rank in range(1, len(devices))]
    for thread in threads:
        thread.start()
    try:
        run(0)
        for thread in threads:
            thread.join()
    except BaseException:  # (KeyboardInterrupt) no thread is left waiting
        communicator.abort()
        raise
    failed = [e for e in errors if e is not None]
    if failed:  # the cause, rather than a device that gave up waiting for it
        raise next((e for e in failed if not _abandoned(e)), failed[0])
    return results


def _abandoned(error) -> bool:
    while error is not None:
        if isinstance(error, communicators.CollectiveError):
            return True
        error = error.__cause__
    return False


def _stack(per_device, axis, device):
    """One output: the devices' arrays stacked along `axis` (None: device 0's)."""
    if axis is None:
        return per_device[0]
    values = [_host(x) for x in per_device]
    if not -values[0].ndim - 1 <= axis <= values[0].ndim:
        raise ValueError(f"axis {axis} is out of bounds for array of dimension {values[0].ndim + 1}")
    return device_put_numpy(np.stack(values, axis=axis), device, per_device[0].weak_type)


def _as_vmap(f, axis_name, axes_spec, out_axes, size, dynamic_args, kwargs):
    """A pmap called inside jit, grad, vmap, lax control flow or another
    pmap's function (nested pmap): JAX stages it into the enclosing program;
    irax runs it as vmap(f, axis_name=...) there, every member on the
    enclosing program's device. The values are JAX's (collectives over
    `axis_name` combine the members: collectives.py); the device checks
    (axis size against the devices) are pmap's."""
    return vmap(f, in_axes=axes_spec, out_axes=out_axes, axis_name=axis_name, axis_size=size)(*dynamic_args, **kwargs)


def pmap(f: Callable, axis_name: Any = None, *, in_axes: Any = 0, out_axes: Any = 0,
         static_broadcasted_argnums: int | Sequence[int] = (), devices: Sequence | None = None,
         backend: str | None = None, axis_size: int | None = None, donate_argnums: int | Sequence[int] = ()) -> Callable:
    """Map `f` over an axis of its arguments, one device per slice, all at
    once (jax.pmap); collectives over `axis_name` inside `f` (lax.psum,
    all_gather, ...) combine the devices' values.

    `in_axes` / `out_axes`: as vmap's (an int, None, or a pytree prefix of
    the arguments / results); keyword arguments are mapped along axis 0.
    `static_broadcasted_argnums`: positional arguments passed to `f` as the
    Python values they are (hashable; each value is a program of its own).
    `devices`: the devices to run on, one per slice (default: the first of
    `backend`'s, or of the default backend's); `axis_size`: the mapped size,
    needed only when no argument is mapped. `donate_argnums`: arrays
    deleted after the call (their slices may be written into)."""
    if not callable(f):
        raise TypeError(f"Expected a callable value, got {f}")
    if isinstance(in_axes, list):
        in_axes = tuple(in_axes)
    _check_axes_spec(in_axes, "in_axes")
    _check_axes_spec(out_axes, "out_axes")
    static = _index_tuple(static_broadcasted_argnums)
    donate = _index_tuple(donate_argnums)
    devices = None if devices is None else tuple(devices)
    name = getattr(f, "__name__", "function")

    @functools.wraps(f)
    def pmapped(*args, **kwargs):
        positions = {i % len(args) for i in static if -len(args) <= i < len(args)}
        statics = tuple((i, _Static(args[i], i)) for i in sorted(positions))
        dynamic_args = [a for i, a in enumerate(args) if i not in positions]
        if isinstance(in_axes, tuple) and positions:
            axes_spec = tuple(a for i, a in enumerate(in_axes) if i not in positions)
        else:
            axes_spec = in_axes
        arguments = staging.Arguments(dynamic_args, kwargs)
        axes, size = _mapped_axes(f, axes_spec, axis_size, arguments, dynamic_args, kwargs)
        on = _devices(size, devices, backend)
        if core.current_trace() is not None or core.current_tape() is not None:
            return _as_vmap(_with_statics(f, statics), axis_name, axes_spec, out_axes, size, dynamic_args, kwargs)
        split = [_split(x, axis, on) for x, axis in zip(arguments.dynamic, axes)]
        operands = [list(per_device) for per_device in zip(*split)] if split else [[] for _ in on]
        device_arguments = staging.Arguments(*arguments.rebuild(operands[0]))
        donated = tuple(k for i in donate if i not in positions
                        for k in device_arguments.dynamic_indices(i - sum(p < i for p in positions)))
        axis = size * processes.process_count()  # the axis spans the devices of every process
        key = (f, axis_name, axis, statics, device_arguments.signature(), tuple(on), donated, config.irax_passes,
               config.trace_context())
        loaded = _programs.get(key)
        if loaded is None:
            fn = _with_statics(f, statics)
            loaded = _programs[key] = _load(name, fn, device_arguments, axis_name, axis, on, donated)
        executables, out_tree = loaded
        results = _run(name, executables, operands, on, axis_name, donated)
        for k in donated:
            arguments.dynamic[k].delete()
        out_leaf_axes = _leaf_axes(out_axes, out_tree.unflatten(range(out_tree.num_leaves)), "out_axes")
        outputs = [_stack(list(per_device), axis, on[0]) for per_device, axis in zip(zip(*results), out_leaf_axes)]
        return tree_util.tree_unflatten(out_tree, outputs)

    return pmapped

"""Devices across the process's life: kept alive to its end, drained
before a fork and marked in the forked child (runtime.Device joins
`live_devices` when made, a Program with a host module `calling_back`).
"""
import atexit
import ctypes
import os
import warnings
import weakref

from iree.runtime import _binding

live_devices = weakref.WeakSet()
calling_back = weakref.WeakSet()  # the Programs with a host module


@atexit.register
def _before_teardown():
    """The interpreter's last teardown frees objects in no particular order,
    and IREE frees a buffer or a semaphore safely only while its device
    lives: a script whose arrays outlived the device crashed in the last
    garbage collection (a jitted `lax.scan`, 3 runs in 8). So each device
    finishes its queued work and is then kept alive to the end of the
    process (its memory and threads go with the process; the bindings' leak
    checker is told). The contexts holding a host module go first, whose
    Python functions IREE frees with them: a script calling a pure_callback
    crashed 2 runs in 3 (while the callbacks also kept their trace alive in
    a reference cycle; with either fix alone, 0 in 8)."""
    for device in list(live_devices):
        if not device._forked or device._runs_after_fork:  # (else its work never finishes in this forked child)
            device.drain()
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(device))
    for program in list(calling_back):
        program._context = program._inline_context = program.inline_call = None
    _binding.disable_leak_checker()


def drain_all() -> None:
    """Wait until every call queued so far on every device is done, and with
    it every callback it makes (irax.effects_barrier)."""
    for device in list(live_devices):
        if not device._forked or device._runs_after_fork:  # (else its work never finishes in this forked child)
            device.drain()


# os.fork() after the runtime started: IREE's devices run on threads
# (local-task's workers, the Vulkan driver's), which the child does not have,
# so a queued call there would wait forever. A fresh runtime in the child is
# out of reach (IREE's Python API hands out its cached driver, whose task
# executor lost its threads), but an inline twin runs on the calling thread:
# the child runs every call on it, after the parent drained its queues before
# forking, so nothing the child waits for is left on the parent's threads.
# Devices without a twin refuse work in the child (Device._check_usable);
# the parent is warned at fork that they will, in JAX's words.
def _before_fork():
    for device in list(live_devices):
        device.drain()
    stuck = sorted(str(d) for d in live_devices if not d._runs_after_fork)
    if stuck:
        warnings.warn("os.fork() was called. os.fork() is incompatible with multithreaded code, and irax is "
                      f"multithreaded: in the child process, {', '.join(stuck)} cannot run (they raise DeviceError "
                      "there; the CPU runs its calls on the calling thread). Use multiprocessing's 'spawn' start "
                      "method for child processes that use them.", RuntimeWarning, stacklevel=2)


def _after_fork_in_child():
    for device in list(live_devices):
        device._forked = True
        # Freeing a device's IREE objects waits for its threads, which this
        # child does not have: at exit it would hang. So they are never freed
        # here, and the bindings are told not to list them as leaks at exit.
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(device))
    _binding.disable_leak_checker()


if hasattr(os, "register_at_fork"):  # Unix only
    os.register_at_fork(before=_before_fork, after_in_child=_after_fork_in_child)

"""How an array's elements lie on devices (`jax.sharding`), for irax's arrays:
each lies whole on one device, so its sharding is a SingleDeviceSharding.

    x.sharding                                  SingleDeviceSharding(device=CpuDevice(id=0), memory_kind=device)
    irax.device_put(x, SingleDeviceSharding(d)) x on d, as device_put(x, d)

`pmap` spreads work over devices with arrays of its own; meshes and named
shardings of one array over several devices (jit's in_shardings) are not
irax's: each device has one memory space, `memory_kind` "device".
"""
from __future__ import annotations

from typing import Any


class Sharding:
    """What every sharding says: its devices and how a global shape is cut."""

    memory_kind = "device"

    @property
    def device_set(self) -> set:
        return set(self._device_assignment)

    @property
    def addressable_devices(self) -> set:
        return self.device_set

    @property
    def num_devices(self) -> int:
        return len(self._device_assignment)

    is_fully_addressable = True
    has_addressable_devices = True

    def addressable_devices_indices_map(self, global_shape: tuple) -> dict:
        return self.devices_indices_map(global_shape)


class SingleDeviceSharding(Sharding):
    """The whole array on one device (jax.sharding.SingleDeviceSharding)."""

    is_fully_replicated = True

    def __init__(self, device: Any, *, memory_kind: str | None = None):
        if memory_kind not in (None, "device"):
            raise ValueError(f"irax's devices have one memory space, 'device'; got memory_kind={memory_kind!r}.")
        self._device = device

    @property
    def _device_assignment(self) -> tuple:
        return (self._device,)

    def shard_shape(self, global_shape: tuple) -> tuple:
        return tuple(global_shape)

    def devices_indices_map(self, global_shape: tuple) -> dict:
        return {self._device: (slice(None),) * len(global_shape)}

    def with_memory_kind(self, kind: str) -> SingleDeviceSharding:
        return SingleDeviceSharding(self._device, memory_kind=kind)

    def is_equivalent_to(self, other: Any, ndim: int) -> bool:
        return self == other

    def __eq__(self, other):
        return isinstance(other, SingleDeviceSharding) and other._device is self._device

    def __hash__(self):
        return hash(("SingleDeviceSharding", id(self._device)))

    def __repr__(self):
        return f"SingleDeviceSharding(device={self._device!r}, memory_kind={self.memory_kind})"

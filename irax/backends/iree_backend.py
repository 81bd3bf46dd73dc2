"""A backend that is one IREE compile target plus one IREE runtime driver.

Every built-in backend is an instance of this class with its own settings
(cpu.py, vulkan.py, cuda.py, rocm.py); a plugin may use it too, or write its
own classes following the `irax.plugins` protocols (Backend, Device, Program).

A flag whose value is a setting (`setting_flags`, e.g. cuda's
`{"--iree-cuda-target": "irax_cuda_target"}`) is read from irax.config at
each compile, so `irax.config.update("irax_cuda_target", "sm_86")` applies
to the next compile (and is part of its cache key), not only at import.
"""
import functools

import iree.runtime as rt

from irax.backends import cache
from irax.backends.runtime import IREE_ERRORS, Device
from irax.config import config
from irax.plugins import API_VERSION


class IreeBackend:
    api_version = API_VERSION

    def __init__(self, name, target_backend, driver, compile_flags=(), priority=0, inline_driver=None,
                 setting_flags=None):
        self.name = name
        self.target_backend = target_backend
        self.driver = driver
        self.inline_driver = inline_driver
        self.fixed_flags = tuple(compile_flags)
        self.setting_flags = dict(setting_flags or {})
        self.priority = priority

    @property
    def compile_flags(self) -> tuple:
        return self.fixed_flags + tuple(f"{flag}={getattr(config, name)}" for flag, name in self.setting_flags.items())

    def __repr__(self):
        return f"IreeBackend({self.name!r}, target={self.target_backend!r}, driver={self.driver!r})"

    @functools.cached_property
    def _devices(self):
        driver = rt.get_driver(self.driver)
        inline = rt.get_driver(self.inline_driver) if self.inline_driver else None
        return [
            Device(self.name, i, self.driver, self.create_hal_device(driver, info), self,
                   inline and inline.create_default_device())
            for i, info in enumerate(driver.query_available_devices())
        ]

    def create_hal_device(self, driver, info):
        """IREE's device for `info`, one of `driver.query_available_devices()`."""
        return driver.create_device(info)

    def available(self) -> bool:
        try:
            return bool(self._devices)
        except IREE_ERRORS:
            return False

    def devices(self) -> list:
        return list(self._devices)

    def compile(self, mlir_text: str) -> bytes:
        return cache.cached_compile(mlir_text, self.target_backend, self.compile_flags)

"""A backend that is one IREE compile target plus one IREE runtime driver.

Every built-in backend is an instance of this class with its own settings
(cpu.py, vulkan.py, cuda.py, rocm.py); a plugin may use it too, or write its
own classes following the `irax.plugins` protocols (Backend, Device, Program).

A flag whose value is a setting (`setting_flags`, e.g. cuda's
`{"--iree-cuda-target": "irax_cuda_target"}`) is read from irax.config at
each compile, so `irax.config.update("irax_cuda_target", "sm_86")` applies
to the next compile (and is part of its cache key), not only at import.

A backend may make choices of its own on irax's module first (`prepare`,
text -> text). Its programs are cached under the text before that step,
with the step's version (`prepare_steps.version`: a hash of its code) and
the settings it reads (`prepare_settings`), so that a cache hit runs no
prepare step: it runs at a miss only, on the compile's path (where the
prepared text's own entry, if there is one, spares the compile).
"""
import contextlib
import functools
import os

import iree.runtime as rt

from irax.backends import cache, prepare_steps
from irax.backends.runtime import IREE_ERRORS, Device
from irax.config import config
from irax.plugins import API_VERSION, registry


# IREE's runtime gives a device an MPI channel provider (for its own
# collectives) when it sees an MPI launcher's variables, and fails to make
# the device unless libmpi.so is a loadable OpenMPI (the mpich wheel's is a
# linker script). irax's collectives across processes are its own
# (irax/distributed.py), so devices are made with these out of sight
# (the variables IREE's iree/hal/utils/mpi_channel_provider.c looks for).
_MPI_LAUNCHER_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MPIEXEC_HOSTNAME")


@contextlib.contextmanager
def _without_mpi_launcher():
    hidden = {name: os.environ.pop(name) for name in _MPI_LAUNCHER_VARIABLES if name in os.environ}
    try:
        yield
    finally:
        os.environ.update(hidden)


class IreeBackend:
    api_version = API_VERSION

    def __init__(self, name, target_backend, driver, compile_flags=(), priority=0, inline_driver=None,
                 setting_flags=None, prepare=None, prepare_settings=()):
        self.name = name
        self.target_backend = target_backend
        self.driver = driver
        self.inline_driver = inline_driver
        self.fixed_flags = tuple(compile_flags)
        self.setting_flags = dict(setting_flags or {})
        self.priority = priority
        self._prepare = prepare
        self.prepare_settings = tuple(prepare_settings)  # the config settings `prepare` reads

    @property
    def compile_flags(self) -> tuple:
        return self.fixed_flags + tuple(f"{flag}={getattr(config, name)}" for flag, name in self.setting_flags.items())

    def __repr__(self):
        return f"IreeBackend({self.name!r}, target={self.target_backend!r}, driver={self.driver!r})"

    @functools.cached_property
    def _devices(self):
        driver = self.get_driver()
        return [self._make_device(driver, i, info) for i, info in enumerate(self.device_infos(driver))]

    def _make_device(self, driver, i, info) -> Device:
        inline = rt.get_driver(self.inline_driver) if self.inline_driver else None
        with _without_mpi_launcher():
            return Device(self.name, i, self.driver, self.create_hal_device(driver, info), self,
                          inline and inline.create_default_device())

    def device_lost(self, device: Device) -> None:
        """Put a new device in the place of `device`, whose IREE device is
        lost for good (a driver fault): the same id, a new IREE device from
        the driver (lavapipe's lost devices stay lost; a new one runs)."""
        try:
            driver = self.get_driver()
            self._devices[device.id] = self._make_device(driver, device.id, self.device_infos(driver)[device.id])
        except IREE_ERRORS:
            return  # (no new device: the lost one stays, and says it is lost when used)
        registry.devices_changed()

    def get_driver(self):
        """IREE's driver (one per process: IREE's Python API caches it)."""
        return rt.get_driver(self.driver)

    def device_infos(self, driver) -> list:
        """One entry of `driver.query_available_devices()` per Device to
        make (an entry may repeat: each makes a device of its own)."""
        return driver.query_available_devices()

    def create_hal_device(self, driver, info):
        """IREE's device for `info`, one of `driver.query_available_devices()`."""
        return driver.create_device(info)

    def available(self) -> bool:
        return self.device_count() > 0

    def device_count(self) -> int:
        """How many devices `devices()` has (0 where the driver cannot say),
        without making them where they are not made yet: a Vulkan device
        starts threads that poll the driver (lavapipe: two cores' worth,
        which slowed MPI's all-reduce 10x in a process that never used it)."""
        try:
            if "_devices" in vars(self):
                return len(self._devices)
            with _without_mpi_launcher():
                return len(self.device_infos(self.get_driver()))
        except IREE_ERRORS:
            return 0

    def devices(self) -> list:
        return list(self._devices)

    def prepare(self, mlir_text: str) -> str:
        """The module as IREE gets it: irax's, with this target's own choices
        made on it (`prepare`, a text -> text function, if given)."""
        return self._prepare(mlir_text) if self._prepare else mlir_text

    def compile(self, mlir_text: str) -> bytes:
        return cache.cached_compile(*self.compile_arguments(mlir_text))

    def compile_arguments(self, mlir_text: str) -> tuple:
        """`cache.cached_compile`'s arguments for the program of `mlir_text`
        (text, target, flags, key, prepare): keyed on the text as given, and
        the prepare step's version where there is one, which then runs at a
        miss only. (The function itself, not this backend, which holds its
        devices: tiered jit's background thread compiles with these.)"""
        flags = self.compile_flags
        prepared_by = None
        if self._prepare is not None:
            prepared_by = [prepare_steps.version(self._prepare),
                           {name: getattr(config, name) for name in self.prepare_settings}]
        key = cache.text_key(mlir_text, self.target_backend, flags, prepared_by)
        return mlir_text, self.target_backend, flags, key, self._prepare

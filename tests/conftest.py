"""The core numerical tests run on every platform in PLATFORMS that is present.

Each test of a module in CORE gets a `platform` parameter: `test_exp[cpu]`
runs as written (on the default device, the CPU), `test_exp[vulkan]` runs
under `irax.default_device(vulkan)`, so its arrays and programs live there.
CI installs Mesa's lavapipe, a software Vulkan driver; without a Vulkan
driver the vulkan copies skip, naming the reason.

DIFFERENCES lists where a platform genuinely differs, each with why; those
tests skip there.
"""
import pytest

import irax
from helpers import device_or_skip

PLATFORMS = ("cpu", "vulkan")
# The modules whose results depend on the code generated for the device.
# (Gradients on Vulkan: test_devices.py. Each vulkan copy compiles its own
# programs, which is most of a cold run's time.)
CORE = {"test_control_flow", "test_elementwise", "test_indexing", "test_linalg", "test_nn", "test_reductions",
        "test_shape"}

# platform -> test -> (the parameter ids, after the platform's, where it
# differs; why). Those tests skip there.
DIFFERENCES = {
    "vulkan": {
        "test_updates_at_a_scalar_index_array_like_jax": (
            {"set-3", "set--4", "set-9", "set no wrap--1", "set no wrap--3", "set no wrap-3", "set no wrap--4",
             "set no wrap-9"},
            "a dropped x.at[i].set (i traced, out of bounds) inserts an empty slice, which keeps a donated x "
            "updated in place on the CPU; Vulkan cannot bind an empty buffer (a DeviceError there)"),
        "test_values": (
            {"gelu"},
            "tanh(-30) on Vulkan is 1e-7 from -1 (GPU math), so gelu's 1 + tanh(...) gives -2.7e-6, not -0.0"),
    },
}


def pytest_generate_tests(metafunc):
    if metafunc.module.__name__.rpartition(".")[2] in CORE:
        metafunc.parametrize("platform", PLATFORMS, indirect=True)


def _difference(platform, item) -> str:
    name, _, params = item.name.rstrip("]").partition("[")
    ids, why = DIFFERENCES.get(platform, {}).get(name, ((), ""))
    return why if params.partition("-")[2] in ids else ""


@pytest.fixture(autouse=True)
def platform(request):
    """The platform a core test runs on (None outside CORE): its first device
    is the default device for the test."""
    name = getattr(request, "param", None)
    if name is None or name == "cpu":
        yield name
        return
    device = device_or_skip(name)
    why = _difference(name, request.node)
    if why:
        pytest.skip(f"{name}: {why}")
    with irax.default_device(device):
        yield name

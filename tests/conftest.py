"""The core numerical tests run on every platform in PLATFORMS that is present.

Each test of a module in CORE gets a `platform` parameter: `test_exp[cpu]`
runs as written (on the default device, the CPU), `test_exp[vulkan]` runs
under `irax.default_device(vulkan)`, so its arrays and programs live there.
CI installs Mesa's lavapipe, a software Vulkan driver; without a Vulkan
driver the vulkan copies skip, naming the reason. `sync-cpu` is the example
plugin's backend (examples/plugins/irax_example), written from
docs/plugins.md alone: it runs them to show that the plugin protocols are
all irax needs. Its tests install the plugin for the session (~3 s, once).

DIFFERENCES lists where a platform genuinely differs, each with why; those
tests skip there.
"""
import os

import pytest

import irax
from helpers import example_plugin  # noqa: F401 (a fixture)
from helpers import DEVICE_LOST, device_or_skip, lost_devices, use_example_plugin, x64_mode

# Tests check the programs IREE compiles, not tiered jit's NumPy evaluation of
# their first calls (tests/test_tiered_jit.py turns tiers on for its own; run
# the suite with IRAX_TIERED_JIT=1 to check the evaluator on every program).
os.environ.setdefault("IRAX_TIERED_JIT", "0")

PLATFORMS = ("cpu", "vulkan", "sync-cpu")
PLUGIN_PLATFORMS = {"sync-cpu"}  # from the example plugin package
# The modules whose results depend on the code generated for the device.
# (Gradients on Vulkan: test_devices.py. Each vulkan copy compiles its own
# programs, which is most of a cold run's time.)
CORE = {"test_checkpoint", "test_complex", "test_complex_linalg", "test_complex_ordering", "test_control_flow", "test_convolution", "test_eig", "test_eigh", "test_elementwise", "test_fft", "test_float8", "test_float64_math",
        "test_grad_python_control_flow", "test_indexing", "test_integer_semantics", "test_interop", "test_lax",
        "test_linalg", "test_linalg_decompositions", "test_nn", "test_numpy_extra", "test_qr", "test_random", "test_reductions", "test_scipy", "test_scipy_special",
        "test_shape", "test_sorting", "test_special_values", "test_svd", "test_vmap", "test_vmap_dynamic_slices"}

# platform -> test -> (the parameter ids, after the platform's, where it
# differs; why). Those tests skip there.
DIFFERENCES = {
    "vulkan": {
        "test_composed_shape_ops_value_and_grad": (
            {""},
            "IREE 3.13's Vulkan queue can signal its wakeup semaphore out of order from two threads "
            "(queue.c:2867), which lavapipe answers by losing the device for good; this gradient program "
            "triggers it within a few dozen calls under load (it failed two CI runs): docs/architecture.md"),
        "test_updates_at_a_scalar_index_array_like_jax": (
            {"set-3", "set--4", "set-9", "set no wrap--1", "set no wrap--3", "set no wrap-3", "set no wrap--4",
             "set no wrap-9"},
            "a dropped x.at[i].set (i traced, out of bounds) inserts an empty slice, which keeps a donated x "
            "updated in place on the CPU; Vulkan cannot bind an empty buffer (a DeviceError there)"),
        "test_subnormals_under_jit": (
            {"float32", "bfloat16"},
            "GPU math does not keep float32 subnormals: lavapipe's log(1e-45) is log(FLT_MIN) = -87.3, its "
            "cbrt(1e-45) is 8e-14, and fmod(1, 1e-45) is -inf (x - y * trunc(x / y) with x / y = inf)"),
        "test_float64_under_jit": (
            {""},
            "IREE's Vulkan code cannot round float64 (math.roundeven expands to an i64 bitcast it cannot "
            "legalize), so rint and round of float64 do not compile there"),
        "test_eigh_float64_in_x64_mode": (
            {""},
            "IREE's Vulkan code cannot bitcast float64 to i64 (arith.bitcast is not legalized), which the sort "
            "of float64 keys does (eigh sorts its eigenvalues)"),
        "test_complex128_in_x64_mode": (
            {""},
            "IREE's Vulkan code cannot bitcast float64 to i64 (arith.bitcast is not legalized), which the sort "
            "of float64 keys does (eigvalsh of complex128 sorts its eigenvalues)"),
        "test_eig_float64_in_x64_mode": (
            {""},
            "IREE's Vulkan code cannot bitcast i64 to float64 (arith.bitcast is not legalized), which ldexp of "
            "float64 does (eig scales the matrix by an exact power of two)"),
        "test_expm1_of_a_signed_zero_real_part_is_plus_zero": (
            {""},
            "Vulkan promises no signed zeros (IREE sets no SignedZeroInfNanPreserve): on lavapipe -0 + 0 stays "
            "-0, so complex expm1(-0 + 0j)'s real part is -0 there"),
        "test_values": (
            {"gelu"},
            "tanh(-30) on Vulkan is 1e-7 from -1 (GPU math), so gelu's 1 + tanh(...) gives -2.7e-6, not -0.0"),
    },
}


def pytest_generate_tests(metafunc):
    if metafunc.module.__name__.rpartition(".")[2] in CORE:
        metafunc.parametrize("platform", PLATFORMS, indirect=True)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A test that fails because lavapipe lost its Vulkan device skips with
    the reason (see helpers.DEVICE_LOST), as the later vulkan tests of the
    process do: irax puts a new device in its place, but a long run of tests
    on lavapipe after a loss is not proven (a CI run lost a worker to a crash
    in a vulkan test, cause unknown), so the suite does not rely on it."""
    report = (yield).get_result()
    error = call.excinfo and str(call.excinfo.value)
    lost = error and call.excinfo.errisinstance(irax.errors.DeviceError) and DEVICE_LOST in error
    if report.failed and lost and "VulkanDevice" in error:
        lost_devices.setdefault("vulkan", error.splitlines()[0][:300])
        report.outcome = "skipped"
        report.longrepr = (str(item.path), item.location[1], "Skipped: lavapipe lost the Vulkan device (IREE 3.13's "
                           f"out-of-order semaphore signal, docs/architecture.md): {error.splitlines()[0][:300]}")


def _difference(platform, item) -> str:
    name, _, params = item.name.rstrip("]").partition("[")
    ids, why = DIFFERENCES.get(platform, {}).get(name, ((), ""))
    return why if params[len(platform) + 1:] in ids else ""


@pytest.fixture(autouse=True)
def platform(request):
    """The platform a core test runs on (None outside CORE): its first device
    is the default device for the test."""
    name = getattr(request, "param", None)
    if name is None or name == "cpu":
        yield name
        return
    if name in PLUGIN_PLATFORMS:
        use_example_plugin(request)
    device = device_or_skip(name)
    why = _difference(name, request.node)
    if why:
        pytest.skip(f"{name}: {why}")
    with irax.default_device(device):
        yield name


@pytest.fixture
def queued_not_inline(monkeypatch):
    """Every call queued on the device's timeline, none run on the calling
    thread: -1, past the setting's checks (0 still inlines calls without inputs)."""
    monkeypatch.setitem(vars(irax.config), "irax_inline_bytes", -1)


@pytest.fixture
def x64():
    """64-bit mode for one test, in irax and in JAX."""
    with x64_mode(True):
        yield

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
import gc
import os

import pytest
from _pytest.runner import runtestprotocol

import irax
from helpers import example_plugin  # noqa: F401 (a fixture)
from helpers import DEVICE_LOST, device_or_skip, use_example_plugin, x64_mode

# Tests check the programs IREE compiles, not tiered jit's NumPy evaluation of
# their first calls, on by default (tests/test_tiered_jit.py turns tiers on for
# its own; run the suite with IRAX_TIERED_JIT=1 and an empty IRAX_CACHE_DIR to
# check the evaluator on every program).
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
        "test_reduce_precision_float64_bit_for_bit_as_jax": (
            {"e5m10", "e8m23", "e4m3"},
            "IREE's Vulkan code cannot bitcast float64 to i64 (arith.bitcast is not legalized), which "
            "reduce_precision of float64 rounds on (to (11, 52) it is float64 itself: nothing to round)"),
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


# A device that lavapipe loses (IREE 3.13's out-of-order semaphore signal,
# docs/architecture.md) is replaced by irax with a new one. The test that met
# the loss runs again, on the new device, RERUNS_AFTER_A_LOSS times at most;
# the process's later tests run on the new device as on the old. A test that
# loses its device on every try fails. Losses are listed at the end of the
# run. (Skipping the process's later vulkan tests instead hid 1400-2400 of
# them from a run, and a Vulkan regression with them.) Two reruns: a loss
# and its rerun's loss came together twice in two CI runs of 13,700 tests
# (a float64 svd gradient, an eigh batch; each passes alone), failing them.
RERUNS_AFTER_A_LOSS = 2
LOSS_PROPERTY = "irax_device_lost"  # in a report's user_properties: {"tries": n, "losses": [(try, error)]}
_losses = {}  # test id -> (that property, its last try's outcomes): from this process's reports or xdist's workers


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Mark a report failed by a lost device with the error's first line."""
    report = yield
    error = call.excinfo and call.excinfo.errisinstance(irax.errors.DeviceError) and str(call.excinfo.value)
    if report.failed and error and DEVICE_LOST in error:
        report.irax_lost_device = error.splitlines()[0][:300]
    return report


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item, nextitem):
    """pytest's protocol (runner.py), trying a test again on the new device
    when a lost device failed it; only the last try's reports are logged."""
    item.ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
    losses = []
    for tries in range(1, 2 + RERUNS_AFTER_A_LOSS):
        reports = runtestprotocol(item, nextitem=nextitem, log=False)
        lost = [r.irax_lost_device for r in reports if hasattr(r, "irax_lost_device")]
        if not lost:
            break
        losses.append((tries, lost[0]))
    for report in reports:
        if losses:
            report.user_properties.append((LOSS_PROPERTY, {"tries": tries, "losses": losses}))
        item.ihook.pytest_runtest_logreport(report=report)
    item.ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
    return True


def pytest_runtest_logreport(report):
    """Note the losses of a test, and how its last try went (the worst of its phases)."""
    for name, value in report.user_properties:
        if name == LOSS_PROPERTY:
            _losses.setdefault(report.nodeid, (value, []))[1].append(report.outcome)


def pytest_terminal_summary(terminalreporter):
    if not _losses:
        return
    terminalreporter.section("lost devices: the tests that met a loss, tried again on the new device", yellow=True)
    for test, (lost, outcomes) in _losses.items():
        outcome = next((o for o in ("failed", "skipped") if o in outcomes), "passed")
        errors = "; ".join(f"try {n}: {error}" for n, error in lost["losses"])
        terminalreporter.line(f"{test}: lost its device in {len(lost['losses'])} of {lost['tries']} tries, "
                              f"{outcome.upper() if outcome == 'failed' else outcome} ({errors})")


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
    if name == "vulkan":
        _lose_if_asked(device)
    with irax.default_device(device):
        yield name


# A worker's memory maps (/proc/self/maps) at which it drops its loaded
# programs after a test module (irax.clear_caches; the disk cache keeps
# them, so a later test loads, not compiles). Each program loaded on Vulkan
# takes ~2 maps (lavapipe's), freed for reuse when the program is dropped;
# a worker keeping every module's programs passed Linux's 65,530
# (vm.max_map_count) near the end of the suite, and IREE's next load failed
# ("mprotect failed; RESOURCE_EXHAUSTED"). With 30,000 here a worker still
# reached 40,500 (a module adds thousands; not all are freed at once).
MAPS_KEPT_AT_MOST = 20_000


def _memory_maps() -> int:
    try:
        with open("/proc/self/maps") as maps:
            return sum(1 for _ in maps)
    except OSError:  # (not Linux: no such limit to keep under)
        return 0


@pytest.fixture(autouse=True, scope="module")
def programs_dropped_where_maps_run_high():
    yield
    if _memory_maps() > MAPS_KEPT_AT_MOST:
        irax.clear_caches()
        gc.collect()


# IRAX_TEST_LOSE_VULKAN=3,7,8: the vulkan copies that this process starts
# 3rd, 7th and 8th (a rerun counts) begin on a device that lavapipe lost, as
# IREE reports it, to check what a loss does to a run (tests/test_device_loss.py).
LOSE_AT = {int(n) for n in os.environ.get("IRAX_TEST_LOSE_VULKAN", "").split(",") if n.strip()}
_vulkan_starts = 0


def _lose_if_asked(device):
    global _vulkan_starts
    _vulkan_starts += 1
    if _vulkan_starts in LOSE_AT:
        device._queued += 1  # a call still queued, which fails as lavapipe fails it
        device._timeline.fail(f"[vkSignalSemaphore] VK_ERROR_DEVICE_LOST (IRAX_TEST_LOSE_VULKAN={_vulkan_starts})")


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

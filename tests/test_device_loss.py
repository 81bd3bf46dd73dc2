"""What the test suite does when lavapipe loses its Vulkan device (IREE
3.13's out-of-order semaphore signal, docs/architecture.md): the test that
met the loss runs again on the new device irax makes, the later tests run
there too, and a test that loses its device on every try fails the run.
(Skipping the later vulkan tests of the process instead hid 1400-2400 of
them, and with them any Vulkan regression: the run still passed.)"""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import device_or_skip
from irax.backends import runtime
from irax.errors import DeviceError

ROOT = Path(__file__).resolve().parents[1]
TESTS = [f"tests/test_elementwise.py::test_unary_float32[vulkan-shape0-{op}]"
         for op in ("abs", "arccos", "arccosh", "arcsin")]


def test_a_lost_vulkan_device_fails_nothing_it_did_not_break_and_hides_nothing():
    """Four vulkan tests, the device lost (conftest's IRAX_TEST_LOSE_VULKAN)
    as the 2nd starts, as the 3rd starts and again as it starts over, twice:
    the 2nd passes on its second try, the 3rd fails, the 4th runs on the
    fourth device."""
    device_or_skip("vulkan")
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:xdist", "-p", "no:cacheprovider", "-rA",
                           "-W", "ignore::RuntimeWarning", *TESTS], cwd=ROOT, capture_output=True, text=True,
                          timeout=600, env={**os.environ, "IRAX_TEST_LOSE_VULKAN": "2,4,5,6"})
    out = done.stdout
    assert done.returncode == 1, out[-5000:] + done.stderr[-2000:]
    assert "1 failed, 3 passed" in out, out[-5000:]
    assert f"FAILED {TESTS[2]}" in out and all(f"PASSED {t}" in out for t in TESTS[:2] + TESTS[3:]), out[-5000:]
    summary = out[out.index("lost devices"):out.index("short test summary")]
    assert f"{TESTS[1]}: lost its device in 1 of 2 tries, passed (try 1: VulkanDevice(id=0): the device itself " \
           "is lost" in summary, summary
    assert f"{TESTS[2]}: lost its device in 3 of 3 tries, FAILED" in summary, summary
    assert TESTS[0] not in summary and TESTS[3] not in summary


class _LostDevice:
    lost_for_good = "[vkSignalSemaphore] VK_ERROR_DEVICE_LOST"

    def __repr__(self):
        return "VulkanDevice(id=0)"


def test_a_lost_device_that_was_not_replaced_fails_its_tests(monkeypatch):
    """Where irax could not make a new device, the tests that ask for one fail, saying why."""
    monkeypatch.setattr("irax.devices", lambda name: [_LostDevice()])
    with pytest.raises(pytest.fail.Exception, match=r"VulkanDevice\(id=0\) was lost \(\[vkSignalSemaphore\] "
                                                    r"VK_ERROR_DEVICE_LOST\) and irax could not make a new device"):
        device_or_skip("vulkan")


def test_a_callback_that_meets_the_lost_device_says_the_device_is_lost():
    """A host callback waiting on the device (a copy to the host in a Vulkan
    loop) can be the first to see it lost: the call's DeviceError says the
    device is lost, as a computation's does, so that a user knows to move to
    the new device and the suite runs the test again there (its message said
    only that a callback failed, which failed a CI run)."""
    runtime._in_callback.error = RuntimeError("synchronous fence failure: [vkWaitSemaphores] VK_ERROR_DEVICE_LOST")
    with pytest.raises(DeviceError, match=r"A callback failed .*VK_ERROR_DEVICE_LOST; the device itself is lost"):
        try:
            raise RuntimeError("Error invoking function")
        except RuntimeError as error:
            runtime.raise_call_error("VulkanDevice(id=0)", error, "; the device itself is lost (a driver error)")
    assert runtime._in_callback.error is None

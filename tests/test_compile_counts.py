"""Values never cause compiles: an eager op on a Python value (an index, a
slice start) runs the same kernel for every value.

Each scenario runs in a fresh process with an empty compile cache and counts
IREE compiles (irax.backends.cache.stats()) around its loop; the loop's
results are checked against NumPy there too.
"""
import json
import os
import subprocess
import sys

import pytest

N = 1000

# A scenario: (code run once per i, giving the irax result and NumPy's, with
# `x` a 1-D float array of n elements, `y` a (4, 5) int array and `xn`,
# `yn` their NumPy copies; the values of i). Its loop may compile on its
# first i only.
GOALS = {  # each in a process of its own: at most 2 compiles for N values of i
    "x[i]": ("x[i], xn[i]", f"range({N})"),
    "x[i:i+3]": ("x[i:i + 3], xn[i:i + 3]", f"range({N} - 2)"),
    "x.at[i].set(1.0)": ("x.at[i].set(1.0), np.where(np.arange(n) == i, np.float32(1), xn)", f"range({N})"),
}
MORE = {  # all in one process
    "x[-i]": ("x[-i], xn[-i]", "range(1, 9)"),
    "x[i:j:2]": ("x[i:i + 5:2], xn[i:i + 5:2]", "range(9)"),
    "x[j:i:-2]": ("x[i + 4:i:-2], xn[i + 4:i:-2]", "range(9)"),
    "y[i, j]": ("y[i, -1 - i], yn[i, -1 - i]", "range(-3, 4)"),
    "y[i] (a row)": ("y[i], yn[i]", "range(-3, 4)"),
    "y[i, 1:3]": ("y[i, 1:3], yn[i, 1:3]", "range(4)"),
    "x.at[i].add(2)": ("x.at[i].add(2), np.where(np.arange(n) == i % n, xn + 2, xn)", "range(-4, 8)"),
    "x.at[i].get()": ("x.at[i].get(), xn[i]", "range(-4, 8)"),
    "y.at[i, j].set(-1)": ("y.at[i, i + 1].set(-1), np.where((np.arange(4)[:, None] == i) & (np.arange(5) == i + 1), "
                           "-1, yn)", "range(4)"),
    "y[idx, i] (a gather)": ("y[np.array([0, 2]), i], yn[[0, 2], i]", "range(-5, 5)"),
    # an update's slice start is an operand too (it was a param: a kernel per start)
    "x.at[i:i+3].add(2)": ("x.at[i:i + 3].add(2), np.where((np.arange(n) >= i) & (np.arange(n) < i + 3), xn + 2, xn)",
                           "range(6)"),
    "y.at[i:i+2, 1:4].set(-1)": ("y.at[i:i + 2, 1:4].set(-1), np.where((np.arange(4)[:, None] >= i) & "
                                 "(np.arange(4)[:, None] < i + 2) & (np.arange(5) >= 1) & (np.arange(5) < 4), -1, yn)",
                                 "range(3)"),
    "y.at[j, i:i+2].max(7)": ("y.at[1, i:i + 2].max(7), np.where((np.arange(4)[:, None] == 1) & "
                              "(np.arange(5) >= i) & (np.arange(5) < i + 2), np.maximum(yn, 7), yn)", "range(4)"),
}
# Negative starts, starts past the end: clamped so that x[:3] fits, in the kernel
DYNAMIC_UPDATE_SLICE = ("lax.dynamic_update_slice(x, x[:3], (i,)), np.concatenate([xn[:(s := min(max(i + n if i < 0 "
                        "else i, 0), n - 3))], xn[:3], xn[s + 3:]])", "range(-20, 20, 8)")
# The same starts read a window: counted from the end, then clamped so that it fits, in the kernel
DYNAMIC_SLICE = ("lax.dynamic_slice(x, (i,), (3,)), xn[(s := min(max(i + n if i < 0 else i, 0), n - 3)):s + 3]",
                 "range(-20, 20, 8)")

SCRIPT = """
import json, sys
import numpy as np
import irax.numpy as jnp
from irax import lax
from irax.backends import cache

scenarios, n = json.loads(sys.argv[1]), int(sys.argv[2])
xn = np.arange(n, dtype=np.float32) * 1.5 - 7
yn = np.arange(20, dtype=np.int32).reshape(4, 5)
x, y = jnp.asarray(xn), jnp.asarray(yn)
counts = {}
for name, (code, values) in scenarios.items():
    before = cache.stats()["compiles"]
    for step, i in enumerate(eval(values)):
        got, want = eval(code)
        np.testing.assert_array_equal(np.asarray(got), want, err_msg=f"{name}, i = {i}")
        if step == 0:
            first = cache.stats()["compiles"]
    counts[name] = (first - before, cache.stats()["compiles"] - before)
print(json.dumps(counts))
"""


def compile_counts(scenarios, n, cache_dir):
    """{name: (compiles of the first i, of all)} for `scenarios` run in a
    fresh process whose compile cache is the empty `cache_dir`."""
    env = dict(os.environ, IRAX_CACHE_DIR=str(cache_dir), IRAX_PLATFORMS="cpu")
    run = subprocess.run([sys.executable, "-c", SCRIPT, json.dumps(scenarios), str(n)],
                         capture_output=True, text=True, env=env, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("name", GOALS)
def test_a_loop_over_values_compiles_at_most_twice(name, tmp_path):
    (first, total), = compile_counts({name: GOALS[name]}, N, tmp_path).values()
    assert total <= 2, f"{name} for {N} values of i: {total} compiles"
    assert total == first


def test_other_indexing_loops_compile_on_their_first_value_only(tmp_path):
    counts = compile_counts(MORE, 16, tmp_path)
    later = {name: total - first for name, (first, total) in counts.items() if total != first}
    assert not later, f"compiles after the first value of i: {later}"


def test_dynamic_update_slice_compiles_one_kernel_for_every_start(tmp_path):
    """Eager lax.dynamic_update_slice at five starts compiles one kernel, an
    update_slice whose starts are operands (beside x[:3]'s). It made a
    scatter at an index mesh built of eager ops: 9 kernels in all."""
    (first, total), = compile_counts({"dynamic_update_slice": DYNAMIC_UPDATE_SLICE}, 16, tmp_path).values()
    assert (first, total) == (2, 2)


def test_dynamic_slice_compiles_one_kernel_for_every_start(tmp_path):
    """Eager lax.dynamic_slice at five starts (negative, past the end)
    compiles one kernel, a static_slice whose starts are operands. It
    clamped each start with eager ops first: a kernel for each of them."""
    (first, total), = compile_counts({"dynamic_slice": DYNAMIC_SLICE}, 16, tmp_path).values()
    assert (first, total) == (1, 1)

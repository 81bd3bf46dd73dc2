"""The public Array API conformance suite (data-apis/array-api-tests) on irax.numpy.

    .venv/bin/python benchmarks/array_api_conformance.py /path/to/array-api-tests [--module jax.numpy]

The suite is not installed: check it out (with its `array-api` submodule, the
spec stubs) and put its requirements (hypothesis, ndindex) on PYTHONPATH,
e.g. `pip install --target /tmp/aat-deps hypothesis ndindex` and
`PYTHONPATH=/tmp/aat-deps`. Each test file runs in its own pytest (a file
that times out still leaves the others' figures), against the 2024.12
standard, with 5 Hypothesis examples per test and a fixed seed, so a rerun
finds its programs in the compile cache. Outside 64-bit mode (the default,
as JAX's) the suite's float64/int64 arrays come out 32-bit, which many of
its tests count as failures (JAX's too); `--x64` runs in 64-bit mode.
Prints passed / failed / skipped per
file and in all; `--logs DIR` keeps each file's pytest output (one line per
failure) for grouping the failures by cause.
"""
import argparse
import os
import pathlib
import re
import subprocess
import sys

# Cheap files first: on a slow machine the expensive ones are the ones cut short.
FILES = [
    "test_has_names", "test_signatures", "test_constants", "test_inspection_functions", "test_dlpack",
    "test_utility_functions", "test_sorting_functions", "test_set_functions", "test_searching_functions",
    "test_indexing_functions", "test_statistical_functions", "test_creation_functions",
    "test_manipulation_functions", "test_data_type_functions", "test_array_object", "test_linalg", "test_fft",
    "test_operators_and_elementwise_functions", "test_special_cases",
]
OUTCOMES = ("passed", "failed", "skipped", "error")


def run_file(suite, name, args, log):
    env = dict(os.environ, ARRAY_API_TESTS_MODULE=args.module, ARRAY_API_TESTS_VERSION=args.version)
    if args.x64:
        env.update(IRAX_ENABLE_X64="1", JAX_ENABLE_X64="1")
    command = [sys.executable, "-m", "pytest", f"array_api_tests/{name}.py", "-q", "-p", "no:cacheprovider",
               "--tb=line", f"--max-examples={args.max_examples}", "--hypothesis-disable-deadline",
               "--hypothesis-seed=0", "--continue-on-collection-errors"]
    try:
        done = subprocess.run(command, cwd=suite, env=env, capture_output=True, text=True, timeout=args.timeout)
        output, timed_out = done.stdout + done.stderr, False
    except subprocess.TimeoutExpired as timeout:
        output, timed_out = (timeout.stdout or b"").decode() + f"\nTIMEOUT after {args.timeout} s\n", True
    if log:
        (log / f"{name}.txt").write_text(output)
    if timed_out:  # no summary line: count the progress marks of the tests that ran
        marks = "".join(re.findall(r"^([.FsEx]+)(?: +\[ *\d+%\])?$", output, re.M))
        return {k: marks.count(c) for k, c in zip(OUTCOMES, ".FsE")}, True
    # The last line may be the bindings' report of objects alive at exit: find pytest's.
    summary = next((line for line in reversed(output.splitlines()) if re.search(r" in [\d.]+s\b", line)), "")
    return {k: int(n) for n, k in re.findall(r"(\d+) (passed|failed|skipped|error)", summary)}, False


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("suite", type=pathlib.Path, help="a checkout of data-apis/array-api-tests")
    parser.add_argument("--module", default="irax.numpy")
    parser.add_argument("--version", default="2024.12")
    parser.add_argument("--max-examples", type=int, default=5)
    parser.add_argument("--x64", action="store_true", help="64-bit mode (irax's and JAX's), so float64 is float64")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per test file")
    parser.add_argument("--files", nargs="*", default=FILES)
    parser.add_argument("--logs", type=pathlib.Path)
    args = parser.parse_args()
    if args.logs:
        args.logs.mkdir(parents=True, exist_ok=True)
    totals = dict.fromkeys(OUTCOMES, 0)
    print(f"{'file':45s}" + "".join(f"{k:>9s}" for k in OUTCOMES), flush=True)
    for name in args.files:
        counts, timed_out = run_file(args.suite, name, args, args.logs)
        for k in OUTCOMES:
            totals[k] += counts.get(k, 0)
        print(f"{name:45s}" + "".join(f"{counts.get(k, 0):9d}" for k in OUTCOMES)
              + ("  (timed out)" if timed_out else ""), flush=True)
    print(f"{'total':45s}" + "".join(f"{totals[k]:9d}" for k in OUTCOMES))


if __name__ == "__main__":
    main()

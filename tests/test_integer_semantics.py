"""Integer division, shifts and float -> int conversion at their edge values
(x // 0, INT_MIN // -1, 1 << 32, NaN -> int, ...): JAX's results, on every
backend, eagerly and under jit. LLVM and SPIR-V leave these undefined, and
x86 traps on INT_MIN // -1 and on x // 0, so irax guards them in its scalar
rules.

Each test puts all edge values of one dtype in one array, run under jit
(vector code) and eagerly one element at a time (0-d arrays: scalar code,
where x86 traps and takes 1 << 32 as 1 << 0): two programs per (dtype, op)."""
import functools
import json
import subprocess
import sys

import ml_dtypes
import numpy as np
import pytest

import irax
import irax.numpy as jnp
from helpers import x64_mode

jax = pytest.importorskip("jax")
jjnp = jax.numpy

INTS = [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64]
FLOATS = [np.float16, ml_dtypes.bfloat16, np.float32, np.float64]


def name(dtype):
    return np.dtype(dtype).name


def x64_for(*dts):
    """irax and JAX both in 64-bit mode where a dtype needs it (else int64 is int32)."""
    return x64_mode(any(np.dtype(d).itemsize == 8 for d in dts))


def check_like_jax(fn, want, *operands):
    """fn eagerly on each element alone, and under jit on the arrays, gives `want`."""
    each = [fn(*(jnp.asarray(x) for x in xs)) for xs in zip(*operands)]
    assert {r.dtype for r in each} == {want.dtype}
    np.testing.assert_array_equal(np.array([np.asarray(r) for r in each]), np.asarray(want))
    jitted = irax.jit(fn)(*operands)
    assert jitted.dtype == want.dtype
    np.testing.assert_array_equal(np.asarray(jitted), np.asarray(want))


# ---------------------------------------------------------------------------
# Division: x // 0 and INT_MIN // -1 raised SIGFPE on the CPU, killing the
# process, so every division runs in one child process per platform, and a
# crash fails these tests instead of ending pytest.

def division_operands(dtype):
    """Pairs (a, b): division by 0, INT_MIN / -1 and the signs around them."""
    lo, hi = np.iinfo(dtype).min, np.iinfo(dtype).max
    pairs = [(7, 0), (0, 0), (hi, 0), (7, 2), (hi, 2), (hi, hi), (0, hi), (1, hi), (hi, 1)]
    if lo < 0:
        pairs += [(lo, -1), (lo, 0), (-7, 0), (-7, 2), (7, -2), (-7, -2), (lo, 3), (hi, -1), (lo, lo), (lo, hi),
                  (-1, lo), (0, -1), (lo, 1)]
    return np.array([a for a, _ in pairs], dtype), np.array([b for _, b in pairs], dtype)


def division_cases(op, dtype):
    """name -> (a, b): the table above, and INT_MIN / -1 as a 1-element array."""
    cases = {f"{op}-{name(dtype)}": division_operands(dtype)}
    if np.iinfo(dtype).min < 0:
        cases[f"{op}-{name(dtype)}-INT_MIN/-1"] = (np.array([np.iinfo(dtype).min], dtype), np.array([-1], dtype))
    return cases


DIVISIONS = ["floor_divide", "remainder", "fmod"]
CHILD = """
import json, sys
import numpy as np
import irax, irax.numpy as jnp

irax.config.update("irax_enable_x64", True)  # int64 stays int64; narrower dtypes are unaffected
results = {}
with irax.default_device(irax.devices(sys.argv[1])[0]):
    for name, (op, dtype, a, b) in json.loads(sys.stdin.read()).items():
        a, b, fn = np.array(a, dtype), np.array(b, dtype), getattr(jnp, op)
        try:
            each = [fn(jnp.asarray(x), jnp.asarray(y)) for x, y in zip(a, b)]  # 0-d: scalar code
            jitted = irax.jit(fn)(a, b)
            results[name] = [sorted({str(r.dtype) for r in each}), [r.tolist() for r in each],
                             [str(jitted.dtype)], jitted.tolist()]
        except Exception as e:
            results[name] = f"{type(e).__name__}: {e}"
print(json.dumps(results))
"""


@functools.cache
def division_in_a_child(platform):
    """Every division case, run eagerly and under jit on `platform` in a child
    process: (its exit code, its stderr, name -> its results or error)."""
    cases = {
        case: (op, name(dtype), a.tolist(), b.tolist())
        for op in DIVISIONS for dtype in INTS for case, (a, b) in division_cases(op, dtype).items()
    }
    done = subprocess.run([sys.executable, "-c", CHILD, platform], input=json.dumps(cases),
                          capture_output=True, text=True, timeout=900)
    return done.returncode, done.stderr, json.loads(done.stdout) if done.returncode == 0 else {}


@pytest.mark.parametrize("dtype", INTS, ids=name)
@pytest.mark.parametrize("op", DIVISIONS)
def test_division_like_jax(op, dtype, platform):
    code, stderr, results = division_in_a_child(platform)
    assert code == 0, f"the child process died ({code}):\n{stderr[-3000:]}"
    with x64_for(dtype):
        for case, (a, b) in division_cases(op, dtype).items():
            want = getattr(jjnp, op)(a, b)
            assert not isinstance(results[case], str), f"{case}: {results[case]}"
            each_dtype, each, jit_dtype, jitted = results[case]
            assert each_dtype == jit_dtype == [name(want.dtype)], case
            assert each == jitted == want.tolist(), case


def operands_of_every_size(dtype, count=600):
    """(a, b) for 64-bit division, b != 0 and no INT_MIN: a and b random of
    random bit lengths, then a = k b - 1, k b, k b + 1 for the largest k and
    for a random one, where a float estimate of a / b falls next to an
    integer. Signed ones take random signs."""
    rng = np.random.default_rng(0)
    top = 64 if np.iinfo(dtype).min == 0 else 63  # the bits of a magnitude
    hi, one = np.uint64(2**top - 1), np.uint64(1)

    def random():
        return rng.integers(0, 2**64, count, np.uint64) >> np.uint64(64) - rng.integers(1, top + 1, count, np.uint64)

    b = random() | one
    k = hi // b
    k[::2] = np.minimum(rng.random(count // 2) * k[::2], k[::2]).astype(np.uint64)
    near = np.clip(k * b, one, hi - one) + rng.integers(0, 3, count, np.uint64) - one  # k b - 1, k b, k b + 1
    a, b = np.concatenate([random(), near]), np.concatenate([random() | one, b])
    if top == 63:
        a, b = (np.where(rng.integers(0, 2, 2 * count) == 1, -x, x) for x in (a.view(np.int64), b.view(np.int64)))
    return a, b


@pytest.mark.parametrize("dtype", [np.int64, np.uint64], ids=name)
def test_64_bit_division_and_abs_of_operands_of_every_size(dtype, platform):
    """IREE's Vulkan code has no 64-bit integer division (nor math.absi), so
    irax divides with float64 estimates and exact corrections (`_divide_64`):
    NumPy's quotients and remainders, for quotients of every size, on every
    backend."""
    a, b = operands_of_every_size(dtype)
    with x64_for(dtype):
        quotient, remainder, magnitude = irax.jit(lambda a, b: (a // b, a % b, jnp.abs(a)))(a, b)
    np.testing.assert_array_equal(np.asarray(quotient), a // b)
    np.testing.assert_array_equal(np.asarray(remainder), a % b)
    np.testing.assert_array_equal(np.asarray(magnitude), np.abs(a))


# ---------------------------------------------------------------------------
# The rest cannot trap, so it runs in this process.

def shift_operands(dtype):
    """Every x against every shift s, among them s < 0 and s >= the bit width."""
    lo, hi, bits = np.iinfo(dtype).min, np.iinfo(dtype).max, np.iinfo(dtype).bits
    xs = [1, 5, hi] + ([lo, -1] if lo < 0 else [])
    shifts = [0, 1, bits - 1, bits, bits + 1, 2 * bits, hi] + ([-1, lo] if lo < 0 else [])
    x, s = np.meshgrid(np.array(xs, dtype), np.array(shifts, dtype))
    return x.ravel(), s.ravel()


OPERANDS = {"true_divide": division_operands, "left_shift": shift_operands, "right_shift": shift_operands}


@pytest.mark.parametrize("dtype", INTS, ids=name)
@pytest.mark.parametrize("op", OPERANDS)
def test_integer_ops_like_jax(op, dtype):
    a, b = OPERANDS[op](dtype)
    with x64_for(dtype):
        check_like_jax(getattr(jnp, op), getattr(jjnp, op)(a, b), a, b)


# Float values at and beyond every integer type's bounds; each is rounded to
# the float type first (1e10 is inf in float16).
FLOAT_EDGES = [np.nan, np.inf, -np.inf, 1e10, -1e10, -1.5, -0.5, 0.9, 2.5, 300, -300, 127.5, 128, -128.5, -129,
               255.9, 256, 65504, -65504, 2.0**31, -(2.0**31), 2.0**32, 2.0**63, -(2.0**63), 2.0**64]


@pytest.mark.parametrize("dst", INTS, ids=name)
@pytest.mark.parametrize("src", FLOATS, ids=name)
def test_float_to_int_like_jax(src, dst):
    """Rounds toward 0, saturates at the bounds, NaN -> 0 (XLA's conversion)."""
    with np.errstate(over="ignore"):
        x = np.array(FLOAT_EDGES).astype(src)
    with x64_for(src, dst):
        check_like_jax(lambda v: v.astype(dst), jjnp.asarray(x).astype(dst), x)


@pytest.mark.parametrize("power", [lambda m, x: x ** -1, lambda m, x: m.power(x, m.array(-2)),
                                   lambda m, x: m.int32(3) ** -2])
def test_integers_to_a_known_negative_power_raise_as_in_jax(power):
    """(irax computed junk: [1, 0, -1431655765] for arange(1, 4) ** -1.)"""
    jax = pytest.importorskip("jax")
    messages = []
    for m in (jnp, jax.numpy):
        with pytest.raises(TypeError, match="Integers cannot be raised to negative powers") as error:
            power(m, m.arange(1, 4))
        messages.append(str(error.value))
    assert messages[0] == messages[1]
    with pytest.raises(TypeError, match="negative powers"):
        irax.jit(lambda x: x ** -1)(jnp.arange(1, 4))


@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.int64, np.uint8], ids=name)
def test_integers_to_integer_array_powers_as_jax(dtype):
    """JAX's jnp.power of integers counts the exponent's low 6 bits: x ** 64
    is x ** 0 (and 0 ** 64 is 0), x ** -1 is x ** 63. irax squared over
    every bit, which NumPy's values are for exponents from 64 up (it refuses
    negative ones): 3 ** 64 in int32 was -1083564287 where JAX gives 1, and
    3 ** -1 the inverse of 3 modulo 2 ** 32. lax.pow takes no integer base."""
    signed = np.iinfo(dtype).min < 0
    bases = [-3, -2, -1, 0, 1, 2, 3, 5] if signed else [0, 1, 2, 3, 5, 200]
    powers = [-1, -2, -65, 0, 1, 2, 7, 63, 64, 65, 127] if signed else [0, 1, 2, 7, 63, 64, 65, 255]
    x, y = (np.array(v, dtype).ravel() for v in np.meshgrid(bases, powers))
    with x64_for(dtype):
        want = jjnp.power(x, y)
        for got in (jnp.power(x, y), irax.jit(jnp.power)(x, y)):  # (a 0-d y would be a known, static power)
            assert got.dtype == want.dtype
            np.testing.assert_array_equal(np.asarray(got), np.asarray(want))
    with pytest.raises(TypeError, match="pow does not accept dtype int32 at position 0. Accepted dtypes at position 0 "
                       "are subtypes of floating, complexfloating."):
        irax.lax.pow(np.int32(2), np.int32(3))


@pytest.mark.parametrize("op", [lambda m: m.uint8(200) + 300, lambda m: m.uint8(3) > -1, lambda m: m.int8(1) * 1000,
                                lambda m: m.arange(3, dtype=m.uint8) - 1])
def test_a_python_int_is_the_default_int_then_wraps_as_in_jax(op):
    """(irax raised NumPy's OverflowError: 'Python integer 300 out of bounds for uint8'.)"""
    jax = pytest.importorskip("jax")
    ours, theirs = op(jnp), op(jax.numpy)
    assert ours.dtype == theirs.dtype
    np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))

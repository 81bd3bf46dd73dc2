"""The examples run as a user runs them, in a process of their own."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]


def test_the_cnn_example_trains_to_a_printed_accuracy():
    """examples/cnn.py: irax.random initialisation, convolutions, pooling and
    a dense layer trained under jit, to a test accuracy it prints."""
    done = subprocess.run([sys.executable, "examples/cnn.py"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    accuracy = float(done.stdout.strip().splitlines()[-1].rpartition(" ")[2])
    assert accuracy >= 0.9, done.stdout

"""benchmarks/table.py without its peers (CI installs neither PyTorch nor JAX): tinyae's step of
every work runs on the inputs the table gives it, and the table prints the CNN's CPU and
kernel time with the verdicts of issue 27's goals. Speed itself is never asserted here."""
import pathlib
import sys

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import peers, table  # noqa: E402


@pytest.mark.parametrize("work", peers.WORKS)
def test_tinyaes_step_of_every_work_runs_on_the_tables_inputs(work):
    rng = np.random.default_rng(0)
    shape = (300, 1, 28, 28) if work in ("conv", "cnn") else (300, 784)
    images = rng.random(shape).astype(np.float32)
    batches = peers.inputs_for(work, images, rng, count=2)
    step, sync = peers.make_step("tinyae", work, batches)
    for i in range(2):
        step(i)
    sync()


def _row(work, threads, ms, cpu, kernel, ratio):
    return {"work": work, "threads": threads, "load_before": 0.5,
            "ms_per_step": ms, "cpu_ms_per_step": cpu, "kernel_ms_per_step": kernel,
            "ratio": ratio}


def test_the_table_gives_the_cnns_cpu_and_kernel_time_against_pytorch():
    rows = [_row("cnn", 1, {"tinyae": 100.0, "torch": 80.0}, {"tinyae": 100.0, "torch": 80.0},
                 {"tinyae": 0.3, "torch": 0.4}, {"torch": 1.25}),
            _row("cnn", 2, {"tinyae": 70.0, "torch": 50.0}, {"tinyae": 140.0, "torch": 100.0},
                 {"tinyae": 2.0, "torch": 0.5}, {"torch": 1.4})]
    text = table.markdown(rows, {}, [1, 2], ["torch"])
    assert "| cnn | 100.00 / 70.00 ms | 1.25 ✗ | 1.40 ✗ |" in text
    assert "| 1 | 100.0 / 80.0 | 100.0 / 80.0 | 0.30 / 0.40 | 1.25 | 0.75 ✓ |" in text
    assert "| 2 | 70.0 / 50.0 | 140.0 / 100.0 | 2.00 / 0.50 | 1.40 | 4.00 ✗ |" in text


def test_the_goals_are_issue_27s():
    assert table.GOALS["cnn"] == {"torch": 1.0} and table.KERNEL_GOAL["cnn"] == 1.5
    assert table.GOALS["perop"] == {"torch": 2.0, "autograd": 1.0}
    assert table.GOALS["deep"]["jax"] == 1.1

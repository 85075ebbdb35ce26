"""The BLAS-thread policy of lessons and training (tinyae/threads.py)."""
import numpy as np
import pytest
from threadpoolctl import threadpool_info

from tinyae import threads


@pytest.fixture
def two_cores(monkeypatch):
    monkeypatch.delenv("TINYAE_THREADS", raising=False)
    monkeypatch.setattr(threads.os, "cpu_count", lambda: 2)


@pytest.mark.parametrize("load, expected", [(0.0, 2), (0.4, 2), (0.6, 1), (1.0, 1), (7.5, 1)])
def test_policy_uses_the_cores_not_already_busy(two_cores, monkeypatch, load, expected):
    monkeypatch.setattr(threads, "running_elsewhere", lambda: (load, "running now"))
    count, reason = threads.choose()
    assert count == expected
    assert f"running now {load:.1f}" in reason and ("busy" if expected < 2 else "idle") in reason


def test_programs_running_now_are_counted_not_a_lagging_average(two_cores, monkeypatch):
    """Linux: the kernel's count of runnable tasks now, less this process; the 1-minute load
    average (high right after an install, low when a competitor has just started) is unused."""
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (1.7, 1.7, 1.7))
    stat = "cpu  1 2 3\nprocs_running 2\nprocs_blocked 0\n"
    monkeypatch.setattr("builtins.open", lambda *a, **k: __import__("io").StringIO(stat))
    assert threads.running_elsewhere(samples=2, interval=0) == (1.0, "running now")
    assert threads.choose()[0] == 1


def test_without_proc_the_load_average_is_used(two_cores, monkeypatch):
    def no_proc(*args, **kwargs):
        raise FileNotFoundError("/proc/stat")
    monkeypatch.setattr("builtins.open", no_proc)
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (0.2, 0.2, 0.2))
    assert threads.running_elsewhere(samples=1) == (0.2, "load")
    assert threads.choose() == (2, "2 cores, load 0.2: idle machine")


def test_requested_and_environment_win(two_cores, monkeypatch):
    monkeypatch.setattr(threads, "running_elsewhere", lambda: (9.0, "running now"))
    assert threads.choose(2)[0] == 2
    monkeypatch.setenv("TINYAE_THREADS", "2")
    assert threads.choose() == (2, "chosen (2 cores)")


@pytest.mark.parametrize("value", ["0", "two", "-1", "1.5"])
def test_bad_environment_value_is_refused(two_cores, monkeypatch, value):
    monkeypatch.setenv("TINYAE_THREADS", value)
    with pytest.raises(ValueError, match="TINYAE_THREADS.*positive integer"):
        threads.choose()


def test_limit_reaches_numpys_blas():
    np.ones((2, 2)) @ np.ones((2, 2))  # make sure the BLAS library is loaded
    blas = [p for p in threadpool_info() if p["user_api"] == "blas"]
    if not blas:
        pytest.skip("this NumPy's BLAS is not visible to threadpoolctl")
    try:
        threads.limit(1)
        assert all(p["num_threads"] == 1 for p in threadpool_info() if p["user_api"] == "blas")
    finally:
        threads._limiter.restore_original_limits()


def test_lesson_header_says_how_many_threads(tmp_path, capsys):
    from tinyae.lesson import Lesson
    lesson = Lesson(1, "Threads", claim="c", argv=["--threads", "1", "--out", str(tmp_path)])
    assert lesson.threads == 1
    assert "BLAS threads: 1 (chosen" in capsys.readouterr().out
    threads._limiter.restore_original_limits()


def test_lesson_refuses_zero_threads(tmp_path):
    from tinyae.lesson import Lesson
    with pytest.raises(SystemExit) as exit_:
        Lesson(1, "Threads", claim="c", argv=["--threads", "0", "--out", str(tmp_path)])
    assert exit_.value.code == 2

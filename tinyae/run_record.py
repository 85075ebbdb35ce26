"""The record of a lesson run: everything it printed, and when, where and how it ran.

A lesson's docs page quotes numbers from a real run; the record is that run, kept. Every run
writes ``out/NN_name/run.json``; a real run started with ``--record`` also writes
``docs/runs/NN_name.SCALE.json`` (SCALE: ``embedded`` or ``full``, the data it ran on), which is
committed beside the page, and the test suite checks that every number the page's *Measured*
section and the README's lesson table quote is in it. A quick run is never recorded for the docs.

    {"lesson": 12, "name": "12_denoising", "scale": "full", "data": ["full MNIST"],
     "seed": 0, "backend": "numpy", "threads": 2, "date": "2026-12-06T20:31:05+00:00",
     "wall_seconds": 45.2, "cpu_seconds": 51.0, "load": [0.4, 1.1],
     "versions": {"python": "3.11.7", "numpy": "2.3.1"}, "output": "<every line printed>"}
"""
import datetime
import json
import os
import platform
import sys
from pathlib import Path

import numpy

from .io import replace_atomically

RUNS_DIR = Path(__file__).resolve().parents[1] / "docs" / "runs"
FORMAT = "tinyae-run-record-1"


class Tee:
    """sys.stdout that also keeps what passes through it (the record's ``output``)."""

    def __init__(self, stream):
        self.stream, self.parts = stream, []

    def write(self, text):
        self.parts.append(text)
        return self.stream.write(text)

    def flush(self):
        self.stream.flush()

    def text(self):
        return "".join(self.parts)

    def __getattr__(self, name):  # encoding, isatty, reconfigure, …: the real stream's
        return getattr(self.stream, name)


def load_average():
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def make(lesson, output, wall_seconds, cpu_seconds, load_start):
    """The record of a finished run of ``lesson`` (a tinyae.lesson.Lesson)."""
    return {"format": FORMAT, "lesson": lesson.number, "name": lesson.name,
            "scale": lesson.scale, "data": sorted(lesson.sources), "seed": lesson.seed,
            "backend": lesson.backend, "threads": lesson.threads,
            "wall_seconds": round(wall_seconds, 1), "cpu_seconds": round(cpu_seconds, 1),
            "load": [load_start, load_average()], **when_and_with_what(),
            "claims_held": lesson.claims_held, "untested": lesson.untested,
            "output": output}


def when_and_with_what():
    """The date of a run, and the versions it ran with (every record has them)."""
    return {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "versions": {"python": platform.python_version(), "numpy": numpy.__version__}}


def write(path, record):
    """Write ``record`` as JSON to ``path``, atomically (a killed run leaves the old file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(record, ensure_ascii=False, indent=1) + "\n"
    return replace_atomically(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def load(path):
    """The record at ``path``; ValueError saying why when it is missing, unreadable or not a
    record."""
    try:
        record = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"there is no record {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"the record {path} is damaged ({type(err).__name__}: {err})") from None
    if not isinstance(record, dict) or record.get("format") != FORMAT or \
            not isinstance(record.get("output"), str):
        raise ValueError(f"{path} is not a lesson run record (format {FORMAT})")
    return record


def docs_path(name, scale):
    return RUNS_DIR / f"{name}.{scale}.json"


def compare_with_docs(name, scale, output):
    """One line for the end of a real run: does it print the claims of the run its docs page
    quotes (docs/runs/NAME.SCALE.json)? Never raises: a missing or damaged record is said."""
    path = docs_path(name, scale)
    try:
        recorded = load(path)
    except ValueError as err:
        return f"the docs page could not be checked against this run: {err}"
    mine = [line for line in output.splitlines() if line.startswith("✓ claim")]
    theirs = [line for line in recorded["output"].splitlines() if line.startswith("✓ claim")]
    same = sum(a == b for a, b in zip(mine, theirs))
    if mine == theirs:
        return (f"the same claim lines as the recorded run its docs page quotes "
                f"({path.name}, {recorded['date'][:10]})")
    return (f"{same} of {max(len(mine), len(theirs))} claim lines as in the recorded run its docs "
            f"page quotes ({path.name}, {recorded['date'][:10]}); the others differ (other "
            "numbers: another machine, thread count or version)")


def in_notebook():
    """True inside Jupyter: a running IPython kernel (a process that merely imported ipykernel,
    as a test runner may, is not)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return getattr(shell, "kernel", None) is not None


def install_tee():
    """Start keeping what is printed (not in a notebook, whose cells capture it themselves):
    ``(tee, start)``, the run's output being ``tee.text()[start:]`` (a second lesson in the
    same process shares the first one's tee), or ``(None, 0)``."""
    if in_notebook():
        return None, 0
    if not isinstance(sys.stdout, Tee):
        sys.stdout = Tee(sys.stdout)
    return sys.stdout, len(sys.stdout.text())

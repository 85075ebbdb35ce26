"""The small machinery every lesson script shares: flags, header, tables, claims, figures.

A lesson starts with

    lesson = Lesson(0, "Gradient descent", claim="...", reference="...")

which parses the standard flags

    --quick          a small version that runs in seconds (the test suite uses it)
    --out DIR        where figures go (default: out/NN_name/ under the current directory)
    --backend NAME   numpy (CPU, default), cupy (GPU) or strict (the CPU stand-in for a GPU)
    --seed N         seed of ``lesson.rng`` (default 0)

prints a header with the title and the claim from the course, and then offers

    lesson.quick, lesson.out, lesson.rng   the flags, the figure folder (a Path), a NumPy Generator
    lesson.table(rows, headers)            measured numbers beside reference numbers
    lesson.check(condition, claim)         prints "✓ claim: ..." or raises "CLAIM FAILED: ..."
    lesson.check(c, claim, needs="full")   a claim that only a run of that scale can test:
                                           below it prints "· not tested at this scale …"
    lesson.scale                           'quick', 'embedded' (real run, embedded MNIST),
                                           'full' (real run, full MNIST or synthetic data) or
                                           'paper' (--paper: the published setup, full MNIST)
    lesson.smoke(condition, what)          a quick run's sanity check that is NOT the claim:
                                           prints "· smoke check (not the claim): ..."
    lesson.figure(fig, name)               saves a matplotlib figure under lesson.out
    lesson.mnist(split)                    MNIST (or the embedded subset), sliced in quick mode
    lesson.asarray(a)                      a NumPy array moved to the chosen backend (once,
                                           before training: data fed to a model lives there)
    lesson.to_host(a)                      a NumPy copy of a tensor or array (for numpy.linalg,
                                           printing, plotting): the visible host transfer
    lesson.done()                          prints the elapsed time and how many claims held

A failed claim raises AssertionError, so a lesson whose claim does not hold exits non-zero.
"""
import argparse
import io
import os
import re
import sys
import time
from pathlib import Path

import numpy

from . import backend, run_record, threads
from .arguments import positive, seed_flag, writable_folder  # noqa: F401 (positive: for lessons)
from .console import format_table, make_stdout_safe

_RULE = "═" * 78
_SCALES = ("quick", "embedded", "full", "paper")
_SCALE_NAMES = {"quick": "a quick run", "embedded": "a real run on the embedded MNIST subset",
                "full": "a real run on full MNIST",
                "paper": "a run of the paper's setup on full MNIST"}
_NEEDS_NAMES = {"quick": "any run", "embedded": "a real run (the embedded MNIST subset will do)",
                "full": "a real run on full MNIST", "paper": "the --paper run on full MNIST"}


class Lesson:
    """One run of a lesson script: its flags, its output folder, its claims.

    number     the lesson number (0–99), used for the default output folder out/NN_name/
    title      a few words ("Gradient descent")
    claim      the sentence from the course this lesson reproduces and asserts
    reference  where the claim / the reference numbers come from (optional)
    argv       the flags to parse (default: sys.argv[1:]; in a notebook, unknown ones are
               ignored, since the kernel's own flags are there)
    add_arguments  optional function(parser) adding lesson-specific flags (``type=positive(int)``
               checks a count); read them as ``lesson.args.NAME``
    paper      optional: the published setup this lesson can also run ("SdA-3, Vincent et al.
               2010"); adds ``--paper`` (that run instead of the lesson's, see tinyae/paper/)
               and ``--resume`` (continue it from its checkpoints); read ``lesson.paper``
    """

    def __init__(self, number, title, claim, reference=None, argv=None, add_arguments=None,
                 paper=None):
        if not isinstance(number, int) or not 0 <= number <= 99:
            raise ValueError(f"Lesson number must be an int in 0..99, got {number!r}")
        self.number, self.title, self.claim, self.reference = number, title, claim, reference
        self.paper_setup = paper
        name = self.name = _default_name(number, title)
        self.args, parser = _parse_flags(name, number, title, claim, argv, add_arguments, paper)
        self.quick, self.seed = self.args.quick, self.args.seed
        self.paper = getattr(self.args, "paper", False)
        self._parser = parser
        self.rng = numpy.random.default_rng(self.seed)
        try:
            self.threads, self._threads_reason = threads.choose(self.args.threads)
        except ValueError as err:  # a bad $TINYAE_THREADS: a usage error, exit code 2
            parser.error(str(err))
        threads.limit(self.threads)
        self.backend = backend.get_backend()
        self.device = "cpu" if self.backend == "numpy" else "gpu"
        self.out = _figure_folder(Path(self.args.out) if self.args.out else Path("out") / name,
                                  parser)
        self.claims_held = self.smoke_checks = self.untested = 0
        self.sources = set()  # the data each lesson.mnist() call used
        _projector_style()
        self._start, self._cpu_start = time.perf_counter(), time.process_time()
        self._load_start = run_record.load_average()
        make_stdout_safe()
        self._tee, self._tee_start = run_record.install_tee()  # printed → the run's record
        self._header()

    def section(self, text):
        """A visible heading between the parts of a lesson."""
        print(f"\n── {text} " + "─" * max(3, 74 - len(text)))

    def table(self, rows, headers, fmt=".4g", title=None):
        """Print rows as aligned columns (also a valid Markdown table) and return the text.

        rows     a list of sequences, one per line; floats are formatted with ``fmt``, None
                 is shown as "—", strings are printed as they are
        headers  the column names, e.g. ["quantity", "measured", "reference"]
        fmt      a format spec for floats (".4g", ".3e", ".6f"), or a list of them, one per
                 column
        """
        text = format_table(rows, headers, fmt)
        if title:
            print(f"\n{title}")
        print(text)
        return text

    @property
    def scale(self):
        """How much this run can show: 'quick' (a --quick run), 'embedded' (a real run on the
        embedded MNIST subset), 'full' (a real run on full MNIST, or on synthetic data) or
        'paper' (a --paper run of the published setup)."""
        if self.quick:
            return "quick"
        if "embedded MNIST subset" in self.sources:
            return "embedded"
        return "paper" if self.paper else "full"

    def check(self, condition, message, needs="quick"):
        """Assert one claim: print "✓ claim: message" when it holds, else raise
        AssertionError("CLAIM FAILED: message"), which makes the script exit non-zero.

        ``needs`` is the smallest scale at which the claim's sentence is tested by this
        condition: 'quick' (any run), 'embedded' (a real run), 'full' (a real run on full
        MNIST) or 'paper' (the --paper run). A smaller run prints "· not tested at this scale
        (…): claim" instead — the one way a lesson says so, never a ✓ — and asserts nothing;
        the claim is the message up to its first ": ", where the measured numbers begin
        (numbers that a run too small for the claim measured are in its tables, not beside the
        sentence). Returns whether it held."""
        if needs not in _SCALES:
            raise ValueError(f"lesson.check(needs={needs!r}): needs is one of {_SCALES}")
        if _SCALES.index(self.scale) < _SCALES.index(needs):
            self.untested += 1
            print(f"· not tested at this scale ({_SCALE_NAMES[self.scale]}; the claim needs "
                  f"{_NEEDS_NAMES[needs]}): {message.split(': ', 1)[0]}")
            return False
        if not bool(condition):
            raise AssertionError(f"CLAIM FAILED: {message}")
        self.claims_held += 1
        print(f"✓ claim: {message}")
        return True

    def smoke(self, condition, message):
        """A quick run's sanity check that does not test the lesson's claim (too little data
        or training for it): prints "· smoke check (not the claim): message" — never a ✓ — and
        raises AssertionError("SMOKE CHECK FAILED: message") when it does not hold."""
        if not bool(condition):
            raise AssertionError(f"SMOKE CHECK FAILED: {message}")
        self.smoke_checks += 1
        print(f"· smoke check (not the claim): {message}")

    def figure(self, fig, name):
        """Save a matplotlib figure as lesson.out/name (.png unless name has a suffix, at
        tinyae.viz.DPI = 150 dpi); print and return the path. In a notebook it is also shown
        under the cell: the figures of tinyae.viz are drawn off-screen, never through pyplot,
        so Jupyter would not show them by itself (and a pyplot figure is shown once, here)."""
        path = self.out / name
        if not path.suffix:
            path = path.with_suffix(".png")
        from .io import replace_atomically
        from .viz import DPI
        replace_atomically(path, lambda tmp: fig.savefig(tmp, dpi=DPI, bbox_inches="tight"))
        print(f"figure saved: {path}")
        if run_record.in_notebook():
            _show_inline(fig)
        import matplotlib.pyplot as plt
        plt.close(fig)  # a no-op for a figure pyplot does not know
        return path

    def done(self):
        """Print the elapsed time and the number of claims that held, and write the run's
        record (``out/…/run.json``; with ``--record`` also ``docs/runs/``, see
        tinyae/run_record.py); return the seconds."""
        elapsed = time.perf_counter() - self._start
        cpu = time.process_time() - self._cpu_start
        print(f"measured in {elapsed:.1f} s wall, {cpu:.1f} s of CPU ({self.threads} BLAS "
              f"thread(s), load average {self._load_start} → {run_record.load_average()}, "
              f"{self.scale} scale)")
        print(_RULE)
        smoke = (f", {self.smoke_checks} smoke check(s) passed (not claims)"
                 if self.smoke_checks else "")
        untested = (f", {self.untested} not tested at this scale ({_SCALE_NAMES[self.scale]})"
                    if self.untested else "")
        print(f"Lesson {self.number:02d} done in {elapsed:.1f} s: "
              f"{self.claims_held} claim(s) held{untested}{smoke}.")
        self._write_records(elapsed, cpu)
        return elapsed

    def _write_records(self, elapsed, cpu):
        output = self._tee.text()[self._tee_start:] if self._tee is not None else ""
        record = run_record.make(self, output, elapsed, cpu, self._load_start)
        run_record.write(self.out / "run.json", record)
        if self.quick:
            return  # a quick run is never what a docs page quotes
        if self.args.record:
            path = run_record.write(run_record.docs_path(self.name, self.scale), record)
            print(f"recorded for the docs: {path}")
        else:
            print(run_record.compare_with_docs(self.name, self.scale, output))

    def run_paper(self, run):
        """The --paper run instead of the lesson: ``run(lesson)`` (a recipe of tinyae.paper),
        then ``done()``, then the script ends here (exit status 0: every claim held)."""
        run(self)
        self.done()
        raise SystemExit(0)

    def asarray(self, a, dtype=None):
        """A NumPy array (or list) on the lesson's backend: a CuPy array with --backend cupy."""
        return backend.to_device(backend.as_array(a, dtype=dtype, xp=numpy), self.device)

    def to_host(self, a):
        """A NumPy copy of a Tensor or array from the lesson's backend (from the GPU with
        --backend cupy): what numpy.linalg, matplotlib and printing need. Each call is a host
        transfer, so lessons call it on results, not inside training loops."""
        return backend.to_numpy(getattr(a, "data", a))

    def mnist(self, split="train", n=None, quick_n=1000):
        """MNIST ``(images, labels)``: images float32 (N, 784) in [0, 1], labels uint8 (N,).

        Uses the full data set where it is found (see tinyae.data.load_mnist), else the
        embedded subset of real digits. ``n`` keeps the first n examples; in quick mode at
        most ``quick_n`` are kept. Nothing is downloaded unless the lesson was started with
        ``--download``. Says on stdout what was used.
        NumPy arrays on the CPU; use ``lesson.asarray`` to move them to the GPU.
        """
        from .data import load_mnist
        full_size = {"train": 60_000, "test": 10_000}
        images, labels = load_mnist(split, download=self.args.download and not self.quick,
                                    fallback="embedded")
        source = ("full MNIST" if len(images) == full_size.get(split)
                  else "embedded MNIST subset")
        if self.paper and not self.quick and source != "full MNIST":
            self._parser.error("--paper runs the published setup on full MNIST, which was not "
                               "found: put the four MNIST .gz files in $TINYAE_DATA/mnist/ or "
                               "add --download (or try it small with --paper --quick)")
        self.sources.add(source)
        total = len(images)
        keep = total if n is None else min(n, total)
        if self.quick:
            keep = min(keep, quick_n)
        images, labels = images[:keep], labels[:keep]
        sliced = f", first {keep:,} of {total:,}" if keep < total else ""
        print(f"data: {source}, {split} split: {keep:,} images{sliced}"
              f"{' (quick mode)' if self.quick and keep < total else ''}")
        return images, labels

    def _header(self):
        mode = "quick (small version)" if self.quick else "full"
        if self.paper:
            mode = f"paper setup: {self.paper_setup}" + (", quick (small version)" if self.quick
                                                        else "")
        print(_RULE)
        print(f"Lesson {self.number:02d} · {self.title}")
        print(f"Claim: {self.claim}")
        if self.reference:
            print(f"Reference: {self.reference}")
        print(f"mode: {mode} | backend: {self.backend} | seed: {self.seed} | "
              f"BLAS threads: {self.threads} ({self._threads_reason}) | figures: {self.out}/")
        print(_RULE)


# --- the plumbing behind Lesson(...) ------------------------------------------------------------
class _FlagParser(argparse.ArgumentParser):
    """argparse, with one rule for every numeric flag of a lesson: its type is
    ``arguments.positive(int)`` (or float) or ``seed_flag``, which refuse 0, negatives, NaN and
    words in one usage line. A bare ``type=int`` would let ``--epochs 0`` fall back to the
    default silently and ``--epochs -1`` fail after the data has loaded."""

    def add_argument(self, *names, **options):
        if options.get("type") in (int, float):
            raise TypeError(f"lesson flag {names[0]}: use type=positive({options['type'].__name__}) "
                            "(tinyae.arguments), not a bare int/float, so 0 and negatives are refused")
        return super().add_argument(*names, **options)


def _parse_flags(name, number, title, claim, argv, add_arguments, paper=None):
    """The standard flags (and the lesson's own), parsed; --backend is switched on here."""
    parser = _FlagParser(
        prog=Path(sys.argv[0]).name if sys.argv and sys.argv[0] else name,
        description=f"Lesson {number:02d}: {title}. Claim: {claim}")
    parser.add_argument("--quick", action="store_true",
                        help="run a small version in seconds (used by the test suite; in a "
                             "notebook: %%env TINYAE_QUICK=1)")
    parser.add_argument("--out", metavar="DIR", default=None,
                        help=f"where figures go (default: out/{name}/)")
    parser.add_argument("--backend", choices=("numpy", "cupy", "strict"), default=None,
                        help="array module: numpy (CPU) or cupy (GPU); default: numpy, "
                             "or $TINYAE_BACKEND")
    parser.add_argument("--seed", type=seed_flag, default=0, help="random seed, 0 or more (default 0)")
    parser.add_argument("--threads", type=positive(int), default=None,
                        help="BLAS threads (default: the cores not already busy, or "
                             "$TINYAE_THREADS; see tinyae/threads.py)")
    parser.add_argument("--record", action="store_true",
                        help="write this real run's record to docs/runs/ for the docs page "
                             "(tinyae/run_record.py); refused in quick mode")
    parser.add_argument("--download", action="store_true",
                        help="download the full MNIST if it is not found (otherwise the "
                             "embedded subset is used)")
    if paper is not None:   # tinyae/paper/: checkpoints every epoch in OUT/checkpoints/
        parser.add_argument("--paper", action="store_true", help=f"run instead {paper}")
        parser.add_argument("--resume", action="store_true",
                            help="with --paper: continue an interrupted run where it stopped")
    if add_arguments is not None:
        add_arguments(parser)
    if argv is None and run_record.in_notebook():
        # Jupyter's own flags (-f kernel.json) are in sys.argv: keep only ours (%run -- ...).
        args = parser.parse_known_args(sys.argv[1:])[0]
    else:
        args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if os.environ.get("TINYAE_QUICK", "").lower() in ("1", "true", "yes"):
        args.quick = True  # a notebook's way to choose quick mode: %env TINYAE_QUICK=1
    if getattr(args, "resume", False) and not args.paper:
        parser.error("--resume continues a --paper run from its checkpoints: add --paper")
    if args.quick and args.record:
        parser.error("--record keeps a real run for the docs pages; a quick run is never "
                     "recorded there (drop --quick or --record)")
    if args.record and not run_record.RUNS_DIR.parent.is_dir():
        parser.error(f"--record writes into the source repository's docs/ folder, and there is "
                     f"none beside this tinyae ({run_record.RUNS_DIR.parent}); run the lesson "
                     "from a clone of the repository")
    if args.backend is not None:
        try:
            backend.set_backend(args.backend)
        except RuntimeError as err:  # no CuPy or no GPU: a usage error, exit code 2
            parser.error(str(err))
    elif backend.environment_error():
        parser.error(backend.environment_error() + "; unset it or pass --backend numpy")
    return args, parser


def _figure_folder(out, parser):
    """``out``, created and checked to be writable now, not after minutes of training when the
    first figure is saved (a usage error otherwise)."""
    try:
        return writable_folder(out)
    except OSError as err:
        parser.error(f"--out {out}: cannot write figures there ({err.strerror or err}); "
                     "choose a folder you can write to")


def _projector_style():
    """A lesson's own pyplot figures get the projector type sizes of tinyae.viz (≥ 12 pt)."""
    import matplotlib
    from .viz import PROJECTOR
    matplotlib.rcParams.update(PROJECTOR)


def _show_inline(fig):
    """Show a figure in the notebook's output as a PNG, whatever matplotlib backend is set."""
    from IPython.display import Image, display
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    display(Image(data=buffer.getvalue()))


def _default_name(number, title):
    """The lesson's folder name: the script's file name when it starts with NN_, else NN_title.
    In a notebook (sys.argv[0] is the kernel) the script's name is found from the notebook's
    name (Jupyter's $JPY_SESSION_NAME) or, failing that, as the one lessons/NN_*.py file,
    so that out/ folders are named alike from a script and from a notebook."""
    stems = [Path(sys.argv[0]).stem if sys.argv and sys.argv[0] else ""]
    if run_record.in_notebook():
        stems.append(Path(os.environ.get("JPY_SESSION_NAME", "")).stem)
        for folder in (Path.cwd(), Path.cwd() / "lessons",
                       Path(__file__).resolve().parents[1] / "lessons"):
            found = sorted(folder.glob(f"{number:02d}_*.py")) if folder.is_dir() else []
            if len(found) == 1:
                stems.append(found[0].stem)
    for stem in stems:
        if re.match(rf"{number:02d}_\w+$", stem):
            return stem
    slug = re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_")
    return f"{number:02d}_{slug}"


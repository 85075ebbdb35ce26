"""The ``tinyae`` command (also ``python -m tinyae``):

    tinyae lessons                      list the lessons
    tinyae run 03 [--quick] [--out D]   run one lesson (or ``all``) and print a pass/fail table
    tinyae gradcheck                    finite-difference check of every registered op
    tinyae exercises new DIR            backprop exercises for a class; `check DIR` grades them
    tinyae train shallow --data mnist --epochs 10 --out runs/shallow
    tinyae info                         versions, backend, GPU, where MNIST was found
    tinyae docs sync                    the lesson pages' numbers, regenerated from docs/runs/
    tinyae docs build [--out site]      the course as a website that works offline

A user error (bad argument, missing data or lessons folder) prints one clear line and exits
with status 2, without a traceback; a failed lesson or op check exits with status 1.
"""
import argparse
import os
import platform
import sys
import time
from pathlib import Path

import tinyae
from tinyae import run_lessons, run_record, threads
from tinyae.arguments import positive, seed_flag, writable_folder
from tinyae.models import zoo


class UsageError(Exception):
    """A mistake of the user's (not a bug): printed as one line, exit status 2."""


def writable_dir(path, option="--out"):
    """``path`` created and checked to be writable before any work is done (a run must not
    train for minutes and then fail to save). UsageError otherwise."""
    try:
        return writable_folder(path)
    except NotADirectoryError:
        raise UsageError(f"{option} {path} is a file, not a folder; choose a folder") from None
    except OSError as err:
        raise UsageError(f"{option} {path}: cannot write there ({err.strerror or err}); "
                         "choose a folder you can write to") from None


# --- lessons ---------------------------------------------------------------------------------
def lessons_dir():
    """The lessons/ folder of the repository this package was imported from (a checkout or an
    editable install); UsageError when the package was installed without it."""
    folder = Path(tinyae.__file__).resolve().parent.parent / "lessons"
    if not folder.is_dir():
        raise UsageError(f"the lessons folder was not found (looked in {folder}). The lessons ship "
                         "with the source repository: clone it and run tinyae from there, or "
                         "install it with `pip install -e .`")
    return folder


def find_lessons():
    """[(number, path)] of every lessons/NN_*.py, in order."""
    return [(int(p.name[:2]), p) for p in sorted(lessons_dir().glob("[0-9][0-9]_*.py"))]


def cmd_lessons(args):
    for number, path in find_lessons():
        print(f"{number:02d}  {run_lessons.lesson_title(path)}")
    return 0


def cmd_run(args):
    lessons = find_lessons()
    if args.lesson == "all":
        chosen = lessons
    else:
        if not args.lesson.isdigit():
            raise UsageError(f"lesson must be a number such as 03, or 'all'; got {args.lesson!r}")
        chosen = [(n, p) for n, p in lessons if n == int(args.lesson)]
        if not chosen:
            have = ", ".join(f"{n:02d}" for n, _ in lessons)
            raise UsageError(f"there is no lesson {args.lesson}; the lessons are {have}")
    if args.out is not None:
        writable_dir(args.out)
    root = lessons_dir().parent
    env = dict(os.environ, MPLBACKEND="Agg",
               PYTHONPATH=os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])))
    # The thread count is chosen once, before the first lesson: a lesson's own load would
    # otherwise look like another program's to the next one (tinyae/threads.py). With more
    # than one free core, that many lessons run side by side, one BLAS thread each.
    count, reason = _choose_threads()
    jobs, per_lesson = run_lessons.parallel_plan(args.jobs or count, len(chosen))
    env["TINYAE_THREADS"] = str(per_lesson)
    print(f"{jobs} lesson(s) at a time, {per_lesson} BLAS thread(s) each ({reason})", flush=True)
    commands = []
    for _, path in chosen:
        command = [sys.executable, str(path)] + (["--quick"] if args.quick else [])
        if args.out is not None:
            command += ["--out", str(Path(args.out) / path.stem)]
        commands.append(command)
    if args.record and args.quick:
        raise UsageError("--record keeps the main job's time for the README; a --quick run is "
                         "not recorded")
    began, cpu_before = time.perf_counter(), run_lessons.children_cpu_seconds()
    load_start = run_record.load_average()
    results = run_lessons.run([path for _, path in chosen], commands, env, jobs, "embedded")
    wall = time.perf_counter() - began
    cpu = run_lessons.children_cpu_seconds() - cpu_before
    width = max(len(name) for name, _, _ in results)
    lines = [f"{'lesson':<{width}}  result  time"]
    for name, code, seconds in results:
        status = "pass" if code == 0 else f"FAIL ({code})"
        lines.append(f"{name:<{width}}  {status:<6}  {seconds:.1f} s")
    failed = sum(code != 0 for _, code, _ in results)
    lines.append(f"{len(results) - failed} of {len(results)} lesson(s) passed in {wall:.0f} s "
                 f"({wall / 60:.1f} min wall, {cpu / 60:.1f} min of CPU; {jobs} at a time, "
                 f"{per_lesson} BLAS thread(s) each)")
    summary = "\n".join(lines)
    print("\n" + summary)
    if args.lesson == "all":  # the main job's record: out/run_all.json, and with --record docs/
        out = Path(args.out) if args.out is not None else Path("out")
        scales = [run_lessons.lesson_scale(out / path.stem) for _, path in chosen]
        record = run_lessons.main_job_record(summary, scales, wall, cpu,
                                             [load_start, run_record.load_average()],
                                             jobs, per_lesson, args.quick)
        run_record.write(out / "run_all.json", record)
        if args.record and not failed:
            path = run_record.write(run_record.docs_path("main_job", record["scale"]), record)
            print(f"recorded for the README: {path}")
    return 1 if failed else 0


# --- data ------------------------------------------------------------------------------------
def cmd_data(args):
    """Download (md5-checked) and parse both splits, so that lessons find the full set."""
    from .data import load_fashion_mnist, load_mnist
    from .data.mnist import remove_damaged_downloads
    load = load_fashion_mnist if args.fashion else load_mnist
    try:
        for path, reason in remove_damaged_downloads("fashion-mnist" if args.fashion else "mnist"):
            print(f"removed a damaged download, to fetch it again: {path} ({reason})")
        for split in ("train", "test"):
            images, _ = load(split, download=True)
            print(f"{split}: {len(images):,} images ready")
    except (OSError, ValueError) as err:  # offline, unwritable, or a damaged file of the user's
        print(f"tinyae data: {err}", file=sys.stderr)
        return 1
    return 0


# --- gradcheck -------------------------------------------------------------------------------
def cmd_gradcheck(args):
    from .gradcheck import check_all_ops, check_op, format_op_table, load_all_ops
    if args.op:
        unknown = sorted(set(args.op) - set(load_all_ops()))
        if unknown:
            raise UsageError(f"unknown op(s) {', '.join(unknown)}; the registered ops are "
                             f"{', '.join(sorted(load_all_ops()))}")
        rows = [check_op(name, second_order=not args.first_order) for name in args.op]
    else:
        rows = check_all_ops(second_order=not args.first_order)
    print(format_op_table(rows))
    return 1 if any(r.first_order is False or r.second_order is False for r in rows) else 0


# --- exercises -------------------------------------------------------------------------------
def cmd_exercises(args):
    from .exercises import command
    try:
        return command.run(args)
    except command.ExerciseUsageError as err:
        raise UsageError(str(err)) from None


# --- train -----------------------------------------------------------------------------------
# The zoo's autoencoders that `tinyae train` fits with BCE (the VAE's objective is its own)
MODELS = tuple(name for name in zoo.MODELS if name != "vae")


def build_model(name, latent=32, seed=0):
    """The autoencoder ``name`` of the model zoo, weights seeded by ``seed``, BCE as its loss."""
    from .models import build
    if name not in MODELS:
        raise UsageError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")
    return build(name, latent=latent, rng=seed)


def _load_data(dataset, quick, flatten):
    from .data import load_fashion_mnist, load_mnist, mnist_source
    try:
        if dataset == "mnist":
            print(mnist_source())
            load = lambda split: load_mnist(split, download=not quick, fallback="embedded", flatten=flatten)  # noqa: E731
        else:
            print(mnist_source(dataset="fashion-mnist"))
            load = lambda split: load_fashion_mnist(split, download=not quick, flatten=flatten)  # noqa: E731
        (x_train, _), (x_test, _) = load("train"), load("test")
    except (FileNotFoundError, OSError, ValueError) as err:  # missing, unreadable or damaged
        raise UsageError(str(err).replace("\n", " ")) from None
    if quick:
        x_train, x_test = x_train[:2000], x_test[:500]
    return x_train, x_test


def _choose_threads(requested=None):
    """(count, reason): ``--threads``, else $TINYAE_THREADS, else the policy; UsageError if bad."""
    try:
        return threads.choose(requested)
    except ValueError as err:
        raise UsageError(str(err)) from None


def cmd_train(args):
    from . import backend, optim, viz
    from .autograd import no_grad
    from .data import DataLoader
    from .train import ResumeError, evaluate, fit
    out = writable_dir(args.out)  # before training: a run must not fail only when it saves
    count, reason = _choose_threads(args.threads)
    threads.limit(count)
    print(f"BLAS threads: {count} ({reason})")
    model = build_model(args.model, args.latent, args.seed)
    x_train, x_test = _load_data(args.data, args.quick, flatten=args.model != "conv")
    print(f"model {args.model}: {model.num_parameters():,} parameters; "
          f"{len(x_train):,} train / {len(x_test):,} test images")
    # The batches go where the model is (the GPU with TINYAE_BACKEND=cupy)
    train_loader = DataLoader(backend.on_default(x_train), batch_size=args.batch_size, shuffle=True)
    test_loader = DataLoader(backend.on_default(x_test), batch_size=1000)
    untrained = evaluate(model, test_loader)["loss"]
    try:
        history = fit(model, optim.Adam(model.parameters(), lr=args.lr), train_loader,
                      args.epochs, val_loader=test_loader, seed=args.seed,
                      checkpoint_dir=out / "checkpoints", resume=args.resume, verbose=False)
    except ResumeError as err:
        raise UsageError(f"--resume: {err}") from None
    except FloatingPointError as err:
        print(f"tinyae train: training diverged: {err}", file=sys.stderr)
        return 1
    print(history.table())
    final = history["val_loss"][-1]
    print(f"test BCE per pixel after {history.epochs} epochs: {final:.4f} (untrained: "
          f"{untrained:.4f})")
    model.save(out / "model.npz")
    (out / "history.json").write_text(history.to_json(), encoding="utf-8")
    model.eval()
    with no_grad():
        recon = backend.to_numpy(model(tinyae.Tensor(backend.on_default(x_test[:10]))).data)
    viz.image_grid([x_test[:10].reshape(10, 784), recon.reshape(10, 784)],
                   row_titles=["input", "output"], path=out / "reconstructions.png",
                   title=f"{args.model} autoencoder, {args.data}, code size {args.latent}")
    viz.loss_curves({"train": history["train_loss"], "test": history["val_loss"]},
                    path=out / "loss.png", title="BCE per pixel")
    print(f"saved {out / 'model.npz'}, {out / 'history.json'}, "
          f"{out / 'reconstructions.png'}, {out / 'loss.png'}")
    if not final < untrained:
        print(f"tinyae train: warning: training failed: the test loss {final:.4f} is no lower "
              f"than the untrained model's {untrained:.4f}; the learning rate {args.lr:g} is "
              "probably too high (the default is 1e-3)", file=sys.stderr)
        return 1
    return 0


# --- docs ------------------------------------------------------------------------------------
def cmd_docs(args):
    """sync: regenerate the lesson pages' record blocks from docs/runs/ (tinyae/run_pages.py);
    build: the course website, offline (tinyae/site.py)."""
    from . import run_pages
    if args.action == "build":
        from . import site
        try:
            pages, seconds = site.build(args.out)
        except ModuleNotFoundError as err:
            raise UsageError(f"the website needs the docs extra ({err.name} is missing): "
                             'pip install -e ".[docs]"') from None
        except RuntimeError as err:
            raise UsageError(str(err)) from None
        print(f"{pages} pages built in {seconds:.0f} s: open {Path(args.out) / 'index.html'}, "
              f"or run `python -m http.server -d {args.out}` and open http://localhost:8000")
        return 0
    try:
        changed = run_pages.sync()
    except ValueError as err:  # a record missing or damaged
        raise UsageError(str(err)) from None
    print(f"{len(changed)} page(s) rewritten from their records"
          + "".join(f"\n  {p}" for p in changed))
    return 0


# --- info ------------------------------------------------------------------------------------
def cmd_info(args):
    from . import backend
    from .data import mnist_source

    def version(module):
        try:
            imported = __import__(module)
        except ImportError:
            return "not installed"
        # A folder named like the package on the path imports as an empty namespace package.
        return getattr(imported, "__version__", f"no version (not a real install: "
                                                f"{list(getattr(imported, '__path__', []))})")
    print(f"tinyae      {tinyae.__version__} ({Path(tinyae.__file__).resolve().parent})")
    print(f"python      {platform.python_version()} ({sys.executable})")
    for module in ("numpy", "matplotlib", "tqdm"):
        print(f"{module:<11} {version(module)}")
    print(f"backend     {backend.get_backend() or 'none usable'} "
          f"(TINYAE_BACKEND={os.environ.get('TINYAE_BACKEND', 'unset')})")
    if backend.environment_error():
        print(f"            problem: {backend.environment_error()}")
    gpu = "yes" if backend.cupy_available() else "no"
    print(f"cupy        {version('cupy')}, GPU usable: {gpu}")
    print(f"data        TINYAE_DATA={os.environ.get('TINYAE_DATA', 'unset')}")
    print(f"            {mnist_source()}")
    print(f"            {mnist_source(dataset='fashion-mnist')}")
    try:
        print(f"lessons     {len(find_lessons())} in {lessons_dir()}")
    except UsageError:
        print("lessons     not found (they ship with the source repository)")
    return 0


# --- the parser ------------------------------------------------------------------------------
def make_parser():
    parser = argparse.ArgumentParser(prog="tinyae", description="tinyae: backprop and autoencoders "
                                     "from scratch. Run `tinyae COMMAND -h` for a command's options.")
    parser.add_argument("--version", action="version", version=f"tinyae {tinyae.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    sub.add_parser("lessons", help="list the lessons").set_defaults(run=cmd_lessons)

    p = sub.add_parser("run", help="run a lesson (or all) and print a pass/fail table")
    p.add_argument("lesson", help="lesson number (e.g. 3 or 03), or 'all'")
    p.add_argument("--quick", action="store_true", help="the small version (seconds per lesson)")
    p.add_argument("--out", help="figures go to OUT/NN_name/ (default: out/ in the current folder)")
    p.add_argument("--record", action="store_true",
                   help="with all: keep this run's summary and time in docs/runs/main_job.SCALE.json "
                        "(the README quotes it)")
    p.add_argument("--jobs", type=positive(int), default=None,
                   help="lessons at a time (default: the free cores; 1 streams each lesson's output)")
    p.set_defaults(run=cmd_run)

    p = sub.add_parser("gradcheck", help="finite-difference check of every registered op")
    p.add_argument("--op", nargs="+", help="check only these ops (by class name, e.g. Sigmoid)")
    p.add_argument("--first-order", action="store_true", help="skip the second-order checks")
    p.set_defaults(run=cmd_gradcheck)

    from .exercises.command import add_parser as add_exercises_parser
    add_exercises_parser(sub).set_defaults(run=cmd_exercises)

    p = sub.add_parser("train", help="train a built-in autoencoder on MNIST or Fashion-MNIST",
                       description=zoo.describe(MODELS), formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", choices=MODELS)
    p.add_argument("--data", choices=("mnist", "fashion"), default="mnist")
    p.add_argument("--epochs", type=positive(int), default=10)
    p.add_argument("--batch-size", type=positive(int), default=256)
    p.add_argument("--lr", type=positive(float), default=1e-3, help="Adam's learning rate")
    p.add_argument("--latent", type=positive(int), default=32, help="code size k")
    p.add_argument("--seed", type=seed_flag, default=0, help="random seed, 0 or more")
    p.add_argument("--out", default="runs/train", help="folder for model.npz, figures, checkpoints")
    p.add_argument("--quick", action="store_true", help="2,000 training images, no download")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoints")
    p.add_argument("--threads", type=positive(int), help="BLAS threads (default: $TINYAE_THREADS, "
                   "else the cores not busy now)")
    p.set_defaults(run=cmd_train)

    sub.add_parser("info", help="versions, backend, GPU and data locations").set_defaults(run=cmd_info)
    p = sub.add_parser("docs", help="the pages' measured numbers from the recorded runs; the "
                       "course website")
    p.add_argument("action", choices=("sync", "build"), help="sync: rewrite every page's record "
                   "blocks from docs/runs/ (after `python lessons/NN_….py --record`); build: the "
                   "course website into --out, offline (needs the docs extra)")
    p.add_argument("--out", default="site", help="build: the folder of the website (default site/)")
    p.set_defaults(run=cmd_docs)
    p = sub.add_parser("data", help="get the full data sets (MNIST by default)")
    p.add_argument("action", choices=("download",), help="download into the user cache")
    p.add_argument("--fashion", action="store_true", help="Fashion-MNIST instead of MNIST")
    p.set_defaults(run=cmd_data)
    return parser


def main(argv=None):
    """Entry point of the ``tinyae`` console script; returns the exit status."""
    args = make_parser().parse_args(argv)  # argparse itself exits with status 2 on bad usage
    try:
        if tinyae.backend.environment_error() and args.command in ("run", "gradcheck", "train"):
            raise UsageError(tinyae.backend.environment_error() + "; unset it or install CuPy "
                             "(`tinyae info` shows the GPU state)")
        return args.run(args)
    except UsageError as err:
        print(f"tinyae {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader stopped early (`tinyae lessons | head -1`): not an error of ours. Point
        # stdout at /dev/null so that Python's flush at exit does not fail a second time.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, what a shell reports for a program stopped by a closed pipe

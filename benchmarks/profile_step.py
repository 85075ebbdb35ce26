"""Where does a tinyae training step spend its time? cProfile over N steps of one model.

    python benchmarks/profile_step.py deep                 # 50 steps, top 25 functions by own time
    python benchmarks/profile_step.py conv --steps 100 --sort cumulative --top 40

The step is the one benchmarks/run.py times (zero_grad, forward, MSE, backward, Adam step).
cProfile adds a few microseconds to every Python call, so the small-op overhead looks larger
than it is; use it to see *where* time goes, and run.py to see *how much*.
"""
import argparse
import cProfile
import os
import pstats
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.models import MODELS  # noqa: E402
from benchmarks.run import load_images, tinyae_trainer  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", choices=MODELS)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--sort", default="tottime", help="pstats sort key (tottime, cumulative)")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    import numpy
    images, _ = load_images(args.model)  # (x, where it came from)
    _, step, _, _ = tinyae_trainer(args.model, numpy)
    rng = numpy.random.default_rng(0)
    batches = [images[rng.permutation(len(images))[:args.batch_size]] for _ in range(args.steps)]
    for xb in batches[:3]:  # warm-up: optimizer state, first-touch of buffers
        step(xb)
    profiler = cProfile.Profile()
    profiler.enable()
    for xb in batches:
        step(xb)
    profiler.disable()
    stats = pstats.Stats(profiler).strip_dirs().sort_stats(args.sort)
    total = stats.total_tt
    print(f"{args.model}: {args.steps} steps, {1000 * total / args.steps:.2f} ms/step under cProfile")
    stats.print_stats(args.top)


if __name__ == "__main__":
    main()

"""Seeding for fit(): find every random stream a training run draws from, seed them all from one
number, and save/restore their states so that a resumed run draws the same numbers."""
import numpy

from ..generator import default_generator
from ..nn import Module

# Checkpoints written before the default generator had its own module named it so
_FORMER_NAMES = {"default_generator": "functional.random.default_generator"}


def find_generators(model, loaders, rngs):
    """name -> numpy Generator for every random stream fit knows of: each loader's shuffle
    generator, Generators held by modules (e.g. Dropout(rng=...)) or by the plain objects a
    module holds (a denoising AE's ``corruption=MaskingNoise(...)`` and its ``.rng``),
    module-level Generators of tinyae.functional.random (dropout and noise ops), and the ones
    passed as ``rngs``. A stream missed here would be neither seeded nor checkpointed, and a
    resumed run would draw other numbers."""
    found = {}
    for name, loader in loaders.items():
        if isinstance(getattr(loader, "_rng", None), numpy.random.Generator):
            found[name] = loader._rng
    for prefix, module in model.named_modules():
        for attr, value in vars(module).items():
            name = f"model.{prefix}.{attr}" if prefix else f"model.{attr}"
            if isinstance(value, numpy.random.Generator):
                found[name] = value
            elif hasattr(value, "__dict__") and not isinstance(value, (Module, type)):
                for inner, generator in vars(value).items():   # one level down, no deeper
                    if isinstance(generator, numpy.random.Generator):
                        found[f"{name}.{inner}"] = generator
    found["default_generator"] = default_generator
    for name, gen in (rngs or {}).items():
        if not isinstance(gen, numpy.random.Generator):
            raise TypeError(f"rngs[{name!r}] must be a numpy.random.Generator, got {type(gen).__name__}")
        found[name] = gen
    return found


def seed_everything(seed, generators=()):
    """Seed NumPy's global generator and, in place, each Generator in ``generators`` (a dict
    name -> Generator) with its own stream spawned from ``seed``: same seed, same numbers."""
    if isinstance(seed, bool) or not isinstance(seed, (int, numpy.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    numpy.random.seed(int(seed))
    generators = dict(generators)
    for gen, child in zip(generators.values(), numpy.random.SeedSequence(int(seed)).spawn(len(generators))):
        gen.bit_generator.state = type(gen.bit_generator)(child).state


def rng_states(generators):
    """The state of every generator, and of NumPy's global one, as a dict name -> state."""
    states = {name: gen.bit_generator.state for name, gen in generators.items()}
    states["numpy.random.global"] = numpy.random.get_state(legacy=False)
    return states


def set_rng_states(generators, states):
    """Put back the states saved by ``rng_states`` (generators missing from ``states`` are left)."""
    for name, gen in generators.items():
        name = name if name in states else _FORMER_NAMES.get(name, name)
        if name in states:
            gen.bit_generator.state = states[name]
    if "numpy.random.global" in states:
        numpy.random.set_state(states["numpy.random.global"])

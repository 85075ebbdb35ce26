"""The lesson pages' measured numbers, generated from the recorded runs (docs/runs/*.json).

A page's *Measured* section holds one block per recorded run it quotes, between markers:

    <!-- record: 12_denoising.full -->
    …generated: what that run printed (data, tables, claims, time), never typed by hand…
    <!-- /record -->

``tinyae docs sync`` rewrites every block from its record (after ``python lessons/NN_….py
--record``). The test suite checks that each block is what its record renders to, that every
number elsewhere in a *Measured* section and in the README's lesson table is one the recorded
run printed (to the digits shown), and that no page quotes a run it has no record of.
"""
import re

from . import run_record

DOCS = run_record.RUNS_DIR.parent
README = DOCS.parent / "README.md"
BLOCK = re.compile(r"<!-- record: (?P<key>[\w.]+) -->\n(?P<body>.*?)<!-- /record -->", re.S)
SCALE_WORDS = {"full": "real run", "embedded": "real run on the embedded MNIST subset",
               "paper": "run of the paper's setup (--paper)"}
_KEPT = ("|", "✓", "·", "data:", "open question", "measured in", "Lesson ")


def render(record):
    """The Markdown of a record's block: one sentence on the run, then the lines it printed
    that a reader compares with the claim (data, table titles and tables, claims, time)."""
    lines = record["output"].splitlines()
    kept = [line for i, line in enumerate(lines)
            if line.startswith(_KEPT) or (line.strip() and i + 1 < len(lines)
                                          and lines[i + 1].startswith("| ")
                                          and not line.startswith("|"))]
    data = ", ".join(record["data"]) or "the lesson's own data"
    head = (f"The {SCALE_WORDS[record['scale']]} of {record['date'][:10]} ({data}; seed "
            f"{record['seed']}, {record['backend']}, {record['threads']} BLAS thread(s)), as it "
            f"printed it (recorded in `docs/runs/{record['name']}.{record['scale']}.json`):")
    return head + "\n\n" + "\n".join("    " + line for line in kept) + "\n\n"


def record_for(key):
    name, scale = key.rsplit(".", 1)
    return run_record.load(run_record.docs_path(name, scale))


def pages():
    return sorted(DOCS.glob("[0-9][0-9]_*.md"))


TIMES = re.compile(r"<!-- lesson times -->\n(?P<body>.*?)<!-- /lesson times -->", re.S)
COURSE = DOCS / "course.md"


def times_table():
    """The Markdown table of every lesson's recorded real-run times: on the embedded subset
    (what a laptop has) and on full MNIST, wall clock and CPU, with the run's threads and load."""
    def cell(name, scale):
        try:
            r = run_record.load(run_record.docs_path(name, scale))
        except ValueError:
            return "—" if scale == "embedded" else "not yet run"
        minutes = r["wall_seconds"] / 60
        wall = f"{r['wall_seconds']:.1f} s" if minutes < 2 else f"{minutes:.1f} min"
        cpu = r["cpu_seconds"]
        return f"{wall} ({cpu:.1f} s CPU, load {r['load'][0]})" if cpu < 10 else \
            f"{wall} ({cpu:.0f} s CPU, load {r['load'][0]})"
    rows = ["| lesson | real, embedded subset | real, full MNIST |", "|---|---:|---:|"]
    for page in pages():
        embedded = cell(page.stem, "embedded")
        rows.append(f"| [{page.stem[:2]}]({page.name}) | "
                    f"{embedded if embedded != '—' else '(no MNIST: same as full)'} | "
                    f"{cell(page.stem, 'full')} |")
    return "\n".join(rows) + "\n"


def sync():
    """Rewrite every record block of every page from its record, and the term plan's table of
    lesson times (docs/course.md); returns the pages changed."""
    changed = []
    if COURSE.is_file():
        text = COURSE.read_text(encoding="utf-8")
        new = TIMES.sub(lambda m: f"<!-- lesson times -->\n{times_table()}<!-- /lesson times -->",
                        text)
        if new != text:
            COURSE.write_text(new, encoding="utf-8")
            changed.append(COURSE)
    for page in pages():
        text = page.read_text(encoding="utf-8")
        new = BLOCK.sub(lambda m: f"<!-- record: {m['key']} -->\n{render(record_for(m['key']))}"
                                  "<!-- /record -->", text)
        if new != text:
            page.write_text(new, encoding="utf-8")
            changed.append(page)
    return changed


# --- numbers -----------------------------------------------------------------------------------
NUMBER = re.compile(r"(?<![\w.])[-−]?\d[\d,]*(?:\.\d+)?(?:e[-+−]?\d+)?")


def numbers(text):
    """The numbers written in ``text``, as the strings shown (1,000 and 5.7e-05 included)."""
    return [m.group(0) for m in NUMBER.finditer(text)]


def _value(token):
    return float(token.replace(",", "").replace("−", "-"))


def shown_as(token, values):
    """True when one of ``values`` (numbers a run printed) reads as ``token`` at the digits the
    token shows: 13.866 is shown as 13.87, 0.4912 as 0.49, 5.74e-04 as 5.7e-04."""
    target = _value(token)
    mantissa = token.split("e")[0]
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    for v in values:
        if "e" in token:
            if float(f"{v:.{decimals}e}") == target:
                return True
        elif round(v, decimals) == target or (decimals == 0 and round(v) == target):
            return True
    return False


def measured_section(text):
    """The text of a page's *Measured* section (up to the next ``## `` heading)."""
    match = re.search(r"^## Measured.*?(?=^## |\Z)", text, re.S | re.M)
    return match.group(0) if match else ""


ALSO = re.compile(r"<!-- also quotes: (?P<keys>[\w., ]+) -->")
SETTINGS = re.compile(r"<!-- settings also in: (?P<paths>[\w./, ]+) -->")
# Numbers that are not measurements: a lesson's number ("lesson 18", "Lessons 06–09"), a
# citation's year ("Vincent et al. 2008", "(Hinton & Salakhutdinov, 2006)"), a link's target,
# the options of a command to type (its trailing comment is still checked).
_NOT_MEASURED = [re.compile(p) for p in (
    r"\]\([^)]*\)",                                              # a link's target
    r"[Ll]essons? \d\d(?:[–-]\d\d)?(?:(?:,| and| or) \d\d)*",        # lesson numbers
    r"(?:et al\.|[A-Z][a-z]+|&),? \(?(?:19|20)\d\d[a-z]?\b",          # citation years
    r"^# Lesson \d\d",
    r"(?m)^ {4}(?:[A-Z_]+=\S+ )*(?:python|tinyae) [^#\n]*",          # a command (not its comment)
)]


def quoted_records(text):
    """The records a page quotes: its record blocks, and the runs of other lessons it names in
    ``<!-- also quotes: 18_vae.full -->``."""
    keys = [m["key"] for m in BLOCK.finditer(text)]
    for m in ALSO.finditer(text):
        keys += [k.strip() for k in m["keys"].split(",") if k.strip()]
    return [record_for(k) for k in keys]


def unrecorded_numbers_on_page(page):
    """Numbers anywhere on a lesson page that neither a run it quotes printed nor its script
    sets (a setting such as 784 → 500 or lr 2·10⁻³ is the script's, not a measurement; a page
    that describes a library function's defaults names its file in
    ``<!-- settings also in: tinyae/data/synthetic.py -->``)."""
    text = page.read_text(encoding="utf-8")
    records = quoted_records(text)
    sources = [f"lessons/{page.stem}.py"]  # and the library files the page says it describes
    for m in SETTINGS.finditer(text):
        sources += [path.strip() for path in m["paths"].split(",") if path.strip()]
    settings = [_value(t) for source in sources
                for t in numbers((DOCS.parent / source).read_text(encoding="utf-8"))]
    text = BLOCK.sub("", text)
    for pattern in _NOT_MEASURED:
        text = pattern.sub("", text)
    return [t for t in unrecorded_numbers(text, records) if not shown_as(t, settings)]


def unrecorded_numbers(text, records):
    """Numbers in ``text`` that none of ``records`` printed (with the run's own metadata).
    Inline code (a command, a file name) is not a measured number."""
    text = re.sub(r"`[^`]*`", "", text)
    values = []
    for record in records:
        meta = " ".join(str(record[k]) for k in ("date", "seed", "threads", "wall_seconds",
                                                   "cpu_seconds", "load", "lesson"))
        meta += f" {record['wall_seconds'] / 60} {record['cpu_seconds'] / 60}"  # in minutes
        values += [abs(_value(t)) for t in numbers(record["output"] + " " + meta)]
    percents = [100 * v for v in values]  # a share printed as 0.7882 may be written 78.8%
    # A page may quote a printed −0.89 as "by 0.89": magnitudes are compared.
    return [m.group(0) for m in NUMBER.finditer(text)
            if not shown_as(m.group(0).lstrip("-−"), values)
            and not (text.startswith("%", m.end())
                     and shown_as(m.group(0).lstrip("-−"), percents))]

"""The plumbing every figure of tinyae shares (viz, viz_graph): an off-screen matplotlib
Figure that Jupyter shows inline, the projector's type sizes, and saving without a half-written
file. Built with ``Figure`` and the Agg canvas directly, never through pyplot, so figures need
no display and never switch the backend of a user's session."""
import functools
import io
from pathlib import Path

from matplotlib import rc_context
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .io import replace_atomically

DPI = 150
# Type sizes for a projector: a slide shows a figure at about half its printed width, so labels
# and titles are ≥ 12 pt (matplotlib's defaults are 10). Every figure function draws under
# these; a lesson (tinyae.lesson.Lesson) applies them to its own pyplot figures too.
PROJECTOR = {"font.size": 13, "axes.titlesize": 15, "axes.labelsize": 14,
             "xtick.labelsize": 12, "ytick.labelsize": 12, "legend.fontsize": 12,
             "legend.title_fontsize": 12, "figure.titlesize": 16, "lines.linewidth": 2.0}


class _Figure(Figure):
    def _repr_png_(self):
        """Lets Jupyter show a returned figure inline whatever backend the notebook uses."""
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", dpi=100)
        return buffer.getvalue()


def projector(function):
    """Draw (and save, given path=) under the PROJECTOR type sizes, without changing the
    caller's own matplotlib settings."""
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with rc_context(PROJECTOR):
            return function(*args, **kwargs)
    return wrapper


def new_figure(size):
    fig = _Figure(figsize=size, layout="constrained")
    FigureCanvasAgg(fig)  # an off-screen canvas: drawing and saving need no display
    return fig


def finish(fig, path, title=None):
    """Title, projector tick sizes, and (given ``path``) the saved file: PNG at ``DPI`` unless
    the suffix names another format."""
    if title:
        fig.suptitle(title, fontsize=16)
    for ax in fig.axes:  # tick labels are made lazily, at draw time: fix their size now
        ax.tick_params(labelsize=PROJECTOR["xtick.labelsize"])
    if path is not None:
        path = Path(path)
        if path.is_dir():
            raise IsADirectoryError(f"path={str(path)!r} is a folder; give a file name in it, "
                                    f"e.g. {str(path / 'figure.png')!r}")
        path = path if path.suffix else path.with_suffix(".png")
        path.parent.mkdir(parents=True, exist_ok=True)
        replace_atomically(path, lambda partial: fig.savefig(partial, dpi=DPI))  # no half image
    return fig

"""The axes of the figures of ``skgd study``.

A parameter spanning decades is on a log axis, with 0 on a narrow axis of
its own at the left (:func:`x_scale`, :class:`XAxis`); an R² far below 0 is
on a symmetric log scale, so that every curve stays in view
(:func:`limit_scores`); the legend is below the axes, off the curves
(:func:`outside_legend`).
"""

import math

import numpy as np

from .grid import LOG_SCALE
from .tables import format_value, is_number

#: Positive values spanning this ratio or more get a log axis, whatever the
#: parameter; those of :data:`skgd.study.grid.LOG_SCALE` get one from two values.
_DECADES = 100.0


def x_scale(param, values):
    """How a parameter's values are laid out on the x axis.

    Parameters
    ----------
    param : str
        The parameter.
    values : list
        Its values.

    Returns
    -------
    scale : {"log", "log0", "linear", "category"}
        ``"category"`` unless every value is a number; ``"log"`` for
        non-negative numbers of :data:`skgd.study.grid.LOG_SCALE` (learning rate,
        alpha), or whose positive values span a factor of 100 or more;
        ``"log0"`` for such a log axis when 0 is among the values too (drawn
        apart, at the left, as 0 cannot sit on a log axis); ``"linear"``
        otherwise.
    """
    if not values or not all(is_number(v) for v in values):
        return "category"
    positive = sorted({float(v) for v in values if v > 0})
    if any(v < 0 for v in values) or not positive:
        return "linear"
    spans = len(positive) > 1 and positive[-1] / positive[0] >= _DECADES
    if param not in LOG_SCALE and not spans:
        return "linear"
    return "log0" if any(v == 0 for v in values) else "log"


#: Offsets of the successive curves' points at 0 on the narrow axes (-1 to 1).
_DODGE = (-0.3, 0.3, -0.6, 0.6, 0.0)


class XAxis:
    """The x axis of a parameter: its axes, and where each value goes.

    On a ``"log0"`` scale (see :func:`x_scale`) the figure has two axes with
    one y axis: a narrow one at the left holding the points at 0, and the log
    axis of the positive values, with break marks between them.

    Attributes
    ----------
    ax : Axes
        The main axes, with the x label, the title and the points not at 0.
    zero_ax : Axes or None
        The axes of the points at 0, on a ``"log0"`` scale.
    axes : list of Axes
        Every axes, the left one first.
    """

    def __init__(self, figure, param, values):
        self.scale = x_scale(param, values)
        self._curves = 0
        if self.scale == "log0":
            self.zero_ax, self.ax = figure.subplots(
                1, 2, sharey=True, width_ratios=[1, 9]
            )
            self._break()
        else:
            self.zero_ax, self.ax = None, figure.add_subplot()
        self.axes = [ax for ax in (self.zero_ax, self.ax) if ax is not None]
        if self.scale in ("log", "log0"):
            self.ax.set_xscale("log")
        if self.scale == "category":
            self.categories = list(dict.fromkeys(map(format_value, values)))
            self.ax.set_xticks(range(len(self.categories)), self.categories)
        self.ax.set_xlabel(param)

    def _break(self):
        """The narrow axes at 0, with marks where the axis is broken."""
        zero, ax = self.zero_ax, self.ax
        zero.set_xlim(-1, 1)
        zero.set_xticks([0], ["0"])
        zero.spines["right"].set_visible(False)
        ax.spines["left"].set_visible(False)
        ax.tick_params(axis="y", which="both", left=False, labelleft=False)
        marks = dict(
            marker=[(-1, -2), (1, 2)], markersize=8, linestyle="none",
            color="k", mec="k", mew=1, clip_on=False, label="_break",
        )  # fmt: skip
        zero.plot([1, 1], [0, 1], transform=zero.transAxes, **marks)
        ax.plot([0, 0], [0, 1], transform=ax.transAxes, **marks)

    def _split(self, values, *columns):
        """``(ax, x, *columns)`` for the points at 0 and for the others."""
        columns = [np.asarray(c, dtype=float) for c in columns]
        if self.scale == "category":
            x = np.array([self.categories.index(format_value(v)) for v in values])
            return [(self.ax, x, *columns)]
        x = np.asarray(values, dtype=float)
        if self.zero_ax is None:
            return [(self.ax, x, *columns)]
        at_zero = x == 0
        parts = [(self.zero_ax, at_zero), (self.ax, ~at_zero)]
        return [(ax, x[keep], *(c[keep] for c in columns)) for ax, keep in parts]

    def plot(self, values, y, std=None, *, label, color=None):
        """A curve with markers, and a band of ±``std`` when given.

        Returns
        -------
        color : str
            The colour of the curve.
        """
        std = np.zeros(len(values)) if std is None else std
        # The main axes first, which picks the colour of the points at 0 too.
        for ax, x, mean, dev in reversed(self._split(values, y, std)):
            if ax is self.zero_ax:  # side by side, not one over the other
                x = x + _DODGE[self._curves % len(_DODGE)]
                ax.errorbar(
                    x, mean, yerr=dev, fmt="o", color=color, ecolor=color,
                    elinewidth=6, alpha=0.8, label="_zero",
                )  # fmt: skip
                continue
            (line,) = ax.plot(x, mean, "o-", color=color, label=label)
            color = line.get_color()
            if np.any(dev > 0):
                ax.fill_between(x, mean - dev, mean + dev, color=color, alpha=0.2)
        self._curves += 1
        return color

    def mark(self, values, *, label, color="C3", marker="x"):
        """Markers at the foot of the axes, e.g. for the candidates that failed."""
        for ax, x in self._split(values):
            if x.size:
                y = np.full(x.shape, 0.04)
                ax.plot(
                    x, y, marker, color=color, mew=2, ms=8, linestyle="none",
                    transform=ax.get_xaxis_transform(), label=label, clip_on=False,
                )  # fmt: skip

    def vline(self, value, *, label):
        """A vertical line at ``value``, e.g. the best setting."""
        ((ax, x),) = [part for part in self._split([value]) if part[1].size]
        ax.axvline(x[0], color="0.5", linestyle="--", linewidth=1, label=label)

    def title(self, text):
        """The title of the figure, centred over every axes."""
        self.ax.figure.suptitle(text, fontsize="medium")


def outside_legend(figure, ncols=4):
    """One legend for the whole figure, below the axes, off every curve.

    The handles of every axes are gathered, once per label (those starting
    with "_" left out).

    Parameters
    ----------
    figure : matplotlib Figure
        With ``layout="constrained"``, which makes room for the legend.
    ncols : int, default=4
        Entries per row at most.

    Returns
    -------
    legend : Legend or None
        None when nothing is labelled.
    """
    handles = {}
    for ax in figure.axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label, handle)
        if ax.get_legend() is not None:
            ax.get_legend().remove()
    if not handles:
        return None
    return figure.legend(
        handles.values(), handles.keys(), loc="outside lower center",
        ncols=min(ncols, len(handles)), frameon=False,
    )  # fmt: skip


#: R² below -1 is drawn on a log scale (a symmetric log: linear in [-1, 1]).
_SYMLOG = {"linthresh": 1.0, "linscale": 2.0}


def symlog_scores(task, values):
    """Whether :func:`limit_scores` draws the scores on a symmetric log axis.

    Parameters
    ----------
    task : Task
    values : array-like
        Every score drawn; NaN are left out.

    Returns
    -------
    symlog : bool
        True for an R² below -1.

    Examples
    --------
    >>> from skgd.study.task import REGRESSION
    >>> symlog_scores(REGRESSION, [0.5, -1.7, float("nan")])
    True
    """
    finite = np.asarray(values, dtype=float)
    return task.metric == "r2" and bool(np.any(finite[np.isfinite(finite)] < -1))


def limit_scores(ax, task, values):
    """Show every R², however negative, without flattening the rest.

    R² in [-1, 1] is on a linear scale; when some value is below -1 (a
    candidate far from converged, or near divergence), the axis goes on
    below -1 on a log scale (matplotlib's ``symlog``), so that every curve
    stays in view. Only R² is unbounded below; accuracy stays in [0, 1] and
    keeps matplotlib's limits.

    Parameters
    ----------
    ax : Axes
    task : Task
    values : array-like
        Every score drawn (the bands' edges too); NaN are left out.
    """
    if task.metric != "r2":
        return
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    if not finite.size:
        return
    low, high = finite.min(), max(finite.max(), 0.0) + 0.05
    if not symlog_scores(task, values):
        ax.set_ylim(low - 0.05, high)
        return
    from matplotlib.ticker import FixedLocator, FuncFormatter

    ax.set_yscale("symlog", **_SYMLOG)  # shared with the axes at 0
    ax.set_ylim(low * 1.3, high)
    # Plain numbers: the linear part every 0.5, then each decade below -1.
    decades = [-(10.0**k) for k in range(math.ceil(math.log10(-low * 1.3)))]
    ticks = [t for t in (-0.5, 0.0, 0.5, 1.0) if t <= high] + decades
    ax.yaxis.set_major_locator(FixedLocator(ticks))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    ax.yaxis.set_minor_locator(FixedLocator([]))

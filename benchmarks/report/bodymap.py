"""The body map: front and back silhouettes with the 29 body areas of ISO/TS 15066
Table A.2, each coloured by the worst risk index (force or pressure ratio to its limit)
reached there.

Coordinates are in m on a standing person 1.8 m tall, x to the person's left, seen from
the front; the back view mirrors x. Areas of a limb are drawn on both sides and coloured
per side (the side of the person's link that was touched); areas on the body's middle,
and the head's, take the value of the area on either side. The hand areas of the
dominant hand (17, 19, 22, 24) are drawn on the right hand, those of the other hand
(18, 20, 23, 25) on the left: a left-handed person's dominant-hand contact shows on the
right hand of the map too.
"""
from __future__ import annotations

import math

import matplotlib.colors as mcolors
import numpy as np
from matplotlib.cm import ScalarMappable
from matplotlib.figure import Figure
from matplotlib.patches import Circle, Ellipse, Polygon

# area id: (view, x, y, paired): x > 0 is the person's left; a paired area is drawn on
# both sides (x and -x)
FRONT, BACK = "front", "back"
AREAS = {
    1: (FRONT, 0.0, 1.69, False), 2: (FRONT, 0.085, 1.65, True), 3: (FRONT, 0.055, 1.56, True),
    4: (FRONT, 0.038, 1.485, True), 5: (BACK, 0.0, 1.47, False), 6: (BACK, 0.17, 1.405, True),
    7: (BACK, 0.0, 1.02, False), 8: (FRONT, 0.0, 1.30, False), 9: (FRONT, 0.10, 1.335, True),
    10: (FRONT, 0.0, 1.08, False), 11: (FRONT, 0.13, 0.95, True), 12: (FRONT, 0.225, 1.41, True),
    13: (BACK, 0.25, 1.26, True), 14: (FRONT, 0.315, 1.02, True), 15: (BACK, 0.29, 1.0, True),
    16: (FRONT, 0.27, 0.94, True), 21: (FRONT, 0.372, 0.80, True), 26: (FRONT, 0.10, 0.73, True),
    27: (FRONT, 0.10, 0.50, True), 28: (FRONT, 0.10, 0.30, True), 29: (BACK, 0.10, 0.30, True)}
# hand areas: (view, x, y) on the dominant (right, x < 0) or the other (left) hand
HAND = {17: (FRONT, 0.355, 0.685), 19: (BACK, 0.355, 0.685), 22: (FRONT, 0.333, 0.752),
        24: (BACK, 0.35, 0.765)}
NON_DOMINANT = {18: 17, 20: 19, 23: 22, 25: 24}
RADIUS = 0.024
NORM = mcolors.Normalize(0.0, 1.5)
CMAP = mcolors.LinearSegmentedColormap.from_list(
    "risk", [(0.0, "#2e9d4a"), (0.5, "#f2d43d"), (0.66, "#f59b2b"), (0.667, "#d7301f"),
             (1.0, "#7f0000")])
SKIN, EDGE = "#e6e2dc", "#9a948c"


def markers() -> list[tuple[int, str, str, float, float]]:
    """Every marker: (area id, view, side, x, y) with x as seen from the front."""
    out = []
    for area, (view, x, y, paired) in AREAS.items():
        if paired:
            out += [(area, view, "left", x, y), (area, view, "right", -x, y)]
        else:
            out.append((area, view, "", x, y))
    for area, (view, x, y) in HAND.items():
        out.append((area, view, "right", -x, y))
    for area, like in NON_DOMINANT.items():
        view, x, y = HAND[like]
        out.append((area, view, "left", x, y))
    return out


def _segment(ax, p, q, width: float) -> None:
    p, q = np.asarray(p, float), np.asarray(q, float)
    d = q - p
    n = np.array([-d[1], d[0]]) / (np.hypot(*d) or 1.0) * width / 2
    ax.add_patch(Polygon([p + n, q + n, q - n, p - n], closed=True, fc=SKIN, ec=EDGE, lw=0.6))
    for c in (p, q):
        ax.add_patch(Circle(c, width / 2, fc=SKIN, ec="none"))


def _silhouette(ax) -> None:
    """A standing person, arms slightly away from the body, palms forward."""
    for s in (1, -1):
        _segment(ax, (s * 0.2, 1.42), (s * 0.28, 1.12), 0.085)       # upper arm
        _segment(ax, (s * 0.28, 1.12), (s * 0.325, 0.86), 0.07)      # forearm
        ax.add_patch(Ellipse((s * 0.345, 0.75), 0.085, 0.18, fc=SKIN, ec=EDGE, lw=0.6))
        _segment(ax, (s * 0.09, 0.92), (s * 0.1, 0.5), 0.15)         # thigh
        _segment(ax, (s * 0.1, 0.5), (s * 0.1, 0.09), 0.105)         # lower leg
        ax.add_patch(Ellipse((s * 0.11, 0.04), 0.09, 0.07, fc=SKIN, ec=EDGE, lw=0.6))
    ax.add_patch(Polygon([(-0.21, 1.45), (0.21, 1.45), (0.16, 1.05), (0.18, 0.9), (-0.18, 0.9),
                          (-0.16, 1.05)], closed=True, fc=SKIN, ec=EDGE, lw=0.6))
    _segment(ax, (0.0, 1.44), (0.0, 1.53), 0.09)                     # neck
    ax.add_patch(Ellipse((0.0, 1.63), 0.19, 0.25, fc=SKIN, ec=EDGE, lw=0.6))


def colour(value: float | None):
    """The fill of an area: white without contact, dark red for an infinite ratio."""
    if value is None:
        return "white"
    if math.isinf(value):
        return "#4d0000"
    return CMAP(NORM(min(value, 1.5)))


def _value(values: dict, area: int, side: str) -> float | None:
    if side:
        found = [values[k] for k in ((area, side), (area, "")) if k in values]
    else:
        found = [v for (a, _), v in values.items() if a == area]
    return max(found) if found else None


def draw(values: dict[tuple[int, str], float], titles: tuple[str, str], colourbar: str,
         no_contact: str, title: str = "") -> Figure:
    """Front and back views; ``values`` maps (area id, side) to the worst risk index."""
    fig = Figure(figsize=(7.2, 5.4), dpi=130)
    axes = fig.subplots(1, 2)
    for ax, view, name in zip(axes, (FRONT, BACK), titles):
        _silhouette(ax)
        for area, where, s, x, y in markers():
            if where != view:
                continue
            x = x if view == FRONT else -x
            value = _value(values, area, s)
            ax.add_patch(Circle((x, y), RADIUS, fc=colour(value), ec="#333333", lw=0.6, zorder=3))
            dark = value is not None and (math.isinf(value) or value > 0.9)
            ax.text(x, y, str(area), ha="center", va="center", fontsize=5.5, zorder=4,
                    color="white" if dark else "black")
        ax.set_xlim(-0.48, 0.48)
        ax.set_ylim(-0.02, 1.8)
        ax.set_aspect("equal")
        ax.axis("off")
        ax.set_title(name, fontsize=9)
    bar = fig.colorbar(ScalarMappable(norm=NORM, cmap=CMAP), ax=axes, shrink=0.7, pad=0.02)
    bar.set_label(colourbar, fontsize=8)
    bar.ax.tick_params(labelsize=7)
    fig.text(0.02, 0.02, no_contact, fontsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig

"""Draw the figures of the docs (run from the repository root; writes docs/images/).

``python docs/gen_figures.py areas``
    docs/images/person_areas.png: the person from the front and the back, each capsule
    in the colour of its primary region, and every area anchor (ISO/TS 15066 Table A.2
    number) in the colour of the spring constant a robot contact there meets.
``python docs/gen_figures.py in-cell GRID.json``
    docs/images/pfl_in_cell.png: the ratio simulated / Annex A of every isolated strike of
    a ``cobotsim validate pfl --in-cell --json`` run, by region and robot.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

IMAGES = Path(__file__).resolve().parent / "images"


def person_areas(path: Path) -> None:
    from simulator.bodymodel import load_body_model
    from simulator.human import Human
    from simulator.kinematics import quat_to_matrix
    from simulator.physics import Sim
    from simulator.safety.areas import AreaMap

    model = load_body_model()
    springs = sorted({r.spring_constant for r in model.regions.values()})
    cmap = plt.get_cmap("viridis")
    colour = {k: cmap(i / (len(springs) - 1)) for i, k in enumerate(springs)}
    with Sim() as sim:
        human = Human(sim, "human")
        areas = AreaMap(human)
        fig, axes = plt.subplots(1, 2, figsize=(9, 7.5))
        for ax, side, sign in ((axes[0], "front (+x)", 1.0), (axes[1], "back (−x)", -1.0)):
            for link in human.links:
                pos, orn = sim.link_state(human.body_id, link.index)
                rot = quat_to_matrix(orn)
                com = sim.link_com_states(human.body_id, [link.index]).position[0]
                axis = rot[:, 2] * (link.length / 2)
                ends = np.array([com - axis, com + axis])
                k = model.region(link.regions[0]).spring_constant
                ax.plot(sign * ends[:, 1], ends[:, 2], lw=link.radius * 330, alpha=0.25,
                        color=colour[k], solid_capstyle="round")
                for anchor in areas.anchors(link.index):
                    normal = rot @ np.asarray(anchor.normal)
                    if sign * normal[0] < -0.2:   # faces away from this view
                        continue
                    p = pos + rot @ np.asarray(anchor.point)
                    ka = model.region(model.area(anchor.area_id).region_id).spring_constant
                    ax.scatter(sign * p[1], p[2], s=60, color=colour[ka], edgecolor="k", zorder=3)
                    ax.annotate(str(anchor.area_id), (sign * p[1], p[2]), fontsize=7,
                                xytext=(4, 2), textcoords="offset points")
            ax.set_title(side)
            ax.set_aspect("equal")
            ax.set_xlabel("y (m), mirrored for the back" if sign < 0 else "y (m)")
            ax.set_ylabel("z (m)")
        handles = [plt.Line2D([], [], marker="o", ls="", color=colour[k], markeredgecolor="k",
                              label=f"{k / 1000:g} N/mm") for k in springs]
        fig.legend(handles=handles, loc="lower center", ncol=5, fontsize=8,
                   title="spring constant of the area a robot contact meets (Table A.3)")
        fig.suptitle("The person's areas (Table A.2 numbers) and the spring each one carries")
        fig.tight_layout(rect=(0, 0.11, 1, 0.96))
        fig.savefig(path, dpi=100)
        plt.close(fig)


def in_cell(grid: Path, path: Path) -> None:
    from simulator.validation import in_cell as validation
    rows = json.loads(grid.read_text())["rows"]
    for r in rows:
        r["ratio"] = float("nan") if r["ratio"] is None else r["ratio"]
    validation.figure(rows, path)


def main(argv: list[str]) -> int:
    IMAGES.mkdir(exist_ok=True)
    if argv[:1] == ["areas"]:
        person_areas(IMAGES / "person_areas.png")
    elif argv[:1] == ["in-cell"] and len(argv) == 2:
        in_cell(Path(argv[1]), IMAGES / "pfl_in_cell.png")
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

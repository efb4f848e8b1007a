"""Contact parameters a robot's URDF declares, and what cobotsim does with them.

A URDF link may carry a ``<contact>`` element (pybullet's extension) with ``stiffness``
(N/m), ``damping`` (N·s/m) and frictions. pybullet gives such a link a soft contact; the
Panda of pybullet_data has 30 000 N/m and 1 000 N·s/m on both fingers. Where the link
met the person, Bullet combined that spring and damper with the person's (springs in
series, dampers in parallel), and a striker with the Panda fingers' values read 2.8-3.5 ×
Annex A. In cobotsim the robot-person contact is the body area's spring
(:mod:`simulator.contact_springs`) and Bullet's collision between robot and person is off,
so these values touch only the robot's contacts with parts and fixtures (a grip, a part on
a table). ``cobotsim check-robot`` lists them with that note.
"""
from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from pathlib import Path

NOTE = ("robot-person contacts use the body area springs (simulator/contact_springs.py); "
        "these values act only on contacts with parts and fixtures")


def urdf_contact_tags(urdf: str | Path) -> list[dict]:
    """Every link of ``urdf`` with a ``<contact>`` element: ``link`` and the numbers it
    declares (``stiffness`` N/m, ``damping`` N·s/m, ``lateral_friction``,
    ``spinning_friction``, ``rolling_friction``; absent ones left out). A file that does
    not parse gives [] (check-robot reports it as a problem already)."""
    try:
        root = ElementTree.parse(str(urdf)).getroot()
    except (OSError, ElementTree.ParseError):
        return []
    out = []
    for link in root.iter("link"):
        contact = link.find("contact")
        if contact is None:
            continue
        entry = {"link": link.get("name", "")}
        for child in contact:
            value = child.get("value")
            try:
                entry[child.tag] = float(value)
            except (TypeError, ValueError):
                continue
        out.append(entry)
    return out


def describe(tags: list[dict]) -> list[str]:
    """One line per link with contact values, and the note on what they are used for."""
    lines = [f"{t['link']}: " + ", ".join(f"{k} {v:g}" for k, v in t.items() if k != "link")
             for t in tags]
    return lines + [NOTE] if lines else []

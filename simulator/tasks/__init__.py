"""Task kinds: what the robot has to do in a cell, its reward and its success rule."""
from simulator.tasks.handover import HandoverTask

TASKS = {"handover": HandoverTask}


def make_task(kind: str, spec, cell):
    """The task object for ``kind`` (validated by the scenario spec)."""
    return TASKS[kind](spec, cell)

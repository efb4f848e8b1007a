"""Task kinds: what the robot has to do in a cell, its reward and its success rule
(docs/scenarios.md#task-kinds)."""
from simulator.tasks.clamping import ClampingTask
from simulator.tasks.co_manipulation import CoManipulationTask
from simulator.tasks.conveyor_inspection import ConveyorInspectionTask
from simulator.tasks.crossing import CrossingTask
from simulator.tasks.handover import HandoverTask
from simulator.tasks.shared_assembly import SharedAssemblyTask

TASKS = {"handover": HandoverTask, "shared_assembly": SharedAssemblyTask,
         "crossing": CrossingTask, "clamping": ClampingTask,
         "co_manipulation": CoManipulationTask, "conveyor_inspection": ConveyorInspectionTask}


def make_task(kind: str, spec, cell):
    """The task object for ``kind`` (validated by the scenario spec)."""
    return TASKS[kind](spec, cell)

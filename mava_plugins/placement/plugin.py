"""The ``placement`` plugin: resolves ``run.device`` into per-node device visibility.

* Process-per-node backends: the trainer's process sees the machine's GPUs (with memory
  growth) when ``run.device`` is ``gpu``, or ``auto`` and there is one; executors, evaluator,
  replay and counter see none. Under a backend that schedules GPUs itself (its
  ``schedules_gpus`` trait: Ray) the trainer asks for a GPU (or for none, ``run.device=cpu``)
  and the backend sets its visibility.
* Every backend: the trainer's compiled step and its variables are placed on the resolved
  device (``mava_trainer_device``), so under the local backend too the GPU does the training.

``run.device=gpu`` with no GPU is refused before any process starts, naming ``run.device``.
"""
from __future__ import annotations

from mava_core.hookspecs import hookimpl
from mava_core.program import TRAINER
from mava_plugins.placement.devices import (
    MEMORY_GROWTH,
    PLAN_FILE,
    machine_gpus,
    plan_placement,
    trainer_device,
    write_report,
)


@hookimpl
def mava_add_run_options(options):
    """``run.device``: where the trainer trains."""
    options.add(
        "device", str, "auto", choices=("auto", "cpu", "gpu"),
        help="where the trainer trains (placement plugin): auto, the GPU when there is one; gpu, refuse to start "
        "without one; cpu. Other nodes stay on the CPU",
    )


@hookimpl
def mava_program_build_nodes(builder, program, context):
    run = builder.run
    backend = context.backend  # the backend's declared traits
    if backend.interleaves_nodes:
        if run.device == "gpu":
            plan_placement("gpu", machine_gpus())  # refuse at once, before anything is built
        return  # one process: the trainer's device is set in mava_trainer_device
    if backend.schedules_gpus:
        _scheduler_placement(program, run, backend.name)
        return
    plan = plan_placement(run.device, machine_gpus())
    for node in program.nodes:
        node.resources.setdefault("env", {}).update(plan.trainer_env() if node.role == TRAINER else plan.other_env())
    nodes = {node.name: node.resources["env"] for node in program.nodes}
    write_report(run.run_dir, PLAN_FILE, {**plan.to_dict(), "backend": run.backend, "nodes": nodes})


def _scheduler_placement(program, run, backend_name):
    """A backend that ``schedules_gpus`` (Ray) gives the trainer the GPUs its request asks for.

    The request is ``node.resources[<backend name>]["num_gpus"]``, and the backend's scheduler
    sets the node's device visibility. ``auto`` leaves the request to the backend's default
    (for Ray: a GPU when the cluster has one, or ``run.backend_options.trainer_gpus``).
    """
    for node in program.by_role(TRAINER):
        if run.device != "auto":
            node.resources.setdefault(backend_name, {}).setdefault("num_gpus", 1.0 if run.device == "gpu" else 0.0)
        node.resources.setdefault("env", {})[MEMORY_GROWTH] = "true"
    requests = {node.name: node.resources.get(backend_name, {}) for node in program.by_role(TRAINER)}
    write_report(
        run.run_dir, PLAN_FILE, {"requested": run.device, "backend": run.backend, "trainer_requests": requests}
    )


@hookimpl
def mava_trainer_device(builder):
    return trainer_device(builder.run.device, builder.run.run_dir)

"""Where a run's nodes compute: which GPUs exist, and each node's device visibility.

TensorFlow-free, so that the launching process can plan a run without starting TensorFlow:
the GPUs it can hand to a child process are the ones ``CUDA_VISIBLE_DEVICES`` names when it
is set, else the NVIDIA driver's (``/proc/driver/nvidia/gpus``). The trainer's process then
asks TensorFlow itself (:func:`trainer_device`).
"""
from __future__ import annotations

import dataclasses
import json
import logging
import os
from typing import Any, Dict, List, Mapping, Optional, Sequence

from mava_core.errors import ConfigError

VISIBLE_DEVICES = "CUDA_VISIBLE_DEVICES"
#: TensorFlow reads this at start-up: allocate GPU memory as it is needed, not all at once
MEMORY_GROWTH = "TF_FORCE_GPU_ALLOW_GROWTH"
DRIVER_GPUS = "/proc/driver/nvidia/gpus"
PLAN_FILE = "placement.json"
TRAINER_REPORT_FILE = "placement_trainer.json"

_log = logging.getLogger(__name__)


def machine_gpus(environ: Mapping[str, str] = os.environ, driver_dir: str = DRIVER_GPUS) -> List[str]:
    """The GPU ids this process may give a child: ``CUDA_VISIBLE_DEVICES`` when set, else the driver's GPUs."""
    visible = environ.get(VISIBLE_DEVICES)
    if visible is not None:
        ids = [part.strip() for part in visible.split(",") if part.strip()]
        # CUDA stops at the first invalid id; "-1" is the usual way of hiding every GPU
        return ids[: ids.index("-1")] if "-1" in ids else ids
    try:
        return [str(index) for index in range(len(os.listdir(driver_dir)))]
    except OSError:
        return []


@dataclasses.dataclass
class Placement:
    """The plan for one run: where the trainer goes; every other node sees no GPU."""

    requested: str  # run.device: auto, cpu or gpu
    trainer: str  # "gpu" or "cpu"
    gpus: Sequence[str]  # GPU ids the trainer's process sees (empty on the CPU)

    def trainer_env(self) -> Dict[str, str]:
        if self.trainer == "gpu":
            return {VISIBLE_DEVICES: ",".join(self.gpus), MEMORY_GROWTH: "true"}
        return {VISIBLE_DEVICES: ""}

    @staticmethod
    def other_env() -> Dict[str, str]:
        """Executors, evaluator, replay and counter: CPU only (small batches; the GPU stays the trainer's)."""
        return {VISIBLE_DEVICES: ""}

    def to_dict(self) -> Dict[str, Any]:
        return {"requested": self.requested, "trainer": self.trainer, "gpus": list(self.gpus)}


def plan_placement(requested: str, gpus: Sequence[str]) -> Placement:
    """Resolve ``run.device`` against the GPUs a trainer process could be given; refuse ``gpu`` without one."""
    if requested == "gpu" and not gpus:
        raise ConfigError(
            "run.device",
            "gpu was asked for, but this machine offers no GPU to the trainer "
            f"({VISIBLE_DEVICES}={os.environ.get(VISIBLE_DEVICES, '(unset)')!s}, no GPU under {DRIVER_GPUS}); "
            "use run.device=auto (the GPU when there is one) or run.device=cpu",
        )
    if requested == "cpu" or not gpus:
        return Placement(requested, "cpu", ())
    return Placement(requested, "gpu", tuple(gpus))


def write_report(run_dir: Optional[str], name: str, report: Dict[str, Any]) -> None:
    if not run_dir:
        return
    os.makedirs(run_dir, exist_ok=True)
    with open(os.path.join(run_dir, name), "w") as handle:
        json.dump(report, handle, indent=2)


def trainer_device(requested: str, run_dir: Optional[str] = None) -> str:
    """In the trainer's process: the TensorFlow device for ``run.device``, with GPU memory set to grow.

    Reports what TensorFlow saw into ``run_dir/placement_trainer.json``.
    """
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if requested == "gpu" and not gpus:
        raise ConfigError(
            "run.device",
            "gpu was asked for, but TensorFlow sees no GPU in the trainer's process "
            f"({VISIBLE_DEVICES}={os.environ.get(VISIBLE_DEVICES, '(unset)')}); TensorFlow 2.8 needs CUDA 11.2 "
            "and cuDNN 8.1 to use a GPU. Use run.device=auto or run.device=cpu to train on the CPU",
        )
    use_gpu = bool(gpus) and requested != "cpu"
    growing = [enable_memory_growth(tf, gpu) for gpu in gpus] if use_gpu else []
    device = "/GPU:0" if use_gpu else "/CPU:0"
    write_report(run_dir, TRAINER_REPORT_FILE, {
        "requested": requested,
        "device": device,
        "visible_gpus": [gpu.name for gpu in gpus],
        VISIBLE_DEVICES: os.environ.get(VISIBLE_DEVICES),
        "memory_growth": bool(growing) and all(growing),
    })
    return device


def enable_memory_growth(tf: Any, gpu: Any) -> bool:
    """Let TensorFlow take GPU memory as it needs it; False when the GPU was initialised already."""
    try:
        tf.config.experimental.set_memory_growth(gpu, True)
        return True
    except RuntimeError:  # already initialised: the setting (or TF_FORCE_GPU_ALLOW_GROWTH) applies from start-up only
        growing = tf.config.experimental.get_memory_growth(gpu)
        if not growing:
            _log.warning(
                "GPU %s was initialised before memory growth could be set; it keeps TensorFlow's default", gpu.name
            )
        return bool(growing)

"""What every benchmark script shares: where results go, the machine's facts, one-core pinning."""
from __future__ import annotations

import json
import os
import platform
from typing import Any, Dict, List

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def machine_facts() -> Dict[str, Any]:
    """The machine a result was measured on (recorded next to every result)."""
    model = platform.machine()
    try:
        with open("/proc/cpuinfo") as handle:
            names = [line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")]
        model = names[0] if names else model
    except OSError:
        pass
    memory_gib = None
    try:
        with open("/proc/meminfo") as handle:
            kib = next(int(line.split()[1]) for line in handle if line.startswith("MemTotal"))
        memory_gib = round(kib / 2**20, 1)
    except (OSError, StopIteration):
        pass
    from mava_plugins.placement.devices import machine_gpus

    gpus = machine_gpus()
    facts = {"cpu": model, "cpus": os.cpu_count(), "memory_gib": memory_gib, "python": platform.python_version(), "gpus": len(gpus)}
    gpu_text = f"{len(gpus)} GPU(s)" if gpus else "no GPU"
    facts["summary"] = f"{facts['cpu']}, {facts['cpus']} CPUs, {memory_gib} GiB, {gpu_text}, Python {facts['python']}"
    return facts


def pin_to_one_core(core: int = 0) -> None:
    """Run this process (and the threads TensorFlow will start) on one core only."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {core})


def write_text(name: str, lines: List[str]) -> str:
    os.makedirs(RESULTS, exist_ok=True)
    text = "\n".join(lines) + "\n"
    with open(os.path.join(RESULTS, name), "w") as handle:
        handle.write(text)
    return text


def write_json(name: str, record: Dict[str, Any]) -> None:
    """Write one benchmark's results record (the machine facts included) as ``results/NAME``."""
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, name), "w") as handle:
        json.dump(record, handle, indent=2)

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
    facts = {
        "cpu": model,
        "cpus": os.cpu_count(),
        "memory_gib": memory_gib,
        "python": platform.python_version(),
        "gpus": len(gpus),
    }
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


def read_json(name: str) -> Dict[str, Any]:
    """A committed results record, ``results/NAME`` (to redraw its table and plot without measuring)."""
    path = os.path.join(RESULTS, name)
    if not os.path.exists(path):
        raise SystemExit(f"no results to redraw: {path} does not exist; run the benchmark first")
    with open(path) as handle:
        return json.load(handle)


def new_figure(panels: int, width: float = 5.0, height: float = 3.8):
    """A matplotlib figure with ``panels`` axes side by side, drawn off-screen (Agg); None without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    figure, axes = plt.subplots(1, panels, figsize=(width * panels, height), squeeze=False)
    return figure, list(axes[0])


def save_figure(figure: Any, name: str, machine: Dict[str, Any]) -> None:
    """Save ``figure`` as ``results/NAME`` with the machine it was measured on as a caption."""
    import matplotlib.pyplot as plt

    os.makedirs(RESULTS, exist_ok=True)
    figure.text(0.01, 0.01, f"measured on: {machine['summary']}", fontsize=7, color="grey")
    figure.tight_layout(rect=(0, 0.04, 1, 1))
    figure.savefig(os.path.join(RESULTS, name), dpi=100)
    plt.close(figure)

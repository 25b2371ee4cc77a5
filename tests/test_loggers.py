"""Tests for the loggers plugin: CSV, TensorBoard, terminal, logger groups and plots."""
from __future__ import annotations

import csv
import glob
import io
import json
import os
import sys

import numpy as np
import pytest

from mava_core.errors import UnknownNameError
from mava_core.logger_group import LoggerGroup, make_loggers
from mava_core.registry import PluginRegistry, Registry
from mava_plugins.loggers import plugin
from mava_plugins.loggers.csv_logger import CSVLogger
from mava_plugins.loggers.plot import plot_learning_curves, read_csv_rows
from mava_plugins.loggers.terminal import TerminalLogger

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _registry() -> Registry:
    registry = Registry()
    plugin.mava_register(registry=PluginRegistry(registry, "loggers"))
    return registry


def _read_csv(path):
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        return reader.fieldnames, list(reader)


# ---------------------------------------------------------------------------- registration
def test_plugin_registers_three_lazy_loggers():
    registry = _registry()
    assert registry.names("logger") == ["csv", "tensorboard", "terminal"]
    for entry in registry.entries("logger"):
        assert isinstance(entry.target, str) and ":" in entry.target
        assert entry.plugin == "loggers" and entry.description
    assert registry.get("logger", "csv") is CSVLogger
    assert registry.get("logger", "terminal") is TerminalLogger


# ------------------------------------------------------------------------------------- CSV
def test_csv_header_widens_and_keeps_earlier_rows(tmp_path):
    logger = CSVLogger(str(tmp_path), "executor_0")
    path = tmp_path / "logs" / "executor_0.csv"
    logger.write({"env_steps": 10, "episode_return": np.float32(1.5)})
    # flushed after every write: readable before close
    header, rows = _read_csv(path)
    assert header == ["env_steps", "episode_return", "wall_time"]
    assert rows[0]["env_steps"] == "10" and rows[0]["episode_return"] == "1.5"

    logger.write({"env_steps": 20, "episode_return": 2.0, "epsilon": 0.5, "note": "hi"})
    logger.write({"env_steps": 30})
    logger.close()

    header, rows = _read_csv(path)
    assert header == ["env_steps", "episode_return", "wall_time", "epsilon", "note"]
    assert [row["env_steps"] for row in rows] == ["10", "20", "30"]
    assert rows[0]["epsilon"] == "" and rows[0]["note"] == ""
    assert rows[1]["epsilon"] == "0.5" and rows[1]["note"] == "hi"
    assert rows[2]["episode_return"] == ""
    assert all(float(row["wall_time"]) >= 0 for row in rows)
    assert not os.path.exists(f"{path}.tmp")


# ----------------------------------------------------------------------------- TensorBoard
def test_tensorboard_writes_scalars(tmp_path):
    import tensorflow as tf
    from tensorflow.python.summary.summary_iterator import summary_iterator

    from mava_plugins.loggers.tensorboard_logger import TensorBoardLogger

    logger = TensorBoardLogger(str(tmp_path), "trainer")
    logger.write({"trainer_steps": 7, "loss": np.float64(0.25), "name": "skipped"})
    logger.write({"trainer_steps": 8, "loss": 0.5})
    logger.close()

    files = glob.glob(str(tmp_path / "tensorboard" / "trainer" / "events.out.tfevents.*"))
    assert len(files) == 1
    seen = {}
    for event in summary_iterator(files[0]):
        for value in event.summary.value:
            seen[(value.tag, event.step)] = float(tf.make_ndarray(value.tensor))
    assert seen == {("trainer/loss", 7): 0.25, ("trainer/loss", 8): 0.5}


# -------------------------------------------------------------------------------- terminal
class _Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_terminal_throttles_and_prints_progress_lines(capsys):
    logger = TerminalLogger("unused", "executor_0", budget=50_000, every_seconds=5.0)
    clock = logger.clock = _Clock()

    logger.write({"env_steps": 10_000, "episode_length": 25, "episode_return": -45.31234})
    clock.now += 1.0
    logger.write({"env_steps": 11_000, "episode_return": -40.0})  # throttled
    assert (
        capsys.readouterr().out
        == "[executor_0] env_steps 10,000/50,000 (20%) | episode_return -45.31 | episode_length 25\n"
    )

    clock.now += 4.0
    logger.write({"env_steps": 12_000, "episode_return": -30.0, "epsilon": 0.123456})
    assert capsys.readouterr().out == (
        "[executor_0] env_steps 12,000/50,000 (24%) | 400 steps/s | episode_return -30 | epsilon 0.1235\n"
    )

    clock.now += 1.0
    logger.write({"env_steps": 13_000, "episode_return": -20.0})  # throttled, shown on close
    assert capsys.readouterr().out == ""
    logger.close()
    assert (
        capsys.readouterr().out == "[executor_0] env_steps 13,000/50,000 (26%) | 1,000 steps/s | episode_return -20\n"
    )
    logger.close()
    assert capsys.readouterr().out == ""


def test_terminal_falls_back_to_trainer_steps_and_write_count(capsys):
    logger = TerminalLogger("unused", "trainer", every_seconds=0.0)
    logger.write({"trainer_steps": 3, "loss": 1.0, "a": 1, "b": 2, "c": 3, "d": 4, "e": 5, "f_return": 9})
    logger.write({"loss": 2.0})
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "[trainer] trainer_steps 3 | f_return 9 | loss 1 | a 1 | b 2 | c 3"
    assert lines[1].startswith("[trainer] writes 2 | ") and lines[1].endswith(" | loss 2")


def test_terminal_overwrites_line_on_tty(monkeypatch):
    class FakeTTY(io.StringIO):
        def isatty(self):
            return True

    stream = FakeTTY()
    monkeypatch.setattr(sys, "stdout", stream)
    logger = TerminalLogger("unused", "evaluator", every_seconds=0.0)
    logger.write({"env_steps": 100, "mean_return": 1.0})
    logger.write({"env_steps": 200, "mean_return": 2.0})
    logger.close()
    output = stream.getvalue()
    assert output.count("\r") == 2 and output.endswith("\n") and output.count("\n") == 1
    assert output.startswith("\r[evaluator] env_steps 100 | mean_return 1")


# ---------------------------------------------------------------------------------- groups
def test_make_loggers_fans_out_writes(tmp_path, capsys):
    group = make_loggers(["csv", "terminal"], str(tmp_path), "evaluator", _registry(), budget=100)
    assert isinstance(group, LoggerGroup) and len(group.loggers) == 2
    group.write({"env_steps": 50, "mean_return": 3.5})
    group.close()
    _, rows = _read_csv(tmp_path / "logs" / "evaluator.csv")
    assert rows[0]["mean_return"] == "3.5"
    assert "[evaluator] env_steps 50/100 (50%)" in capsys.readouterr().out


def test_make_loggers_unknown_name_lists_available(tmp_path):
    with pytest.raises(UnknownNameError) as info:
        make_loggers(["csv", "wandb"], str(tmp_path), "trainer", _registry())
    message = str(info.value)
    assert "wandb" in message
    for name in ("csv", "tensorboard", "terminal"):
        assert name in message
    assert not (tmp_path / "logs").exists()  # nothing built before the name check


def test_logger_group_closes_all_then_raises():
    closed = []

    class Broken:
        def close(self):
            closed.append("broken")
            raise RuntimeError("boom")

    class Fine:
        def close(self):
            closed.append("fine")

    with pytest.raises(RuntimeError, match="boom"):
        LoggerGroup([Broken(), Fine()]).close()
    assert closed == ["broken", "fine"]


# ------------------------------------------------------------------------------------ plot
def _write_csv(path, header, rows, tail=""):
    path.parent.mkdir(parents=True, exist_ok=True)
    text = ",".join(header) + "\n" + "".join(",".join(map(str, row)) + "\n" for row in rows)
    path.write_text(text + tail)


def test_plot_learning_curves_writes_png(tmp_path):
    logs = tmp_path / "logs"
    _write_csv(logs / "evaluator.csv", ["env_steps", "mean_return"], [(i * 100, i) for i in range(5)], tail="500,")
    for k in range(2):
        _write_csv(logs / f"executor_{k}.csv", ["env_steps", "episode_return"], [(i * 10, i % 7) for i in range(60)])
    _write_csv(logs / "trainer.csv", ["trainer_steps", "loss"], [(1, 0.5)])
    (logs / "executor_2.csv").write_text("")  # empty file must not break the plot
    (tmp_path / "summary.json").write_text(json.dumps({"random_return": -1.0}))

    path = plot_learning_curves(str(tmp_path))
    assert path == str(tmp_path / "learning_curve.png")
    with open(path, "rb") as handle:
        assert handle.read(8) == PNG_MAGIC

    other = plot_learning_curves(str(tmp_path), out_path=str(tmp_path / "plots" / "curve.png"))
    assert other.endswith("curve.png") and os.path.getsize(other) > 0


def test_plot_learning_curves_without_data(tmp_path):
    assert plot_learning_curves(str(tmp_path)) is None
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "evaluator.csv").write_text("env_steps,mean_re")  # header cut mid-write
    (tmp_path / "logs" / "executor_0.csv").write_text("")
    assert plot_learning_curves(str(tmp_path)) is None
    assert not (tmp_path / "learning_curve.png").exists()


def test_read_csv_rows_drops_partial_last_row(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("env_steps,episode_return\n10,1.5\n20,2")
    assert read_csv_rows(str(path)) == [{"env_steps": "10", "episode_return": "1.5"}]
    assert read_csv_rows(str(tmp_path / "missing.csv")) == []

"""Saving and restoring a run: trainer variables and optimiser state, counts, replay contents.

Layout of ``run_dir/checkpoints``::

    checkpoint.json           the manifest (see manifest.py): the truth about what is kept
    ckpt-<env_steps>/         one kept checkpoint (the last run.checkpoint_keep of them)
        trainer.index         tf.train.Checkpoint: policy variables by group, the trainer's
        trainer.data-*        whole state (networks, targets, optimiser slots, step counter)
        replay/               Reverb's checkpoint of every table (items, priorities, limiter)
    environments/<node>.json  state the executors' environments carry over (e.g. normalisation
                              statistics), one file per executor, rewritten while it acts
    .reverb/                  where the replay server writes before a checkpoint is moved in

A checkpoint is written into a temporary directory, moved into place, and only then listed
in the manifest (written atomically); directories the manifest does not list are removed.
So a crash while saving leaves the previous checkpoint as the latest good one.
"""
from __future__ import annotations

import csv
import json
import os
import shutil
import time
from typing import Any, Dict, List, Optional

from mava_core import _version
from mava_core.errors import CheckpointError
from mava_plugins.checkpointing import manifest as mf

DIRECTORY = "checkpoints"
REVERB_ROOT = ".reverb"
TRAINER_PREFIX = "trainer"
REPLAY_DIR = "replay"
ENVIRONMENTS_DIR = "environments"


class RunCheckpointer:
    """Checkpoints of one run in ``run_dir/checkpoints`` (one object per process).

    The trainer's process writes them (``save``); the launching process checks them before
    a resumed run starts (``prepare``); the replay, counter and trainer nodes restore from
    the one ``prepare`` chose (``builder.resume_from``).
    """

    def __init__(self, builder: Any):
        self.builder = builder
        self.run_dir = builder.run.run_dir
        self.root = os.path.join(self.run_dir, DIRECTORY)
        resumed = builder.resume_from
        start = int(resumed["counts"].get("env_steps", 0)) if resumed else 0
        self._next_due = self._after(start)
        self._last_save = time.monotonic()

    # ------------------------------------------------------------ launching process
    def prepare(self) -> None:
        """Before launch: refuse existing checkpoints of a new run; check and choose those of a resumed one."""
        if not self.builder.resume:
            if os.path.exists(mf.manifest_path(self.root)):
                raise CheckpointError(
                    f"{self.run_dir} already holds checkpoints of an earlier run; continue it with "
                    f"`mava run --resume {self.run_dir}` or choose another --run-dir"
                )
            if os.path.isdir(self.root):
                shutil.rmtree(self.root)  # leftovers of a run that never finished a checkpoint
            return
        manifest = mf.read_manifest(self.root, self.run_dir)
        if manifest is None:
            raise CheckpointError(f"{self.run_dir} has no checkpoint to resume from (no {DIRECTORY}/{mf.MANIFEST})")
        mf.check_config(manifest, self.run_dir, self.builder)
        mf.check_spec(manifest, self.run_dir, mf.spec_fingerprint(self.builder.env_spec))
        mf.check_replay_state(manifest, self.run_dir, self.builder.recorded_spec.state is not None, self.builder.run.system)
        entry = mf.find_entry(manifest, self.run_dir)
        mf.verify_files(self.root, self.run_dir, entry)
        env_steps = int(entry["counts"].get("env_steps", 0))
        if env_steps >= self.builder.run.env_steps:
            raise CheckpointError(
                f"the run in {self.run_dir} already reached its budget: checkpoint {entry['id']} is at "
                f"{env_steps} env steps, the budget is {self.builder.run.env_steps}; pass a larger --env-steps"
            )
        self._remove_unlisted(manifest)
        shutil.rmtree(os.path.join(self.root, REVERB_ROOT), ignore_errors=True)
        self.builder.resume_from = {"id": entry["id"], "dir": entry["dir"], "counts": dict(entry["counts"])}
        self._next_due = self._after(env_steps)

    def latest(self) -> Optional[Dict[str, Any]]:
        """The latest kept checkpoint's manifest entry, or None."""
        try:
            manifest = mf.read_manifest(self.root, self.run_dir)
        except CheckpointError:
            return None
        return manifest["checkpoints"][-1] if manifest and manifest.get("checkpoints") else None

    # ----------------------------------------------------------------------- nodes
    def replay_checkpointer(self) -> Any:
        """Reverb's checkpointer: writes under ``.reverb``; loads the resumed checkpoint's replay."""
        import reverb

        fallback = None
        if self.builder.resume_from:
            fallback = os.path.join(self.root, self.builder.resume_from["dir"], REPLAY_DIR)
        working = os.path.join(self.root, REVERB_ROOT)
        os.makedirs(working, exist_ok=True)
        return reverb.checkpointers.DefaultCheckpointer(path=working, fallback_checkpoint_path=fallback)

    def initial_counts(self) -> Dict[str, float]:
        resumed = self.builder.resume_from
        return dict(resumed["counts"]) if resumed else {}

    def _state(self, trainer: Any) -> Any:
        import tensorflow as tf

        policy = {name: list(variables) for name, variables in trainer.learner.policy_variables().items()}
        return tf.train.Checkpoint(policy=policy, trainer=trainer.state_variables())

    def restore_trainer(self, trainer: Any) -> None:
        """Load the resumed checkpoint's trainer state into a freshly built trainer (no-op for a new run)."""
        resumed = self.builder.resume_from
        if not resumed:
            return
        prefix = os.path.join(self.root, resumed["dir"], TRAINER_PREFIX)
        try:
            self._state(trainer).read(prefix).assert_consumed()
        except (AssertionError, ValueError) as error:
            raise CheckpointError(
                f"checkpoint {resumed['id']} in {self.run_dir} does not fit this system's variables: {error}"
            ) from None
        trainer.restored()

    def restore_policy(self, groups: Dict[str, List[Any]], checkpoint_id: Optional[str] = None) -> Dict[str, Any]:
        """Load a checkpoint's policy variables into ``groups`` (e.g. an evaluator's); returns its entry.

        The manifest is checked against this run first (system, config, spec, file digests).
        """
        import tensorflow as tf

        manifest = mf.read_manifest(self.root, self.run_dir)
        if manifest is None:
            raise CheckpointError(f"{self.run_dir} has no checkpoint (no {DIRECTORY}/{mf.MANIFEST})")
        mf.check_config(manifest, self.run_dir, self.builder)
        mf.check_spec(manifest, self.run_dir, mf.spec_fingerprint(self.builder.env_spec))
        entry = mf.find_entry(manifest, self.run_dir, checkpoint_id)
        mf.verify_files(self.root, self.run_dir, entry, only=TRAINER_PREFIX)
        prefix = os.path.join(self.root, entry["dir"], TRAINER_PREFIX)
        try:
            status = tf.train.Checkpoint(policy={k: list(v) for k, v in groups.items()}).read(prefix)
            status.expect_partial().assert_existing_objects_matched()
        except (AssertionError, ValueError) as error:
            raise CheckpointError(f"checkpoint {entry['id']} in {self.run_dir} does not fit this policy: {error}") from None
        return entry

    def previous_evaluations(self) -> List[Dict[str, float]]:
        """Rows of ``logs/evaluator.csv`` (the csv logger's) from before the run was resumed."""
        path = os.path.join(self.run_dir, "logs", "evaluator.csv")
        if not os.path.exists(path):
            return []
        rows = []
        with open(path, newline="") as handle:
            for row in csv.DictReader(handle):
                values = {}
                for key, value in row.items():
                    try:
                        values[key] = float(value)
                    except (TypeError, ValueError):
                        continue
                if "env_steps" in values and "mean_return" in values:
                    for key in ("env_steps", "trainer_steps"):
                        if key in values:
                            values[key] = int(values[key])
                    rows.append(values)
        return rows

    # ------------------------------------------------------- environment state
    def environment_state_path(self, node: str) -> str:
        return os.path.join(self.root, ENVIRONMENTS_DIR, f"{node}.json")

    def save_environment_state(self, node: str, copies: List[Dict[str, Any]]) -> None:
        """Write (atomically) the saved states of ``node``'s environment copies."""
        path = self.environment_state_path(node)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        partial = f"{path}.partial"
        with open(partial, "w") as handle:
            json.dump({"format": 1, "node": node, "copies": copies, "written": time.time()}, handle)
        os.replace(partial, path)

    def environment_state(self, node: str) -> Optional[List[Dict[str, Any]]]:
        """The saved states of ``node``'s environment copies, or None when it saved none."""
        path = self.environment_state_path(node)
        try:
            with open(path) as handle:
                saved = json.load(handle)
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as error:
            raise CheckpointError(f"{path} is unreadable or not valid JSON, refusing to use it: {error}") from None
        copies = saved.get("copies") if isinstance(saved, dict) else None
        if not isinstance(copies, list) or not all(isinstance(c, dict) for c in copies):
            raise CheckpointError(f"{path} does not hold environment states ({{'copies': [...]}}), refusing to use it")
        return copies

    def environment_states(self) -> Dict[str, List[Dict[str, Any]]]:
        """Every executor's saved environment states, by node."""
        directory = os.path.join(self.root, ENVIRONMENTS_DIR)
        names = sorted(n[: -len(".json")] for n in os.listdir(directory) if n.endswith(".json")) if os.path.isdir(directory) else []
        states = {name: self.environment_state(name) for name in names}
        return {name: copies for name, copies in states.items() if copies is not None}

    # ------------------------------------------------------------------ saving
    def _after(self, env_steps: int) -> Optional[int]:
        every = self.builder.run.checkpoint_every
        return (env_steps // every + 1) * every if every else None

    def due(self, env_steps: int) -> bool:
        """Whether ``run.checkpoint_every`` env steps or ``run.checkpoint_every_seconds`` have passed."""
        if self._next_due is not None and env_steps >= self._next_due:
            return True
        seconds = self.builder.run.checkpoint_every_seconds
        return bool(seconds) and time.monotonic() - self._last_save >= seconds

    def save(self, trainer: Any, counts: Dict[str, float], replay_client: Any) -> Dict[str, Any]:
        """Write a checkpoint at these counts; returns its manifest entry."""
        started = time.monotonic()
        counts = {k: (int(v) if float(v).is_integer() else v) for k, v in counts.items() if k not in mf.HANDSHAKE_KEYS}
        env_steps = int(counts.get("env_steps", 0))
        os.makedirs(self.root, exist_ok=True)
        manifest = mf.read_manifest(self.root, self.run_dir) or self._new_manifest()
        name = self._unused_name(f"ckpt-{env_steps}")
        partial = os.path.join(self.root, f".{name}.partial")
        shutil.rmtree(partial, ignore_errors=True)
        os.makedirs(partial)
        self._state(trainer).write(os.path.join(partial, TRAINER_PREFIX))
        replay = replay_client.checkpoint()
        shutil.move(replay, os.path.join(partial, REPLAY_DIR))
        os.rename(partial, os.path.join(self.root, name))
        files = mf.directory_digests(self.root, name)
        entry = {
            "id": str(env_steps),
            "dir": name,
            "counts": counts,
            "trainer_steps": int(trainer.steps),
            "created": time.time(),
            "bytes": sum(os.path.getsize(os.path.join(self.root, f)) for f in files),
            "files": files,
        }
        entries = [e for e in manifest["checkpoints"] if e["id"] != entry["id"]] + [entry]
        manifest["checkpoints"] = entries[-self.builder.run.checkpoint_keep :]
        entry["seconds"] = round(time.monotonic() - started, 3)
        mf.write_manifest(self.root, manifest)
        self._remove_unlisted(manifest)
        self._next_due = self._after(env_steps)
        self._last_save = time.monotonic()
        return entry

    def _new_manifest(self) -> Dict[str, Any]:
        builder = self.builder
        return {
            "format": mf.FORMAT,
            "mava_version": _version.__version__,
            "system": builder.run.system,
            "environment": builder.run.environment,
            "backend": builder.run.backend,
            "config": mf.config_tree(builder),
            "spec": mf.spec_fingerprint(builder.env_spec),
            "replay_state": builder.recorded_spec.state is not None,
            "checkpoints": [],
        }

    def _unused_name(self, name: str) -> str:
        candidate, index = name, 1
        while os.path.exists(os.path.join(self.root, candidate)):
            candidate, index = f"{name}.{index}", index + 1
        return candidate

    def _remove_unlisted(self, manifest: Dict[str, Any]) -> None:
        """Remove checkpoint directories the manifest does not list (pruned, or never finished)."""
        listed = {entry["dir"] for entry in manifest["checkpoints"]}
        for name in os.listdir(self.root):
            path = os.path.join(self.root, name)
            if os.path.isdir(path) and name not in (REVERB_ROOT, ENVIRONMENTS_DIR) and name not in listed:
                shutil.rmtree(path, ignore_errors=True)

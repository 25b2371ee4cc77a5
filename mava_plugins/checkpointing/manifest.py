"""The checkpoint manifest, ``run_dir/checkpoints/checkpoint.json``: what was saved and by which run.

The manifest names the system, environment and backend, holds a copy of both config trees
and a fingerprint of the environment spec, and lists the kept checkpoints (oldest first)
with their counts and the SHA-256 of every file. Its own ``checksum`` covers everything
else in it, so an edited or truncated manifest is refused, as is a checkpoint file whose
content no longer matches. Nothing is loaded before these checks pass.
"""
from __future__ import annotations

import hashlib
import json
import os
from typing import Any, Dict, Iterable, List, Optional, Tuple

from mava_core import config as cfg
from mava_core import run_control
from mava_core.errors import CheckpointError, ConfigError
from mava_core.saved_runs import flatten_config

FORMAT = 1
MANIFEST = "checkpoint.json"
#: run settings a resumed run may change; every other setting must equal the checkpoint's
RESUMABLE_RUN_KEYS = (
    "env_steps",
    "run_dir",
    "eval_every",
    "eval_episodes",
    "eval_episodes_while_training",
    "random_baseline_episodes",
    "loggers",
    "log_every_seconds",
    "checkpoint",
    "checkpoint_every",
    "checkpoint_every_seconds",
    "checkpoint_keep",
    # what only the evaluator's environment and recordings use
    "eval_env_options",
    "record_eval",
    "record_format",
    "record_fps",
)
#: why some settings cannot change on resume, where it is not obvious
REASONS = {
    "run.backend": "the replay checkpoint keeps that backend's rate limiter, so a run resumes on the backend it ran on",
}
#: counter keys never saved: the shutdown handshake (so a resumed run starts unstopped) and
#: the item accounting, which counts since the run's processes started (mava_core.run_control)
HANDSHAKE_KEYS = run_control.HANDSHAKE_KEYS


# ------------------------------------------------------------------------- fingerprints
def config_tree(builder: Any) -> Dict[str, Any]:
    """Both config trees as JSON values (what ``config.json`` holds)."""
    tree = {"run": cfg.to_dict(builder.run), "system": cfg.to_dict(builder.system_config)}
    return json.loads(json.dumps(tree))


def spec_fingerprint(spec: Any) -> Dict[str, Any]:
    """Agents, observation and action shapes, the state's shape and the spec's kind."""
    import numpy as np

    agents = {}
    for agent, agent_spec in spec.agents.items():
        action: Dict[str, Any] = {"discrete": agent_spec.discrete, "shape": list(agent_spec.action.shape)}
        if agent_spec.discrete:
            action["num_actions"] = int(agent_spec.num_actions)
        agents[agent] = {
            "observation": {"shape": list(agent_spec.observation.shape), "dtype": str(np.dtype(agent_spec.observation.dtype))},
            "action": action,
        }
    state = None if spec.state is None else list(spec.state.shape)
    return {"kind": spec.kind, "agents": agents, "state": state, "action_masks": bool(spec.has_action_masks)}


def file_digest(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def directory_digests(root: str, directory: str) -> Dict[str, str]:
    """SHA-256 of every file under ``root/directory``, keyed by the path relative to ``root``."""
    digests = {}
    for base, _, files in os.walk(os.path.join(root, directory)):
        for name in sorted(files):
            path = os.path.join(base, name)
            digests[os.path.relpath(path, root)] = file_digest(path)
    return dict(sorted(digests.items()))


# ------------------------------------------------------------------------- read, write
def _checksum(manifest: Dict[str, Any]) -> str:
    body = {key: value for key, value in manifest.items() if key != "checksum"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def manifest_path(root: str) -> str:
    return os.path.join(root, MANIFEST)


def write_manifest(root: str, manifest: Dict[str, Any]) -> None:
    """Write atomically (temporary file, then rename), with a checksum over the content."""
    manifest = dict(manifest)
    manifest["checksum"] = _checksum(manifest)
    temporary = manifest_path(root) + ".tmp"
    with open(temporary, "w") as handle:
        json.dump(manifest, handle, indent=2)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, manifest_path(root))


def read_manifest(root: str, run_dir: str) -> Optional[Dict[str, Any]]:
    """The manifest, checked (JSON, checksum, format); None when there is none."""
    path = manifest_path(root)
    if not os.path.exists(path):
        return None
    try:
        with open(path) as handle:
            manifest = json.load(handle)
    except (OSError, ValueError) as error:
        raise CheckpointError(f"checkpoint manifest {path} is unreadable or not valid JSON (truncated?): {error}") from None
    if not isinstance(manifest, dict) or manifest.get("checksum") != _checksum(manifest):
        raise CheckpointError(
            f"checkpoint manifest {path} was modified or is corrupt (its checksum does not match); "
            f"refusing to load the checkpoints in {run_dir}"
        )
    if manifest.get("format") != FORMAT:
        raise CheckpointError(
            f"checkpoints in {run_dir} have format {manifest.get('format')!r}; this Mava reads format {FORMAT}"
        )
    return manifest


# ---------------------------------------------------------------------------- checks
def check_run(manifest: Dict[str, Any], run_dir: str, system: str, environment: str) -> None:
    """Refuse a checkpoint written by another system or on another environment."""
    if manifest["system"] != system:
        raise CheckpointError(f"checkpoint in {run_dir} was written by system {manifest['system']!r}, this run is {system!r}")
    if manifest["environment"] != environment:
        raise CheckpointError(
            f"checkpoint in {run_dir} was written on environment {manifest['environment']!r}, this run is on {environment!r}"
        )


def _differences(saved: Dict[str, Any], current: Dict[str, Any], ignore: Iterable[str]) -> List[Tuple[str, Any, Any]]:
    skipped = set(ignore)
    keys = [k for k in dict.fromkeys(list(saved) + list(current)) if k not in skipped]
    return [(k, saved.get(k, "(unset)"), current.get(k, "(unset)")) for k in keys if saved.get(k) != current.get(k)]


def check_config(manifest: Dict[str, Any], run_dir: str, builder: Any) -> None:
    """Refuse a run whose settings differ from the checkpoint's (other than the resumable ones)."""
    check_run(manifest, run_dir, builder.run.system, builder.run.environment)
    ignore = [f"run.{key}" for key in RESUMABLE_RUN_KEYS]
    differences = _differences(flatten_config(manifest["config"]), flatten_config(config_tree(builder)), ignore)
    if differences:
        key, saved, current = differences[0]
        allowed = ", ".join(f"run.{k}" for k in RESUMABLE_RUN_KEYS if k != "run_dir")
        why = REASONS.get(key, f"a resumed or evaluated run keeps its settings (only {allowed} may change)")
        raise ConfigError(key, f"the checkpoint in {run_dir} was trained with {saved!r}, this run has {current!r}; {why}")


def check_spec(manifest: Dict[str, Any], run_dir: str, fingerprint: Dict[str, Any]) -> None:
    """Refuse an environment whose agents or shapes differ from those the checkpoint was trained on."""
    saved = manifest["spec"]
    if saved == fingerprint:
        return
    if sorted(saved["agents"]) != sorted(fingerprint["agents"]):
        detail = f"agents {sorted(saved['agents'])} in the checkpoint, {sorted(fingerprint['agents'])} now"
    else:
        detail = next(
            (f"{agent}: {saved['agents'][agent]} in the checkpoint, {fingerprint['agents'][agent]} now"
             for agent in saved["agents"] if saved["agents"][agent] != fingerprint["agents"][agent]),
            f"{ {k: v for k, v in saved.items() if k != 'agents'} } in the checkpoint, "
            f"{ {k: v for k, v in fingerprint.items() if k != 'agents'} } now",
        )
    raise CheckpointError(f"the environment's spec differs from the one the checkpoint in {run_dir} was trained on: {detail}")


def replay_holds_state(manifest: Dict[str, Any]) -> bool:
    """Whether the checkpoint's replay items hold the global state.

    Manifests written before the key existed come from a Mava that recorded the state
    whenever the environment had one.
    """
    if "replay_state" in manifest:
        return bool(manifest["replay_state"])
    return manifest["spec"].get("state") is not None


def check_replay_state(manifest: Dict[str, Any], run_dir: str, records_state: bool, system: str) -> None:
    """Refuse to resume a replay whose items hold the global state when this run's do not, or the reverse."""
    saved = replay_holds_state(manifest)
    if saved == records_state:
        return
    if saved:
        why = (f"its replay items hold the environment's global state, which {system} does not read and this Mava "
               "no longer records for it")
    else:
        why = f"its replay items have no global state, which this run's {system} reads"
    raise CheckpointError(
        f"the checkpoint in {run_dir} cannot be resumed: {why}; start a new run (its policy can still be "
        f"evaluated with `mava evaluate {run_dir}`)"
    )


def find_entry(manifest: Dict[str, Any], run_dir: str, checkpoint_id: Optional[str] = None) -> Dict[str, Any]:
    """The latest checkpoint, or the one named ``checkpoint_id``."""
    entries = manifest.get("checkpoints") or []
    if not entries:
        raise CheckpointError(f"the manifest in {run_dir} lists no checkpoint")
    if checkpoint_id is None:
        return entries[-1]
    for entry in entries:
        if entry["id"] == str(checkpoint_id):
            return entry
    raise CheckpointError(
        f"no checkpoint {checkpoint_id!r} in {run_dir}; available: {', '.join(e['id'] for e in entries)}"
    )


def verify_files(root: str, run_dir: str, entry: Dict[str, Any], only: Optional[str] = None) -> None:
    """Every file of a checkpoint exists and has the content the manifest recorded."""
    for relative, digest in entry["files"].items():
        if only is not None and not relative.startswith(os.path.join(entry["dir"], only)):
            continue
        path = os.path.join(root, relative)
        if not os.path.exists(path):
            raise CheckpointError(f"checkpoint {entry['id']} in {run_dir} is incomplete: {relative} is missing")
        if file_digest(path) != digest:
            raise CheckpointError(
                f"checkpoint {entry['id']} in {run_dir} is corrupt: {relative} does not match the manifest "
                "(truncated or modified)"
            )

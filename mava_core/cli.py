"""The ``mava`` command: list plugins, systems and environments; show configs; run systems.

User mistakes (unknown names, bad config keys, missing extras) print one clear line and exit
with status 2, never a stack trace.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, List, Optional, Sequence

from mava_core.config import parse_overrides
from mava_core.errors import MavaError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mava", description="Mava: multi-agent reinforcement learning with plugins")
    commands = parser.add_subparsers(dest="command", required=True)

    plugins = commands.add_parser("plugins", help="list installed plugins and what each registers")
    plugins.add_argument("--json", action="store_true", help="machine-readable output")

    commands.add_parser("systems", help="list registered systems")
    envs = commands.add_parser("envs", help="list environment families and their tasks")
    envs.add_argument("--json", action="store_true")
    components = commands.add_parser("components", help="list every registered component by kind")
    components.add_argument("--kind", help="only this kind (system, environment, backend, network, ...)")

    config = commands.add_parser("config", help="show every setting of a system with its type and default")
    config.add_argument("system")

    run = commands.add_parser("run", help="train a system on an environment")
    run.add_argument("system", help="system name (see `mava systems`)")
    run.add_argument("environment", help="family:task (see `mava envs`), e.g. pettingzoo:simple_spread_v3")
    run.add_argument("--backend", default="local", help="local (one process) or launchpad (one process per node)")
    run.add_argument("--executors", type=int, default=None, help="number of executors")
    run.add_argument("--env-steps", type=int, default=None, help="environment step budget")
    run.add_argument("--seed", type=int, default=None)
    run.add_argument("--run-dir", default=None, help="where logs, plots and the summary go (default runs/...)")
    run.add_argument("--plugin", action="append", default=[], help="extra plugin module to register (repeatable)")
    run.add_argument("overrides", nargs="*", metavar="key=value", help="config overrides, e.g. learning_rate=0.001")
    return parser


def _cmd_plugins(pm, as_json: bool) -> int:
    report = pm.report()
    if as_json:
        print(json.dumps(report, indent=2))
        return 0
    width = max((len(p["name"]) for p in report), default=4)
    for plugin in report:
        version = plugin["version"] or "-"
        registers = ", ".join(plugin["registers"]) or "-"
        print(f"{plugin['name']:<{width}}  {version:<8} {plugin['status']:<8} {registers}")
        if plugin["error"]:
            print(f"{'':<{width}}  error: {plugin['error']}")
    return 0


def _cmd_list(pm, kind: str) -> int:
    for entry in pm.registry.entries(kind):
        print(f"{entry.name:<24} {entry.description}  [plugin: {entry.plugin}]")
    return 0


def _cmd_envs(pm, as_json: bool) -> int:
    listing = {}
    for entry in pm.registry.entries("environment"):
        try:
            listing[entry.name] = {"tasks": list(entry.load().tasks()), "plugin": entry.plugin, "description": entry.description}
        except MavaError as error:
            listing[entry.name] = {"tasks": [], "plugin": entry.plugin, "error": str(error)}
    if as_json:
        print(json.dumps(listing, indent=2))
        return 0
    for family, info in listing.items():
        print(f"{family}  [plugin: {info['plugin']}]")
        if info.get("error"):
            print(f"  unavailable: {info['error']}")
        for task in info["tasks"]:
            print(f"  {family}:{task}")
    return 0


def _cmd_config(pm, system: str) -> int:
    from mava_core import config as cfg
    from mava_core.system import SystemBuilder

    builder = SystemBuilder(cfg.RunConfig(system=system), plugin_manager=pm)
    for title, tree, prefix in (("system", builder.system_config, ""), ("run", builder.run, "run.")):
        print(f"# {title} settings")
        for key, type_name, value, help_text in cfg.describe(tree, prefix):
            print(f"{key} = {value!r}  ({type_name}){'  ' + help_text if help_text else ''}")
    return 0


def _cmd_run(pm, args) -> int:
    from mava_core.config import RunConfig
    from mava_core.system import SystemBuilder

    run = RunConfig(system=args.system, environment=args.environment, backend=args.backend)
    for attribute, value in (("executors", args.executors), ("env_steps", args.env_steps), ("seed", args.seed), ("run_dir", args.run_dir)):
        if value is not None:
            setattr(run, attribute, value)
    builder = SystemBuilder(run, overrides=args.overrides, plugin_manager=pm, plugins=args.plugin)
    summary = builder.launch()
    print_summary(builder.run.run_dir, summary)
    return 0


def print_summary(run_dir: str, summary: dict) -> None:
    print(f"run directory: {os.path.abspath(run_dir)}")
    random_return = summary.get("random_return")
    comparison = f" | random policy: {random_return:.2f}" if random_return is not None else ""
    print(
        f"final mean evaluation return: {summary['final_mean_return']:.2f} "
        f"(± {summary['final_std_return']:.2f}){comparison} "
        f"[{summary['system']} on {summary['environment']}, {summary['env_steps']} env steps, "
        f"{summary['trainer_steps']} trainer steps]"
    )


def run_script(
    run, overrides: Optional[dict] = None, plugins: Sequence[Any] = (), argv: Optional[List[str]] = None, description: str = ""
) -> int:
    """Entry point for example scripts: ``run``'s fields are defaults the command line can change.

    Accepts ``--backend``, ``--executors``, ``--env-steps``, ``--seed``, ``--run-dir`` and
    ``key=value`` overrides (added to ``overrides``); prints the run summary; user mistakes
    print one line and return 2.
    """
    from mava_core.system import SystemBuilder

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--backend", default=run.backend, help="local or launchpad")
    parser.add_argument("--executors", type=int, default=run.executors)
    parser.add_argument("--env-steps", type=int, default=run.env_steps)
    parser.add_argument("--seed", type=int, default=run.seed)
    parser.add_argument("--run-dir", default=run.run_dir)
    parser.add_argument("overrides", nargs="*", metavar="key=value")
    args = parser.parse_args(argv)
    run.backend, run.executors, run.env_steps = args.backend, args.executors, args.env_steps
    run.seed, run.run_dir = args.seed, args.run_dir
    settings = dict(overrides or {})
    try:
        settings.update(parse_overrides(args.overrides))
        builder = SystemBuilder(run, overrides=settings, plugins=plugins)
        summary = builder.launch()
    except MavaError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    print_summary(builder.run.run_dir, summary)
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = _parser()
    args, extra = parser.parse_known_args(argv)
    # key=value overrides may come before or after the options
    unknown = [item for item in extra if item.startswith("-") or "=" not in item]
    if unknown or (extra and args.command != "run"):
        parser.error(f"unrecognized arguments: {' '.join(unknown or extra)}")
    if args.command == "run":
        args.overrides = list(args.overrides) + extra
    try:
        from mava_core.plugins import get_plugin_manager

        pm = get_plugin_manager()
        if args.command == "plugins":
            return _cmd_plugins(pm, args.json)
        if args.command == "systems":
            return _cmd_list(pm, "system")
        if args.command == "envs":
            return _cmd_envs(pm, args.json)
        if args.command == "components":
            from mava_core.errors import UnknownNameError
            from mava_core.registry import KINDS

            if args.kind and args.kind not in KINDS:
                raise UnknownNameError("component kind", args.kind, KINDS)
            for kind in [args.kind] if args.kind else KINDS:
                print(f"# {kind}")
                _cmd_list(pm, kind)
            return 0
        if args.command == "config":
            return _cmd_config(pm, args.system)
        if args.command == "run":
            return _cmd_run(pm, args)
    except MavaError as error:
        print(f"mava: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("mava: interrupted", file=sys.stderr)
        return 130
    return 1


if __name__ == "__main__":
    sys.exit(main())

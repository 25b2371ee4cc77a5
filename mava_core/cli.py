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
from mava_core.errors import MavaError, RunInterrupted, UnknownNameError


def _parser(pm: Any) -> argparse.ArgumentParser:
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

    run = commands.add_parser("run", help="train a system on an environment, or continue a saved run (--resume)")
    run.add_argument("system", nargs="?", help="system name (see `mava systems`)")
    run.add_argument("environment", nargs="?", help="family:task (see `mava envs`), e.g. pettingzoo:simple_spread_v3")
    run.add_argument(
        "--backend", default=None, help="local (one process, the default), launchpad (one process per node) or ray"
    )
    run.add_argument(
        "--ray-address",
        default=None,
        metavar="ADDRESS",
        help="with --backend ray: the cluster to join (head host:port)",
    )
    run.add_argument("--executors", type=int, default=None, help="number of executors")
    run.add_argument("--env-steps", type=int, default=None, help="environment step budget")
    run.add_argument("--seed", type=int, default=None)
    run.add_argument("--run-dir", default=None, help="where logs, plots and the summary go (default runs/...)")
    run.add_argument(
        "--resume",
        metavar="RUN_DIR",
        default=None,
        help="continue the run saved in RUN_DIR from its latest checkpoint, with its config "
        "(a larger --env-steps may be given)",
    )
    run.add_argument("--plugin", action="append", default=[], help="extra plugin module to register (repeatable)")
    run.add_argument("overrides", nargs="*", metavar="key=value", help="config overrides, e.g. learning_rate=0.001")

    evaluate = commands.add_parser("evaluate", help="run greedy episodes with a saved run's checkpointed policy")
    evaluate.add_argument(
        "run_dir", metavar="RUN_DIR", help="a run directory with checkpoints (e.g. the one `make run` prints)"
    )
    evaluate.add_argument("--episodes", type=int, default=10, help="evaluation episodes (default 10)")
    evaluate.add_argument(
        "--checkpoint", default=None, metavar="ID", help="checkpoint id (its env steps); default: the latest"
    )
    evaluate.add_argument("--record", action="store_true", help="save the first episode as a video in RUN_DIR/videos")
    evaluate.add_argument(
        "--record-format",
        choices=("gif", "mp4"),
        default=None,
        help="video format (default: the run's run.record_format)",
    )
    evaluate.add_argument("--plugin", action="append", default=[], help="extra plugin module to register (repeatable)")
    pm.hook.mava_add_commands(commands=commands)  # the plugins' own subcommands
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


def _cmd_components(pm, kind: Optional[str]) -> int:
    kinds = pm.registry.kinds()
    if kind and kind not in kinds:
        raise UnknownNameError("component kind", kind, kinds)
    for each in [kind] if kind else kinds:
        print(f"# {each}")
        _cmd_list(pm, each)
    return 0


def _cmd_envs(pm, as_json: bool) -> int:
    listing = {}
    for entry in pm.registry.entries("environment"):
        try:
            listing[entry.name] = {
                "tasks": list(entry.load().tasks()),
                "plugin": entry.plugin,
                "description": entry.description,
            }
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


def _flag_overrides(args) -> List[tuple]:
    """The run flags given on the command line, as ``run.KEY`` overrides."""
    flags = (
        ("backend", args.backend),
        ("executors", args.executors),
        ("env_steps", args.env_steps),
        ("seed", args.seed),
    )
    return [(f"run.{key}", value) for key, value in flags if value is not None]


def _resumed_builder(
    run_dir: str, overrides: List[tuple], system=None, environment=None, plugin_manager=None, plugins=()
):
    from mava_core.saved_runs import builder_from_run_dir

    return builder_from_run_dir(
        run_dir,
        overrides,
        system=system,
        environment=environment,
        plugin_manager=plugin_manager,
        plugins=plugins,
        resume=True,
    )


def _cmd_run(parser, pm, args) -> int:
    from mava_core.config import RunConfig
    from mava_core.system import SystemBuilder

    if args.resume:
        if args.run_dir is not None and os.path.abspath(args.run_dir) != os.path.abspath(args.resume):
            parser.error("--run-dir and --resume name different directories; a resumed run stays in its own")
        overrides = _flag_overrides(args) + parse_overrides(args.overrides)
        builder = _resumed_builder(args.resume, overrides, args.system, args.environment, pm, args.plugin)
    else:
        if args.system is None or args.environment is None:
            parser.error("the following arguments are required: system, environment (or --resume RUN_DIR)")
        run = RunConfig(system=args.system, environment=args.environment, backend=args.backend or "local")
        for attribute, value in (
            ("executors", args.executors),
            ("env_steps", args.env_steps),
            ("seed", args.seed),
            ("run_dir", args.run_dir),
        ):
            if value is not None:
                setattr(run, attribute, value)
        builder = SystemBuilder(run, overrides=args.overrides, plugin_manager=pm, plugins=args.plugin)
    _apply_ray_address(builder, args.ray_address)
    summary = builder.launch()
    print_summary(builder.run.run_dir, summary)
    return 0


def _apply_ray_address(builder, address: Optional[str]) -> None:
    """``--ray-address``: the Ray backend's ``address`` option; an error with any other backend."""
    if address is None:
        return
    if builder.run.backend != "ray":
        raise MavaError(
            f"--ray-address is only valid with --backend ray (this run's backend is {builder.run.backend!r})"
        )
    builder.run.backend_options["address"] = address


def _cmd_evaluate(pm, args) -> int:
    from mava_core.evaluation import evaluate_run, print_evaluation

    result = evaluate_run(
        args.run_dir,
        episodes=args.episodes,
        checkpoint_id=args.checkpoint,
        plugin_manager=pm,
        plugins=args.plugin,
        record=args.record,
        record_format=args.record_format,
    )
    print_evaluation(result)
    return 0


def _warn_failed_plugins(pm: Any, prefix: str) -> None:
    """One line on stderr naming every plugin that failed to load and why (non-strict mode goes on)."""
    note = pm.failure_note() if pm is not None else ""
    if note:
        print(f"{prefix}warning: {note} (`mava plugins` lists every plugin)", file=sys.stderr)


def _with_plugin_failures(error: MavaError, pm: Any) -> str:
    """An unknown name's message, plus why the plugins that failed to load did (one of them may provide it)."""
    note = pm.failure_note() if pm is not None and isinstance(error, UnknownNameError) else ""
    return f"{error}; {note}" if note else str(error)


def _closed_pipe() -> int:
    """The reader of our output went away (``mava envs | head``): stop quietly, as ``cat`` does.

    Python would print a BrokenPipeError when it flushes stdout at exit; pointing stdout at
    /dev/null first keeps that quiet too.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 141  # 128 + SIGPIPE, what a shell reports for a command killed by a closed pipe


def _interrupted(error: RunInterrupted, prefix: str) -> int:
    print(f"{prefix}stopped: {error}", file=sys.stderr)
    return 128 + error.signal_number


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
    run,
    overrides: Optional[dict] = None,
    plugins: Sequence[Any] = (),
    argv: Optional[List[str]] = None,
    description: str = "",
) -> int:
    """Entry point for example scripts: ``run``'s fields are defaults the command line can change.

    Accepts ``--backend``, ``--executors``, ``--env-steps``, ``--seed``, ``--run-dir``,
    ``--resume RUN_DIR`` (continue a saved run of this script) and ``key=value`` overrides
    (added to ``overrides``); prints the run summary; user mistakes print one line and return 2.
    ``--backend`` naming another backend than ``run``'s drops ``run.backend_options``: they are
    options of the script's backend (``key=value`` overrides may set the new one's).
    """
    from mava_core.system import SystemBuilder

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--backend",
        default=None,
        help=f"local, launchpad or ray (default {run.backend}; another backend drops the script's run.backend_options)",
    )
    parser.add_argument(
        "--ray-address", default=None, metavar="ADDRESS", help="with --backend ray: the cluster to join"
    )
    parser.add_argument("--executors", type=int, default=None, help=f"default {run.executors}")
    parser.add_argument("--env-steps", type=int, default=None, help=f"default {run.env_steps}")
    parser.add_argument("--seed", type=int, default=None, help=f"default {run.seed}")
    parser.add_argument("--run-dir", default=run.run_dir)
    parser.add_argument("--resume", metavar="RUN_DIR", default=None, help="continue the run saved in RUN_DIR")
    parser.add_argument("overrides", nargs="*", metavar="key=value")
    args = parser.parse_args(argv)
    try:
        _warn_failed_plugins(_current_plugin_manager(), "")
        if args.resume:
            flags = _flag_overrides(args) + parse_overrides(args.overrides)
            builder = _resumed_builder(args.resume, flags, run.system, run.environment, plugins=plugins)
        else:
            if args.backend is not None and args.backend != run.backend:
                run.backend_options = {}  # the script's backend options are its own backend's
            for attribute in ("backend", "executors", "env_steps", "seed"):
                if getattr(args, attribute) is not None:
                    setattr(run, attribute, getattr(args, attribute))
            run.run_dir = args.run_dir
            settings = dict(overrides or {})
            settings.update(parse_overrides(args.overrides))
            builder = SystemBuilder(run, overrides=settings, plugins=plugins)
        _apply_ray_address(builder, args.ray_address)
        summary = builder.launch()
    except RunInterrupted as error:
        return _interrupted(error, "")
    except MavaError as error:
        print(f"error: {_with_plugin_failures(error, _current_plugin_manager())}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    print_summary(builder.run.run_dir, summary)
    return 0


def _current_plugin_manager() -> Any:
    from mava_core.plugins import get_plugin_manager

    try:
        return get_plugin_manager()
    except MavaError:  # e.g. strict mode: the error being reported says why
        return None


def _parse(parser: argparse.ArgumentParser, argv: Optional[List[str]]) -> argparse.Namespace:
    """Parse ``argv``; ``key=value`` overrides may come before or after a command's options."""
    args, extra = parser.parse_known_args(argv)
    unknown = [item for item in extra if item.startswith("-") or "=" not in item]
    takes_overrides = isinstance(getattr(args, "overrides", None), list)  # a command with key=value positionals
    if unknown or (extra and not takes_overrides):
        parser.error(f"unrecognized arguments: {' '.join(unknown or extra)}")
    if args.command == "run":
        # with --resume the positionals may be overrides only: key=value items are overrides wherever they are
        positionals = [item for item in (args.system, args.environment) if item is not None]
        args.overrides = [item for item in positionals if "=" in item] + list(args.overrides) + extra
        named = [item for item in positionals if "=" not in item]
        args.system, args.environment = (named + [None, None])[:2]
    elif extra:
        args.overrides = list(args.overrides) + extra
    return args


def main(argv: Optional[List[str]] = None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    pm = None
    try:
        from mava_core.plugins import get_plugin_manager

        pm = get_plugin_manager()
        parser = _parser(pm)
        args = _parse(parser, argv)
        status = _dispatch(parser, pm, args)
        sys.stdout.flush()  # a closed pipe shows here for output still buffered, not in Python's exit
        return status
    except BrokenPipeError:
        return _closed_pipe()
    except RunInterrupted as error:
        return _interrupted(error, "mava: ")
    except MavaError as error:
        print(f"mava: error: {_with_plugin_failures(error, pm)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("mava: interrupted", file=sys.stderr)
        return 130


def _dispatch(parser: argparse.ArgumentParser, pm: Any, args: argparse.Namespace) -> int:
    """Run the parsed command; user mistakes raise MavaError for ``main`` to print."""
    if args.command == "plugins":
        return _cmd_plugins(pm, args.json)
    if args.command == "systems":
        return _cmd_list(pm, "system")
    if args.command == "envs":
        return _cmd_envs(pm, args.json)
    if args.command == "components":
        return _cmd_components(pm, args.kind)
    if args.command == "config":
        return _cmd_config(pm, args.system)
    _warn_failed_plugins(pm, "mava: ")  # run and evaluate go on without them, but say so
    if args.command == "run":
        return _cmd_run(parser, pm, args)
    if args.command == "evaluate":
        return _cmd_evaluate(pm, args)
    return args.mava_command(args, pm)  # a plugin's command (mava_add_commands)


if __name__ == "__main__":
    sys.exit(main())

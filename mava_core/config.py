"""Typed configuration: dataclasses, ``key=value`` overrides and up-front validation.

A run is described by a :class:`RunConfig` (which system, environment and backend, the
budget, the seed) and the system's own config dataclass. Component slots in a system config
are :class:`Component` values: a registered component name plus that component's own
options dataclass, so ``exploration=exponential_epsilon`` swaps the component and
``exploration.decay_steps=5000`` sets one of its options. Every override is type-checked
against the dataclass annotations; unknown keys list the valid ones.
"""
from __future__ import annotations

import dataclasses
import math
import typing
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

from mava_core.coercion import coerce, parse_literal, type_name
from mava_core.errors import ConfigError


def check(
    minimum: Optional[float] = None, maximum: Optional[float] = None, choices: Optional[Iterable[Any]] = None, **kw
):
    """Field metadata that :func:`validate` enforces: ``field(default=1, metadata=check(minimum=1))``."""
    meta: Dict[str, Any] = {}
    if minimum is not None:
        meta["minimum"] = minimum
    if maximum is not None:
        meta["maximum"] = maximum
    if choices is not None:
        meta["choices"] = tuple(choices)
    meta.update(kw)
    return meta


def bounded(
    default: Any, minimum: Optional[float] = None, maximum: Optional[float] = None, choices=None, help: str = ""
):
    """A dataclass field with a default, a valid range and a help string."""
    if isinstance(default, (list, dict, set)):
        raise TypeError("use tuples or default_factory for mutable defaults")
    return dataclasses.field(default=default, metadata=check(minimum, maximum, choices, help=help))


@dataclasses.dataclass
class Component:
    """A component slot: a registry kind, the registered name chosen for it, and its options.

    ``options`` is the chosen component's ``Config`` dataclass (``None`` until the builder
    fills in the component's defaults, or when the component has no options).
    """

    kind: str
    name: str
    options: Any = None


def component(kind: str, name: str) -> Any:
    """A dataclass field holding a :class:`Component` slot with a default choice."""
    return dataclasses.field(default_factory=lambda: Component(kind, name))


@dataclasses.dataclass
class RunSettings:
    """The run settings the core itself uses; :class:`RunConfig` adds the plugins' declared ones."""

    system: str = "madqn"
    environment: str = "pettingzoo:simple_spread_v3"
    backend: str = "local"
    executors: int = bounded(1, minimum=1, maximum=256, help="number of acting processes")
    envs_per_executor: int = bounded(
        1,
        minimum=1,
        maximum=256,
        help="environment copies each executor steps together, with one batched policy call per step "
        "(feedforward systems)",
    )
    env_steps: int = bounded(50_000, minimum=1, help="budget of environment steps, summed over executors")
    max_seconds: float = bounded(
        0.0,
        minimum=0.0,
        help="wall-clock budget of this launch in seconds: the run then ends as at its step budget (0: none)",
    )
    seed: int = bounded(0, minimum=0)
    run_dir: Optional[str] = None
    eval_every: int = bounded(10_000, minimum=1, help="environment steps between evaluations")
    eval_episodes: int = bounded(10, minimum=1)
    eval_episodes_while_training: int = bounded(
        0,
        minimum=0,
        help="episodes of each evaluation before the final one (0: run.eval_episodes); fewer leave the cores to "
        "training, the final evaluation still plays run.eval_episodes",
    )
    random_baseline_episodes: int = bounded(20, minimum=0, help="episodes of a random policy to compare against")
    loggers: Tuple[str, ...] = ("terminal", "csv", "tensorboard")
    env_wrappers: Tuple[str, ...] = bounded((), help="registered env_wrapper names applied in order, e.g. agent_id")
    log_every_seconds: float = bounded(5.0, minimum=0.0)
    check_environment: bool = True
    on_executor_error: str = bounded(
        "restart",
        choices=("restart", "continue", "stop"),
        help="when an executor's environment raises: restart it in a fresh environment, continue with the other "
        "executors, or stop the run",
    )
    executor_max_restarts: int = bounded(
        3,
        minimum=0,
        help="fresh environments one executor may get (run.on_executor_error=restart) before the run stops",
    )
    env_options: Dict[str, Any] = dataclasses.field(default_factory=dict)
    eval_env_options: Dict[str, Any] = dataclasses.field(
        default_factory=dict,
        metadata={
            "help": "environment options for the evaluator's (and the random baseline's) environment only, "
            "on top of env_options"
        },
    )
    backend_options: Dict[str, Any] = dataclasses.field(
        default_factory=dict,
        metadata={"help": "options of the chosen backend's Config, set with run.backend_options.KEY=VALUE"},
    )


_CORE_RUN_FIELDS = frozenset(f.name for f in dataclasses.fields(RunSettings))


@dataclasses.dataclass(frozen=True)
class RunOption:
    """One ``run.KEY`` setting a plugin declared: its type, default, checks (``minimum`` ...) and help."""

    name: str
    annotation: Any
    default: Any
    metadata: Mapping[str, Any]
    plugin: str


class RunOptions:
    """What a plugin's ``mava_add_run_options(options)`` hook receives: it declares ``run.KEY`` settings.

    ``options.add("record_fps", int, 10, minimum=1, maximum=60, help="...")`` makes
    ``run.record_fps`` a setting like the core's own: set by ``run.record_fps=30`` overrides or
    ``RunConfig(record_fps=30)``, type-checked and range-checked with the same one-line errors,
    listed by ``mava config`` and saved in ``config.json``. Read it as ``run.record_fps``.
    """

    def __init__(self, declared: Dict[str, RunOption], plugin: str):
        self._declared = declared
        self.plugin = plugin

    def add(
        self,
        name: str,
        annotation: Any,
        default: Any,
        *,
        minimum: Optional[float] = None,
        maximum: Optional[float] = None,
        choices: Optional[Iterable[Any]] = None,
        help: str = "",
    ) -> None:
        """Declare ``run.<name>`` of type ``annotation`` (bool, int, float, str, Tuple[str, ...] ...)."""
        from mava_core.errors import PluginError

        if name in _CORE_RUN_FIELDS or name.startswith("_") or not name.isidentifier():
            raise PluginError(f"plugin {self.plugin!r} declares run option {name!r}, which is not a free run key")
        if name in self._declared:
            raise PluginError(
                f"run option {name!r} is declared by two plugins: {self._declared[name].plugin!r} and {self.plugin!r}"
            )
        if isinstance(default, (list, dict, set)):
            raise PluginError(f"plugin {self.plugin!r}: run option {name!r} needs an immutable default (a tuple)")
        meta = check(minimum, maximum, choices, help=help)
        self._declared[name] = RunOption(name, annotation, default, meta, self.plugin)


class RunConfig(RunSettings):
    """What to run and for how long. Set from ``mava run`` flags or ``run.KEY=VALUE``.

    The core's settings are :class:`RunSettings` fields; plugins declare the others through
    ``mava_add_run_options`` (e.g. ``run.checkpoint``, ``run.device``, ``run.record_eval``).
    Keyword arguments naming plugin settings are kept as given and checked against the
    declarations when a :class:`~mava_core.system.SystemBuilder` takes the config
    (:func:`bind_run_options`): an undeclared one is an unknown key there.
    """

    def __init__(self, **values: Any):
        plugin_values = {name: values.pop(name) for name in list(values) if name not in _CORE_RUN_FIELDS}
        object.__setattr__(self, "_plugin_values", plugin_values)
        object.__setattr__(self, "_explicit", set(plugin_values))
        object.__setattr__(self, "_declared", {})
        super().__init__(**values)

    def __getattr__(self, name: str) -> Any:  # only for names that are not core fields
        values = self.__dict__.get("_plugin_values")
        if values is not None and name in values:
            return values[name]
        raise AttributeError(f"run has no setting {name!r} (is the plugin that declares it loaded?)")

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _CORE_RUN_FIELDS or name.startswith("_"):
            object.__setattr__(self, name, value)
        else:
            self._plugin_values[name] = value
            self._explicit.add(name)

    def plugin_options(self) -> List[RunOption]:
        """The plugin-declared settings this config is bound to, in declaration order."""
        return list(self._declared.values())


def bind_run_options(run: RunConfig, declared: Mapping[str, RunOption]) -> None:
    """Bind ``run`` to the plugins' declared settings: defaults for unset ones, ConfigError for unknown ones."""
    values = {name: value for name, value in run._plugin_values.items() if name in run._explicit}
    unknown = [name for name in values if name not in declared]
    if unknown:
        valid = [f.name for f in dataclasses.fields(RunSettings)] + list(declared)
        raise ConfigError(f"run.{unknown[0]}", f"unknown key; valid keys here are: {', '.join(valid)}")
    for name, option in declared.items():
        values.setdefault(name, option.default)
    object.__setattr__(run, "_plugin_values", values)
    object.__setattr__(run, "_declared", dict(declared))


@dataclasses.dataclass(frozen=True)
class _Setting:
    name: str
    annotation: Any
    metadata: Mapping[str, Any]


def _settings(config: Any) -> List[_Setting]:
    """Every settable field of a config dataclass; for a RunConfig, its plugin options too."""
    hints = _hints(config)
    rows = [_Setting(f.name, hints[f.name], f.metadata) for f in dataclasses.fields(config)]
    if isinstance(config, RunConfig):
        rows += [_Setting(o.name, o.annotation, o.metadata) for o in config.plugin_options()]
    return rows


def _hints(obj: Any) -> Dict[str, Any]:
    return typing.get_type_hints(type(obj))


def field_names(obj: Any) -> List[str]:
    """The settable keys of a config dataclass (a RunConfig's plugin options included)."""
    return [setting.name for setting in _settings(obj)]


# ---------------------------------------------------------------------------- overrides
ComponentResolver = Any  # callable (kind, component_name) -> options dataclass instance or None


def set_value(
    config: Any, key: str, value: Any, resolve_component: Optional[ComponentResolver] = None, prefix: str = ""
) -> None:
    """Set dotted ``key`` on a dataclass tree, coercing ``value`` to the field's type.

    ``resolve_component(kind, name)`` returns a fresh options object when a component slot is
    given a new name. Free-form ``Dict[str, Any]`` fields accept any sub-key.
    """
    head, _, rest = key.partition(".")
    full = f"{prefix}{head}"
    if not dataclasses.is_dataclass(config):
        raise ConfigError(full, "is not a configurable section")
    names = field_names(config)
    if head not in names:
        raise ConfigError(full, f"unknown key; valid keys here are: {', '.join(names)}")
    annotation = next(setting.annotation for setting in _settings(config) if setting.name == head)
    current = getattr(config, head)
    if isinstance(current, Component):
        if not rest or rest == "name":
            name = coerce(full, str, value)
            options = resolve_component(current.kind, name) if resolve_component else None
            setattr(config, head, Component(current.kind, name, options))
            return
        if current.options is None:
            raise ConfigError(f"{full}.{rest}", f"component {current.name!r} has no options")
        set_value(current.options, rest.removeprefix("options."), value, resolve_component, f"{full}.")
        return
    if rest:
        if isinstance(current, dict):
            current[rest] = parse_literal(value) if isinstance(value, str) else value
            return
        if dataclasses.is_dataclass(current):
            set_value(current, rest, value, resolve_component, f"{full}.")
            return
        raise ConfigError(full, f"is a setting of type {type_name(annotation)}, not a section with sub-keys")
    if dataclasses.is_dataclass(current):
        raise ConfigError(
            full, f"is a section; set one of its keys: {', '.join(f'{full}.{n}' for n in field_names(current))}"
        )
    setattr(config, head, coerce(full, annotation, value))


def parse_overrides(items: Iterable[str]) -> List[Tuple[str, str]]:
    """Split ``key=value`` strings, failing clearly on a malformed one."""
    pairs = []
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(item, "overrides are written key=value (e.g. learning_rate=0.0005)")
        pairs.append((key.strip(), value.strip()))
    return pairs


def backend_options(run: Any, backend_cls: Any) -> Any:
    """The backend's ``Config`` dataclass filled from ``run.backend_options`` and validated.

    Backends without a ``Config`` take no options (returns None; any option is an error).
    """
    prefix = "run.backend_options."
    config_cls = getattr(backend_cls, "Config", None)
    if config_cls is None:
        if run.backend_options:
            raise ConfigError(f"{prefix}{next(iter(run.backend_options))}", f"backend {run.backend!r} takes no options")
        return None
    options = config_cls()
    for key, value in run.backend_options.items():
        set_value(options, key, value, prefix=prefix)
    validate(options, prefix)
    return options


# ---------------------------------------------------------------------------- validation
def validate(config: Any, prefix: str = "") -> None:
    """Check every field's type and declared range; raise ConfigError naming the first bad key.

    A config dataclass may also define ``check(prefix)`` for rules that span several of its
    fields (e.g. ``min_size <= max_size``); it runs after the per-field checks and raises
    ConfigError with the key spelled ``f"{prefix}name"``.
    """
    _validate_fields(config, prefix)
    cross_check = getattr(config, "check", None)
    if callable(cross_check):
        cross_check(prefix)


def _validate_fields(config: Any, prefix: str) -> None:
    for f in _settings(config):
        key = f"{prefix}{f.name}"
        value = getattr(config, f.name)
        if isinstance(value, Component):
            if value.options is not None:
                validate(value.options, f"{key}.")
            continue
        if dataclasses.is_dataclass(value):
            validate(value, f"{key}.")
            continue
        annotation = f.annotation
        checked = coerce(key, annotation, value)
        values = checked if isinstance(checked, tuple) else (checked,)
        for item in values:
            if isinstance(item, float) and not math.isfinite(item):
                raise ConfigError(key, f"must be a finite number, got {item!r}")
        if checked != value and not (isinstance(value, (list, tuple)) and tuple(value) == checked):
            raise ConfigError(key, f"expected {type_name(annotation)}, got {value!r}")
        meta = f.metadata
        for item in values:
            if item is None:
                continue
            if "minimum" in meta and item < meta["minimum"]:
                raise ConfigError(key, f"must be >= {meta['minimum']}, got {item!r}")
            if "maximum" in meta and item > meta["maximum"]:
                raise ConfigError(key, f"must be <= {meta['maximum']}, got {item!r}")
            if "choices" in meta and item not in meta["choices"]:
                raise ConfigError(key, f"must be one of {', '.join(map(str, meta['choices']))}, got {item!r}")


def to_dict(config: Any) -> Any:
    """A JSON-friendly view of a config tree (components as ``{"name": ..., "options": {...}}``)."""
    if isinstance(config, Component):
        options = to_dict(config.options) if config.options is not None else None
        return {"kind": config.kind, "name": config.name, "options": options}
    if dataclasses.is_dataclass(config):
        return {f.name: to_dict(getattr(config, f.name)) for f in _settings(config)}
    if isinstance(config, tuple):
        return list(config)
    return config


def describe(config: Any, prefix: str = "") -> List[Tuple[str, str, Any, str]]:
    """Rows of (key, type, value, help) for every settable key, for ``mava config``."""
    rows = []
    for f in _settings(config):
        key = f"{prefix}{f.name}"
        value = getattr(config, f.name)
        if isinstance(value, Component):
            rows.append((key, f"{value.kind} component", value.name, f"any registered {value.kind}"))
            if value.options is not None:
                rows.extend(describe(value.options, f"{key}."))
        elif dataclasses.is_dataclass(value):
            rows.extend(describe(value, f"{key}."))
        else:
            rows.append((key, type_name(f.annotation), value, f.metadata.get("help", "")))
    return rows

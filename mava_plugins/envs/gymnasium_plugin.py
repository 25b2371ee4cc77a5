"""Registers the gymnasium multi-agent grid worlds: Level-Based Foraging and Multi-Robot Warehouse."""
from mava_core.hookspecs import hookimpl

_MODULE = "mava_plugins.envs.gymnasium_multiagent"


@hookimpl
def mava_register(registry):
    registry.add(
        "environment",
        "lbf",
        f"{_MODULE}:LevelBasedForaging",
        description="Level-Based Foraging (lbforaging): agents cooperate to collect food of matching level",
    )
    registry.add(
        "environment",
        "rware",
        f"{_MODULE}:MultiRobotWarehouse",
        description="Multi-Robot Warehouse (rware): robots deliver requested shelves; metric: deliveries",
    )
    registry.add_extra("lbforaging", "lbf")
    registry.add_extra("rware", "rware")

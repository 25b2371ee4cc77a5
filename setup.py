"""Mava: a plugin-based framework for distributed multi-agent reinforcement learning."""
import os

from setuptools import find_packages, setup

HERE = os.path.dirname(os.path.abspath(__file__))


def _version() -> str:
    scope = {}
    with open(os.path.join(HERE, "mava_core", "_version.py")) as handle:
        exec(handle.read(), scope)
    return scope["__version__"]


core_requirements = ["pluggy>=1.0", "dm-env", "numpy>=1.21,<1.24"]
tf_requirements = ["tensorflow>=2.8,<2.9", "tensorflow-probability>=0.16,<0.17", "dm-sonnet>=2.0,<2.1", "dm-tree"]
reverb_requirements = ["dm-reverb>=0.7,<0.8"]
launchpad_requirements = ["dm-launchpad>=0.5,<0.6", "portpicker", "psutil"]
env_requirements = ["pettingzoo>=1.27,<1.28", "mpe2", "gymnasium", "pygame-ce"]  # pygame: classic and butterfly tasks
logging_requirements = ["matplotlib"]
test_requirements = ["pytest>=7", "pytest-timeout", "pytest-xdist", "ruff", "mypy"]

extras = {
    "tf": tf_requirements,
    "reverb": reverb_requirements,
    "launchpad": launchpad_requirements,
    "envs": env_requirements,
    "logging": logging_requirements,
    "flatland": ["flatland-rl>=4.3,<4.4"],
    "lbf": ["lbforaging>=2.0,<2.1", "gymnasium"],
    "rware": ["rware>=2.0,<2.1", "gymnasium"],
    "ray": ["ray>=2.30,<2.31"],
    "record": ["pillow", "imageio>=2.38,<2.39", "imageio-ffmpeg>=0.8,<0.9"],  # GIF (Pillow) and MP4 videos
    "test": test_requirements,
}
extras["all"] = sorted({req for reqs in extras.values() for req in reqs})

# Every built-in system, environment, component and backend is a plugin, loaded through
# the same entry-point group a third-party package uses.
builtin_plugins = [
    "pettingzoo = mava_plugins.envs.pettingzoo_plugin",
    "debugging_envs = mava_plugins.envs.debugging_plugin",
    "smac = mava_plugins.envs.smac_plugin",
    "robocup = mava_plugins.envs.robocup_plugin",
    "grid_worlds = mava_plugins.envs.gymnasium_plugin",
    "flatland = mava_plugins.envs.flatland_plugin",
    "reverb_dataset = mava_plugins.datasets.reverb_plugin",
    "feedforward_networks = mava_plugins.networks.plugin",
    "architectures = mava_plugins.architectures.plugin",
    "exploration = mava_plugins.exploration.plugin",
    "madqn = mava_plugins.systems.madqn.plugin",
    "value_decomposition = mava_plugins.systems.value_decomposition.plugin",
    "maddpg = mava_plugins.systems.maddpg.plugin",
    "mappo = mava_plugins.systems.mappo.plugin",
    "local_backend = mava_plugins.backends.local_plugin",
    "launchpad_backend = mava_plugins.backends.launchpad_plugin",
    "ray_backend = mava_plugins.backends.ray_plugin",
    "loggers = mava_plugins.loggers.plugin",
    "env_wrappers = mava_plugins.wrappers.plugin",
    "checkpointing = mava_plugins.checkpointing.plugin",
    "recording = mava_plugins.recording.plugin",
    "placement = mava_plugins.placement.plugin",
    "experiments = mava_plugins.experiments.plugin",
]

setup(
    name="mava",
    version=_version(),
    description="A plugin-based research framework for distributed multi-agent reinforcement learning",
    long_description=open(os.path.join(HERE, "README.md")).read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10,<3.11",
    packages=find_packages(include=["mava_core", "mava_core.*", "mava_plugins", "mava_plugins.*"]),
    install_requires=core_requirements,
    extras_require=extras,
    entry_points={
        "console_scripts": ["mava = mava_core.cli:main"],
        "mava": builtin_plugins,
    },
    classifiers=[
        "Programming Language :: Python :: 3.10",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
        "Framework :: Pytest",
    ],
)

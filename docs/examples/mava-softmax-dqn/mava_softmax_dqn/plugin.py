"""Registers the ``softmax_dqn`` system and its ``linear_temperature`` exploration schedule with Mava.

Targets are lazy "module:attribute" strings, so loading this plugin (which happens on every
``mava`` command) imports nothing but this file.
"""
from mava_core import hookimpl


@hookimpl
def mava_register(registry):
    registry.add(
        "system",
        "softmax_dqn",
        "mava_softmax_dqn.system:SoftmaxDQN",
        description="madqn acting by softmax (Boltzmann) sampling over Q-values, temperature decayed linearly",
    )
    registry.add(
        "exploration",
        "linear_temperature",
        "mava_softmax_dqn.system:LinearTemperature",
        description="softmax temperature from start to end over decay_steps environment steps",
    )

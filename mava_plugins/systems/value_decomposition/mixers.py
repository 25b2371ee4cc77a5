"""Mixer components (kind ``mixer``): per-agent Q-values of the chosen actions -> joint Q-value.

A mixer component has ``uses_state`` (whether it reads the environment's global state) and
``make(num_agents, state_size, name)``, which returns a Sonnet module called as
``mixer(agent_qs, state)`` with ``agent_qs`` ``[B, num_agents]`` and ``state``
``[B, state_size]`` (``None`` for mixers that do not use it); it returns ``[B]``.

* ``additive`` (VDN, Sunehag et al. 2018): ``Q_tot = sum_i Q_i``.
* ``monotonic`` (QMIX, Rashid et al. 2018): a one-hidden-layer mixing network whose weights
  are produced by hypernetworks of the global state and made non-negative with ``abs``,
  so ``dQ_tot / dQ_i >= 0`` and each agent's greedy action is greedy for ``Q_tot``.

The Sonnet modules live in :mod:`.mixer_modules` (imported by ``make``), so reading a mixer's
config does not import TensorFlow.
"""
from __future__ import annotations

import dataclasses
from typing import Optional

from mava_core.config import bounded


class AdditiveMixer:
    """VDN's mixer: the joint Q-value is the sum of the agents' Q-values (no parameters, no state)."""

    uses_state = False

    def make(self, num_agents: int, state_size: Optional[int], name: str = "mixer"):
        from mava_plugins.systems.value_decomposition.mixer_modules import AdditiveMixing

        return AdditiveMixing(name=name)


class MonotonicMixer:
    """QMIX's mixer: state-conditioned hypernetworks give non-negative mixing weights."""

    uses_state = True

    @dataclasses.dataclass
    class Config:
        embed_size: int = bounded(32, minimum=1, help="width of the mixing network's hidden (ELU) layer")
        hypernet_hidden_size: int = bounded(
            64, minimum=0, help="hidden width of the weight hypernetworks (0: a single linear layer of the state)"
        )
        init_scale: float = bounded(
            0.1, minimum=0.0, help="initial weights of every mixer layer: uniform, variance init_scale / fan_in (0: Sonnet's default)"
        )

    def __init__(self, config: Optional["MonotonicMixer.Config"] = None):
        self.config = config or MonotonicMixer.Config()

    def make(self, num_agents: int, state_size: Optional[int], name: str = "mixer"):
        from mava_plugins.systems.value_decomposition.mixer_modules import MonotonicMixing

        if state_size is None:
            raise ValueError("the monotonic mixer needs the environment's global state")
        c = self.config
        return MonotonicMixing(num_agents, c.embed_size, c.hypernet_hidden_size, name=name, init_scale=c.init_scale or None)

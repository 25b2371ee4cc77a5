"""A recurrent network component: MLP torso -> GRU core -> linear head (DRQN-style Q-networks).

``make(output_size, name)`` returns a :class:`~.recurrent_modules.RecurrentNetwork`, a Sonnet
module with

* ``initial_state(batch_size)``: the zero state ``[B, core_size]``;
* ``net(observations, state) -> (outputs, new_state)``: one step (what executors call);
* ``net.unroll(observations, starts, state) -> (outputs, final_state)``: a time-major unroll
  (``[T, B, ...]``) that resets the state to zeros before every step whose ``starts`` flag is
  1 (what learners call on stored sequences).

Systems tell a recurrent network component from a feedforward one by ``recurrent = True``
(and size stored states by ``state_shape``). The Sonnet module lives in
:mod:`.recurrent_modules`, imported by ``make``, so reading the config stays cheap.
"""
from __future__ import annotations

import dataclasses
from typing import ClassVar, Tuple

from mava_core.config import bounded
from mava_plugins.networks.mlp import ACTIVATIONS


class GRUNetwork:
    """Makes GRU networks (Cho et al. 2014): ``make(output_size, name)`` -> a recurrent Sonnet module."""

    #: executors carry this network's state across steps; learners train it on sequences
    recurrent = True

    @dataclasses.dataclass
    class Config:
        #: marks this network as recurrent for config checks (not a setting)
        recurrent: ClassVar[bool] = True

        torso_sizes: Tuple[int, ...] = bounded((64,), minimum=1, help="widths of the MLP layers before the GRU")
        core_size: int = bounded(64, minimum=1, help="width of the GRU's state")
        activation: str = bounded("relu", choices=ACTIVATIONS, help="activation of the torso layers")

    def __init__(self, config: "GRUNetwork.Config"):
        self.config = config

    @property
    def state_shape(self) -> Tuple[int, ...]:
        """Shape of one agent's recurrent state (what sequence replay stores)."""
        return (self.config.core_size,)

    def make(self, output_size: int, name: str):
        from mava_plugins.networks.recurrent_modules import RecurrentNetwork

        c = self.config
        return RecurrentNetwork(output_size, c.torso_sizes, c.core_size, c.activation, name=name)

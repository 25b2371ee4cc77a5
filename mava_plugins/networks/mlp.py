"""A feedforward network component: a Sonnet MLP with configurable widths and activation."""
from __future__ import annotations

import dataclasses
from typing import Tuple

from mava_core.config import bounded

ACTIVATIONS = ("relu", "tanh", "elu", "gelu")


class MLPNetwork:
    """Makes Sonnet MLPs: ``make(output_size, name)`` returns a module mapping [B, D] -> [B, output_size]."""

    @dataclasses.dataclass
    class Config:
        hidden_sizes: Tuple[int, ...] = (64, 64)
        activation: str = bounded("relu", choices=ACTIVATIONS)
        layer_norm: bool = False

    def __init__(self, config: "MLPNetwork.Config"):
        self.config = config

    def make(self, output_size: int, name: str):
        import sonnet as snt
        import tensorflow as tf

        activation = getattr(tf.nn, self.config.activation)
        layers = []
        for index, width in enumerate(self.config.hidden_sizes):
            layers.append(snt.Linear(width, name=f"hidden_{index}"))
            if self.config.layer_norm:
                layers.append(snt.LayerNorm(axis=-1, create_scale=True, create_offset=True, name=f"norm_{index}"))
            layers.append(activation)
        layers.append(snt.Linear(output_size, name="output"))
        return snt.Sequential(layers, name=name)

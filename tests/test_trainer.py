"""The trainer: optimisation groups keep each loss's gradient on its own variables."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from helpers import hooks_outside_a_run

from mava_core.hookspecs import hookimpl
from mava_core.plugins import PluginManager
from mava_core.trainer import Learner, OptimisationGroup, Trainer

tf = pytest.importorskip("tensorflow")
snt = pytest.importorskip("sonnet")


class ActorCriticToy(Learner):
    """``critic`` fits ``x`` to 3; the ``policy`` loss pushes ``y * x`` up, which would also move ``x``."""

    def __init__(self, grouped: bool):
        self.x = tf.Variable(1.0, name="critic_x")
        self.y = tf.Variable(1.0, name="policy_y")
        self.grouped = grouped
        self.optimizer = snt.optimizers.SGD(0.1)
        self.critic_optimizer = snt.optimizers.SGD(0.1)

    def trainable_variables(self):
        return [self.x, self.y]

    def optimisation_groups(self):
        if not self.grouped:
            return super().optimisation_groups()
        return [
            OptimisationGroup("critic", [self.x], self.critic_optimizer, ("critic_loss",)),
            OptimisationGroup("policy", [self.y], self.optimizer, ("policy_loss",)),
        ]

    def losses(self, batch):
        return {"critic_loss": (self.x - 3.0) ** 2, "policy_loss": -self.y * self.x}

    def policy_variables(self):
        return {"policy": [self.y]}


def _trainer(learner, pm=None):
    pm = pm or PluginManager(load_entry_points=False)
    return Trainer(learner, itertools.repeat(np.zeros(1, np.float32)), hooks_outside_a_run(pm))


def test_grouped_losses_only_move_their_own_variables():
    learner = ActorCriticToy(grouped=True)
    trainer = _trainer(learner)
    metrics = trainer.step()
    # critic: x -= 0.1 * 2 * (x - 3) -> 1.4 (the policy loss's d/dx = -y would have made it 1.5)
    assert learner.x.numpy() == pytest.approx(1.4)
    # policy: y -= 0.1 * (-x) with x read before the update -> 1.1
    assert learner.y.numpy() == pytest.approx(1.1)
    assert set(metrics) >= {"loss/critic_loss", "loss/policy_loss", "loss/total", "gradient_norm/critic", "gradient_norm/policy"}
    assert metrics["loss/total"] == pytest.approx(4.0 - 1.0)


def test_one_group_by_default_sums_every_loss():
    learner = ActorCriticToy(grouped=False)
    _trainer(learner).step()
    assert learner.x.numpy() == pytest.approx(1.0 - 0.1 * (2 * (1.0 - 3.0) - 1.0))  # both losses reach x
    assert learner.y.numpy() == pytest.approx(1.1)


def test_after_gradients_hook_sees_each_group_by_name():
    seen = []

    class Recorder:
        @hookimpl
        def mava_trainer_after_gradients(self, trainer, update):
            seen.append((update.group, [v.name for v in update.variables]))

    pm = PluginManager(load_entry_points=False)
    pm.register(Recorder(), name="recorder")
    _trainer(ActorCriticToy(grouped=True), pm).step()
    assert seen == [("critic", ["critic_x:0"]), ("policy", ["policy_y:0"])]


def test_a_loss_claimed_by_two_groups_is_refused():
    learner = ActorCriticToy(grouped=True)
    learner.optimisation_groups = lambda: [
        OptimisationGroup("a", [learner.x], learner.optimizer, ("critic_loss",)),
        OptimisationGroup("b", [learner.y], learner.optimizer, ("critic_loss",)),
    ]
    with pytest.raises(ValueError, match="claimed by two optimisation groups"):
        _trainer(learner)

"""Reverb datasets: replay tables, adders and the trainer's iterator."""
from mava_core.hookspecs import hookimpl


@hookimpl
def mava_register(registry):
    registry.add(
        "dataset",
        "transition_replay",
        "mava_plugins.datasets.transition_replay:TransitionReplay",
        description="Reverb replay of n-step transitions; uniform or prioritised; samples-per-insert limiter",
    )
    registry.add(
        "dataset",
        "sequence_replay",
        "mava_plugins.datasets.sequence_replay:SequenceReplay",
        description="Reverb replay of overlapping fixed-length sequences with stored recurrent state (R2D2-style burn-in)",
    )
    registry.add(
        "dataset",
        "on_policy_sequences",
        "mava_plugins.datasets.on_policy:OnPolicySequences",
        description="Reverb queue of fixed-length sequences for on-policy systems; each trained on once, oldest first",
    )


@hookimpl
def mava_trainer_step_end(trainer, step, metrics):
    """The on-policy iterator's sampling counts go into the trainer's metrics (and logs)."""
    from mava_plugins.datasets.on_policy import OnPolicyIterator

    if isinstance(trainer.iterator, OnPolicyIterator):
        stats = trainer.iterator.stats
        metrics["sequences_sampled"] = stats.sequences_sampled
        metrics["resampled_sequences"] = stats.resampled_sequences

"""The core's default hook implementations.

Each is ``trylast``: a plugin that implements the same hook runs first and, for first-result
hooks, replaces the default by returning a value. The defaults delegate to the components the
system was assembled from, so most systems never need to implement these hooks themselves.
"""
from __future__ import annotations

from mava_core.hookspecs import hookimpl


@hookimpl(trylast=True)
def mava_program_launch(program, builder):
    backend_cls = builder.registry.get("backend", builder.run.backend)
    return backend_cls().launch(program, builder)


@hookimpl(trylast=True)
def mava_dataset_tables(builder):
    return list(builder.dataset.tables(builder))


@hookimpl(trylast=True)
def mava_dataset_adder(builder, client):
    return builder.dataset.adder(builder, client)


@hookimpl(trylast=True)
def mava_dataset_iterator(builder, server_address):
    return builder.dataset.iterator(builder, server_address)


@hookimpl(trylast=True)
def mava_executor_observe_first(executor, timestep, extras):
    executor.policy.reset()
    if executor.adder is not None:
        executor.adder.add_first(timestep, extras)


@hookimpl(trylast=True)
def mava_executor_select_actions(executor, observations):
    return executor.policy.select_actions(observations)


@hookimpl(trylast=True)
def mava_executor_observe(executor, actions, next_timestep, extras):
    if executor.adder is not None:
        executor.adder.add(actions, next_timestep, extras)


@hookimpl(trylast=True)
def mava_executor_update(executor, wait):
    if executor.variable_client is not None:
        executor.variable_client.update(wait=wait)


@hookimpl(trylast=True)
def mava_trainer_after_gradients(trainer, update):
    max_norm = getattr(trainer, "max_gradient_norm", None)
    if max_norm:
        import tensorflow as tf

        clipped, _ = tf.clip_by_global_norm(update.gradients, max_norm)
        update.gradients = list(clipped)

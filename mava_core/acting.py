"""Assembles an executor: environments, policy, variable client, adders and the environment loop.

:meth:`SystemBuilder.make_executor <mava_core.system.SystemBuilder.make_executor>` calls
:func:`make_executor` inside the executor's (or evaluator's) process. Its hooks receive the
node's run context (``executor_<i>`` or ``evaluator``).
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional

from mava_core.environment_loop import EnvironmentLoop, SequentialEnvironmentLoop
from mava_core.executor import Executor
from mava_core.program import EVALUATOR, EXECUTOR
from mava_core.specs import SEQUENTIAL
from mava_core.variables import VariableClient

#: seed offset of each fresh environment an executor gets after its environment failed
RESTART_SEED_STRIDE = 7_919


def make_executor(builder: Any, index: int, replay_address: Optional[str], variable_source: Any, evaluation: bool = False):
    """An (EnvironmentLoop, Executor) pair; evaluators get a greedy policy and no adder.

    Turn-based environments (``env_spec.kind == SEQUENTIAL``) get a SequentialEnvironmentLoop.
    With ``run.envs_per_executor`` K > 1 (never for the evaluator) the loop is a
    :class:`~mava_core.vector_loop.VectorEnvironmentLoop` of K copies (each with its own
    environment seed and adder, all sharing one policy) and the executor is the first copy's.
    """
    label = "evaluator" if evaluation else f"executor_{index}"
    hooks = builder.hooks_for(builder.node_context(label, EVALUATOR if evaluation else EXECUTOR))
    seed = builder.executor_seed(index, evaluation)
    builder.seed_process(seed)
    copies = 1 if evaluation else builder.run.envs_per_executor
    options = builder.run.eval_env_options if evaluation else {}
    environments = [builder.make_environment(builder.executor_seed(index, evaluation, copy), **options) for copy in range(copies)]
    networks = builder.system.make_networks()
    policy = builder.system.make_policy(networks, evaluation=evaluation, seed=seed)
    variable_client = None
    if variable_source is not None:
        period = getattr(builder.system_config, "variable_update_period", 100)
        variable_client = VariableClient(variable_source, builder.system.policy_variables(networks), period)
    loop_class = SequentialEnvironmentLoop if builder.env_spec.kind == SEQUENTIAL else EnvironmentLoop
    client = None
    if not evaluation:
        import reverb

        client = reverb.Client(replay_address)
    loops: List[Any] = []
    for environment in environments:
        # one adder (one Reverb writer) per copy, reused for every step of that copy
        adder = None if evaluation else hooks.mava_dataset_adder(builder=builder, client=client)
        state_fn = environment.get_state if builder.recorded_spec.state is not None else None
        # the copies share the policy and the variable client (it counts every copy's steps)
        executor = Executor(policy, hooks, adder, variable_client, is_evaluator=evaluation, state_fn=state_fn)
        loop = loop_class(environment, executor, hooks, label=label, should_update=not evaluation)
        loop.environment_factory = _restart_factory(builder, index, evaluation, len(loops), options)
        loops.append(loop)
    if copies == 1:
        return loops[0], loops[0].executor
    from mava_core.vector_loop import VectorEnvironmentLoop

    return VectorEnvironmentLoop(loops, policy, hooks, label=label), loops[0].executor

def _restart_factory(builder: Any, index: int, evaluation: bool, copy: int, options: Dict[str, Any]):
    """Makes executor ``index``'s copy ``copy`` a fresh environment after a failure, each with a new seed."""
    seed = builder.executor_seed(index, evaluation, copy)
    return lambda restart: builder.make_environment(seed + RESTART_SEED_STRIDE * restart, **options)

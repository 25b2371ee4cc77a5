"""Runs a program in one process: executors step in turn, the trainer keeps the data ratio.

Executors take one step each in turn; after each round the trainer takes the steps the
dataset says are due for the transitions inserted so far (``trainer_steps_due``), and the
evaluator runs when its interval is crossed; the coordinator says when the run is over and
writes the summary. Node order and step counts do not depend on
timing, which makes this backend the reproducible path for debugging and tests: under a seed,
environments, exploration and the schedule of executor, trainer and evaluator calls repeat
exactly. Reverb's samplers take no seed, so which transitions a batch holds (and with it the
trained weights) can differ between two runs.
"""
from __future__ import annotations

from typing import Any, Dict

from mava_core.errors import ExecutorFailedError
from mava_core.interrupts import StopSignals, interrupted_error
from mava_core.program import COORDINATOR, COUNTER, CUSTOM, EVALUATOR, EXECUTOR, REPLAY, TRAINER, Program
from mava_core.run_context import BackendTraits


class LocalBackend:
    name = "local"
    #: the backend schedules trainer steps itself, so replay tables need no ratio limiter
    traits = BackendTraits(name="local", interleaves_nodes=True)

    def launch(self, program: Program, builder: Any) -> Dict[str, Any]:
        import reverb

        stopped = []

        def stop() -> None:
            stopped.append(True)

        checkpointer = builder.checkpointer
        replay_checkpointer = checkpointer.replay_checkpointer() if checkpointer is not None else None
        server = reverb.Server(program.one(REPLAY).make(), port=None, checkpointer=replay_checkpointer)
        signals = StopSignals()
        try:
            address = f"localhost:{server.port}"
            counter = program.one(COUNTER).make()
            trainer = program.one(TRAINER).make(replay_address=address, counter=counter)
            executors = [
                node.make(replay_address=address, variable_source=trainer, counter=counter, stop=stop)
                for node in program.by_role(EXECUTOR)
            ]
            evaluator = program.one(EVALUATOR).make(variable_source=trainer, counter=counter, stop=stop)
            coordinator = program.one(COORDINATOR).make(counter=counter, stop=stop)
            custom = [
                node.make(replay_address=address, variable_source=trainer, counter=counter, stop=stop)
                for node in program.by_role(CUSTOM)
            ]
            for worker in executors:
                worker.count_every = 1  # the counter is in-process: keep it exact
            dataset = builder.dataset
            env_steps = int(counter.get("env_steps"))  # a resumed run's count
            failed = None
            with signals:  # Ctrl-C or SIGTERM: finish the round, write the final checkpoint, stop
                evaluator.maybe_evaluate(env_steps)
                try:
                    while not coordinator.run_over(env_steps) and not stopped and not signals.requested:
                        for worker in executors:
                            worker.act(1)
                        env_steps = int(counter.get("env_steps"))
                        due = dataset.trainer_steps_due(env_steps)
                        if trainer.trainer.steps < due:
                            for worker in executors:  # the table holds every item written: samples do not race the writers
                                worker.flush_items()
                        while trainer.trainer.steps < due:
                            trainer.step()
                        for node in custom:
                            node.step()
                        evaluator.maybe_evaluate(env_steps)
                        trainer.maybe_checkpoint()
                except ExecutorFailedError as error:  # run.on_executor_error says stop: checkpoint first
                    failed = error
                for worker in executors:
                    worker.close()
                trainer.record_replay_inserts()  # the item accounting: every executor has sent its items
                trainer.close()  # the final checkpoint
                if failed is not None:
                    raise failed
                if signals.requested:
                    raise interrupted_error(builder, signals.requested)
                evaluator.final_evaluation(env_steps)
                evaluator.close()
                summary = coordinator.summarise(evaluator.history)
        finally:
            server.stop()
        return summary

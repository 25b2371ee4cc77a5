"""Launchpad nodes that serve Reverb replay, built without importing Reverb in the launcher.

Launchpad's own ``lp.ReverbNode`` imports Reverb, and with it TensorFlow, where the program is
built: in the launcher process, before any node starts, which puts about two seconds of one
core in front of every run. These nodes import Reverb only in the process that serves it,
and their handles dereference to the server's ``host:port`` (every Mava node makes its own
Reverb client from it).

* :class:`ReplayServerNode`: the replay server in a process of its own (the default).
* :class:`TrainerWithReplayNode`: the trainer's courier node, also serving replay from the
  trainer's process (``run.backend_options.replay_in_trainer=true``): one process and one
  TensorFlow start-up fewer.
"""
from __future__ import annotations

from typing import Any, Callable, Optional

from launchpad import address as lp_address
from launchpad.launch import worker_manager
from launchpad.nodes import base
from launchpad.nodes.courier.node import CourierNode
from launchpad.nodes.python import node as python

#: the name of the replay server's port (Launchpad passes named ports to node processes)
REPLAY_PORT_NAME = "reverb"

TablesFactory = Callable[[], Any]  # () -> list of reverb.Table
CheckpointerFactory = Callable[[], Any]  # () -> reverb checkpointer, or None


class ReplayAddressHandle(base.Handle):
    """A handle to a replay server: dereferenced in a node's process, it is the server's ``host:port``."""

    def __init__(self, address: lp_address.Address):
        self._address = address

    def dereference(self) -> str:
        return self._address.resolve()


def start_replay_server(
    make_tables: TablesFactory, make_checkpointer: Optional[CheckpointerFactory], address: lp_address.Address
):
    """Start a Reverb server with ``make_tables()`` on ``address``'s port; returns the server."""
    import reverb

    checkpointer = make_checkpointer() if make_checkpointer is not None else None
    port = lp_address.get_port_from_address(address.resolve())
    return reverb.Server(tables=make_tables(), port=port, checkpointer=checkpointer)


class ReplayServerNode(python.PyNode):
    """The Reverb replay server in a process of its own, serving until the program stops."""

    def __init__(self, make_tables: TablesFactory, make_checkpointer: Optional[CheckpointerFactory] = None):
        super().__init__(self.run)
        self._make_tables, self._make_checkpointer = make_tables, make_checkpointer
        self._address = lp_address.Address(REPLAY_PORT_NAME)
        self.allocate_address(self._address)

    def create_handle(self) -> ReplayAddressHandle:
        return self._track_handle(ReplayAddressHandle(self._address))

    def run(self) -> None:
        server = start_replay_server(self._make_tables, self._make_checkpointer, self._address)
        worker_manager.wait_for_stop()
        server.stop()


class TrainerWithReplayNode(CourierNode):
    """The trainer's courier node, whose process also serves replay on a port of its own.

    ``constructor`` is called as ``constructor(*args, replay_address=<lp.Address>, **kwargs)``
    in the node's process; it starts the server (:func:`start_replay_server`) before it makes
    the trainer. :meth:`create_replay_handle` is the handle other nodes write through.
    """

    def __init__(self, constructor: Callable[..., Any], *args, **kwargs):
        address = lp_address.Address(REPLAY_PORT_NAME)
        super().__init__(constructor, *args, replay_address=address, **kwargs)
        self._replay_address = address
        self.allocate_address(address)

    def create_replay_handle(self) -> ReplayAddressHandle:
        return self._track_handle(ReplayAddressHandle(self._replay_address))


__all__ = ["ReplayAddressHandle", "ReplayServerNode", "TrainerWithReplayNode", "start_replay_server"]

"""Worker processes: claim due work from the database and carry it out."""

from civicloom.worker.domain import HEARTBEAT_STALE, Heartbeat
from civicloom.worker.loop import PeriodicJob, Worker
from civicloom.worker.publishers import AmqpPublisher, LogPublisher
from civicloom.worker.services import list_heartbeats

__all__ = [
    "HEARTBEAT_STALE",
    "AmqpPublisher",
    "Heartbeat",
    "LogPublisher",
    "PeriodicJob",
    "Worker",
    "list_heartbeats",
]

"""Worker processes: claim due work from the database and carry it out."""

from civicloom.worker.loop import PeriodicJob, Worker
from civicloom.worker.publishers import AmqpPublisher, LogPublisher
from civicloom.worker.tables import WorkerHeartbeatRow

__all__ = ["AmqpPublisher", "LogPublisher", "PeriodicJob", "Worker", "WorkerHeartbeatRow"]

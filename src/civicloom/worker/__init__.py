"""Worker processes: claim due work from the database and carry it out."""

from civicloom.worker.domain import HEARTBEAT_STALE, ConnectorReport, ConnectorState, Heartbeat
from civicloom.worker.loop import PeriodicJob, Worker
from civicloom.worker.publishers import AmqpPublisher, LogPublisher
from civicloom.worker.retention import RecordRetention, purge_operational_records
from civicloom.worker.services import connector_states, list_heartbeats

__all__ = [
    "HEARTBEAT_STALE",
    "AmqpPublisher",
    "ConnectorReport",
    "ConnectorState",
    "Heartbeat",
    "LogPublisher",
    "PeriodicJob",
    "RecordRetention",
    "Worker",
    "connector_states",
    "list_heartbeats",
    "purge_operational_records",
]

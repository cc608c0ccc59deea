"""AMQP connector plugin (RabbitMQ, aio-pika): request/reply and events."""

from civicloom.connectors.amqp.connector import AmqpBinding, AmqpConnector, AmqpOptions

__all__ = ["AmqpBinding", "AmqpConnector", "AmqpOptions"]

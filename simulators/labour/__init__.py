"""Labour Office simulator: AMQP request/reply (RabbitMQ) plus a REST twin."""

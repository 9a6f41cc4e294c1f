"""The RabbitMQ adapter. Every process that speaks AMQP reads what any sender wrote, so the
tolerant decoding of adapters/rabbit/wire.py is installed as soon as the adapter is imported."""

from adapters.rabbit import wire

wire.install()

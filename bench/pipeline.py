"""The minimal pipeline a registration runs on, for bench/registration.py to measure the hub against.

A plain aio-pika consumer with the hub's prefetch takes deliveries from a quorum queue; for each
group of deliveries already waiting (up to the hub's batch size, as adapters/rabbit/batcher.py
groups them, by as many workers) it runs one PostgreSQL transaction inserting an inbox row and an
outbox row per message into the hub's own tables, commits, publishes each answer persistent with
publisher confirms to a quorum queue, and acks. No validation, matching, gate or audit: what is
left between this and the hub is the hub's own work.
"""

import asyncio
import hashlib
import json
import uuid
from contextlib import AsyncExitStack

import aio_pika
import asyncpg
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractIncomingMessage, AbstractQueue

IN_QUEUE, OUT_QUEUE = "bench.pipeline.in", "bench.pipeline.out"
_ANSWER = json.dumps({"response_code": "pipeline"}).encode()


async def start_pipeline(
    stack: AsyncExitStack, amqp_url: str, database_url: str, prefetch: int, batch_max_size: int, workers: int
) -> None:
    """Declare the two queues and run the consumer and its workers until `stack` closes."""
    pool = await asyncpg.create_pool(database_url, min_size=workers, max_size=workers)
    assert pool is not None
    stack.push_async_callback(pool.close)
    connection = await aio_pika.connect(amqp_url)
    stack.push_async_callback(connection.close)
    consuming = await connection.channel()
    await consuming.set_qos(prefetch_count=prefetch)
    publishing = await connection.channel(publisher_confirms=True)
    queue = await consuming.declare_queue(IN_QUEUE, durable=True, arguments={"x-queue-type": "quorum"})
    await publishing.declare_queue(OUT_QUEUE, durable=True, arguments={"x-queue-type": "quorum"})
    waiting: asyncio.Queue[AbstractIncomingMessage] = asyncio.Queue()
    tasks = [
        asyncio.create_task(_work(waiting, pool, publishing.default_exchange, batch_max_size)) for _ in range(workers)
    ]
    for task in tasks:
        stack.callback(task.cancel)
    tag = await queue.consume(waiting.put)
    stack.push_async_callback(queue.cancel, tag)


async def _work(
    waiting: asyncio.Queue[AbstractIncomingMessage], pool: asyncpg.Pool, out: AbstractExchange, max_size: int
) -> None:
    while True:
        group = [await waiting.get()]
        while len(group) < max_size and not waiting.empty():
            group.append(waiting.get_nowait())
        async with pool.acquire() as conn, conn.transaction():
            await conn.executemany(
                "INSERT INTO inbox (consumer, sender, message_id, body_sha256) VALUES ('pipeline', $1, $2, $3)",
                [(m.user_id or "", m.message_id, hashlib.sha256(m.body).hexdigest()) for m in group],
            )
            await conn.executemany(
                "INSERT INTO outbox (id, exchange, routing_key, message_type, correlation_id, body)"
                " VALUES ($1, '', $2, 'pipeline.answer', $3, $4::jsonb)",
                [(uuid.uuid4(), OUT_QUEUE, m.message_id, _ANSWER.decode()) for m in group],
            )
        persistent = aio_pika.DeliveryMode.PERSISTENT
        answers = [
            aio_pika.Message(_ANSWER, correlation_id=m.message_id, type="pipeline.answer", delivery_mode=persistent)
            for m in group
        ]
        await asyncio.gather(*(out.publish(a, OUT_QUEUE) for a in answers))
        for m in group:
            await m.ack()


async def pipeline_queues(channel: AbstractChannel) -> tuple[AbstractExchange, AbstractQueue]:
    """Where the client publishes requests (the default exchange, to IN_QUEUE) and reads answers."""
    return channel.default_exchange, await channel.get_queue(OUT_QUEUE, ensure=False)

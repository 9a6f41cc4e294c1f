"""Micro-batching: deliveries that arrive together are handled in one transaction.

Each delivery waits on its own future; a worker takes the first waiting delivery and whatever
else is already queued (up to `max_size`), never waiting for more, so a lone message has no
added latency while a busy queue shares one commit, one audit-chain lock and one outbox write
across many messages. Several workers keep the database busy while one commits.
"""

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from hub.pipeline.inbound import Handled, InboundMessage, Outcome

HandleBatch = Callable[[Sequence[InboundMessage]], Awaitable[list[Outcome]]]
_Item = tuple[InboundMessage, "asyncio.Future[Handled]"]


class MicroBatcher:
    def __init__(self, handle: HandleBatch, max_size: int, workers: int) -> None:
        self._handle = handle
        self._max_size = max_size
        self._workers = workers
        self._queue: asyncio.Queue[_Item] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []

    async def submit(self, message: InboundMessage) -> Handled:
        """Handle `message` with whatever else is waiting; raises what handling it raised."""
        future: asyncio.Future[Handled] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((message, future))
        return await future

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._work(), name=f"batcher-{n}") for n in range(self._workers)]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _work(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self._max_size and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                outcomes = await self._handle([message for message, _ in batch])
            except Exception as e:  # noqa: BLE001 - every waiting delivery learns of the fault
                for _, future in batch:
                    if not future.done():
                        future.set_exception(e)
                continue
            for (_, future), outcome in zip(batch, outcomes, strict=True):
                if future.done():
                    continue
                if isinstance(outcome, Exception):
                    future.set_exception(outcome)  # this delivery alone is retried
                else:
                    future.set_result(outcome)

-- A sender's message ids are one namespace whichever command queue carries the message: an id
-- reused for a type on another queue is a duplicate, not a second request. The command queues'
-- inbox records now share one consumer name, 'requests' (adapters/rabbit/consumer.py); where an
-- id was recorded on two of them, the later record is kept.
DELETE FROM inbox a USING inbox b
WHERE a.consumer IN ('lrs.registration', 'lrs.records', 'lrs.sharing')
  AND b.consumer IN ('lrs.registration', 'lrs.records', 'lrs.sharing')
  AND a.sender = b.sender AND a.message_id = b.message_id
  AND (a.received_at, a.ctid) < (b.received_at, b.ctid);
UPDATE inbox SET consumer = 'requests' WHERE consumer IN ('lrs.registration', 'lrs.records', 'lrs.sharing');

"""Where the hub's messages go, by name; the adapters declare these on the broker."""

INBOUND_EXCHANGE = "lrs.inbound"  # organisations publish `<org>.<message type>` here
OUTBOUND_EXCHANGE = "lrs.outbound"  # only the disclosure gate's messages; routing key = recipient org
EVENTS_EXCHANGE = "lrs.events"  # the hub's own domain events; routing key = message type
DEAD_LETTER_EXCHANGE = "lrs.dlx"

# The command queues, one per part of the hub, and the queue of the hub's events for partners'
# feeds. Which message goes to which is the route table's (hub/pipeline/routes.py).
REGISTRATION_QUEUE = "lrs.registration"  # the Learner Register: find, register, update, verify
RECORDS_QUEUE = "lrs.records"  # the Personal Learning Record: achievements, enrolments, challenges
SHARING_QUEUE = "lrs.sharing"  # learners' choices and reads of their record, partners' requests
FEEDS_QUEUE = "lrs.feeds"  # bound to lrs.events

# AMQP headers an LRS batch file's rows carry, echoed on their answers.
BATCH_ID_HEADER = "x-lrs-batch-id"
BATCH_ROW_HEADER = "x-lrs-batch-row"
BATCH_ROWS_HEADER = "x-lrs-batch-rows"

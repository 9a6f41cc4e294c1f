"""The message pipeline: inbound handling, the route table, drafts, validation of items, events."""

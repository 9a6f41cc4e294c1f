"""Unit tier: the hub with in-memory fakes of its ports; no services, milliseconds per test."""

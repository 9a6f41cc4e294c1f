"""The shared kernel: the domain model, the ports, errors, the clock and the audit's words and chain."""

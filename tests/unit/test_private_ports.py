"""Ports for private servers come from below the ephemeral range, where no outgoing connection
takes its local port between the choice and the server's bind (a CI boot failed so)."""

import socket

from bench.private_servers import _ephemeral_range, free_port


def test_ports_are_below_the_ephemeral_range_and_never_handed_out_twice() -> None:
    ports = [free_port() for _ in range(200)]
    assert len(set(ports)) == len(ports)
    assert all(1024 < p < _ephemeral_range().start for p in ports)


def test_a_port_someone_listens_on_is_never_chosen() -> None:
    held = []
    for port in range(10000, 11000):  # a band of the range, held by "someone else"
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            s.close()
            continue
        s.listen()
        held.append(s)
    try:
        band = {s.getsockname()[1] for s in held}
        # 500 draws over ~22,000 ports would land in a 1,000-port band about 20 times unchecked.
        assert not band & {free_port() for _ in range(500)}
    finally:
        for s in held:
            s.close()

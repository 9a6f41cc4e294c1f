"""The LRS batch headers are validated like bodies: all three or none, each within the file's bounds."""

import pytest

from hub.pipeline.inbound import BatchRef, HeaderError, read_batch

ID, ROW, ROWS = "x-lrs-batch-id", "x-lrs-batch-row", "x-lrs-batch-rows"
GOOD = {ID: "LRB_10030488_021220260900", ROW: "2", ROWS: "3"}


def test_no_batch_headers_means_no_batch() -> None:
    """A message without batch headers is a single request."""
    assert read_batch({"other": "x"}) is None


@pytest.mark.parametrize("row", ["2", 2])
def test_well_formed_headers_name_the_row(row: object) -> None:
    """Row numbers may come as numbers or as the digits the hub itself writes."""
    assert read_batch(GOOD | {ROW: row}) == BatchRef("LRB_10030488_021220260900", 2, 3)


@pytest.mark.parametrize(
    ("headers", "header"),
    [
        ({ROW: -1}, ROW),
        ({ROW: 0}, ROW),
        ({ROW: 2**63}, ROW),
        ({ROW: "99999999999999999999"}, ROW),
        ({ROW: True}, ROW),
        ({ROW: 2.0}, ROW),
        ({ROWS: 5001}, ROWS),
        ({ROW: 4}, ROW),
        ({ID: "LRB_" + "1" * 10_000}, ID),
        ({ID: b"LRB_10030488_021220260900"}, ID),
        ({ID: "LRB_10030488_021220260900\n"}, ID),
    ],
)
def test_bad_headers_are_named(headers: dict[str, object], header: str) -> None:
    """Each wrong header is named in the error, whatever its type or size."""
    with pytest.raises(HeaderError) as e:
        read_batch(GOOD | headers)
    assert e.value.header == header


def test_a_missing_header_is_named() -> None:
    """One batch header without the others is refused, naming the missing ones."""
    with pytest.raises(HeaderError) as e:
        read_batch({ID: GOOD[ID]})
    assert e.value.header == f"{ROW}, {ROWS}"

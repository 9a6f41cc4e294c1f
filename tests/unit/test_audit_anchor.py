"""A head kept outside the database shows a cut-off or rewritten tail, which the hash chain alone cannot."""

from hub.kernel.audit import ChainHead, anchor_broken

CHAIN = ["a" * 64, "b" * 64, "c" * 64]


def test_a_chain_that_still_holds_its_anchor_passes() -> None:
    assert anchor_broken(CHAIN, ChainHead(2, "b" * 64)) is None
    assert anchor_broken(CHAIN, ChainHead(3, "c" * 64)) is None


def test_a_first_anchor_on_an_empty_log_passes() -> None:
    assert anchor_broken([], ChainHead(0, "")) is None


def test_a_chain_shorter_than_its_anchor_was_cut() -> None:
    assert anchor_broken(CHAIN[:1], ChainHead(3, "c" * 64)) == "the log has 1 entries; it had 3 when anchored"


def test_a_chain_whose_anchored_entry_differs_was_rewritten() -> None:
    assert anchor_broken(CHAIN, ChainHead(2, "x" * 64)) == "entry 2 is not the one anchored"

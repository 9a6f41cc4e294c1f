"""Name frequencies: agreeing on a common name is weaker evidence than agreeing on a rare one."""

from hub.register.frequencies import NO_FREQUENCIES, NameFrequencies
from hub.register.matching import score_learner

from .builders import learner
from .test_matching import query


def test_weight_runs_from_minus_one_for_common_to_plus_one_for_rare() -> None:
    """A name held by 1% of the register weighs -1, one held by nobody else +1, none when counts are unknown."""
    frequencies = NameFrequencies.of_names(
        [("Olivia", "Smith", 1_000), ("Xanthe", "Quarrington", 1), ("A", "B", 99_000)]
    )

    assert [
        frequencies.weight("family", "SMITH"),
        frequencies.weight("given", "Xanthe"),
        NO_FREQUENCIES.weight("given", "Olivia"),
    ] == [-1.0, 1.0, 0.0]


def test_the_same_agreement_scores_lower_on_common_names() -> None:
    """The same near miss scores four points lower on common names (-1 each) than on rare ones (+1 each)."""
    common, rare = (
        learner(given_name="Olivia", family_name="Smith"),
        learner(given_name="Xanthe", family_name="Quarrington"),
    )
    frequencies = NameFrequencies.of_names(
        [("Olivia", "Smith", 1_000), ("Xanthe", "Quarrington", 1), ("A", "B", 99_000)]
    )
    moved = {"last_known_postcode": "LS1 4AP"}

    common_score = score_learner(query(given_name="Olivia", family_name="Smith", **moved), common, frequencies).score
    rare_score = score_learner(query(given_name="Xanthe", family_name="Quarrington", **moved), rare, frequencies).score
    assert rare_score - common_score == 4.0

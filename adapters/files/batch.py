"""LRS batch files: `LRB_<UKPRN>_DDMMYYYYHHMM.CSV` in, one learner a row; output CSV out.

The header row is fixed and case-sensitive. Rows are turned into `learner.register.v1`
bodies as they are, without judging them: the hub validates every row and answers each bad
one with its row number and reason, while the other rows go through.
"""

import csv
import re
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contracts.codes import BatchReturnCode

MAX_ROWS = 5000
FILE_NAME = re.compile(r"^LRB_(?P<ukprn>[0-9]{8})_(?P<stamp>[0-9]{12})\.CSV$")
# Column -> field of contracts.learner.LearnerDetails (MISIdentifier goes on the request).
COLUMNS = {
    "MISIdentifier": "mis_identifier",
    "GivenName": "given_name",
    "FamilyName": "family_name",
    "MiddleOtherName": "middle_other_name",
    "PreferredGivenName": "preferred_given_name",
    "PreviousFamilyName": "previous_family_name",
    "FamilyNameAtAge16": "family_name_at_age_16",
    "SchoolAtAge16": "school_at_age_16",
    "PlaceOfBirth": "place_of_birth",
    "DateOfBirth": "date_of_birth",
    "Gender": "gender",
    "LastKnownAddressLine1": "last_known_address_line1",
    "LastKnownAddressLine2": "last_known_address_line2",
    "LastKnownAddressTown": "last_known_address_town",
    "LastKnownAddressCountyOrCity": "last_known_address_county_or_city",
    "LastKnownPostCode": "last_known_postcode",
    "EmailAddress": "email_address",
    "Nationality": "nationality",
    "ScottishCandidateNumber": "scottish_candidate_number",
    "AbilityToShare": "ability_to_share",
    "VerificationType": "verification_type",
    "OtherVerificationDescription": "other_verification_description",
    "Notes": "notes",
}
_CODE_FIELDS = {"gender", "ability_to_share", "verification_type"}
OUTPUT_COLUMNS = ["RowNumber", "MISIdentifier", "ReturnCode", "ResponseCode", "ULN", "Reason"]
# A namespace for row message ids: resubmitting the same file re-sends the same ids, which
# the hub's inbox recognises, so a retried upload never registers a learner twice.
_ROW_NAMESPACE = uuid.UUID("8a0c4c52-5b36-4c43-9b4f-2f4a8d6b1e10")


class BatchFileError(Exception):
    """Raised when a batch file as a whole is unusable (name, header, size, encoding)."""


@dataclass(frozen=True)
class BatchRow:
    row_number: int  # 1 = the first learner row, after the header
    message_id: str
    body: dict[str, Any]


@dataclass(frozen=True)
class BatchFile:
    batch_id: str
    ukprn: str
    rows: list[BatchRow]


def _cell(field: str, value: str | None) -> Any:
    value = (value or "").strip()
    if not value:
        return None
    # Codes are numbers on the wire; anything else is passed on for the hub to refuse.
    return int(value) if field in _CODE_FIELDS and value.isdigit() else value


def read_batch_file(path: Path, ukprn: str) -> BatchFile:
    """Read and check a batch file submitted by `ukprn`; each row becomes a register request."""
    match = FILE_NAME.match(path.name)
    if match is None:
        raise BatchFileError(f"{path.name}: the name must be LRB_<UKPRN>_DDMMYYYYHHMM.CSV")
    if match["ukprn"] != ukprn:
        raise BatchFileError(f"{path.name}: the file is for UKPRN {match['ukprn']}, not {ukprn}")
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = reader.fieldnames or []
            unknown = [c for c in header if c not in COLUMNS]
            missing = [
                c
                for c in ("GivenName", "FamilyName", "DateOfBirth", "Gender", "LastKnownPostCode", "VerificationType")
                if c not in header
            ]
            if unknown or missing:
                raise BatchFileError(f"{path.name}: header has unknown columns {unknown} / lacks {missing}")
            rows = [_row(path.stem, n, raw, ukprn) for n, raw in enumerate(reader, start=1)]
    except UnicodeDecodeError as e:
        raise BatchFileError(f"{path.name}: not UTF-8 text ({e.reason})") from e
    if len(rows) > MAX_ROWS:
        raise BatchFileError(f"{path.name}: {len(rows)} rows; a batch file holds at most {MAX_ROWS}")
    if not rows:
        raise BatchFileError(f"{path.name}: no learner rows after the header")
    return BatchFile(path.stem, ukprn, rows)


def _row(batch_id: str, number: int, raw: dict[str | None, Any], ukprn: str) -> BatchRow:
    learner = {COLUMNS[c]: _cell(COLUMNS[c], v) for c, v in raw.items() if c in COLUMNS}
    if None in raw:  # more cells than columns: pass them on so the hub names the problem
        learner["unexpected_cells"] = raw[None]
    mis_identifier = learner.pop("mis_identifier", None)
    body = {"ukprn": ukprn, "learner": {k: v for k, v in learner.items() if v is not None}}
    if mis_identifier:
        body["mis_identifier"] = mis_identifier
    return BatchRow(number, str(uuid.uuid5(_ROW_NAMESPACE, f"{batch_id}/{number}")), body)


@dataclass(frozen=True)
class BatchSummary:
    total: int
    answered: int
    counts: Counter[str]

    @property
    def complete(self) -> bool:
        return self.answered >= self.total

    def line(self) -> str:
        c = self.counts
        rejected = sum(v for k, v in c.items() if k not in _COUNTED)
        return (
            f"new {c[BatchReturnCode.NEW]}, existing {c[BatchReturnCode.EXISTING]}, "
            f"possible matches {c[BatchReturnCode.POSSIBLE_MATCHES]}, not found {c[BatchReturnCode.NOT_FOUND]}, "
            f"rejected {rejected} ({self.answered} of {self.total} rows answered)"
        )


_COUNTED = {BatchReturnCode.NEW, BatchReturnCode.EXISTING, BatchReturnCode.POSSIBLE_MATCHES, BatchReturnCode.NOT_FOUND}


def write_output(path: Path, rows: list[dict[str, Any]]) -> None:
    """Write the output CSV: one line per answered row, in row order."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=OUTPUT_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


def output_path(directory: Path, batch_id: str) -> Path:
    return directory / f"{batch_id}_OUTPUT.CSV"

"""The base every contract model stands on."""

from typing import ClassVar

from pydantic import BaseModel, ConfigDict


class Contract(BaseModel):
    """A message body: strict about unknown fields, immutable once built."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # The AMQP `type` property: contract name and version, e.g. `learner.register.v1`.
    message_type: ClassVar[str]

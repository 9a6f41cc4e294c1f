import pytest

from hub.kernel.model import Organisation

from .builders import provider
from .fakes import FakeUnitOfWorkFactory


@pytest.fixture
def hub_db() -> FakeUnitOfWorkFactory:
    """A fresh, empty in-memory register for each test."""
    return FakeUnitOfWorkFactory()


@pytest.fixture
def college(hub_db: FakeUnitOfWorkFactory) -> Organisation:
    """An active learning provider known to the register."""
    return hub_db.add_organisation(provider())

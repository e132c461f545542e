from __future__ import annotations

import pytest

from tvselect.catalog.model import Catalog, load_catalog


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog()

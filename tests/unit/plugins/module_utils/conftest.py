import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from fake_k8s import FakeApi, FakeClock  # noqa: E402


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def api(clock):
    return FakeApi(clock)

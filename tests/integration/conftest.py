import os
import sys

import pytest

STANDINS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "standins")
if STANDINS not in sys.path:
    sys.path.insert(0, STANDINS)

from k8s_emulator import EmulatorThread  # noqa: E402


@pytest.fixture
def emulator():
    with EmulatorThread() as emu:
        yield emu


@pytest.fixture
def make_api(tmp_path):
    """KubernetesApi (real kubernetes client, DynamicClient) for an emulator URL."""
    from ansible_collections.homelab.k3s.plugins.module_utils.k8s_connection import KubernetesApi

    def make(url, **params):
        params.setdefault("host", url)
        return KubernetesApi.from_params(params, discovery_cache_file=str(tmp_path / ("discovery-%d.json" % id(params))))
    return make

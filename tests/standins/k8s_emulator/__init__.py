"""A local Kubernetes API emulator built on kmock (test stand-in only).

See README.md in this directory for its scope and limits.
"""
from .handler import KubernetesApiEmulator, parse_path
from .server import EmulatorProcess, EmulatorThread, main, wait_until_ready
from .store import BUILTIN_TYPES, ApiError, ObjectStore, ResourceType, k3s_crds

__all__ = ["KubernetesApiEmulator", "ObjectStore", "ResourceType", "ApiError", "BUILTIN_TYPES", "k3s_crds",
           "EmulatorThread", "EmulatorProcess", "main", "wait_until_ready", "parse_path"]

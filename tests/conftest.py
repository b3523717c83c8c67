"""Make the checkout importable as ``ansible_collections.homelab.k3s``.

The checkout is linked into ``.cache/collections/ansible_collections/homelab/k3s``
(the same tree ``ansible.cfg`` puts on the collections path), so unit tests
import plugins exactly as Ansible does.
"""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(ROOT, ".cache", "collections")
LINK = os.path.join(COLLECTIONS, "ansible_collections", "homelab", "k3s")

if not os.path.lexists(LINK):
    os.makedirs(os.path.dirname(LINK), exist_ok=True)
    os.symlink(ROOT, LINK)
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)

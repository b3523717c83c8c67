# -*- coding: utf-8 -*-
# Copyright (c) homelab.k3s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A lease-style lock kept in a ConfigMap (logic of the cluster_lock module).

Record layout (ConfigMap ``data`` keys, all strings so ``kubectl`` shows them):
``holder`` (empty when free), ``acquiredTime``, ``renewTime`` (RFC 3339, API
server clock), ``leaseDurationSeconds``, ``leaseTransitions``, ``reason`` and
``data`` (JSON of the caller's data). Other data keys, labels and annotations
of the ConfigMap are preserved.

Correctness under contention: every write is conditional. A free lock is
taken by POST (409 if someone created it first), anything else by PUT of the
object just read, carrying its ``resourceVersion`` (409 if it changed). A 409
means: read again and decide again. Nothing is ever patched blindly.

Expiry is judged on the API server's clock: ``renewTime`` is written in
server time and compared with the ``Date`` header of the response that
returned the record (see :meth:`ClusterLock._expired`). When a server sends no
``Date`` header the lock falls back to observation: a record counts as expired
once this caller has seen the same ``resourceVersion`` for a whole TTL.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import datetime
import json

from ansible_collections.homelab.k3s.plugins.module_utils.k8s_connection import ConflictError

CONFIGMAP_API_VERSION = "v1"
CONFIGMAP_KIND = "ConfigMap"
# Date headers have a resolution of one second; a lease is only judged
# expired once it is past its end by more than that.
CLOCK_RESOLUTION = 1.0

KEY_HOLDER = "holder"
KEY_ACQUIRED = "acquiredTime"
KEY_RENEWED = "renewTime"
KEY_TTL = "leaseDurationSeconds"
KEY_TRANSITIONS = "leaseTransitions"
KEY_REASON = "reason"
KEY_DATA = "data"
LOCK_KEYS = (KEY_HOLDER, KEY_ACQUIRED, KEY_RENEWED, KEY_TTL, KEY_TRANSITIONS, KEY_REASON, KEY_DATA)


class LockError(Exception):
    """The lock operation cannot be done; ``lock`` holds the last record seen."""

    def __init__(self, msg, lock=None):
        super(LockError, self).__init__(msg)
        self.lock = lock


def format_time(epoch):
    if epoch is None:
        return None
    value = datetime.datetime.fromtimestamp(epoch, tz=datetime.timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(value):
    if not value:
        return None
    try:
        text = value.replace("Z", "+00:00")
        return datetime.datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None


class LockRecord(object):
    """The lock as read from a ConfigMap (or a free lock when there is none)."""

    def __init__(self, configmap=None):
        self.configmap = configmap
        data = ((configmap or {}).get("data") or {})
        self.holder = data.get(KEY_HOLDER) or ""
        self.acquired = parse_time(data.get(KEY_ACQUIRED))
        self.renewed = parse_time(data.get(KEY_RENEWED))
        try:
            self.ttl = int(data.get(KEY_TTL) or 0)
        except ValueError:
            self.ttl = 0
        try:
            self.transitions = int(data.get(KEY_TRANSITIONS) or 0)
        except ValueError:
            self.transitions = 0
        self.reason = data.get(KEY_REASON) or ""
        try:
            self.data = json.loads(data[KEY_DATA]) if data.get(KEY_DATA) else {}
        except ValueError:
            self.data = {}

    @property
    def exists(self):
        return self.configmap is not None

    @property
    def resource_version(self):
        return ((self.configmap or {}).get("metadata") or {}).get("resourceVersion")

    @property
    def expires(self):
        if not self.holder or self.renewed is None:
            return None
        return self.renewed + self.ttl


class ClusterLock(object):
    """Acquire, renew, release, query and delete one lock.

    ``api`` is a :class:`KubernetesApi` (or a fake with the same methods),
    ``clock`` has ``monotonic()`` and ``sleep(seconds)``.
    """

    def __init__(self, api, clock, namespace, name, poll_interval=1.0, max_poll_interval=5.0,
                 check_mode=False):
        self.api = api
        self.clock = clock
        self.namespace = namespace
        self.name = name
        self.poll_interval = poll_interval
        self.max_poll_interval = max(poll_interval, max_poll_interval)
        self.check_mode = check_mode
        self.attempts = 0
        self.conflicts = 0
        # server-clock anchor: (server epoch, local monotonic) of the last response
        self._anchor = None
        # observation fallback: resourceVersion -> monotonic time first seen
        self._first_seen = {}
        # the record as read just before the last (previewed) write, for --diff
        self.before = None

    # -- clock -------------------------------------------------------------
    def _note(self, response):
        if response.server_time is not None:
            self._anchor = (response.server_time, self.clock.monotonic())
        return response

    def server_now(self):
        """Best estimate of the API server's clock, None if it never told us."""
        if self._anchor is None:
            return None
        server_time, seen = self._anchor
        return server_time + (self.clock.monotonic() - seen)

    def _expired(self, record):
        if not record.holder:
            return False
        now = self.server_now()
        if now is not None and record.expires is not None:
            return now > record.expires + CLOCK_RESOLUTION
        # No server clock: expired once unchanged for a whole TTL on our own clock.
        first = self._first_seen.setdefault(record.resource_version, self.clock.monotonic())
        return self.clock.monotonic() - first >= record.ttl + CLOCK_RESOLUTION

    # -- API ---------------------------------------------------------------
    def _read(self):
        self.attempts += 1
        response = self._note(self.api.get(CONFIGMAP_API_VERSION, CONFIGMAP_KIND, self.name, self.namespace))
        return LockRecord(response.obj)

    def describe(self, record):
        held = bool(record.holder) and not self._expired(record)
        return dict(
            name=self.name,
            namespace=self.namespace,
            exists=record.exists,
            holder=record.holder or None,
            held=held,
            expired=bool(record.holder) and not held,
            acquired_time=format_time(record.acquired) if record.holder else None,
            renew_time=format_time(record.renewed) if record.holder else None,
            expires=format_time(record.expires),
            ttl=record.ttl or None,
            transitions=record.transitions,
            reason=record.reason or None,
            data=record.data,
            resource_version=record.resource_version,
            server_time=format_time(self.server_now()),
        )

    def _body(self, record, holder, acquired, renewed, ttl, transitions, reason, data):
        configmap = json.loads(json.dumps(record.configmap)) if record.exists else {
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": self.name, "namespace": self.namespace,
                         "labels": {"app.kubernetes.io/managed-by": "homelab.k3s.cluster_lock"}},
        }
        for key in ("managedFields", "creationTimestamp", "uid", "generation"):
            configmap["metadata"].pop(key, None)
        values = configmap.get("data") or {}
        values.update({
            KEY_HOLDER: holder,
            KEY_ACQUIRED: format_time(acquired) or "",
            KEY_RENEWED: format_time(renewed) or "",
            KEY_TTL: str(int(ttl)),
            KEY_TRANSITIONS: str(transitions),
            KEY_REASON: reason or "",
            KEY_DATA: json.dumps(data, sort_keys=True) if data else "",
        })
        configmap["data"] = values
        return configmap

    def _write(self, record, body):
        """Conditional write: POST when the lock had no ConfigMap, else PUT with
        the resourceVersion that was read. Raises ConflictError on a race."""
        if record.exists:
            response = self.api.replace(CONFIGMAP_API_VERSION, CONFIGMAP_KIND, body, self.namespace)
        else:
            response = self.api.create(CONFIGMAP_API_VERSION, CONFIGMAP_KIND, body, self.namespace)
        self._note(response)
        return LockRecord(response.obj)

    def _now_for_write(self):
        now = self.server_now()
        return now if now is not None else self.clock.wall()

    # -- operations --------------------------------------------------------
    def acquire(self, holder, ttl, wait_timeout=0, reason=None, data=None):
        """Take (or renew) the lock for ``holder``, waiting up to ``wait_timeout``.

        Returns ``(changed, record_description, waited_seconds)``. A renewal is
        reported as changed only when reason, data or ttl change; the renew
        time alone is not a change (so a re-run is idempotent).
        """
        if not holder:
            raise LockError("holder must be a non-empty string")
        start = self.clock.monotonic()
        deadline = start + wait_timeout
        interval = self.poll_interval
        while True:
            record = self._read()
            ours = record.holder == holder
            if not record.holder or ours or self._expired(record):
                now = self._now_for_write()
                if ours:
                    new_data = record.data if data is None else data
                    new_reason = record.reason if reason is None else reason
                    changed = (new_data != record.data or new_reason != record.reason or ttl != record.ttl)
                    body = self._body(record, holder, record.acquired or now, now, ttl,
                                      record.transitions, new_reason, new_data)
                else:
                    changed = True
                    # A taken-over or free lock keeps the data left behind
                    # (e.g. replica counts of a holder that died) unless given.
                    new_data = record.data if data is None else data
                    body = self._body(record, holder, now, now, ttl, record.transitions + 1,
                                      reason, new_data)
                self.before = self.describe(record)
                if self.check_mode:
                    preview = LockRecord(body)
                    return changed, self.describe(preview), self.clock.monotonic() - start
                try:
                    written = self._write(record, body)
                except ConflictError:
                    self.conflicts += 1
                    continue
                return changed, self.describe(written), self.clock.monotonic() - start
            remaining = deadline - self.clock.monotonic()
            if remaining <= 0:
                raise LockError(
                    "lock %s/%s is held by %s (reason: %s) until %s; waited %.1fs"
                    % (self.namespace, self.name, record.holder, record.reason or "-",
                       format_time(record.expires), self.clock.monotonic() - start),
                    self.describe(record))
            self.clock.sleep(min(interval, remaining))
            interval = min(interval * 1.5, self.max_poll_interval)

    def release(self, holder, force=False, keep_data=True):
        """Release the lock if ``holder`` holds it (or ``force``).

        Returns ``(changed, record_description)``.
        """
        while True:
            record = self._read()
            if not record.exists or (not record.holder and (keep_data or not record.data)):
                return False, self.describe(record)
            if record.holder and record.holder != holder and not force:
                raise LockError("lock %s/%s is held by %s, not by %s; use force to release it"
                                % (self.namespace, self.name, record.holder, holder or "(no holder given)"),
                                self.describe(record))
            data = record.data if keep_data else {}
            body = self._body(record, "", None, None, record.ttl, record.transitions, "", data)
            self.before = self.describe(record)
            if self.check_mode:
                return True, self.describe(LockRecord(body))
            try:
                written = self._write(record, body)
            except ConflictError:
                self.conflicts += 1
                continue
            return True, self.describe(written)

    def delete(self, holder=None, force=False):
        """Delete the ConfigMap if the lock is free, expired, ours, or ``force``."""
        while True:
            record = self._read()
            if not record.exists:
                return False, self.describe(record)
            allowed = (not record.holder or self._expired(record) or force
                       or (holder and record.holder == holder))
            if not allowed:
                raise LockError("lock %s/%s is held by %s until %s; not deleting it without force"
                                % (self.namespace, self.name, record.holder, format_time(record.expires)),
                                self.describe(record))
            self.before = self.describe(record)
            if self.check_mode:
                return True, self.describe(LockRecord(None))
            try:
                self._note(self.api.delete(CONFIGMAP_API_VERSION, CONFIGMAP_KIND, self.name,
                                           self.namespace, resource_version=record.resource_version))
            except ConflictError:
                self.conflicts += 1
                continue
            return True, self.describe(LockRecord(None))

    def query(self):
        return self.describe(self._read())

    def transact(self, decide):
        """Read-decide-write with the record just read, retried on conflict.

        ``decide(record, description)`` returns None (nothing to write) or a
        dict with ``holder``, ``ttl``, ``reason`` and ``data`` for the new
        record, computed from the record it was given. The write is
        conditional on that record, so a concurrent change makes ``decide``
        run again on the new record and no update is lost. Returns the
        description of the record written (or read, or previewed in check
        mode) and whether a write was (or would be) done.
        """
        while True:
            record = self._read()
            wanted = decide(record, self.describe(record))
            if wanted is None:
                return self.describe(record), False
            holder = wanted["holder"]
            now = self._now_for_write()
            same = bool(holder) and record.holder == holder
            body = self._body(record, holder,
                              (record.acquired or now) if same else (now if holder else None),
                              now if holder else None, wanted["ttl"],
                              record.transitions + (0 if same or not holder else 1),
                              wanted.get("reason"), wanted.get("data"))
            self.before = self.describe(record)
            if self.check_mode:
                return self.describe(LockRecord(body)), True
            try:
                written = self._write(record, body)
            except ConflictError:
                self.conflicts += 1
                continue
            return self.describe(written), True

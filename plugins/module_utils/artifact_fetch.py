# -*- coding: utf-8 -*-
# Copyright (c) homelab.k3s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller half of homelab.k3s.artifact: download once, verify, unpack.

Used by the action plugin ``homelab.k3s.artifact_fetch`` (controller only).
The cache layout is the one of roles/artifact/vars/main.yml::

    <cache_dir>/<name>/<version>/<arch>/
        <file>                  the download (mode 0644)
        <file>.verified         marker: sha256, size and mtime_ns of a verified download
        <sums file>             the release checksum file, when no sha256 is pinned
        unpacked/<member>       the program taken out of an archive / decompressed file
        unpacked/<member>.verified  marker: its sha256, the sha256 of its download, size, mtime_ns
        .lock                   fcntl lock held while checking, downloading and unpacking

All work on one cache directory happens under an exclusive ``flock`` on
``.lock``, so parallel forks (several hosts of one play) download, hash and
unpack once and the others find the result. A download is hashed once: the
marker records the size and mtime of the file that was verified, and a later
run re-hashes only when those changed (or the marker is missing/damaged).

The downloader (``opener``), the clock and the lock are injectable for the
unit tests; the file system is the real one under ``cache_dir``.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import bz2
import contextlib
import fcntl
import gzip
import hashlib
import json
import lzma
import os
import posixpath
import re
import shutil
import tarfile
import tempfile
import time
import zipfile

try:
    from urllib.parse import urlsplit, unquote
except ImportError:  # pragma: no cover - Python 2
    from urlparse import urlsplit  # type: ignore
    from urllib import unquote  # type: ignore

from ansible_collections.homelab.k3s.plugins.module_utils.artifact_place import sha256_file

FORMATS = ('auto', 'raw', 'gz', 'bz2', 'xz', 'tar')
SHA256 = re.compile(r'^[0-9a-f]{64}$')
CHUNK = 1024 * 1024
LOCK_FILE = '.lock'
MARKER_SUFFIX = '.verified'


class ArtifactError(Exception):
    """A refusal: the message is shown to the user as is."""


def expand(template, version, arch):
    return template.replace('{version}', version).replace('{arch}', arch)


def url_file_name(url):
    """Same as the role's ``url | urlsplit('path') | basename``."""
    return posixpath.basename(urlsplit(url).path)


def mirror_base(mirror):
    base = 'file://' + mirror if mirror.startswith('/') else mirror
    return re.sub(r'/+$', '', base)


def detect_kind(file_name, fmt):
    if fmt != 'auto':
        return fmt
    if re.search(r'\.(tar(\.[a-z0-9]+)?|tgz|tbz2?|txz|zip)$', file_name):
        return 'tar'
    if re.search(r'\.bz2$', file_name):
        return 'bz2'
    if re.search(r'\.gz$', file_name):
        return 'gz'
    if re.search(r'\.xz$', file_name):
        return 'xz'
    return 'raw'


class Artifact(object):
    """The request and the paths derived from it (roles/artifact/vars/main.yml)."""

    def __init__(self, name, version, arch, url, cache_dir, checksums_url='', mirror='', sha256='',
                 fmt='auto', archive_member=''):
        if fmt not in FORMATS:
            raise ArtifactError('artifact %s %s: format %r is not one of %s.' % (name, version, fmt, ', '.join(FORMATS)))
        self.name, self.version, self.arch = name, version, arch
        self.url = expand(url, version, arch)
        self.file = url_file_name(self.url)
        base = mirror_base(mirror) if mirror else ''
        self.source = base + '/' + self.file if mirror else self.url
        self.sums_url = expand(checksums_url, version, arch)
        self.sums_file = url_file_name(self.sums_url)
        self.sums_source = base + '/' + self.sums_file if mirror else self.sums_url
        self.pinned = (sha256 or '').lower()
        self.dir = os.path.join(cache_dir, name, version, arch)
        self.download = os.path.join(self.dir, self.file)
        self.kind = detect_kind(self.file, fmt)
        self.member = archive_member or name
        if normalise_member(self.member).split('/')[0] in ('..', '.'):
            raise ArtifactError('artifact %s %s: archive member %r leaves the unpack directory; give a path inside the '
                                'archive.' % (name, version, self.member))
        if self.kind == 'raw':
            self.binary = self.download
        else:
            self.binary = os.path.join(self.dir, 'unpacked', self.member if self.kind == 'tar' else name)
        self.expected_from = ('artifact_sha256.' + arch) if sha256 else self.sums_source

    def label(self):
        return 'artifact %s %s' % (self.name, self.version)


def flock(path):
    """Exclusive lock on ``path`` (created 0644) for the life of the context."""
    @contextlib.contextmanager
    def held():
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock
    return held()


def default_opener(url, timeout):
    """A readable response for ``url``: file:// is opened directly, anything else through open_url."""
    parts = urlsplit(url)
    if parts.scheme == 'file':
        return open(unquote(parts.path), 'rb')
    from ansible.module_utils.urls import open_url
    return open_url(url, timeout=timeout, http_agent='homelab.k3s.artifact_fetch', follow_redirects='all')


def read_marker(path):
    try:
        with open(path) as handle:
            data = json.load(handle)
    except (IOError, OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_marker(path, data):
    tmp = path + '.tmp'
    with open(tmp, 'w') as handle:
        json.dump(data, handle, sort_keys=True)
    os.chmod(tmp, 0o644)
    os.rename(tmp, path)


def remove(path):
    try:
        os.remove(path)
    except OSError:
        pass


def same_file(marker, path):
    """Whether ``marker`` describes the file at ``path`` as it is now (size and mtime_ns)."""
    try:
        st = os.stat(path)
    except OSError:
        return False
    return bool(marker) and marker.get('size') == st.st_size and marker.get('mtime_ns') == st.st_mtime_ns


def file_record(path, **extra):
    st = os.stat(path)
    extra.update(size=st.st_size, mtime_ns=st.st_mtime_ns)
    return extra


class HashingWriter(object):
    """A binary file wrapper that hashes what is written through it."""

    def __init__(self, handle):
        self.handle = handle
        self.digest = hashlib.sha256()

    def write(self, data):
        self.digest.update(data)
        return self.handle.write(data)

    def hexdigest(self):
        return self.digest.hexdigest()


class Fetcher(object):
    """Make ``artifact.binary`` exist in the cache, verified; see ``run``."""

    def __init__(self, artifact, timeout=600, opener=default_opener, clock=time.monotonic, lock=flock):
        self.artifact = artifact
        self.timeout = timeout
        self.opener = opener
        self.clock = clock
        self.lock = lock
        self.actions = []
        self.changed = False  # a download or a new unpacked file; a (re-)verification is not a change

    # --- downloads -------------------------------------------------------
    def fetch_url(self, url, dest):
        """Download ``url`` to ``dest`` (0644) through a temporary file; bounded by ``timeout`` seconds."""
        a = self.artifact
        deadline = self.clock() + self.timeout
        fd, tmp = tempfile.mkstemp(prefix='.download-', dir=os.path.dirname(dest))
        try:
            try:
                with os.fdopen(fd, 'wb') as out:
                    response = self.opener(url, self.timeout)
                    try:
                        for block in iter(lambda: response.read(CHUNK), b''):
                            out.write(block)
                            if self.clock() > deadline:
                                raise ArtifactError('%s: cannot download %s: not complete after %s s (timeout); '
                                                    'nothing was installed.' % (a.label(), url, self.timeout))
                    finally:
                        response.close()
            except ArtifactError:
                raise
            except Exception as err:  # pylint: disable=broad-except  # urllib, socket, ssl and file errors
                raise ArtifactError('%s: cannot download %s: %s; nothing was installed.' % (a.label(), url, err))
            os.chmod(tmp, 0o644)
            os.rename(tmp, dest)
        finally:
            remove(tmp)
        self.actions.append('downloaded %s' % url)
        self.changed = True

    def expected_sha256(self):
        a = self.artifact
        if a.pinned:
            expected = a.pinned
        else:
            sums = os.path.join(a.dir, a.sums_file)
            if not os.path.exists(sums):
                self.fetch_url(a.sums_source, sums)
            expected = find_sum(sums, a.file)
        if not SHA256.match(expected):
            raise ArtifactError("%s: no sha256 for %s in %s (got '%s'); nothing was installed."
                                % (a.label(), a.file, a.expected_from, expected))
        return expected

    def verify_download(self, expected):
        """Download if missing; hash unless the marker vouches for this very file; refuse a mismatch."""
        a = self.artifact
        marker_path = a.download + MARKER_SUFFIX
        if not os.path.exists(a.download):
            remove(marker_path)
            self.fetch_url(a.source, a.download)
        marker = read_marker(marker_path)
        if marker and marker.get('sha256') == expected and same_file(marker, a.download):
            return
        remove(marker_path)
        got = sha256_file(a.download)
        if got != expected:
            remove(a.download)
            raise ArtifactError(
                '%s (%s): sha256 mismatch for %s: expected %s (from %s), got %s. The download was removed from '
                'the cache and nothing was installed.' % (a.label(), a.arch, a.source, expected, a.expected_from, got))
        write_marker(marker_path, file_record(a.download, sha256=expected))
        self.actions.append('verified %s' % a.download)

    # --- unpacking -------------------------------------------------------
    def unpack(self, expected):
        """Write ``binary`` from the verified download unless its marker says it is current."""
        a = self.artifact
        if a.kind == 'raw':
            return expected
        marker_path = a.binary + MARKER_SUFFIX
        marker = read_marker(marker_path)
        if (marker and marker.get('source_sha256') == expected and SHA256.match(str(marker.get('sha256')))
                and same_file(marker, a.binary)):
            return marker['sha256']
        parent = os.path.dirname(a.binary)
        if not os.path.isdir(parent):
            os.makedirs(parent, 0o755)
        remove(marker_path)
        fd, tmp = tempfile.mkstemp(prefix='.unpack-', dir=parent)
        try:
            with os.fdopen(fd, 'wb') as handle:
                out = HashingWriter(handle)
                self.extract(out)
            if os.path.isfile(a.binary) and sha256_file(a.binary) == out.hexdigest():
                os.chmod(a.binary, 0o755)  # the same program (only touched): kept, not a change
                self.actions.append('checked %s' % a.binary)
            else:
                os.chmod(tmp, 0o755)
                os.rename(tmp, a.binary)
                self.actions.append('unpacked %s' % a.binary)
                self.changed = True
        finally:
            remove(tmp)
        write_marker(marker_path, file_record(a.binary, source_sha256=expected, sha256=out.hexdigest()))
        return out.hexdigest()

    def extract(self, out):
        a = self.artifact
        try:
            if a.kind in ('gz', 'bz2', 'xz'):
                opener = {'gz': gzip.open, 'bz2': bz2.BZ2File, 'xz': lzma.open}[a.kind]
                with opener(a.download, 'rb') as source:
                    shutil.copyfileobj(source, out, CHUNK)
            elif zipfile.is_zipfile(a.download):
                with zipfile.ZipFile(a.download) as archive:
                    info = self.zip_member(archive)
                    with archive.open(info) as source:
                        shutil.copyfileobj(source, out, CHUNK)
            else:
                with tarfile.open(a.download, 'r:*') as archive:
                    info = self.tar_member(archive)
                    source = archive.extractfile(info)
                    shutil.copyfileobj(source, out, CHUNK)
        except ArtifactError:
            raise
        except (IOError, OSError, EOFError, ValueError, lzma.LZMAError, tarfile.TarError, zipfile.BadZipfile) as err:
            raise ArtifactError('%s: cannot unpack %s as %s: %s; nothing was installed.'
                                % (a.label(), a.download, a.kind, err))

    def _missing_member(self, names):
        a = self.artifact
        shown = ', '.join(names[:10]) + (', ...' if len(names) > 10 else '')
        return ArtifactError('%s: %s has no regular file %s (artifact_archive_member; it holds: %s); nothing was '
                             'installed.' % (a.label(), a.file, a.member, shown))

    def tar_member(self, archive):
        wanted = normalise_member(self.artifact.member)
        members = archive.getmembers()
        for info in members:
            if normalise_member(info.name) == wanted and info.isfile():
                return info
        raise self._missing_member([info.name for info in members])

    def zip_member(self, archive):
        wanted = normalise_member(self.artifact.member)
        infos = archive.infolist()
        for info in infos:
            if normalise_member(info.filename) == wanted and not info.filename.endswith('/'):
                return info
        raise self._missing_member([info.filename for info in infos])

    # --- entry point -------------------------------------------------------
    def run(self):
        """Returns a dict: sha256, sha256_from, path, path_sha256, download, source, kind, changed, actions."""
        a = self.artifact
        if not a.pinned and not a.sums_url:
            raise ArtifactError('%s (%s): no pinned sha256 in artifact_sha256 and no artifact_checksums_url; an '
                                'unverified download is never installed.' % (a.label(), a.arch))
        if not os.path.isdir(a.dir):
            try:
                os.makedirs(a.dir, 0o755)
            except OSError:
                if not os.path.isdir(a.dir):  # another fork made it first
                    raise
        with self.lock(os.path.join(a.dir, LOCK_FILE)):
            expected = self.expected_sha256()
            self.verify_download(expected)
            path_sha256 = self.unpack(expected)
        return dict(sha256=expected, sha256_from=a.expected_from, path=a.binary, path_sha256=path_sha256,
                    download=a.download,
                    source=a.source, kind=a.kind, changed=self.changed, actions=list(self.actions))


def normalise_member(name):
    """``./bin/x``, ``/bin/x`` and ``bin//x`` all name ``bin/x``."""
    return posixpath.normpath(name.lstrip('/'))


def find_sum(path, file_name):
    """The sha256 of ``file_name`` in a sha256sum-format file, lower-cased, or '' (as the role's regex did)."""
    line_re = re.compile(r'^[0-9a-fA-F]{64}\s+\*?' + re.escape(file_name) + r'\s*$')
    try:
        with open(path, 'rb') as handle:
            text = handle.read().decode('utf-8', 'replace')
    except (IOError, OSError):
        return ''
    for line in re.findall(r'[^\r\n]+', text):
        if line_re.search(line):
            return line.split()[0].lower()
    return ''

"""Unit tests of the controller half of the artifact role (download, verify, unpack) on a temporary cache."""
import bz2
import gzip
import hashlib
import io
import json
import lzma
import os
import tarfile
import threading
import time
import zipfile

import pytest

from ansible_collections.homelab.k3s.plugins.module_utils.artifact_fetch import (
    Artifact, ArtifactError, Fetcher, find_sum, flock)

PROGRAM = b'#!/bin/sh\necho hello 1.0.0\n'
URL = 'https://example.invalid/v{version}/hello-{arch}'


def sha(data):
    return hashlib.sha256(data).hexdigest()


class FakeServer(object):
    """The downloader: URL -> bytes; records every request; optionally slow or failing."""

    def __init__(self, files=None, delay=0.0, error=None):
        self.files = dict(files or {})
        self.requests = []
        self.delay = delay
        self.error = error
        self.lock = threading.Lock()

    def __call__(self, url, timeout):
        with self.lock:
            self.requests.append(url)
        if self.delay:
            time.sleep(self.delay)
        if self.error:
            raise self.error
        if url not in self.files:
            raise IOError('HTTP Error 404: Not Found')
        return io.BytesIO(self.files[url])


class StepClock(object):
    """Advances by ``step`` seconds on every reading (a slow download)."""

    def __init__(self, step):
        self.now, self.step = 0.0, step

    def __call__(self):
        self.now += self.step
        return self.now


def artifact(tmp_path, url=URL, **kw):
    kw.setdefault('cache_dir', str(tmp_path / 'cache'))
    return Artifact('hello', '1.0.0', 'amd64', url, **kw)


def fetch(art, server, **kw):
    return Fetcher(art, opener=server, **kw).run()


def cache(tmp_path, *parts):
    return tmp_path.joinpath('cache', 'hello', '1.0.0', 'amd64', *parts)


# --- paths and sources ---------------------------------------------------------------------------------------

def test_paths_follow_the_role_cache_layout(tmp_path):
    art = artifact(tmp_path, url='https://example.invalid/v{version}/hello_{version}_linux_{arch}.tar.gz?x=1',
                   checksums_url='https://example.invalid/v{version}/SHA256SUMS', archive_member='./bin/hello')
    assert art.file == 'hello_1.0.0_linux_amd64.tar.gz'
    assert art.source == 'https://example.invalid/v1.0.0/hello_1.0.0_linux_amd64.tar.gz?x=1'
    assert art.download == str(cache(tmp_path, 'hello_1.0.0_linux_amd64.tar.gz'))
    assert art.kind == 'tar' and art.binary == str(cache(tmp_path, 'unpacked')) + '/./bin/hello'
    assert art.sums_source == 'https://example.invalid/v1.0.0/SHA256SUMS'


@pytest.mark.parametrize('mirror', ['/srv/mirror', '/srv/mirror/', 'file:///srv/mirror//'])
def test_a_directory_mirror_becomes_a_file_url(tmp_path, mirror):
    art = artifact(tmp_path, mirror=mirror, checksums_url='https://example.invalid/{version}/sums-{arch}.txt')
    assert art.source == 'file:///srv/mirror/hello-amd64'
    assert art.sums_source == 'file:///srv/mirror/sums-amd64.txt'


def test_an_http_mirror_replaces_the_upstream_location(tmp_path):
    art = artifact(tmp_path, mirror='http://10.213.0.1:19431/')
    assert art.source == 'http://10.213.0.1:19431/hello-amd64'


@pytest.mark.parametrize('name, kind', [
    ('x.tar.gz', 'tar'), ('x.tgz', 'tar'), ('x.tbz', 'tar'), ('x.tbz2', 'tar'), ('x.txz', 'tar'), ('x.zip', 'tar'),
    ('x.tar', 'tar'), ('x.bz2', 'bz2'), ('x.gz', 'gz'), ('x.xz', 'xz'), ('x', 'raw'), ('x.exe', 'raw')])
def test_auto_format_from_the_file_name(tmp_path, name, kind):
    assert artifact(tmp_path, url='https://example.invalid/' + name).kind == kind


def test_an_archive_member_outside_the_unpack_directory_is_refused(tmp_path):
    with pytest.raises(ArtifactError, match=r"archive member '\.\./\.\./etc/passwd' leaves the unpack directory"):
        artifact(tmp_path, url='https://example.invalid/x.tar.gz', archive_member='../../etc/passwd')


def test_the_file_url_downloader_reads_a_controller_directory(tmp_path):
    mirror = tmp_path / 'mirror'
    mirror.mkdir()
    (mirror / 'hello-amd64').write_bytes(PROGRAM)
    result = Fetcher(artifact(tmp_path, mirror=str(mirror), sha256=sha(PROGRAM))).run()
    assert open(result['path'], 'rb').read() == PROGRAM


# --- refusals (the role's messages) ----------------------------------------------------------------------------

def test_refuses_without_a_checksum_source(tmp_path):
    with pytest.raises(ArtifactError) as err:
        fetch(artifact(tmp_path), FakeServer())
    assert str(err.value) == ('artifact hello 1.0.0 (amd64): no pinned sha256 in artifact_sha256 and no '
                              'artifact_checksums_url; an unverified download is never installed.')
    assert not (tmp_path / 'cache').exists()


def test_refuses_a_checksum_file_without_the_file(tmp_path):
    sums_url = 'https://example.invalid/v1.0.0/SHA256SUMS'
    server = FakeServer({sums_url: ('%s  hello-arm64\n%s  hello-amd64.sig\n' % (64 * 'b', 64 * 'c')).encode()})
    with pytest.raises(ArtifactError) as err:
        fetch(artifact(tmp_path, checksums_url='https://example.invalid/v{version}/SHA256SUMS'), server)
    assert str(err.value) == ("artifact hello 1.0.0: no sha256 for hello-amd64 in %s (got ''); nothing was "
                              "installed." % sums_url)
    assert server.requests == [sums_url]  # the release file itself was never requested


def test_refuses_a_malformed_pinned_sha256(tmp_path):
    server = FakeServer()
    with pytest.raises(ArtifactError) as err:
        fetch(artifact(tmp_path, sha256='abc'), server)
    assert str(err.value) == ("artifact hello 1.0.0: no sha256 for hello-amd64 in artifact_sha256.amd64 "
                              "(got 'abc'); nothing was installed.")
    assert server.requests == []


def test_a_mismatch_removes_the_download_and_refuses_with_both_checksums(tmp_path):
    url = 'https://example.invalid/v1.0.0/hello-amd64'
    server = FakeServer({url: b'tampered'})
    with pytest.raises(ArtifactError) as err:
        fetch(artifact(tmp_path, sha256=64 * 'A'), server)
    assert str(err.value) == (
        'artifact hello 1.0.0 (amd64): sha256 mismatch for %s: expected %s (from artifact_sha256.amd64), got %s. '
        'The download was removed from the cache and nothing was installed.' % (url, 64 * 'a', sha(b'tampered')))
    assert not cache(tmp_path, 'hello-amd64').exists()
    assert not cache(tmp_path, 'hello-amd64.verified').exists()


def test_a_mismatch_names_the_checksum_file(tmp_path):
    sums_url = 'https://example.invalid/v1.0.0/SHA256SUMS'
    server = FakeServer({sums_url: ('%s *hello-amd64\n' % sha(PROGRAM)).encode(),
                         'https://example.invalid/v1.0.0/hello-amd64': b'tampered'})
    with pytest.raises(ArtifactError, match=r'expected %s \(from %s\), got %s\.' % (sha(PROGRAM), sums_url,
                                                                                    sha(b'tampered'))):
        fetch(artifact(tmp_path, checksums_url='https://example.invalid/v{version}/SHA256SUMS'), server)


def test_a_failed_download_names_the_url_and_leaves_nothing(tmp_path):
    with pytest.raises(ArtifactError) as err:
        fetch(artifact(tmp_path, sha256=sha(PROGRAM)), FakeServer())
    assert str(err.value) == ('artifact hello 1.0.0: cannot download https://example.invalid/v1.0.0/hello-amd64: '
                              'HTTP Error 404: Not Found; nothing was installed.')
    assert os.listdir(str(cache(tmp_path))) == ['.lock']


def test_a_download_slower_than_the_timeout_is_abandoned(tmp_path):
    url = 'https://example.invalid/v1.0.0/hello-amd64'
    server = FakeServer({url: PROGRAM * 400000})  # several chunks
    with pytest.raises(ArtifactError) as err:
        fetch(artifact(tmp_path, sha256=sha(PROGRAM)), server, timeout=30, clock=StepClock(20))
    assert str(err.value) == ('artifact hello 1.0.0: cannot download %s: not complete after 30 s (timeout); '
                              'nothing was installed.' % url)
    assert os.listdir(str(cache(tmp_path))) == ['.lock']


def test_the_timeout_is_passed_to_the_downloader(tmp_path):
    seen = []

    def opener(url, timeout):
        seen.append(timeout)
        return io.BytesIO(PROGRAM)
    Fetcher(artifact(tmp_path, sha256=sha(PROGRAM)), opener=opener, timeout=42).run()
    assert seen == [42]


def test_a_missing_archive_member_is_refused(tmp_path):
    url = 'https://example.invalid/hello.tar.gz'
    data = tar_bytes({'README': b'x', 'hello-dir/hello': PROGRAM})
    with pytest.raises(ArtifactError) as err:
        fetch(artifact(tmp_path, url=url, sha256=sha(data)), FakeServer({url: data}))
    assert str(err.value) == ('artifact hello 1.0.0: hello.tar.gz has no regular file hello (artifact_archive_member;'
                              ' it holds: README, hello-dir/hello); nothing was installed.')
    assert not cache(tmp_path, 'unpacked', 'hello').exists()


def test_a_damaged_compressed_file_is_refused(tmp_path):
    url = 'https://example.invalid/hello.gz'
    data = b'not gzip at all'
    with pytest.raises(ArtifactError, match=r'cannot unpack .*hello\.gz as gz: .*nothing was installed\.'):
        fetch(artifact(tmp_path, url=url, sha256=sha(data)), FakeServer({url: data}))
    assert not cache(tmp_path, 'unpacked', 'hello').exists()


# --- formats ---------------------------------------------------------------------------------------------------

def tar_bytes(members, mode='w:gz'):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o755
            archive.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def zip_bytes(members):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, 'w') as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buf.getvalue()


@pytest.mark.parametrize('file_name, data, member, unpacked', [
    ('hello-amd64', PROGRAM, '', None),
    ('hello.gz', gzip.compress(PROGRAM), '', 'hello'),
    ('hello.bz2', bz2.compress(PROGRAM), '', 'hello'),
    ('hello.xz', lzma.compress(PROGRAM), '', 'hello'),
    ('hello.tar.gz', tar_bytes({'LICENSE': b'x', './hello': PROGRAM}), '', 'hello'),
    ('hello.tar.xz', tar_bytes({'hello-1.0/bin/hello': PROGRAM}, 'w:xz'), 'hello-1.0/bin/hello',
     'hello-1.0/bin/hello'),
    ('hello.tar', tar_bytes({'hello': PROGRAM}, 'w'), '', 'hello'),
    ('hello.zip', zip_bytes({'dist/': b'', 'dist/hello': PROGRAM}), 'dist/hello', 'dist/hello'),
], ids=['raw', 'gz', 'bz2', 'xz', 'tar.gz', 'tar.xz-member', 'tar', 'zip'])
def test_each_format_yields_the_program(tmp_path, file_name, data, member, unpacked):
    url = 'https://example.invalid/' + file_name
    result = fetch(artifact(tmp_path, url=url, sha256=sha(data), archive_member=member), FakeServer({url: data}))
    expected = cache(tmp_path, file_name) if unpacked is None else cache(tmp_path, 'unpacked', unpacked)
    assert result['path'] == str(expected) and expected.read_bytes() == PROGRAM
    assert result['sha256'] == sha(data) and result['changed'] and result['path_sha256'] == sha(PROGRAM)
    if unpacked is not None:
        assert oct(expected.stat().st_mode & 0o777) == '0o755'
        marker = json.loads(cache(tmp_path, 'unpacked', unpacked + '.verified').read_text())
        assert marker['source_sha256'] == sha(data) and marker['size'] == len(PROGRAM)


def test_an_explicit_format_wins_over_the_file_name(tmp_path):
    url = 'https://example.invalid/hello.bin'
    data = bz2.compress(PROGRAM)
    result = fetch(artifact(tmp_path, url=url, sha256=sha(data), fmt='bz2'), FakeServer({url: data}))
    assert result['kind'] == 'bz2' and open(result['path'], 'rb').read() == PROGRAM


def test_an_unknown_format_is_refused(tmp_path):
    with pytest.raises(ArtifactError, match="format 'rar' is not one of auto, raw, gz, bz2, xz, tar"):
        artifact(tmp_path, fmt='rar')


# --- cache, marker, lock ---------------------------------------------------------------------------------------

def test_a_second_run_downloads_and_hashes_nothing(tmp_path, monkeypatch):
    url = 'https://example.invalid/hello.bz2'
    data = bz2.compress(PROGRAM)
    server = FakeServer({url: data})
    first = fetch(artifact(tmp_path, url=url, sha256=sha(data)), server)
    assert first['actions'] == ['downloaded ' + url, 'verified ' + first['download'], 'unpacked ' + first['path']]
    marker = json.loads(cache(tmp_path, 'hello.bz2.verified').read_text())
    stat = cache(tmp_path, 'hello.bz2').stat()
    assert marker == {'sha256': sha(data), 'size': stat.st_size, 'mtime_ns': stat.st_mtime_ns}

    from ansible_collections.homelab.k3s.plugins.module_utils import artifact_fetch

    def no_hashing(path):
        raise AssertionError('hashed %s again' % path)
    monkeypatch.setattr(artifact_fetch, 'sha256_file', no_hashing)
    second = fetch(artifact(tmp_path, url=url, sha256=sha(data)), server)
    assert second['changed'] is False and second['actions'] == [] and server.requests == [url]
    assert second['path'] == first['path'] and second['sha256'] == first['sha256']
    assert second['path_sha256'] == first['path_sha256'] == sha(PROGRAM)


def test_a_cached_file_changed_since_verification_is_hashed_again_and_refused(tmp_path):
    url = 'https://example.invalid/v1.0.0/hello-amd64'
    server = FakeServer({url: PROGRAM})
    fetch(artifact(tmp_path, sha256=sha(PROGRAM)), server)
    cache(tmp_path, 'hello-amd64').write_bytes(PROGRAM.replace(b'hello', b'HELLO'))  # same size, new mtime
    with pytest.raises(ArtifactError, match='sha256 mismatch for %s' % url):
        fetch(artifact(tmp_path, sha256=sha(PROGRAM)), server)
    assert not cache(tmp_path, 'hello-amd64').exists() and server.requests == [url]
    third = fetch(artifact(tmp_path, sha256=sha(PROGRAM)), server)  # the next run downloads it again
    assert third['changed'] and server.requests == [url, url]


def test_a_marker_for_another_sha256_means_hashing_again(tmp_path):
    url = 'https://example.invalid/v1.0.0/hello-amd64'
    fetch(artifact(tmp_path, sha256=sha(PROGRAM)), FakeServer({url: PROGRAM}))
    with pytest.raises(ArtifactError, match='sha256 mismatch'):
        fetch(artifact(tmp_path, sha256=64 * 'd'), FakeServer({url: PROGRAM}))


def test_a_damaged_marker_means_hashing_again_which_is_no_change(tmp_path):
    url = 'https://example.invalid/v1.0.0/hello-amd64'
    fetch(artifact(tmp_path, sha256=sha(PROGRAM)), FakeServer({url: PROGRAM}))
    cache(tmp_path, 'hello-amd64.verified').write_text('{not json')
    result = fetch(artifact(tmp_path, sha256=sha(PROGRAM)), FakeServer({url: PROGRAM}))
    assert result['actions'] == ['verified ' + result['download']] and result['changed'] is False
    assert json.loads(cache(tmp_path, 'hello-amd64.verified').read_text())['sha256'] == sha(PROGRAM)


def test_a_changed_unpacked_file_is_unpacked_again(tmp_path):
    url = 'https://example.invalid/hello.xz'
    data = lzma.compress(PROGRAM)
    fetch(artifact(tmp_path, url=url, sha256=sha(data)), FakeServer({url: data}))
    cache(tmp_path, 'unpacked', 'hello').write_bytes(b'edited by hand')
    result = fetch(artifact(tmp_path, url=url, sha256=sha(data)), FakeServer({url: data}))
    assert result['actions'] == ['unpacked ' + result['path']]
    assert cache(tmp_path, 'unpacked', 'hello').read_bytes() == PROGRAM


def test_a_cache_filled_by_someone_else_is_verified_without_a_change(tmp_path):
    url = 'https://example.invalid/hello.gz'
    data = gzip.compress(PROGRAM)
    fetch(artifact(tmp_path, url=url, sha256=sha(data)), FakeServer({url: data}))
    for marker in (cache(tmp_path, 'hello.gz.verified'), cache(tmp_path, 'unpacked', 'hello.verified')):
        marker.unlink()  # as the task-based role left its cache
    os.utime(str(cache(tmp_path, 'unpacked', 'hello')))  # and rewrote the same program
    result = fetch(artifact(tmp_path, url=url, sha256=sha(data)), FakeServer({url: data}))
    assert result['changed'] is False
    assert result['actions'] == ['verified ' + result['download'], 'checked ' + result['path']]
    assert cache(tmp_path, 'unpacked', 'hello.verified').exists()


def test_the_checksum_file_is_downloaded_once(tmp_path):
    sums_url = 'https://example.invalid/v1.0.0/SHA256SUMS'
    url = 'https://example.invalid/v1.0.0/hello-amd64'
    server = FakeServer({sums_url: ('%s  hello-amd64\n' % sha(PROGRAM).upper()).encode(), url: PROGRAM})
    art = artifact(tmp_path, checksums_url='https://example.invalid/v{version}/SHA256SUMS')
    first = fetch(art, server)
    second = fetch(art, server)
    assert first['sha256'] == second['sha256'] == sha(PROGRAM) and first['sha256_from'] == sums_url
    assert server.requests == [sums_url, url] and not second['changed']


def test_the_work_happens_under_the_lock(tmp_path):
    events = []
    url = 'https://example.invalid/v1.0.0/hello-amd64'

    def recording_lock(path):
        events.append(('lock', path))
        return flock(path)

    def opener(url, timeout):
        events.append(('download', url))
        return io.BytesIO(PROGRAM)
    Fetcher(artifact(tmp_path, sha256=sha(PROGRAM)), opener=opener, lock=recording_lock).run()
    assert events == [('lock', str(cache(tmp_path, '.lock'))), ('download', url)]


def test_parallel_forks_download_once(tmp_path):
    url = 'https://example.invalid/hello.gz'
    data = gzip.compress(PROGRAM)
    server = FakeServer({url: data}, delay=0.3)
    results, errors = [], []

    def worker():
        try:
            results.append(fetch(artifact(tmp_path, url=url, sha256=sha(data)), server))
        except Exception as err:  # pylint: disable=broad-except
            errors.append(err)
    threads = [threading.Thread(target=worker) for dummy in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and server.requests == [url]  # flock: separate open() calls exclude each other
    assert sorted(result['changed'] for result in results) == [False, False, False, True]
    assert {result['path'] for result in results} == {str(cache(tmp_path, 'unpacked', 'hello'))}


def test_find_sum_accepts_binary_mode_and_crlf(tmp_path):
    sums = tmp_path / 'sums'
    sums.write_bytes(('%s *other\r\n%s *hello-amd64\r\n' % (64 * 'a', 64 * 'B')).encode())
    assert find_sum(str(sums), 'hello-amd64') == 64 * 'b'
    assert find_sum(str(sums), 'hello') == ''
    assert find_sum(str(tmp_path / 'missing'), 'hello') == ''

"""Unit tests of the node half of the artifact role (versioned file + symlink) in a temporary directory."""
import hashlib
import os

import pytest

from ansible_collections.homelab.k3s.plugins.module_utils.artifact_place import (
    PlaceError, apply, diff, inspect, parse_mode, plan)

PROGRAM = b'#!/bin/sh\necho hello\n'
SHA = hashlib.sha256(PROGRAM).hexdigest()

pytestmark = pytest.mark.skipif(os.getuid() != 0, reason='the file and its directory belong to root')


@pytest.fixture
def node(tmp_path):
    class Node(object):
        bin = tmp_path / 'lib' / 'bin'
        path = str(tmp_path / 'lib' / 'bin' / 'hello-1.0')
        link = str(tmp_path / 'hello')

        def src(self, data=PROGRAM):
            copy = tmp_path / 'transferred'
            copy.write_bytes(data)
            return str(copy)

        def place(self, src=None, mode='0755'):
            return apply('hello', self.path, self.link, SHA, mode, 'root', 'root', src=src)
    return Node()


def test_a_first_install_creates_directory_file_and_link(node):
    assert node.place(node.src()) == ['directory', 'file', 'link']
    assert open(node.path, 'rb').read() == PROGRAM and os.readlink(node.link) == node.path
    assert oct(os.stat(node.path).st_mode & 0o7777) == '0o755' and oct(node.bin.stat().st_mode & 0o777) == '0o755'
    assert not os.path.exists(os.path.join(os.path.dirname(node.link), 'transferred'))  # moved, not copied


def test_the_second_run_changes_nothing(node):
    node.place(node.src())
    state = inspect('hello', node.path, node.link)
    assert state['file']['sha256'] == SHA and state['link'] == node.path
    assert plan(state, node.path, SHA, '0755', 'root', 'root') == []
    assert node.place() == []


def test_the_link_path_holding_a_regular_file_is_refused_before_any_change(node, tmp_path):
    (tmp_path / 'hello').write_text('a manual install\n')
    with pytest.raises(PlaceError) as err:
        inspect('hello', node.path, node.link)
    assert str(err.value) == ('artifact hello: %s exists and is not a symlink (probably a manual install); move it '
                              'away, the role only replaces symlinks it manages.' % node.link)
    with pytest.raises(PlaceError, match='is not a symlink'):
        node.place(node.src())
    assert not node.bin.exists() and (tmp_path / 'hello').read_text() == 'a manual install\n'


def test_a_directory_at_the_link_path_is_refused(node, tmp_path):
    (tmp_path / 'hello').mkdir()
    with pytest.raises(PlaceError, match='exists and is not a symlink'):
        inspect('hello', node.path, node.link)


def test_an_upgrade_moves_only_the_link(node, tmp_path):
    node.place(node.src())
    old = node.path
    new_path = str(node.bin / 'hello-2.0')
    data = PROGRAM + b'# 2.0\n'
    sha2 = hashlib.sha256(data).hexdigest()
    assert apply('hello', new_path, node.link, sha2, '0755', 'root', 'root', src=node.src(data)) == ['file', 'link']
    assert os.readlink(node.link) == new_path and open(old, 'rb').read() == PROGRAM  # rollback stays possible
    assert apply('hello', old, node.link, SHA, '0755', 'root', 'root') == ['link']  # the rollback: no transfer
    assert os.readlink(node.link) == old
    assert sorted(os.listdir(str(tmp_path))) == ['hello', 'lib']  # no temporary link left


def test_a_different_file_needs_a_copy(node):
    node.place(node.src())
    with open(node.path, 'ab') as handle:
        handle.write(b'# edited\n')
    assert plan(inspect('hello', node.path, node.link), node.path, SHA, '0755', 'root', 'root') == ['file']
    with pytest.raises(PlaceError) as err:
        node.place()
    assert str(err.value) == ('artifact hello: %s is missing or differs from sha256 %s, and no copy to install was '
                              'given.' % (node.path, SHA))
    assert node.place(node.src()) == ['file'] and open(node.path, 'rb').read() == PROGRAM


def test_a_corrupted_transfer_is_refused_and_nothing_installed(node):
    with pytest.raises(PlaceError) as err:
        node.place(node.src(b'truncated'))
    assert str(err.value) == ('artifact hello: the copy transferred for %s has sha256 %s, expected %s; nothing was '
                              'installed.' % (node.path, hashlib.sha256(b'truncated').hexdigest(), SHA))
    assert not os.path.exists(node.path) and not os.path.lexists(node.link)


def test_wrong_mode_and_owner_are_fixed_without_a_copy(node):
    node.place(node.src())
    os.chmod(node.path, 0o644)
    os.chmod(str(node.bin), 0o700)
    changes = plan(inspect('hello', node.path, node.link), node.path, SHA, '0755', 'root', 'root')
    assert changes == ['directory', 'attributes']
    assert node.place() == ['directory', 'attributes']
    assert oct(os.stat(node.path).st_mode & 0o777) == '0o755' and oct(node.bin.stat().st_mode & 0o777) == '0o755'
    assert node.place(mode='0750') == ['attributes'] and oct(os.stat(node.path).st_mode & 0o777) == '0o750'


def test_a_dangling_link_to_another_version_is_repointed(node, tmp_path):
    os.symlink(str(tmp_path / 'gone'), node.link)
    assert node.place(node.src()) == ['directory', 'file', 'link'] and os.readlink(node.link) == node.path


def test_the_diff_shows_file_and_link_before_and_after(node):
    state = inspect('hello', node.path, node.link)
    shown = diff(state, node.path, node.link, SHA, '755', 'root', 'root')
    assert shown['before'] == '%s: absent\n%s -> absent\n' % (node.path, node.link)
    after = '%s: sha256 %s, mode 0755, root:root\n%s -> %s\n' % (node.path, SHA, node.link, node.path)
    assert shown['after'] == after


@pytest.mark.parametrize('mode, value', [('0755', 0o755), ('755', 0o755), ('0640', 0o640), ('4755', 0o4755)])
def test_octal_modes(mode, value):
    assert parse_mode(mode) == value


def test_a_symbolic_mode_is_refused():
    with pytest.raises(PlaceError, match=r"mode 'u\+x' is not an octal mode such as 0755"):
        parse_mode('u+x')


def test_an_unknown_owner_is_refused(node):
    with pytest.raises(PlaceError, match='owner no-such-user-here does not exist on this node'):
        apply('hello', node.path, node.link, SHA, '0755', 'no-such-user-here', 'root', src=node.src())


def test_a_missing_link_directory_is_created(node, tmp_path):
    link = str(tmp_path / 'agent' / 'images' / 'hello.tar')
    assert apply('hello', node.path, link, SHA, '0644', 'root', 'root', src=node.src()) == ['directory', 'file', 'link']
    assert os.readlink(link) == node.path and oct(os.stat(str(tmp_path / 'agent')).st_mode & 0o777) == '0o755'

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.homelab.k3s.plugins.test import file_up_to_date as plugin


def write(path, text, mode):
    path.write_text(text)
    os.chmod(str(path), mode)
    return str(path)


def test_test_is_registered():
    assert plugin.TestModule().tests() == {'file_up_to_date': plugin.file_up_to_date}


def test_same_content_and_mode_is_up_to_date(tmp_path):
    path = write(tmp_path / 'kubeconfig', 'apiVersion: v1\n', 0o600)
    assert plugin.file_up_to_date(path, '0600', content='apiVersion: v1\n') is True


@pytest.mark.parametrize('text, mode', [
    ('apiVersion: v1\n', 0o644),   # mode changed by hand
    ('apiVersion: v1', 0o600),     # a byte differs (no trailing newline)
    ('apiVersion: v2\n', 0o600),   # content differs
], ids=['mode', 'newline', 'content'])
def test_a_difference_is_not_up_to_date(tmp_path, text, mode):
    path = write(tmp_path / 'kubeconfig', text, mode)
    assert plugin.file_up_to_date(path, '0600', content='apiVersion: v1\n') is False


def test_missing_file_or_directory_is_not_up_to_date(tmp_path):
    assert plugin.file_up_to_date(str(tmp_path / 'none' / 'kubeconfig'), '0600', content='x') is False
    assert plugin.file_up_to_date(str(tmp_path / 'none'), '0700', state='directory') is False


def test_another_owner_is_not_up_to_date(tmp_path, monkeypatch):
    path = write(tmp_path / 'kubeconfig', 'x', 0o600)
    monkeypatch.setattr(plugin.os, 'getuid', lambda: os.stat(path).st_uid + 1)
    assert plugin.file_up_to_date(path, '0600', content='x') is False


def test_directory_mode(tmp_path):
    directory = tmp_path / '.kube'
    directory.mkdir()
    os.chmod(str(directory), 0o700)
    assert plugin.file_up_to_date(str(directory), '0700', state='directory') is True
    os.chmod(str(directory), 0o755)
    assert plugin.file_up_to_date(str(directory), '0700', state='directory') is False


@pytest.mark.parametrize('kwargs, message', [
    (dict(mode='0600', content='x'), 'is a directory, not a file'),
    (dict(mode='rw', content='x'), "mode must be an octal string such as '0644', got 'rw'"),
    (dict(mode='0600'), 'state=file needs content'),
    (dict(mode='0600', state='link'), "state must be 'file' or 'directory', got 'link'"),
], ids=['kind', 'mode', 'no-content', 'state'])
def test_bad_request_names_the_path_and_the_conflict(tmp_path, kwargs, message):
    with pytest.raises(AnsibleFilterError, match='file_up_to_date: .*' + message.replace('(', r'\(')) as err:
        plugin.file_up_to_date(str(tmp_path), **kwargs)
    assert str(tmp_path) in str(err.value)


def test_home_and_relative_paths_are_taken_as_copy_takes_them(tmp_path, monkeypatch):
    kube = tmp_path / '.kube'
    kube.mkdir()
    write(kube / 'config', 'x', 0o600)
    monkeypatch.setenv('HOME', str(tmp_path))
    assert plugin.file_up_to_date('~/.kube/config', '0600', content='x') is True
    monkeypatch.chdir(str(tmp_path))
    assert plugin.file_up_to_date('.kube/config', '0600', content='x') is True
    os.chmod(str(kube), 0o700)
    assert plugin.file_up_to_date('.kube', '0700', state='directory') is True
    assert plugin.file_up_to_date('~/.kube', '0755', state='directory') is False

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""homelab.k3s.config_files through Ansible on localhost (tests/integration/playbooks/config_files.yml).

The roles render with the template lookup and write with config_files; the file must come out
byte for byte as ansible.builtin.template writes it, or moving a role to config_files would
rewrite (and restart) every node's configuration once.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os
import stat

from localhost_playbook import run_localhost_playbook


def run(tmp_path):
    out = tmp_path / 'out.json'
    files = tmp_path / 'files'
    files.mkdir(exist_ok=True)
    run_localhost_playbook('config_files.yml', tmp_path, {'dir': str(files), 'out_file': str(out)})
    return json.loads(out.read_text()), files


def test_config_files_matches_the_template_module_and_is_idempotent(tmp_path):
    first, files = run(tmp_path)
    sample = str(files / 'by-template.conf')
    assert first['write']['files'] == {sample: 'unchanged', str(files / 'conf.d'): 'create',
                                       str(files / 'conf.d' / 'other.conf'): 'create', str(files / 'link.conf'): 'create'}
    assert first['write']['changed'] is True
    assert (files / 'conf.d' / 'other.conf').read_text() == 'other = 2\n'
    assert os.readlink(str(files / 'link.conf')) == str(files / 'by-template.conf')
    assert stat.S_IMODE(os.stat(str(files / 'conf.d')).st_mode) == 0o750
    assert (files / 'by-template.conf').read_text().endswith('\n\n# a blank line above and the trailing newline below count\n')

    second = run(tmp_path)[0]
    assert second['write']['changed'] is False and second['write']['changed_files'] == []


def test_check_mode_diff_and_a_failed_check(tmp_path):
    result, files = run(tmp_path)
    check = result['check']
    sample = str(files / 'by-template.conf')
    assert check['changed'] is True and check['changed_files'] == [sample]
    assert check['diff'][0]['before_header'] == sample
    assert 'extra more\n' in check['diff'][0]['after'] and 'extra more' not in check['diff'][0]['before']
    assert check['diff'][0]['after'].endswith('# mode 0640 -> 0644\n')
    assert 'extra more' not in (files / 'by-template.conf').read_text()
    refused = result['refused']
    assert refused['failed'] is True
    assert refused['msg'].startswith('config_files: %s: the new content failed its check (/usr/bin/test -s %%s, exit 1)'
                                     % (files / 'conf.d' / 'other.conf'))
    assert (files / 'conf.d' / 'other.conf').read_text() == 'other = 2\n'

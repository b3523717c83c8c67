# -*- coding: utf-8 -*-
# Copyright (c) homelab.k3s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Node half of homelab.k3s.artifact: a versioned file plus a stable symlink.

``inspect`` reads the node (never changes it) and refuses a link path that is
not a symlink; ``plan`` compares what it found with what is wanted (shared by
the module on the node and the action on the controller, which decides from it
whether the file has to be transferred at all); ``apply`` makes the changes:
the directory, the file moved atomically into place (from a transferred copy),
its owner and mode, and the symlink replaced atomically (a new symlink renamed
over the old one).
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import grp
import hashlib
import os
import pwd
import re
import stat

CHUNK = 1024 * 1024
DIR_MODE = 0o755


class PlaceError(Exception):
    """A refusal: the message is shown to the user as is."""


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, 'rb') as handle:
        for block in iter(lambda: handle.read(CHUNK), b''):
            digest.update(block)
    return digest.hexdigest()


def parse_mode(mode):
    if not re.match(r'^0?[0-7]{3,4}$', str(mode)):
        raise PlaceError('mode %r is not an octal mode such as 0755 (symbolic modes are not supported).' % (mode,))
    return int(str(mode), 8)


def _names(st):
    try:
        owner = pwd.getpwuid(st.st_uid).pw_name
    except KeyError:
        owner = str(st.st_uid)
    try:
        group = grp.getgrgid(st.st_gid).gr_name
    except KeyError:
        group = str(st.st_gid)
    return owner, group


def _describe(path, hash_it=False):
    try:
        st = os.lstat(path)
    except OSError:
        return None
    owner, group = _names(st)
    info = dict(type='file' if stat.S_ISREG(st.st_mode) else 'directory' if stat.S_ISDIR(st.st_mode) else 'other',
                mode='%04o' % stat.S_IMODE(st.st_mode), owner=owner, group=group)
    if hash_it and info['type'] == 'file':
        info['sha256'] = sha256_file(path)
    return info


def link_refusal(name, link):
    return ('artifact %s: %s exists and is not a symlink (probably a manual install); move it away, the role only '
            'replaces symlinks it manages.' % (name, link))


def inspect(name, path, link):
    """What is on the node now; raises PlaceError when ``link`` exists and is not a symlink."""
    if os.path.lexists(link) and not os.path.islink(link):
        raise PlaceError(link_refusal(name, link))
    return dict(dir=_describe(os.path.dirname(path)), file=_describe(path, hash_it=True),
                link=os.readlink(link) if os.path.islink(link) else None)


def plan(state, path, sha256, mode, owner, group):
    """The changes needed, in order, from an ``inspect`` result: a list of words (empty when all is right)."""
    wanted_mode = '%04o' % parse_mode(mode)
    changes = []
    folder = state.get('dir')
    if not folder or folder['type'] != 'directory' or (folder['mode'], folder['owner'], folder['group']) != (
            '%04o' % DIR_MODE, 'root', 'root'):
        changes.append('directory')
    current = state.get('file')
    if not current or current.get('type') != 'file' or current.get('sha256') != sha256:
        changes.append('file')
    elif (current['mode'], current['owner'], current['group']) != (wanted_mode, owner, group):
        changes.append('attributes')
    if state.get('link') != path:
        changes.append('link')
    return changes


def diff(state, path, link, sha256, mode, owner, group):
    """An Ansible diff (before/after text) of the file and the link."""
    def text(file_info, target):
        if file_info:
            shown = 'sha256 %s, mode %s, %s:%s' % (file_info.get('sha256', '(not a file)'), file_info['mode'],
                                                   file_info['owner'], file_info['group'])
        else:
            shown = 'absent'
        lines = ['%s: %s' % (path, shown)]
        lines.append('%s -> %s' % (link, target or 'absent'))
        return '\n'.join(lines) + '\n'
    after = dict(sha256=sha256, mode='%04o' % parse_mode(mode), owner=owner, group=group)
    return dict(before_header=path, after_header=path, before=text(state.get('file'), state.get('link')),
                after=text(after, path))


def _ids(owner, group):
    try:
        uid = pwd.getpwnam(owner).pw_uid
    except KeyError:
        raise PlaceError('owner %s does not exist on this node.' % owner)
    try:
        gid = grp.getgrnam(group).gr_gid
    except KeyError:
        raise PlaceError('group %s does not exist on this node.' % group)
    return uid, gid


def _set_attributes(path, mode, uid, gid):
    st = os.lstat(path)
    if (st.st_uid, st.st_gid) != (uid, gid):
        os.lchown(path, uid, gid)
    if stat.S_IMODE(st.st_mode) != mode:
        os.chmod(path, mode)


def apply(name, path, link, sha256, mode, owner, group, src=None, move=os.rename):
    """Make the node right; returns the list of changes made. ``src`` is a transferred copy of the file
    (needed when the file is missing or different); ``move(src, dest)`` replaces dest atomically."""
    state = inspect(name, path, link)
    changes = plan(state, path, sha256, mode, owner, group)
    uid, gid = _ids(owner, group)
    file_mode = parse_mode(mode)
    root_ids = _ids('root', 'root')
    folder = os.path.dirname(path)
    if 'directory' in changes:
        if not os.path.isdir(folder):
            os.makedirs(folder, DIR_MODE)
        _set_attributes(folder, DIR_MODE, root_ids[0], root_ids[1])
    if 'file' in changes:
        if not src:
            raise PlaceError('artifact %s: %s is missing or differs from sha256 %s, and no copy to install was given.'
                             % (name, path, sha256))
        got = sha256_file(src)
        if got != sha256:
            raise PlaceError('artifact %s: the copy transferred for %s has sha256 %s, expected %s; nothing was '
                             'installed.' % (name, path, got, sha256))
        _set_attributes(src, file_mode, uid, gid)
        move(src, path)
        _set_attributes(path, file_mode, uid, gid)
    elif 'attributes' in changes:
        _set_attributes(path, file_mode, uid, gid)
    if 'link' in changes:
        if not os.path.isdir(os.path.dirname(link)):
            os.makedirs(os.path.dirname(link), DIR_MODE)
        temporary = '%s.homelab-k3s-%d' % (link, os.getpid())
        if os.path.lexists(temporary):
            os.remove(temporary)
        os.symlink(path, temporary)
        try:
            os.rename(temporary, link)  # atomic: the link always points at a complete version
        except OSError:
            os.remove(temporary)
            raise
    return changes

# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Several configuration files of a role compared and written in one module run.

Used by the ``homelab.k3s.config_files`` module. ``ansible.builtin.template`` costs two module runs
per file on a re-run that changes nothing (a stat, then the file module for the attributes); a
role's files grouped by the handler they notify cost one run here. What stays the same: the content
is compared byte for byte, owner, group and mode are set when they differ, a new file is written to
a temporary file in the destination's directory, checked with ``validate`` and only then renamed
over the destination (a failed check leaves the old file untouched), and check mode and ``--diff``
report what would change. A symbolic link (``state=link``) is made as ``ansible.builtin.file``
``state=link force=true`` makes it: it replaces a file or another link in its place, but only when
its target exists, and it is renamed into place (never a moment without the path).

The file system is reached through a ``FileSystem`` object, so the logic is tested without root.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import binascii
import errno
import grp
import os
import pwd
import stat
import tempfile

STATES = ("file", "directory", "link", "absent")
# What --diff and a failed check show instead of a secret file's content.
SECRET_SHOWN = "(secret content, not shown)"
MAX_DIFF_BYTES = 100000


class ConfigFilesError(Exception):
    """A request that cannot be applied; the message names the file and the reason."""


def check_requests(files, secret_content=None):
    """Refuse a request list that is ambiguous before anything is looked at.

    ``secret_content`` maps the dest of each ``secret`` file of state ``file`` to its content (the
    module takes it from a ``no_log`` option). Returns the requests with defaults filled in
    (owner/group ``root``, state ``file``, ``secret`` false) and the secret contents in place.
    """
    secret_content = dict(secret_content or {})
    seen = set()
    checked = []
    for index, request in enumerate(files):
        where = "files[%d]" % index
        dest = request.get("dest")
        if not dest or not os.path.isabs(dest):
            raise ConfigFilesError("%s.dest must be an absolute path, got %r" % (where, dest))
        where = "%s (%s)" % (where, dest)
        if os.path.normpath(dest) in seen:
            raise ConfigFilesError("%s: the same dest is listed twice" % where)
        seen.add(os.path.normpath(dest))
        state = request.get("state") or "file"
        if state not in STATES:
            raise ConfigFilesError("%s.state must be one of %s, got %r" % (where, ", ".join(STATES), state))
        content = request.get("content")
        secret = bool(request.get("secret"))
        if secret and state not in ("file", "absent"):
            raise ConfigFilesError("%s: secret is only for state=file or state=absent, not state=%s" % (where, state))
        if secret and state == "file":
            if content is not None:
                raise ConfigFilesError("%s: a secret file takes its content from secret_content, not from content" % where)
            if dest not in secret_content:
                raise ConfigFilesError("%s: a secret file needs its content in secret_content (no entry for this dest)" % where)
            content = secret_content.pop(dest)
        if state == "file" and content is None:
            raise ConfigFilesError("%s: state=file needs content" % where)
        if state != "file" and content is not None:
            raise ConfigFilesError("%s: content is only for state=file, not state=%s" % (where, state))
        if request.get("validate") and state != "file":
            raise ConfigFilesError("%s: validate is only for state=file" % where)
        src = request.get("src")
        if state == "link" and not src:
            raise ConfigFilesError("%s: state=link needs src (the link target)" % where)
        if state != "link" and src is not None:
            raise ConfigFilesError("%s: src is only for state=link, not state=%s" % (where, state))
        if src and not os.path.isabs(src):
            raise ConfigFilesError("%s.src must be an absolute path, got %r" % (where, src))
        if state == "link" and request.get("mode") is not None:
            raise ConfigFilesError("%s: mode is not for state=link (a link has no mode of its own)" % where)
        if request.get("validate") and "%s" not in request["validate"]:
            raise ConfigFilesError("%s.validate must contain %%s (the file to check), got %r" % (where, request["validate"]))
        mode = request.get("mode")
        if state in ("file", "directory"):
            if mode is None:
                raise ConfigFilesError("%s.mode is required for state=%s" % (where, state))
            try:
                mode = int(str(mode), 8)
            except ValueError:
                raise ConfigFilesError("%s.mode must be an octal string such as '0644', got %r" % (where, request.get("mode")))
            if mode > 0o7777:
                raise ConfigFilesError("%s.mode %r is not a file mode" % (where, request.get("mode")))
        checked.append(dict(dest=dest, state=state, content=content, mode=mode, src=src, validate=request.get("validate"),
                            owner=request.get("owner") or "root", group=request.get("group") or "root", secret=secret))
    if secret_content:
        raise ConfigFilesError("secret_content has entries for no secret file of state=file: %s"
                               % ", ".join(sorted(secret_content)))
    return checked


class FileSystem(object):
    """The real file system; tests pass a subclass or the same class on a temporary directory."""

    def lstat(self, path):
        try:
            return os.lstat(path)
        except OSError:
            return None

    def exists(self, path):
        """Whether the path exists, following links (a link to nothing does not)."""
        return os.path.exists(path)

    def readlink(self, path):
        return os.readlink(path)

    def symlink_temp(self, dest, src):
        """A new link to src under a temporary name in dest's directory; returns its path."""
        while True:
            path = os.path.join(os.path.dirname(dest), ".%s.%s.homelab-tmp"
                                % (os.path.basename(dest), binascii.hexlify(os.urandom(6)).decode("ascii")))
            try:
                os.symlink(src, path)
                return path
            except OSError as exc:
                if exc.errno != errno.EEXIST:
                    raise

    def read(self, path):
        with open(path, "rb") as handle:
            return handle.read()

    def uid(self, owner):
        if owner.isdigit():
            return int(owner)
        try:
            return pwd.getpwnam(owner).pw_uid
        except KeyError:
            raise ConfigFilesError("owner %r does not exist on this node" % owner)

    def gid(self, group):
        if group.isdigit():
            return int(group)
        try:
            return grp.getgrnam(group).gr_gid
        except KeyError:
            raise ConfigFilesError("group %r does not exist on this node" % group)

    def write_temp(self, dest, data, mode, uid, gid):
        handle, path = tempfile.mkstemp(prefix=".%s." % os.path.basename(dest), suffix=".homelab-tmp",
                                        dir=os.path.dirname(dest))
        try:
            os.write(handle, data)
            os.fchown(handle, uid, gid)
            os.fchmod(handle, mode)
            os.fsync(handle)
        except BaseException:
            os.close(handle)
            os.unlink(path)
            raise
        os.close(handle)
        return path

    def replace(self, temp, dest):
        os.rename(temp, dest)

    def unlink(self, path):
        os.unlink(path)

    def mkdir(self, path, mode):
        os.mkdir(path, mode)

    def chown(self, path, uid, gid):
        os.lchown(path, uid, gid)

    def chmod(self, path, mode):
        os.chmod(path, mode)


def _text(data):
    if len(data) > MAX_DIFF_BYTES:
        return "(%d bytes, too large to show)\n" % len(data)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return "(%d bytes of binary data)\n" % len(data)


def _kind(st):
    if st is None:
        return "absent"
    if stat.S_ISREG(st.st_mode):
        return "file"
    if stat.S_ISDIR(st.st_mode):
        return "directory"
    if stat.S_ISLNK(st.st_mode):
        return "link"
    return "other"


def _attribute_changes(request, st, uid, gid):
    changes = []
    if st.st_uid != uid:
        changes.append("owner %d -> %s" % (st.st_uid, request["owner"]))
    if st.st_gid != gid:
        changes.append("group %d -> %s" % (st.st_gid, request["group"]))
    if request["mode"] is not None and stat.S_IMODE(st.st_mode) != request["mode"]:
        changes.append("mode %04o -> %04o" % (stat.S_IMODE(st.st_mode), request["mode"]))
    return changes


def plan_file(request, fs, new_directories=(), check_mode=False):
    """What one request would change: a dict with ``action`` and, for --diff, ``before``/``after``.

    ``new_directories`` are the directories that earlier requests of the same run create. In check
    mode a missing directory is not an error (as with ``ansible.builtin.template``): on a fresh node
    it usually comes with a package the same run would install; the file is reported as created.

    A link's target must exist, except in check mode (like a missing directory: it may come with
    a package the same run installs). A link replaces a file or a link to something else.

    ``action`` is one of ``unchanged``, ``create``, ``update`` (content, or a link's target),
    ``attributes`` (owner/group/mode only), ``remove``.
    """
    dest = request["dest"]
    st = fs.lstat(dest)
    kind = _kind(st)
    plan = dict(dest=dest, state=request["state"], action="unchanged", attributes=[])
    if request["state"] == "absent":
        if kind == "directory":
            raise ConfigFilesError("%s is a directory; state=absent removes files only" % dest)
        if kind != "absent":
            plan.update(action="remove", before=_text(fs.read(dest)) if kind == "file" else "(%s)\n" % kind, after="")
        return plan
    if request["state"] == "link" and not fs.exists(request["src"]) and not check_mode:
        raise ConfigFilesError("%s: the link target %s does not exist" % (dest, request["src"]))
    uid, gid = fs.uid(request["owner"]), fs.gid(request["group"])
    plan.update(uid=uid, gid=gid)
    if kind == "absent":
        parent = os.path.dirname(os.path.normpath(dest))
        if fs.lstat(parent) is None and parent not in new_directories and not check_mode:
            raise ConfigFilesError("%s: its directory %s does not exist" % (dest, parent))
        after = {"file": lambda: _text(request["content"].encode("utf-8")), "directory": lambda: "(directory)\n",
                 "link": lambda: "(link to %s)\n" % request["src"]}[request["state"]]()
        plan.update(action="create", before="", after=after)
        return plan
    if request["state"] == "link":
        if kind not in ("file", "link"):
            raise ConfigFilesError("%s is a %s, not a link or a file; remove it first" % (dest, kind))
        current = fs.readlink(dest) if kind == "link" else None
        if current != request["src"]:
            before = "(link to %s)\n" % current if kind == "link" else _text(fs.read(dest))
            plan.update(action="update", before=before, after="(link to %s)\n" % request["src"])
            return plan
        plan["attributes"] = _attribute_changes(request, st, uid, gid)
        if plan["attributes"]:
            plan["action"] = "attributes"
        return plan
    if kind != request["state"]:
        raise ConfigFilesError("%s is a %s, not a %s; remove it first" % (dest, kind, request["state"]))
    if request["state"] == "file":
        current = fs.read(dest)
        wanted = request["content"].encode("utf-8")
        if current != wanted:
            plan.update(action="update", before=_text(current), after=_text(wanted))
    plan["attributes"] = _attribute_changes(request, st, uid, gid)
    if plan["action"] == "unchanged" and plan["attributes"]:
        plan["action"] = "attributes"
    return plan


def apply_plan(request, plan, fs, run_validate):
    """Carry out one plan. ``run_validate(command)`` returns ``(rc, stdout, stderr)``."""
    dest, action = request["dest"], plan["action"]
    if action == "remove":
        fs.unlink(dest)
    elif action in ("create", "update") and request["state"] == "file":
        temp = fs.write_temp(dest, request["content"].encode("utf-8"), request["mode"], plan["uid"], plan["gid"])
        try:
            if request["validate"]:
                rc, out, err = run_validate(request["validate"].replace("%s", temp))
                if rc != 0:
                    raise ConfigFilesError("%s: the new content failed its check (%s, exit %d): %s"
                                           % (dest, request["validate"], rc,
                                              SECRET_SHOWN if request["secret"] else (err or out).strip()))
            fs.replace(temp, dest)
        except BaseException:
            if fs.lstat(temp) is not None:
                fs.unlink(temp)
            raise
    elif action in ("create", "update") and request["state"] == "link":
        temp = fs.symlink_temp(dest, request["src"])
        try:
            fs.chown(temp, plan["uid"], plan["gid"])
            fs.replace(temp, dest)
        except BaseException:
            if fs.lstat(temp) is not None:
                fs.unlink(temp)
            raise
    elif action == "create":
        fs.mkdir(dest, request["mode"])
        fs.chown(dest, plan["uid"], plan["gid"])
        fs.chmod(dest, request["mode"])
    elif action == "attributes":
        fs.chown(dest, plan["uid"], plan["gid"])
        if request["state"] != "link":
            fs.chmod(dest, request["mode"])


def diff_entry(request, plan):
    """One entry of the module's ``diff`` list (Ansible shows each with its headers).

    Owner, group and mode changes are shown as comment lines added after the content. The content of
    a ``secret`` file is never shown: a line says whether there was one before and after.
    """
    notes = "".join("# %s\n" % change for change in plan["attributes"])
    before, after = plan.get("before", ""), plan.get("after", "")
    if request["secret"]:
        before = SECRET_SHOWN + "\n" if before else ""
        after = SECRET_SHOWN + "\n" if after else ""
        if plan["action"] == "update":
            after = "(secret content changed, not shown)\n"
    return dict(before_header=plan["dest"], after_header=plan["dest"], before=before, after=after + notes)


def sync_files(files, fs, run_validate, check_mode=False, secret_content=None):
    """Plan every request first (so a bad one changes nothing), then apply them in order.

    Returns ``(changed_files, results, diffs)``: the dests that changed (or would, in check mode),
    ``{dest: action}`` for every request and the --diff entries of the changed ones.
    """
    requests = check_requests(files, secret_content)
    plans, new_directories = [], set()
    for request in requests:
        plans.append(plan_file(request, fs, new_directories, check_mode))
        if request["state"] == "directory" and plans[-1]["action"] == "create":
            new_directories.add(os.path.normpath(request["dest"]))
    changed, results, diffs = [], {}, []
    for request, plan in zip(requests, plans):
        results[request["dest"]] = plan["action"]
        if plan["action"] == "unchanged":
            continue
        if not check_mode:
            apply_plan(request, plan, fs, run_validate)
        changed.append(request["dest"])
        diffs.append(diff_entry(request, plan))
    return changed, results, diffs

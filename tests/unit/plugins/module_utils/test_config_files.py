"""Unit tests of the config_files logic, on a temporary directory owned by the test's user."""
import grp
import os
import pwd
import stat

import pytest

from ansible_collections.homelab.k3s.plugins.module_utils.config_files import (
    ConfigFilesError, FileSystem, check_requests, sync_files)

OWNER = pwd.getpwuid(os.getuid()).pw_name
GROUP = grp.getgrgid(os.getgid()).gr_name


def never_validate(command):
    raise AssertionError("validate ran: %s" % command)


class RecordingValidate:
    def __init__(self, rc=0, err=""):
        self.rc, self.err, self.commands, self.seen = rc, err, [], []

    def __call__(self, command):
        self.commands.append(command)
        self.seen.append(open(command.split()[-1]).read())
        return self.rc, "", self.err


def request(path, content="a = 1\n", mode="0644", **extra):
    return dict(dict(dest=str(path), content=content, mode=mode, owner=OWNER, group=GROUP), **extra)


def mode_of(path):
    return stat.S_IMODE(os.lstat(str(path)).st_mode)


def test_creates_then_leaves_unchanged_files_alone(tmp_path):
    files = [request(tmp_path / "a.conf"), request(tmp_path / "b.conf", "b\n", "0600"),
             dict(dest=str(tmp_path / "d"), state="directory", mode="0750", owner=OWNER, group=GROUP)]
    changed, results, diffs = sync_files(files, FileSystem(), never_validate)
    assert changed == [f["dest"] for f in files]
    assert set(results.values()) == {"create"}
    assert (tmp_path / "a.conf").read_text() == "a = 1\n" and mode_of(tmp_path / "b.conf") == 0o600
    assert mode_of(tmp_path / "d") == 0o750 and os.path.isdir(str(tmp_path / "d"))
    assert diffs[0] == dict(before_header=files[0]["dest"], after_header=files[0]["dest"], before="",
                            after="a = 1\n")
    assert sync_files(files, FileSystem(), never_validate) == ([], {f["dest"]: "unchanged" for f in files}, [])
    assert not [name for name in os.listdir(str(tmp_path)) if name.endswith(".homelab-tmp")]


def test_check_mode_reports_and_changes_nothing(tmp_path):
    (tmp_path / "a.conf").write_text("old\n")
    os.chmod(str(tmp_path / "a.conf"), 0o600)
    files = [request(tmp_path / "a.conf", "new\n"), request(tmp_path / "new.conf"),
             dict(dest=str(tmp_path / "gone.conf"), state="absent")]
    changed, results, diffs = sync_files(files, FileSystem(), never_validate, check_mode=True)
    assert changed == [files[0]["dest"], files[1]["dest"]]
    assert results[files[2]["dest"]] == "unchanged"
    assert diffs[0]["before"] == "old\n" and diffs[0]["after"] == "new\n# mode 0600 -> 0644\n"
    assert (tmp_path / "a.conf").read_text() == "old\n" and mode_of(tmp_path / "a.conf") == 0o600
    assert not (tmp_path / "new.conf").exists()


def test_attribute_only_change_keeps_the_content(tmp_path):
    path = tmp_path / "a.conf"
    path.write_text("a = 1\n")
    os.chmod(str(path), 0o666)
    changed, results, diffs = sync_files([request(path)], FileSystem(), never_validate)
    assert results == {str(path): "attributes"} and changed == [str(path)]
    assert diffs[0]["before"] == "" and diffs[0]["after"] == "# mode 0666 -> 0644\n"
    assert mode_of(path) == 0o644 and path.read_text() == "a = 1\n"


def test_update_is_validated_on_the_new_content_before_it_replaces_the_file(tmp_path):
    path = tmp_path / "a.conf"
    path.write_text("old\n")
    check = RecordingValidate()
    sync_files([request(path, "new\n", validate="/usr/bin/check -f %s")], FileSystem(), check)
    assert check.seen == ["new\n"] and check.commands[0].startswith("/usr/bin/check -f " + str(tmp_path))
    assert path.read_text() == "new\n"


def test_a_failed_check_keeps_the_old_file_and_names_it(tmp_path):
    path = tmp_path / "sshd.conf"
    path.write_text("old\n")
    with pytest.raises(ConfigFilesError, match=r"sshd.conf: the new content failed its check \(sshd -t -f %s, "
                                               r"exit 255\): Bad option"):
        sync_files([request(path, "bad\n", validate="sshd -t -f %s")], FileSystem(),
                   RecordingValidate(rc=255, err="Bad option\n"))
    assert path.read_text() == "old\n"
    assert os.listdir(str(tmp_path)) == ["sshd.conf"]


def test_absent_removes_a_file_and_refuses_a_directory(tmp_path):
    (tmp_path / "old.conf").write_text("x\n")
    changed, results, diffs = sync_files([dict(dest=str(tmp_path / "old.conf"), state="absent")], FileSystem(),
                                         never_validate)
    assert changed == [str(tmp_path / "old.conf")] and diffs[0]["before"] == "x\n" and diffs[0]["after"] == ""
    assert not (tmp_path / "old.conf").exists()
    (tmp_path / "dir").mkdir()
    with pytest.raises(ConfigFilesError, match="dir is a directory; state=absent removes files only"):
        sync_files([dict(dest=str(tmp_path / "dir"), state="absent")], FileSystem(), never_validate)


def test_a_bad_request_changes_nothing_even_after_a_good_one(tmp_path):
    files = [request(tmp_path / "a.conf"), request(tmp_path / "missing" / "b.conf")]
    with pytest.raises(ConfigFilesError, match="b.conf: its directory .*missing does not exist"):
        sync_files(files, FileSystem(), never_validate)
    assert not (tmp_path / "a.conf").exists()


def test_a_directory_where_a_file_should_be_is_refused(tmp_path):
    (tmp_path / "a.conf").mkdir()
    with pytest.raises(ConfigFilesError, match="a.conf is a directory, not a file; remove it first"):
        sync_files([request(tmp_path / "a.conf")], FileSystem(), never_validate)


def test_unknown_owner_and_group_are_named(tmp_path):
    with pytest.raises(ConfigFilesError, match="owner 'no-such-user-x' does not exist on this node"):
        sync_files([request(tmp_path / "a", owner="no-such-user-x")], FileSystem(), never_validate)
    with pytest.raises(ConfigFilesError, match="group 'no-such-group-x' does not exist on this node"):
        sync_files([request(tmp_path / "a", group="no-such-group-x")], FileSystem(), never_validate)


@pytest.mark.parametrize("files, message", [
    ([dict(dest="relative.conf", content="", mode="0644")], r"files\[0\]\.dest must be an absolute path"),
    ([dict(dest="/a", content="", mode="0644"), dict(dest="/b/../a", content="", mode="0644")],
     r"files\[1\] \(/b/../a\): the same dest is listed twice"),
    ([dict(dest="/a", state="fifo", mode="0644")], r"files\[0\] \(/a\)\.state must be one of file, directory, link, absent"),
    ([dict(dest="/a", state="link")], r"files\[0\] \(/a\): state=link needs src \(the link target\)"),
    ([dict(dest="/a", content="x", mode="0644", src="/b")], r"src is only for state=link, not state=file"),
    ([dict(dest="/a", state="link", src="b")], r"files\[0\] \(/a\)\.src must be an absolute path, got 'b'"),
    ([dict(dest="/a", state="link", src="/b", mode="0644")], r"mode is not for state=link \(a link has no mode of its own\)"),
    ([dict(dest="/a", state="link", src="/b", content="x")], r"content is only for state=file, not state=link"),
    ([dict(dest="/a", state="link", src="/b", validate="x %s")], r"validate is only for state=file"),
    ([dict(dest="/a", mode="0644")], r"files\[0\] \(/a\): state=file needs content"),
    ([dict(dest="/a", state="absent", content="x")], r"content is only for state=file, not state=absent"),
    ([dict(dest="/a", state="directory", mode="0755", validate="x %s")], r"validate is only for state=file"),
    ([dict(dest="/a", content="x", mode="0644", validate="sshd -t")], r"\.validate must contain %s"),
    ([dict(dest="/a", content="x")], r"files\[0\] \(/a\)\.mode is required for state=file"),
    ([dict(dest="/a", content="x", mode="rw-r--r--")], r"\.mode must be an octal string such as '0644'"),
    ([dict(dest="/a", content="x", mode="17777")], r"\.mode '17777' is not a file mode"),
], ids=["relative", "twice", "state", "link-no-src", "file-src", "link-relative-src", "link-mode",
        "link-content", "link-validate", "no-content", "absent-content", "dir-validate", "validate-no-file",
        "no-mode", "symbolic-mode", "mode-too-big"])
def test_refused_requests_name_the_field(files, message):
    with pytest.raises(ConfigFilesError, match=message):
        check_requests(files)


def test_a_file_may_go_into_a_directory_an_earlier_request_creates(tmp_path):
    files = [dict(dest=str(tmp_path / "d"), state="directory", mode="0755", owner=OWNER, group=GROUP),
             request(tmp_path / "d" / "a.conf")]
    changed = sync_files(files, FileSystem(), never_validate, check_mode=True)[0]
    assert changed == [files[0]["dest"], files[1]["dest"]] and not (tmp_path / "d").exists()
    sync_files(files, FileSystem(), never_validate)
    assert (tmp_path / "d" / "a.conf").read_text() == "a = 1\n"


def test_numeric_owner_and_group_are_ids(tmp_path):
    path = tmp_path / "a.conf"
    files = [request(path, owner=str(os.getuid()), group=str(os.getgid()))]
    sync_files(files, FileSystem(), never_validate)
    assert (os.lstat(str(path)).st_uid, os.lstat(str(path)).st_gid) == (os.getuid(), os.getgid())
    assert sync_files(files, FileSystem(), never_validate)[0] == []


def test_check_mode_shows_a_file_whose_directory_a_package_would_create(tmp_path):
    files = [request(tmp_path / "etc" / "chrony" / "chrony.conf", "pool x\n")]
    changed, results, diffs = sync_files(files, FileSystem(), never_validate, check_mode=True)
    assert changed == [files[0]["dest"]] and results[files[0]["dest"]] == "create"
    assert diffs[0]["before"] == "" and diffs[0]["after"] == "pool x\n"
    with pytest.raises(ConfigFilesError, match="its directory .*chrony does not exist"):
        sync_files(files, FileSystem(), never_validate)


def link(path, src, **extra):
    return dict(dict(dest=str(path), state="link", src=str(src), owner=OWNER, group=GROUP), **extra)


def test_link_is_created_then_left_alone(tmp_path):
    (tmp_path / "zone").write_text("TZif")
    changed, results, diffs = sync_files([link(tmp_path / "localtime", tmp_path / "zone")], FileSystem(), never_validate)
    assert changed == [str(tmp_path / "localtime")] and results == {str(tmp_path / "localtime"): "create"}
    assert os.readlink(str(tmp_path / "localtime")) == str(tmp_path / "zone")
    assert diffs[0]["before"] == "" and diffs[0]["after"] == "(link to %s)\n" % (tmp_path / "zone")
    again = sync_files([link(tmp_path / "localtime", tmp_path / "zone")], FileSystem(), never_validate)
    assert again == ([], {str(tmp_path / "localtime"): "unchanged"}, [])
    assert not [name for name in os.listdir(str(tmp_path)) if name.endswith(".homelab-tmp")]


def test_link_replaces_a_link_elsewhere_and_a_file(tmp_path):
    for name in ("old", "new"):
        (tmp_path / name).write_text(name)
    os.symlink(str(tmp_path / "old"), str(tmp_path / "localtime"))
    (tmp_path / "timezone").write_text("a file\n")
    files = [link(tmp_path / "localtime", tmp_path / "new"), link(tmp_path / "timezone", tmp_path / "new")]
    changed, results, diffs = sync_files(files, FileSystem(), never_validate)
    assert results == {str(tmp_path / "localtime"): "update", str(tmp_path / "timezone"): "update"}
    assert diffs[0]["before"] == "(link to %s)\n" % (tmp_path / "old")
    assert diffs[1]["before"] == "a file\n" and diffs[1]["after"] == "(link to %s)\n" % (tmp_path / "new")
    assert os.readlink(str(tmp_path / "localtime")) == os.readlink(str(tmp_path / "timezone")) == str(tmp_path / "new")
    assert (tmp_path / "old").read_text() == "old"


def test_link_to_a_missing_target_is_refused_except_in_check_mode(tmp_path):
    os.symlink(str(tmp_path / "old"), str(tmp_path / "localtime"))
    files = [link(tmp_path / "localtime", tmp_path / "Mars")]
    with pytest.raises(ConfigFilesError, match="localtime: the link target %s does not exist" % (tmp_path / "Mars")):
        sync_files(files, FileSystem(), never_validate)
    changed, results, diffs = sync_files(files, FileSystem(), never_validate, check_mode=True)
    assert results == {str(tmp_path / "localtime"): "update"} and changed == [str(tmp_path / "localtime")]
    assert diffs[0]["after"] == "(link to %s)\n" % (tmp_path / "Mars")
    assert os.readlink(str(tmp_path / "localtime")) == str(tmp_path / "old")


def test_link_check_mode_changes_nothing(tmp_path):
    (tmp_path / "new").write_text("new")
    (tmp_path / "localtime").write_text("a file\n")
    changed, results, diffs = sync_files([link(tmp_path / "localtime", tmp_path / "new"),
                                          link(tmp_path / "other", tmp_path / "new")], FileSystem(), never_validate,
                                         check_mode=True)
    assert changed == [str(tmp_path / "localtime"), str(tmp_path / "other")]
    assert results[str(tmp_path / "other")] == "create"
    assert (tmp_path / "localtime").read_text() == "a file\n" and not os.path.lexists(str(tmp_path / "other"))


def test_link_refuses_a_directory_in_its_place(tmp_path):
    (tmp_path / "zone").write_text("TZif")
    (tmp_path / "localtime").mkdir()
    with pytest.raises(ConfigFilesError, match="localtime is a directory, not a link or a file; remove it first"):
        sync_files([link(tmp_path / "localtime", tmp_path / "zone")], FileSystem(), never_validate)


def test_link_owner_is_set_on_the_link_not_its_target(tmp_path):
    class Recording(FileSystem):
        def __init__(self):
            self.calls = []

        def chown(self, path, uid, gid):
            self.calls.append(("chown", path))

        def chmod(self, path, mode):
            self.calls.append(("chmod", path))

    (tmp_path / "zone").write_text("TZif")
    os.symlink(str(tmp_path / "zone"), str(tmp_path / "localtime"))
    other = "1" if os.getuid() == 0 else "0"
    fs = Recording()
    changed, results, diffs = sync_files([link(tmp_path / "localtime", tmp_path / "zone", owner=other)], fs,
                                         never_validate)
    assert results == {str(tmp_path / "localtime"): "attributes"}
    assert fs.calls == [("chown", str(tmp_path / "localtime"))]
    assert diffs[0]["after"] == "# owner %d -> %s\n" % (os.getuid(), other)


def secret(path, mode="0600", **extra):
    return dict(dict(dest=str(path), secret=True, mode=mode, owner=OWNER, group=GROUP), **extra)


def test_a_secret_file_is_written_compared_and_removed_without_showing_its_content(tmp_path):
    path = tmp_path / "config.yaml"
    plain = tmp_path / "k3s.service"
    files = [request(plain, "[Unit]\n"), secret(path)]
    changed, results, diffs = sync_files(files, FileSystem(), never_validate,
                                         secret_content={str(path): "token: K10-one\n"})
    assert changed == [str(plain), str(path)] and results[str(path)] == "create"
    assert path.read_text() == "token: K10-one\n" and mode_of(path) == 0o600
    assert diffs[0]["after"] == "[Unit]\n"
    assert diffs[1]["before"] == "" and diffs[1]["after"] == "(secret content, not shown)\n"
    assert sync_files(files, FileSystem(), never_validate, secret_content={str(path): "token: K10-one\n"})[0] == []

    changed, results, diffs = sync_files([secret(path, mode="0640")], FileSystem(), never_validate,
                                         secret_content={str(path): "token: K10-two\n"})
    assert results[str(path)] == "update" and path.read_text() == "token: K10-two\n"
    assert diffs == [dict(before_header=str(path), after_header=str(path), before="(secret content, not shown)\n",
                          after="(secret content changed, not shown)\n# mode 0600 -> 0640\n")]
    assert "K10" not in repr(diffs)

    changed, results, diffs = sync_files([dict(dest=str(path), state="absent", secret=True)], FileSystem(), never_validate)
    assert results[str(path)] == "remove" and not path.exists()
    assert diffs[0]["before"] == "(secret content, not shown)\n" and diffs[0]["after"] == ""


def test_a_failed_check_of_a_secret_file_does_not_show_the_checker_output(tmp_path):
    path = tmp_path / "config.yaml"
    with pytest.raises(ConfigFilesError) as error:
        sync_files([secret(path, validate="check %s")], FileSystem(),
                   RecordingValidate(rc=1, err="line 1: token: K10-one is bad\n"),
                   secret_content={str(path): "token: K10-one\n"})
    assert "failed its check (check %s, exit 1): (secret content, not shown)" in str(error.value)
    assert "K10" not in str(error.value) and not path.exists()


@pytest.mark.parametrize("files, content, message", [
    ([dict(dest="/a", secret=True, mode="0600", content="x")], {"/a": "x"},
     r"files\[0\] \(/a\): a secret file takes its content from secret_content, not from content"),
    ([dict(dest="/a", secret=True, mode="0600")], {},
     r"files\[0\] \(/a\): a secret file needs its content in secret_content \(no entry for this dest\)"),
    ([dict(dest="/a", secret=True, state="directory", mode="0700")], {},
     r"files\[0\] \(/a\): secret is only for state=file or state=absent, not state=directory"),
    ([dict(dest="/a", content="x", mode="0644")], {"/a": "x", "/b": "y"},
     r"secret_content has entries for no secret file of state=file: /a, /b"),
], ids=["content-twice", "no-secret-content", "secret-directory", "stray-secret-content"])
def test_refused_secret_requests_name_the_field(files, content, message):
    with pytest.raises(ConfigFilesError, match=message):
        check_requests(files, content)

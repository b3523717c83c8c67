#!/usr/bin/python
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: config_files
short_description: Write, check and remove several configuration files in one module run
version_added: 1.0.0
description:
  - Compares each file's content byte for byte and its owner, group and mode with the request, and
    changes only what differs. One module run for all the files of a task, where
    M(ansible.builtin.template) needs two per file on a re-run that changes nothing.
  - A new or changed file is written to a temporary file in the destination's directory with its
    final owner and mode, checked with O(files[].validate), and only then renamed over the
    destination, so a failed check leaves the old file as it was.
  - Every request is checked and compared before the first change, so a bad request (an unknown
    owner, a missing directory, a directory where a file should be) changes nothing. In check mode a
    missing directory is not an error (it may come with a package the same run installs); the file is
    reported as created, as M(ansible.builtin.template) does.
  - A symbolic link (O(files[].state=link)) is made as M(ansible.builtin.file) with V(state=link) and
    V(force=true) makes it; it replaces a file or a link to something else in its place (a new link
    is renamed over it), but the task fails when the link target does not exist (in check mode that
    is not an error, as for a missing directory). Its owner and group are those of the link itself.
  - Render templates on the controller with the P(ansible.builtin.template#lookup) lookup and pass
    them as O(files[].content).
author:
  - homelab.k3s maintainers (@homelab-k3s)
attributes:
  check_mode:
    support: full
    description: Reports what would change and changes nothing.
  diff_mode:
    support: full
    description: One diff per changed file; owner, group and mode changes are shown as comment lines.
  idempotent:
    support: full
    description: A second run with the same request changes nothing.
options:
  files:
    description: The files, in the order they are written.
    type: list
    elements: dict
    required: true
    suboptions:
      dest:
        description: Absolute path of the file or directory.
        type: path
        required: true
      state:
        description:
          - V(file) writes O(files[].content); V(directory) creates the directory (not its parents);
            V(link) points a symbolic link at O(files[].src); V(absent) removes a file or a link
            (never a directory).
        type: str
        choices: [file, directory, link, absent]
        default: file
      content:
        description: The whole content of the file (UTF-8). Required with O(files[].state=file).
        type: str
      src:
        description:
          - Absolute path the link points at; it must exist when the task starts. Required with O(files[].state=link), and
            only for it.
        type: path
      owner:
        description: Owner of the file, directory or link, a user name or a numeric uid.
        type: str
        default: root
      group:
        description: Group of the file, directory or link, a group name or a numeric gid.
        type: str
        default: root
      mode:
        description:
          - Octal mode as a string, for example V('0644'). Required with O(files[].state=file) and
            O(files[].state=directory); refused with O(files[].state=link) (a link has no mode of its own).
        type: str
      validate:
        description:
          - Command that checks the new content before it replaces the file; V(%s) is the temporary
            file. Run without a shell. A non-zero exit fails the task and names the file (for a
            O(files[].secret) file without the command's output).
        type: str
      secret:
        description:
          - The file holds secrets (a join token, credentials). With V(state=file) its content comes from
            O(secret_content), not from O(files[].content). Its content is never returned and never shown
            in a diff (a line says there is one), also when the file is removed (V(state=absent)).
          - Only for V(state=file) and V(state=absent).
        type: bool
        default: false
  secret_content:
    description:
      - The content of each O(files[].secret) file of V(state=file), by its O(files[].dest). The option is
        C(no_log), so the contents are neither logged on the node nor returned, while the other files of the
        same task keep their diff; one module run where a task with C(no_log) for the secret files costs a second.
      - An entry for no such file is refused.
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: Write the chrony configuration and its container drop-in
  homelab.k3s.config_files:
    files:
      - dest: /etc/chrony/chrony.conf
        content: "{{ lookup('ansible.builtin.template', 'chrony.conf.j2') }}"
        mode: "0644"
        validate: /usr/sbin/chronyd -p -f %s
      - dest: /etc/systemd/system/chrony.service.d
        state: directory
        mode: "0755"
      - dest: /etc/chrony/conf.d/old.conf
        state: absent
  notify: Restart chrony

- name: Point /etc/localtime at the time zone and record its name
  homelab.k3s.config_files:
    files:
      - dest: /etc/localtime
        state: link
        src: /usr/share/zoneinfo/Europe/Berlin
      - dest: /etc/timezone
        content: "Europe/Berlin\n"
        mode: "0644"

- name: Write the unit and config.yaml, which holds the join token (its content is never shown)
  homelab.k3s.config_files:
    files:
      - dest: /etc/systemd/system/k3s.service
        content: "{{ lookup('ansible.builtin.template', 'k3s.service.j2') }}"
        mode: "0644"
      - dest: /etc/rancher/k3s/config.yaml
        secret: true
        mode: "0600"
    secret_content:
      /etc/rancher/k3s/config.yaml: "{{ lookup('ansible.builtin.template', 'config.yaml.j2') }}"
"""

RETURN = r"""
changed_files:
  description: The destinations that changed (in check mode, that would change), in request order.
  returned: always
  type: list
  elements: str
  sample: [/etc/chrony/chrony.conf]
files:
  description:
    - For every destination what was done, V(unchanged), V(create), V(update) (content, or a link's target),
      V(attributes) (owner, group or mode only) or V(remove).
  returned: always
  type: dict
  sample: {/etc/chrony/chrony.conf: update}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.homelab.k3s.plugins.module_utils.config_files import ConfigFilesError, FileSystem, sync_files


def main():
    module = AnsibleModule(
        argument_spec=dict(
            files=dict(type="list", elements="dict", required=True, options=dict(
                dest=dict(type="path", required=True),
                state=dict(type="str", choices=["file", "directory", "link", "absent"], default="file"),
                src=dict(type="path"),
                content=dict(type="str"),
                owner=dict(type="str", default="root"),
                group=dict(type="str", default="root"),
                mode=dict(type="str"),
                validate=dict(type="str"),
                secret=dict(type="bool", default=False),
            )),
            secret_content=dict(type="dict", no_log=True, default={}),
        ),
        supports_check_mode=True,
    )

    def run_validate(command):
        return module.run_command(command)

    try:
        changed, results, diffs = sync_files(module.params["files"], FileSystem(), run_validate,
                                             check_mode=module.check_mode,
                                             secret_content=module.params["secret_content"])
    except (ConfigFilesError, OSError) as exc:
        module.fail_json(msg="config_files: %s" % exc)
    result = dict(changed=bool(changed), changed_files=changed, files=results)
    if module._diff:
        result["diff"] = diffs
    module.exit_json(**result)


if __name__ == "__main__":
    main()

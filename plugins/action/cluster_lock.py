# -*- coding: utf-8 -*-
# Copyright (c) homelab.k3s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fill in the default ``holder`` of homelab.k3s.cluster_lock, then run the module.

A module cannot see the inventory hostname, and a random value drawn in the
module would differ on every task. The default holder is therefore built
here, on the controller: ``<inventory_hostname>-<run id>``, where the run id
is ``homelab_k3s_lock_run_id`` when that variable is set, otherwise a hash of
the ``ansible-playbook`` process (its PID and start time) and the controller's
hostname. Task workers are forked from that process, so the id is the same
for every task of one run and different for the next run.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import hashlib
import os
import socket

from ansible.plugins.action import ActionBase

RUN_ID_VARIABLE = "homelab_k3s_lock_run_id"


def _process_start(pid):
    try:
        with open("/proc/%d/stat" % pid) as stat:
            return stat.read().rsplit(")", 1)[1].split()[19]
    except (IOError, OSError, IndexError):
        return ""


def controller_run_id():
    """8 hex characters, stable for the life of the ansible-playbook process."""
    parent = os.getppid()
    seed = "%s:%d:%s" % (socket.gethostname(), parent, _process_start(parent))
    return hashlib.sha256(seed.encode("utf-8")).hexdigest()[:8]


def default_holder(task_vars):
    run_id = task_vars.get(RUN_ID_VARIABLE) or controller_run_id()
    return "%s-%s" % (task_vars.get("inventory_hostname", "localhost"), run_id)


class ActionModule(ActionBase):

    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        module_args = dict(self._task.args)
        state = module_args.get("state", "acquired")
        if not module_args.get("holder") and state in ("acquired", "released", "absent"):
            module_args["holder"] = default_holder(task_vars)
        result.update(self._execute_module(module_name="homelab.k3s.cluster_lock", module_args=module_args,
                                           task_vars=task_vars))
        return result

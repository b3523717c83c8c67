# -*- coding: utf-8 -*-
# Copyright (c) 2026 homelab.k3s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the K3s stand-in refuses: unknown flags and config keys, values of the wrong type, a
kubelet config file with fields the kubelet does not have.

Every function returns the configuration it read and a list of problems (strings, worded like the
K3s/urfave-cli or kubelet message where there is one); the caller logs them and exits non-zero.

One difference from K3s on purpose: K3s only *warns* about a config-file key that is not a flag of
the command (``Unknown flag --x found in config.yaml, skipping``, pkg/configfilearg/parser.go) and
runs without that setting; the stand-in refuses it, because a silently skipped key is a setting the
roles believe is active and is not.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import glob
import os
import re

import yaml

from .k3s_flags import AGENT_FLAGS, ALIASES, SERVER_FLAGS
from .kubelet_fields import FIELDS as KUBELET_FIELDS

GO_BOOL = {"1", "t", "T", "TRUE", "true", "True", "0", "f", "F", "FALSE", "false", "False"}
GO_DURATION = re.compile(r"^[-+]?(0|(\d+(\.\d*)?|\.\d+)(ns|us|\u00b5s|ms|s|m|h))+$|^[-+]?0$")
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|\u00b5s|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "\u00b5s": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def duration_seconds(text):
    """Seconds of a Go duration that GO_DURATION accepts."""
    total = sum(float(number) * _UNIT_SECONDS[unit] for number, unit in _DURATION_PART.findall(text))
    return -total if text.startswith("-") else total


def flags_for(role):
    return SERVER_FLAGS if role == "server" else AGENT_FLAGS


def type_problem(name, kind, value, origin):
    """None, or why ``value`` is not a valid ``kind`` (urfave/cli parses flag values with Go's strconv)."""
    where = " (%s)" % origin if origin else ""
    secret = any(word in name for word in ("token", "secret", "access-key", "vpn-auth"))
    text = str(value).lower() if isinstance(value, bool) else str(value)
    shown = "<redacted>" if secret else value      # never a secret in the journal
    shown_text = "<redacted>" if secret else text
    if kind == "slice":
        items = value if isinstance(value, list) else [value]
        for item in items:
            if isinstance(item, (dict, list)) or item is None:
                return "invalid value %r for flag -%s%s: a string or a list of strings" % (shown, name, where)
        return None
    if isinstance(value, (dict, list)) or value is None:
        return "invalid value %r for flag -%s%s: one %s value expected" % (shown, name, where, kind)
    if kind == "bool" and text not in GO_BOOL:
        return 'invalid boolean value "%s" for -%s%s: parse error' % (shown_text, name, where)
    if kind == "int" and (isinstance(value, bool) or not re.match(r"^[-+]?\d+$", text)):
        return 'invalid value "%s" for flag -%s%s: parse error' % (shown_text, name, where)
    if kind == "duration" and not GO_DURATION.match(text):
        return 'invalid value "%s" for flag -%s%s: parse error (a Go duration such as 5m0s)' % (shown_text, name, where)
    return None


def parse_argv(role, argv):
    """``[(origin, key, value)]`` and problems for ``--key=value``, ``--bool``, ``--key value``."""
    flags = flags_for(role)
    entries, problems = [], []
    index = 0
    while index < len(argv):
        arg = argv[index]
        index += 1
        if not arg.startswith("-"):
            problems.append("k3s %s takes no arguments, got %r" % (role, arg))
            continue
        key, sep, value = arg.lstrip("-").partition("=")
        key = ALIASES.get(key, key)
        if key not in flags:
            problems.append("flag provided but not defined: -%s" % key)
            continue
        if not sep:
            if flags[key] == "bool":
                value = "true"
            elif index < len(argv):
                value = argv[index]
                index += 1
            else:
                problems.append("flag needs an argument: -%s" % key)
                continue
        entries.append(("command line", key, value))
    return entries, problems


def config_files(path):
    return [path] + sorted(glob.glob(path + ".d/*.yaml")) + sorted(glob.glob(path + ".d/*.yml"))


def load_config(role, argv, path):
    """Merge config.yaml, config.yaml.d/*.yaml (later files win, ``key+:`` appends) and argv.

    Returns ``(config, problems)``.
    """
    flags = flags_for(role)
    config, problems = {}, []
    for name in config_files(path):
        if not os.path.exists(name):
            continue
        try:
            with open(name) as handle:
                data = yaml.safe_load(handle) or {}
        except yaml.YAMLError as exc:
            problems.append("%s: invalid YAML: %s" % (name, exc))
            continue
        if not isinstance(data, dict):
            problems.append("%s: the configuration must be a mapping of flag names to values" % name)
            continue
        for raw_key, value in data.items():
            key = str(raw_key)
            append = key.endswith("+")
            key = ALIASES.get(key.rstrip("+"), key.rstrip("+"))
            if key not in flags:
                problems.append("Unknown flag --%s found in %s (K3s would skip it: the setting would be lost)"
                                % (key, name))
                continue
            problem = type_problem(key, flags[key], value, name)
            if problem:
                problems.append(problem)
                continue
            if append and flags[key] == "slice" and key in config:
                config[key] = _as_list(config[key]) + _as_list(value)
            else:
                config[key] = value
    entries, argv_problems = parse_argv(role, argv)
    problems += argv_problems
    for origin, key, value in entries:
        problem = type_problem(key, flags[key], value, origin)
        if problem:
            problems.append(problem)
        elif flags[key] == "slice" and key in config and origin == "command line":
            config[key] = _as_list(config[key]) + _as_list(value)
        else:
            config[key] = value
    return config, problems


def _as_list(value):
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return [v.strip() for v in str(value).split(",") if v.strip()]


def kubelet_config_paths(config):
    """The kubelet config file and drop-in directory named by ``kubelet-arg`` (``config=``, ``config-dir=``)."""
    files, dirs = [], []
    for arg in _as_list(config.get("kubelet-arg")):
        key, dummy, value = arg.lstrip("-").partition("=")
        if key == "config":
            files.append(value)
        elif key == "config-dir":
            dirs.append(value)
    return files, dirs


def check_kubelet_file(path):
    """Problems of one kubelet config file, as the kubelet's strict decoding reports them."""
    if not os.path.exists(path):
        return ["kubelet: failed to load kubelet config file, path: %s: no such file or directory" % path]
    try:
        with open(path) as handle:
            data = yaml.safe_load(handle)
    except yaml.YAMLError as exc:
        return ["kubelet: failed to load kubelet config file, path: %s: %s" % (path, exc)]
    if not isinstance(data, dict):
        return ["kubelet: failed to load kubelet config file, path: %s: not a mapping" % path]
    problems = []
    if data.get("apiVersion") != "kubelet.config.k8s.io/v1beta1" or data.get("kind") != "KubeletConfiguration":
        problems.append("kubelet: config file %s: apiVersion/kind must be kubelet.config.k8s.io/v1beta1 "
                        "KubeletConfiguration, got %s %s" % (path, data.get("apiVersion"), data.get("kind")))
    for key, value in data.items():
        if key in ("apiVersion", "kind"):
            continue
        if key not in KUBELET_FIELDS:
            problems.append('kubelet: failed to load kubelet config file, path: %s, error: strict decoding error: '
                            'unknown field "%s"' % (path, key))
            continue
        kind = KUBELET_FIELDS[key]
        wrong = {
            "duration": not (isinstance(value, str) and GO_DURATION.match(value)),
            "bool": not isinstance(value, bool),
            "int": isinstance(value, bool) or not isinstance(value, int),
            "float": isinstance(value, bool) or not isinstance(value, (int, float)),
            "string": not isinstance(value, str),
            "list": not isinstance(value, list),
            "map": not isinstance(value, dict),
            "object": not isinstance(value, dict),
        }[kind]
        if wrong:
            problems.append("kubelet: config file %s: field %s: %r is not a valid %s" % (path, key, value, kind))
    return problems or shutdown_problems(data)


def shutdown_problems(data):
    """The kubelet's checks of the graceful shutdown periods (kubernetes pkg/kubelet/apis/config/
    validation/validation.go, v1.34), worded as it words them."""
    grace = duration_seconds(data.get("shutdownGracePeriod", "0s"))
    critical = duration_seconds(data.get("shutdownGracePeriodCriticalPods", "0s"))
    problems = []
    if critical > grace:
        problems.append("kubelet: invalid configuration: shutdownGracePeriodCriticalPods %s must be <= "
                        "shutdownGracePeriod %s" % (data.get("shutdownGracePeriodCriticalPods"),
                                                    data.get("shutdownGracePeriod", "0s")))
    for key, seconds in (("shutdownGracePeriod", grace), ("shutdownGracePeriodCriticalPods", critical)):
        if seconds < 0 or 0 < seconds < 1:
            problems.append("kubelet: invalid configuration: %s %s must be either zero or otherwise >= 1 sec"
                            % (key, data.get(key)))
    return problems


def check_kubelet(config):
    files, dirs = kubelet_config_paths(config)
    problems = []
    for path in files:
        problems += check_kubelet_file(path)
    for directory in dirs:
        for path in sorted(glob.glob(os.path.join(directory, "*.conf"))):
            problems += check_kubelet_file(path)
    return problems

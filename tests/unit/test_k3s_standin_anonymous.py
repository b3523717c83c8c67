# -*- coding: utf-8 -*-
# Copyright (c) 2026 homelab.k3s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The K3s stand-in's anonymous access: K3s runs kube-apiserver with anonymous-auth=false unless an
AuthenticationConfiguration (kube-apiserver-arg authentication-config=FILE) has an anonymous block
(KEP-4633, k3s-io/k3s#12245); then exactly its path conditions are open without credentials."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os
import sys

import pytest
import yaml

STANDINS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "standins")
sys.path.insert(0, STANDINS)

from k3s_standin.standin import Node, Refused  # noqa: E402  pylint: disable=wrong-import-position

AUTH = {"apiVersion": "apiserver.config.k8s.io/v1beta1", "kind": "AuthenticationConfiguration",
        "anonymous": {"enabled": True, "conditions": [{"path": "/readyz"}, {"path": "/livez"}]}}


def node(tmp_path, auth=None, extra_args=()):
    args = list(extra_args)
    if auth is not None:
        (tmp_path / "auth.yaml").write_text(yaml.safe_dump(auth))
        args.append("authentication-config=%s" % (tmp_path / "auth.yaml"))
    config = {"node-name": "s1", "token": "t"}
    if args:
        config["kube-apiserver-arg"] = args
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    return Node("server", [], config_path=str(tmp_path / "config.yaml"))


def test_no_authentication_config_means_no_anonymous_path(tmp_path):
    assert node(tmp_path).anonymous_paths() == ()


def test_the_conditions_are_the_anonymous_paths(tmp_path):
    assert node(tmp_path, AUTH).anonymous_paths() == ("/readyz", "/livez")


def test_anonymous_disabled_opens_nothing(tmp_path):
    assert node(tmp_path, dict(AUTH, anonymous={"enabled": False})).anonymous_paths() == ()


@pytest.mark.parametrize("auth, extra, message", [
    (dict(AUTH, kind="AuthorizationConfiguration"), (), "is not an AuthenticationConfiguration"),
    (dict(AUTH, anonymous={"enabled": True}), (), "anonymous access to every path is not emulated"),
    (AUTH, ("anonymous-auth=false",),
     "--anonynous-auth flag cannot be set when anonymous field is configured in authentication configuration file"),
], ids=["wrong-kind", "every-path", "with-anonymous-auth-flag"])
def test_refusals(tmp_path, auth, extra, message):
    with pytest.raises(Refused, match=message):
        node(tmp_path, auth, extra).anonymous_paths()


def test_a_missing_file_is_refused(tmp_path):
    standin = node(tmp_path, extra_args=("authentication-config=%s" % (tmp_path / "missing.yaml"),))
    with pytest.raises(Refused, match="failed to load the authentication configuration"):
        standin.anonymous_paths()

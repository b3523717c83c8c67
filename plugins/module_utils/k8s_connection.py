# -*- coding: utf-8 -*-
# Copyright (c) homelab.k3s contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection options and a small Kubernetes API adapter shared by the modules.

``CONNECTION_ARG_SPEC`` mirrors the connection options of kubernetes.core
(same names, aliases and ``K8S_AUTH_*`` environment variables), documented by
the ``homelab.k3s.k8s_connection`` doc fragment, so one set of playbook
variables serves both collections.

``KubernetesApi`` is the only place that talks to the ``kubernetes`` client.
It exposes the handful of calls the lock and the waiter need, returns plain
dicts plus the API server's clock (from the response ``Date`` header), and
turns HTTP 409 into :class:`ConflictError`. Unit tests replace it with an
in-memory fake that has the same methods.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import email.utils
import json
import time
import traceback

try:
    from ansible.module_utils.basic import env_fallback
except ImportError:
    # The on-node commands of the cluster_power role import this file with
    # Debian's python3 and no Ansible; they never use CONNECTION_ARG_SPEC.
    def env_fallback(*args, **kwargs):
        raise RuntimeError("env_fallback needs ansible-core")

KUBERNETES_IMPORT_ERROR = None
try:
    from kubernetes import client as k8s_client
    from kubernetes import config as k8s_config
    from kubernetes.dynamic import DynamicClient
    from kubernetes.dynamic.exceptions import (
        ApiException, ConflictError as _K8sConflict, NotFoundError as _K8sNotFound,
        ResourceNotFoundError, ResourceNotUniqueError,
    )
    HAS_KUBERNETES = True
except ImportError:
    HAS_KUBERNETES = False
    KUBERNETES_IMPORT_ERROR = traceback.format_exc()

# Supported range of the kubernetes Python client (tested at both ends by
# tests/runners/k8s_client_matrix.sh). Keep in sync with the modules' requirements.
KUBERNETES_CLIENT_RANGE = ">=24.2.0,<38"

CONNECTION_ARG_SPEC = dict(
    kubeconfig=dict(type="raw", no_log=True, fallback=(env_fallback, ["K8S_AUTH_KUBECONFIG"])),
    context=dict(type="str", fallback=(env_fallback, ["K8S_AUTH_CONTEXT"])),
    host=dict(type="str", fallback=(env_fallback, ["K8S_AUTH_HOST"])),
    api_key=dict(type="str", no_log=True, fallback=(env_fallback, ["K8S_AUTH_API_KEY"])),
    validate_certs=dict(type="bool", aliases=["verify_ssl"],
                        fallback=(env_fallback, ["K8S_AUTH_VERIFY_SSL", "K8S_AUTH_VALIDATE_CERTS"])),
    ca_cert=dict(type="path", aliases=["ssl_ca_cert"],
                 fallback=(env_fallback, ["K8S_AUTH_SSL_CA_CERT", "K8S_AUTH_CA_CERT"])),
    client_cert=dict(type="path", aliases=["cert_file"],
                     fallback=(env_fallback, ["K8S_AUTH_CERT_FILE", "K8S_AUTH_CLIENT_CERT"])),
    client_key=dict(type="path", aliases=["key_file"], no_log=False,
                    fallback=(env_fallback, ["K8S_AUTH_KEY_FILE", "K8S_AUTH_CLIENT_KEY"])),
)

CRD_API_VERSION = "apiextensions.k8s.io/v1"
CRD_KIND = "CustomResourceDefinition"


class KubernetesApiError(Exception):
    """An API call failed for a reason the caller cannot retry."""


class ConflictError(KubernetesApiError):
    """HTTP 409: the object changed (stale resourceVersion) or already exists."""


class KindNotServedError(KubernetesApiError):
    """API discovery does not (yet) list the requested api_version/kind."""


class ApiResponse(object):
    """What a call returned: ``obj`` (dict, list of dicts or None) and the
    API server's clock as epoch seconds (``server_time``, None if unknown)."""

    __slots__ = ("obj", "server_time")

    def __init__(self, obj, server_time=None):
        self.obj = obj
        self.server_time = server_time


def parse_http_date(value):
    """Epoch seconds from an HTTP ``Date`` header, or None."""
    if not value:
        return None
    try:
        return email.utils.mktime_tz(email.utils.parsedate_tz(value))
    except (TypeError, ValueError, OverflowError):
        return None


def create_api_client(params):
    """Build a ``kubernetes.client.ApiClient`` from the connection options.

    Precedence matches kubernetes.core: a kubeconfig (given, or the default
    one) is loaded first unless only ``host`` is given, then the explicit
    options override it. Without any of them, the in-cluster service account
    is tried, then ``~/.kube/config``.
    """
    configuration = k8s_client.Configuration()
    kubeconfig = params.get("kubeconfig")
    context = params.get("context")
    explicit_host = params.get("host")
    if kubeconfig is not None:
        if isinstance(kubeconfig, dict):
            k8s_config.load_kube_config_from_dict(kubeconfig, context=context,
                                                  client_configuration=configuration,
                                                  persist_config=False)
        else:
            k8s_config.load_kube_config(config_file=kubeconfig, context=context,
                                        client_configuration=configuration,
                                        persist_config=False)
    elif not explicit_host:
        try:
            k8s_config.load_incluster_config(client_configuration=configuration)
        except k8s_config.ConfigException:
            k8s_config.load_kube_config(context=context, client_configuration=configuration,
                                        persist_config=False)
    if explicit_host:
        configuration.host = explicit_host
    if params.get("api_key"):
        configuration.api_key = {"authorization": "Bearer " + params["api_key"]}
    if params.get("ca_cert"):
        configuration.ssl_ca_cert = params["ca_cert"]
    if params.get("client_cert"):
        configuration.cert_file = params["client_cert"]
    if params.get("client_key"):
        configuration.key_file = params["client_key"]
    if params.get("validate_certs") is not None:
        configuration.verify_ssl = params["validate_certs"]
    return k8s_client.ApiClient(configuration)


class KubernetesApi(object):
    """Thin adapter over ``DynamicClient``.

    Every call returns an :class:`ApiResponse`. Objects are plain dicts. The
    server clock is read from the ``Date`` header of each response, which is
    why calls pass ``serialize=False`` and decode the body themselves.
    ``round_trips`` counts HTTP requests other than discovery.
    """

    def __init__(self, dynamic_client):
        self.client = dynamic_client
        self.round_trips = 0

    @classmethod
    def from_params(cls, params, discovery_cache_file=None):
        return cls(DynamicClient(create_api_client(params), cache_file=discovery_cache_file))

    # -- discovery -------------------------------------------------------
    def _resource(self, api_version, kind):
        try:
            return self.client.resources.get(api_version=api_version, kind=kind)
        except (ResourceNotFoundError, ResourceNotUniqueError) as exc:
            raise KindNotServedError("%s %s is not served by the API server: %s" % (api_version, kind, exc))

    def refresh_discovery(self):
        """Drop the discovery cache (in memory and on disk) and re-read it."""
        self.client.resources.invalidate_cache()

    def is_served(self, api_version, kind):
        try:
            self._resource(api_version, kind)
            return True
        except KindNotServedError:
            return False

    # -- calls -------------------------------------------------------------
    def _call(self, method, resource, **kwargs):
        self.round_trips += 1
        try:
            raw = getattr(resource, method)(serialize=False, **kwargs)
        except _K8sConflict as exc:
            raise ConflictError(_summary(exc))
        except ApiException as exc:
            if isinstance(exc, _K8sNotFound):
                raise
            raise KubernetesApiError("%s failed: %s" % (method, _summary(exc)))
        body = raw.data
        if isinstance(body, bytes):
            body = body.decode("utf-8")
        obj = json.loads(body) if body else None
        return ApiResponse(obj, parse_http_date(raw.headers.get("Date")))

    def get(self, api_version, kind, name, namespace=None):
        resource = self._resource(api_version, kind)
        try:
            return self._call("get", resource, name=name, namespace=namespace)
        except _K8sNotFound as exc:
            return ApiResponse(None, parse_http_date((exc.headers or {}).get("Date")))

    def list(self, api_version, kind, namespace=None, label_selector=None):
        resource = self._resource(api_version, kind)
        response = self._call("get", resource, namespace=namespace, label_selector=label_selector)
        response.obj = (response.obj or {}).get("items") or []
        return response

    def create(self, api_version, kind, body, namespace=None):
        resource = self._resource(api_version, kind)
        return self._call("create", resource, body=body, namespace=namespace)

    def replace(self, api_version, kind, body, namespace=None):
        """PUT ``body``; it carries metadata.resourceVersion, so a stale body
        is refused with 409 (:class:`ConflictError`)."""
        resource = self._resource(api_version, kind)
        try:
            return self._call("replace", resource, body=body, namespace=namespace)
        except _K8sNotFound:
            raise ConflictError("%s %s was deleted meanwhile" % (kind, body["metadata"]["name"]))

    def delete(self, api_version, kind, name, namespace=None, resource_version=None):
        """DELETE with a resourceVersion precondition; a missing object is not an error."""
        resource = self._resource(api_version, kind)
        body = {"apiVersion": "v1", "kind": "DeleteOptions"}
        if resource_version:
            body["preconditions"] = {"resourceVersion": resource_version}
        try:
            return self._call("delete", resource, name=name, namespace=namespace, body=body)
        except _K8sNotFound as exc:
            return ApiResponse(None, parse_http_date((exc.headers or {}).get("Date")))


def _summary(exc):
    try:
        return json.loads(exc.body).get("message") or str(exc.status)
    except Exception:  # pylint: disable=broad-except
        return "HTTP %s %s" % (getattr(exc, "status", "?"), getattr(exc, "reason", ""))


class SystemClock(object):
    """The real clock; tests pass a fake with the same two methods."""

    @staticmethod
    def monotonic():
        return time.monotonic()

    @staticmethod
    def sleep(seconds):
        time.sleep(seconds)

    @staticmethod
    def wall():
        return time.time()

# -*- coding: utf-8 -*-
# Copyright (c) 2026 homelab.k3s contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The top-level fields of ``KubeletConfiguration`` (``kubelet.config.k8s.io/v1beta1``), Kubernetes v1.34.

Source: kubernetes/kubelet ``config/v1beta1/types.go`` at tag v0.34.2 (commit
b0a288639099933b7d26e95a50150115a8477c37), the staging copy of Kubernetes v1.34.2 that K3s
v1.34.2+k3s1 embeds; the kubelet decodes its config file strictly (an unknown field is an error).
Value kinds: ``duration`` (metav1.Duration, a Go duration string), ``bool``, ``int``, ``float``,
``string``, ``list``, ``map``, ``object``.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

SOURCE = "kubernetes/kubelet config/v1beta1/types.go@v0.34.2 (b0a288639099933b7d26e95a50150115a8477c37)"

FIELDS = {
    "enableServer": "bool", "staticPodPath": "string", "podLogsDir": "string", "syncFrequency": "duration",
    "fileCheckFrequency": "duration", "httpCheckFrequency": "duration", "staticPodURL": "string",
    "staticPodURLHeader": "map", "address": "string", "port": "int", "readOnlyPort": "int",
    "tlsCertFile": "string", "tlsPrivateKeyFile": "string", "tlsCipherSuites": "list", "tlsMinVersion": "string",
    "rotateCertificates": "bool", "serverTLSBootstrap": "bool", "authentication": "object",
    "authorization": "object", "registryPullQPS": "int", "registryBurst": "int",
    "imagePullCredentialsVerificationPolicy": "string", "preloadedImagesVerificationAllowlist": "list",
    "eventRecordQPS": "int", "eventBurst": "int", "enableDebuggingHandlers": "bool",
    "enableContentionProfiling": "bool", "healthzPort": "int", "healthzBindAddress": "string",
    "oomScoreAdj": "int", "clusterDomain": "string", "clusterDNS": "list",
    "streamingConnectionIdleTimeout": "duration", "nodeStatusUpdateFrequency": "duration",
    "nodeStatusReportFrequency": "duration", "nodeLeaseDurationSeconds": "int", "imageMinimumGCAge": "duration",
    "imageMaximumGCAge": "duration", "imageGCHighThresholdPercent": "int", "imageGCLowThresholdPercent": "int",
    "volumeStatsAggPeriod": "duration", "kubeletCgroups": "string", "systemCgroups": "string",
    "cgroupRoot": "string", "cgroupsPerQOS": "bool", "cgroupDriver": "string", "cpuManagerPolicy": "string",
    "singleProcessOOMKill": "bool", "cpuManagerPolicyOptions": "map", "cpuManagerReconcilePeriod": "duration",
    "memoryManagerPolicy": "string", "topologyManagerPolicy": "string", "topologyManagerScope": "string",
    "topologyManagerPolicyOptions": "map", "qosReserved": "map", "runtimeRequestTimeout": "duration",
    "hairpinMode": "string", "maxPods": "int", "podCIDR": "string", "podPidsLimit": "int", "resolvConf": "string",
    "runOnce": "bool", "cpuCFSQuota": "bool", "cpuCFSQuotaPeriod": "duration", "nodeStatusMaxImages": "int",
    "maxOpenFiles": "int", "contentType": "string", "kubeAPIQPS": "int", "kubeAPIBurst": "int",
    "serializeImagePulls": "bool", "maxParallelImagePulls": "int", "evictionHard": "map", "evictionSoft": "map",
    "evictionSoftGracePeriod": "map", "evictionPressureTransitionPeriod": "duration",
    "evictionMaxPodGracePeriod": "int", "evictionMinimumReclaim": "map", "mergeDefaultEvictionSettings": "bool",
    "podsPerCore": "int", "enableControllerAttachDetach": "bool", "protectKernelDefaults": "bool",
    "makeIPTablesUtilChains": "bool", "iptablesMasqueradeBit": "int", "iptablesDropBit": "int",
    "featureGates": "map", "failSwapOn": "bool", "memorySwap": "object", "containerLogMaxSize": "string",
    "containerLogMaxFiles": "int", "containerLogMaxWorkers": "int", "containerLogMonitorInterval": "duration",
    "configMapAndSecretChangeDetectionStrategy": "string", "systemReserved": "map", "kubeReserved": "map",
    "reservedSystemCPUs": "string", "showHiddenMetricsForVersion": "string", "systemReservedCgroup": "string",
    "kubeReservedCgroup": "string", "enforceNodeAllocatable": "list", "allowedUnsafeSysctls": "list",
    "volumePluginDir": "string", "providerID": "string", "kernelMemcgNotification": "bool", "logging": "object",
    "enableSystemLogHandler": "bool", "enableSystemLogQuery": "bool", "shutdownGracePeriod": "duration",
    "shutdownGracePeriodCriticalPods": "duration", "shutdownGracePeriodByPodPriority": "list",
    "crashLoopBackOff": "object", "reservedMemory": "list", "enableProfilingHandler": "bool",
    "enableDebugFlagsHandler": "bool", "seccompDefault": "bool", "memoryThrottlingFactor": "float",
    "registerWithTaints": "list", "registerNode": "bool", "tracing": "object",
    "localStorageCapacityIsolation": "bool", "containerRuntimeEndpoint": "string",
    "imageServiceEndpoint": "string", "failCgroupV1": "bool", "userNamespaces": "object",
}

{{/* Names, labels and shared fragments of the Nacre chart. */}}

{{- define "nacre.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "nacre.labels" -}}
app.kubernetes.io/name: nacre
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Selector labels of one component: include "nacre.selector" (list . "controller") */}}
{{- define "nacre.selector" -}}
app.kubernetes.io/name: nacre
app.kubernetes.io/instance: {{ (index . 0).Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{- define "nacre.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "nacre.emulated" -}}
{{- if and (eq .Values.backend "emulated") .Values.emulator.enabled -}}true{{- end -}}
{{- end -}}

{{- define "nacre.localOsts" -}}
{{- if and (include "nacre.emulated" .) (eq .Values.emulator.topology "local") -}}true{{- end -}}
{{- end -}}

{{- /* The mounter DaemonSet holds the FUSE mounts of emulated volumes (nacre mount-holder); the plugin asks it over this socket. */ -}}
{{- define "nacre.mounter" -}}
{{- if and .Values.mounter.enabled (eq .Values.backend "emulated") -}}true{{- end -}}
{{- end -}}
{{- define "nacre.holderSocket" -}}{{ .Values.node.stateDir }}/holder/holder.sock{{- end -}}
{{- /* Where the node OSSes' unix sockets live on the node, for the FUSE clients of the same node. */ -}}
{{- define "nacre.ossSocketDir" -}}{{ .Values.node.stateDir }}/oss-sockets{{- end -}}

{{- define "nacre.credentialsSecret" -}}{{ include "nacre.fullname" . }}-fsx-credentials{{- end -}}
{{- define "nacre.dataPlaneSecret" -}}{{ include "nacre.fullname" . }}-data-plane{{- end -}}
{{- define "nacre.mgsHost" -}}{{ include "nacre.fullname" . }}-mgs.{{ .Release.Namespace }}.svc{{- end -}}
{{- define "nacre.mgsAddress" -}}{{ include "nacre.mgsHost" . }}:{{ .Values.emulator.mgs.port }}{{- end -}}
{{- define "nacre.apiEndpoint" -}}http://{{ include "nacre.fullname" . }}-api.{{ .Release.Namespace }}.svc:{{ .Values.emulator.api.port }}{{- end -}}

{{/* Global flags every nacre process takes. */}}
{{- define "nacre.logArgs" -}}
- --log-format={{ .Values.logFormat }}
- --log-level={{ .Values.logLevel }}
{{- end -}}

{{/* The pod's identity for $(VAR) expansion in args. */}}
{{- define "nacre.podEnv" -}}
- name: POD_NAME
  valueFrom: { fieldRef: { fieldPath: metadata.name } }
- name: POD_NAMESPACE
  valueFrom: { fieldRef: { fieldPath: metadata.namespace } }
- name: NODE_NAME
  valueFrom: { fieldRef: { fieldPath: spec.nodeName } }
- name: POD_IP
  valueFrom: { fieldRef: { fieldPath: status.podIP } }
{{- end -}}

{{/* Non-root, read-only root file system, no capabilities: for roles that need nothing of the host. */}}
{{- define "nacre.restrictedContainer" -}}
runAsNonRoot: true
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities: { drop: [ALL] }
seccompProfile: { type: RuntimeDefault }
{{- end -}}

{{/* /healthz and /readyz probes on a named port. */}}
{{- define "nacre.probes" -}}
livenessProbe:
  httpGet: { path: /healthz, port: {{ . }} }
  periodSeconds: 10
  timeoutSeconds: 5
  failureThreshold: 6
readinessProbe:
  httpGet: { path: /readyz, port: {{ . }} }
  periodSeconds: 5
  timeoutSeconds: 5
{{- end -}}

{{- /* The data-plane key (emulated only): the flag, the mount of the Secret and its volume, for every pod that speaks to the MGS, MDS or OSS. */ -}}
{{- define "nacre.dataPlaneKeyArg" -}}
{{- if include "nacre.emulated" . }}
- --data-plane-key-file=/etc/nacre/data-plane/key
{{- end }}
{{- end -}}
{{- define "nacre.dataPlaneKeyMount" -}}
{{- if include "nacre.emulated" . }}
- { name: data-plane-key, mountPath: /etc/nacre/data-plane, readOnly: true }
{{- end }}
{{- end -}}
{{- define "nacre.dataPlaneKeyVolume" -}}
{{- if include "nacre.emulated" . }}
# 288 = 0440: readable by root and the pod's fsGroup only.
- name: data-plane-key
  secret: { secretName: {{ include "nacre.dataPlaneSecret" . }}, defaultMode: 288 }
{{- end }}
{{- end -}}

{{/*
Labels shared by every object of the chart. Argument: (dict "root" $ "component" "storage").
*/}}
{{- define "ks.labels" -}}
app.kubernetes.io/name: {{ .component }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
app.kubernetes.io/part-of: kubescape
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
{{- end }}

{{/*
Selector labels (stable across upgrades). Argument: (dict "root" $ "component" "storage").
*/}}
{{- define "ks.selectorLabels" -}}
app.kubernetes.io/name: {{ .component }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end }}

{{/*
Pod template labels: selector labels, the revision label, the component's podLabels.
Argument: (dict "root" $ "component" "storage" "values" .Values.storage).
*/}}
{{- define "ks.podLabels" -}}
{{ include "ks.selectorLabels" . }}
app.kubernetes.io/part-of: kubescape
{{- if .root.Values.addRevisionLabel }}
helm.sh/revision: {{ .root.Release.Revision | quote }}
{{- end }}
{{- with .values.podLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
Name for cluster-scoped objects: unique per release namespace.
Argument: (list $ "storage").
*/}}
{{- define "ks.clusterName" -}}
{{- printf "%s-%s" (index . 0).Release.Namespace (index . 1) | trunc 63 | trimSuffix "-" -}}
{{- end }}

{{/*
Container image of a component. Argument: (dict "root" $ "values" .Values.storage).
*/}}
{{- define "ks.image" -}}
{{- $img := .values.image | default dict -}}
{{- $repo := $img.repository | default .root.Values.image.repository -}}
{{- $tag := $img.tag | default .root.Values.image.tag | default .root.Chart.AppVersion -}}
{{- printf "%s:%s" $repo $tag -}}
{{- end }}

{{- define "ks.pullPolicy" -}}
{{- $img := .values.image | default dict -}}
{{- $img.pullPolicy | default .root.Values.image.pullPolicy -}}
{{- end }}

{{/*
Pod-level settings shared by every workload: pull secrets, scheduling (component values first,
then customScheduling), security context. Argument: (dict "root" $ "values" .Values.storage).
*/}}
{{- define "ks.podSpecCommon" -}}
{{- with .root.Values.imagePullSecrets }}
imagePullSecrets:
{{- range . }}
  - name: {{ . }}
{{- end }}
{{- end }}
{{- with (.values.nodeSelector | default .root.Values.customScheduling.nodeSelector) }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with (.values.affinity | default .root.Values.customScheduling.affinity) }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with (.values.tolerations | default .root.Values.customScheduling.tolerations) }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  runAsNonRoot: true
  runAsUser: 65532
  runAsGroup: 65532
  fsGroup: 65532
  seccompProfile:
    type: RuntimeDefault
{{- end }}

{{/*
Container security context: non-root, read-only root filesystem, no capabilities.
*/}}
{{- define "ks.containerSecurityContext" -}}
securityContext:
  allowPrivilegeEscalation: false
  readOnlyRootFilesystem: true
  runAsNonRoot: true
  capabilities:
    drop: ["ALL"]
{{- end }}

{{/*
Proxy environment (global.httpsProxy). Renders nothing when no proxy is set.
*/}}
{{- define "ks.proxyEnv" -}}
{{- with .Values.global.httpsProxy }}
- name: HTTPS_PROXY
  value: {{ . | quote }}
- name: https_proxy
  value: {{ . | quote }}
- name: NO_PROXY
  value: {{ printf "kubernetes.default.svc,.svc,.cluster.local,localhost,127.0.0.1,%s" $.Release.Namespace | quote }}
- name: no_proxy
  value: {{ printf "kubernetes.default.svc,.svc,.cluster.local,localhost,127.0.0.1,%s" $.Release.Namespace | quote }}
{{- end }}
{{- end }}

{{/*
The CronJob API version: batch/v1 when the cluster serves CronJob there (Kubernetes >= 1.21),
else batch/v1beta1. Discovery during install/upgrade lists "group/version/Kind"; an offline
render (helm template) only knows group/versions, so then the Kubernetes version decides.
*/}}
{{- define "ks.cronJobApiVersion" -}}
{{- if .Capabilities.APIVersions.Has "batch/v1/CronJob" -}}
batch/v1
{{- else if .Capabilities.APIVersions.Has "batch/v1beta1/CronJob" -}}
batch/v1beta1
{{- else if semverCompare ">=1.21-0" .Capabilities.KubeVersion.Version -}}
batch/v1
{{- else -}}
batch/v1beta1
{{- end -}}
{{- end }}

{{/*
Name of the storage TLS Secret.
*/}}
{{- define "ks.storageTlsSecret" -}}storage-tls{{- end }}

{{- define "ks.clusterNameValue" -}}
{{- .Values.clusterName | default "default-cluster" -}}
{{- end }}

{{/*
Egress rules every component needs when global.networkPolicy.createEgressRules is set: cluster
DNS and the Kubernetes API (its address is not a pod, so only the ports are restricted).
*/}}
{{- define "ks.egressBase" -}}
- ports:
    - port: 53
      protocol: UDP
    - port: 53
      protocol: TCP
- ports:
    {{- range .Values.global.networkPolicy.kubernetesApiPorts }}
    - port: {{ . }}
      protocol: TCP
    {{- end }}
{{- end }}

{{/*
In-cluster address (host:port) of one of the chart's Services. Argument: (list $ "operator" 4002).
The namespace-qualified name keeps the address out of the proxy (NO_PROXY covers .svc).
*/}}
{{- define "ks.serviceHost" -}}
{{- printf "%s.%s.svc:%v" (index . 1) (index . 0).Release.Namespace (index . 2) -}}
{{- end }}

{{/*
A recurring-scan CronJob: its job runs `kubescape http-request`, which POSTs the file
request-body.json of a ConfigMap to a service. Used for the chart's own CronJobs and for the
templates (key cronjobTemplate) the operator makes scheduled scans from. Argument: dict with
  root, values (the scheduler's values), component (name and app label), host, path,
  configMap (the ConfigMap holding request-body.json), token (mount the ServiceAccount token,
  which http-request sends as bearer), template (render for a template: no Helm labels, no
  revision label, no extra volumes).
*/}}
{{- define "ks.schedulerCronJob" -}}
{{- $root := .root -}}
{{- $v := .values -}}
apiVersion: {{ include "ks.cronJobApiVersion" $root }}
kind: CronJob
metadata:
  name: {{ .component }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- if .template }}
    {{- include "ks.selectorLabels" (dict "root" $root "component" .component) | nindent 4 }}
    app.kubernetes.io/part-of: kubescape
    {{- else }}
    {{- include "ks.labels" (dict "root" $root "component" .component) | nindent 4 }}
    {{- end }}
spec:
  schedule: {{ $v.scanSchedule | quote }}
  # The job only sends one request (the scan itself queues in a service); Forbid keeps a
  # hanging request from piling up further jobs.
  concurrencyPolicy: Forbid
  successfulJobsHistoryLimit: {{ $v.successfulJobsHistoryLimit }}
  failedJobsHistoryLimit: {{ $v.failedJobsHistoryLimit }}
  jobTemplate:
    spec:
      backoffLimit: 2
      template:
        metadata:
          labels:
            {{- if .template }}
            {{- include "ks.selectorLabels" (dict "root" $root "component" .component) | nindent 12 }}
            app.kubernetes.io/part-of: kubescape
            {{- with $v.podLabels }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
            {{- else }}
            {{- include "ks.podLabels" (dict "root" $root "component" .component "values" $v) | nindent 12 }}
            {{- end }}
          {{- with $v.podAnnotations }}
          annotations:
            {{- toYaml . | nindent 12 }}
          {{- end }}
        spec:
          restartPolicy: Never
          serviceAccountName: scheduler
          {{- if .token }}
          # The operator authenticates callers: http-request sends this token as bearer.
          automountServiceAccountToken: true
          {{- else }}
          # The posture service does not authenticate callers (the NetworkPolicy limits who may
          # call it), so the job needs no Kubernetes credentials.
          automountServiceAccountToken: false
          {{- end }}
          {{- include "ks.podSpecCommon" (dict "root" $root "values" $v) | trim | nindent 10 }}
          containers:
            - name: {{ .component }}
              image: {{ include "ks.image" (dict "root" $root "values" $v) | quote }}
              imagePullPolicy: {{ include "ks.pullPolicy" (dict "root" $root "values" $v) }}
              args:
                - http-request
                - --method=POST
                - --scheme=http
                - --host={{ .host }}
                - --path={{ .path }}
                - --path-body=/home/ks/request-body.json
              {{- with (include "ks.proxyEnv" $root | trim) }}
              env:
                {{- . | nindent 16 }}
              {{- end }}
              resources:
                {{- toYaml $v.resources | nindent 16 }}
              {{- include "ks.containerSecurityContext" $root | nindent 14 }}
              volumeMounts:
                - name: request-body
                  mountPath: /home/ks/request-body.json
                  subPath: request-body.json
                  readOnly: true
                {{- if not .template }}
                {{- with $root.Values.volumeMounts }}
                {{- toYaml . | nindent 16 }}
                {{- end }}
                {{- with $v.volumeMounts }}
                {{- toYaml . | nindent 16 }}
                {{- end }}
                {{- end }}
          volumes:
            {{- if .template }}
            # The operator points every ConfigMap volume of the template at the ConfigMap it
            # creates for the schedule, so the template carries no other volume (the extra
            # `volumes` of the values are left out for that reason).
            {{- end }}
            - name: request-body
              configMap:
                name: {{ .configMap }}
            {{- if not .template }}
            {{- with $root.Values.volumes }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
            {{- with $v.volumes }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
            {{- end }}
{{- end }}

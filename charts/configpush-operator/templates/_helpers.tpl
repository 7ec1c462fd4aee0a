{{/*
The names are fixed, as in manifests/: the ClusterRoles, the CRD and the
operator's own ServiceAccount username are cluster-wide, so one cluster runs
one installation. Labels are exactly manifests/'s (kustomize adds
app.kubernetes.io/part-of) plus .Values.commonLabels: no helm.sh/chart or
managed-by, so `helm template` and `kubectl kustomize manifests/` render the
same objects (test/e2e/helm-chart.test.ts compares them).
*/}}

{{- define "configpush-operator.name" -}}configpush-operator{{- end }}

{{/* metadata.labels of every object; pass a dict {"ctx": ., "component": "..."} (component optional). */}}
{{- define "configpush-operator.labels" -}}
app.kubernetes.io/name: configpush-operator
{{- with .component }}
app.kubernetes.io/component: {{ . }}
{{- end }}
app.kubernetes.io/part-of: configpush-operator
{{- with .ctx.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "configpush-operator.selectorLabels" -}}
app.kubernetes.io/name: configpush-operator
{{- end }}

{{- define "configpush-operator.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{- define "configpush-operator.leaderElectionNamespace" -}}
{{ .Values.leaderElection.namespace | default .Release.Namespace }}
{{- end }}

{{/*
Renders a file of manifests/ that has no template here (one that needs no
values, such as an admission policy) from its verbatim copy in
files/manifests/, the way kustomize renders it: the part-of label and
commonLabels added, namespaced objects put in the release namespace.
Pass a dict {"ctx": ., "file": "admission-policy.yaml"}.
*/}}
{{- define "configpush-operator.verbatim" -}}
{{- $ctx := .ctx }}
{{- $clusterScoped := list "Namespace" "CustomResourceDefinition" "ClusterRole" "ClusterRoleBinding" "ValidatingAdmissionPolicy" "ValidatingAdmissionPolicyBinding" "MutatingAdmissionPolicy" "MutatingAdmissionPolicyBinding" "ValidatingWebhookConfiguration" "MutatingWebhookConfiguration" "PriorityClass" "StorageClass" "IngressClass" "RuntimeClass" "APIService" "PersistentVolume" "CertificateSigningRequest" "FlowSchema" "PriorityLevelConfiguration" "CSIDriver" "DeviceClass" "VolumeAttributesClass" }}
{{- range $obj := (include "configpush-operator.manifestObjects" . | fromYaml).objects }}
{{- $meta := $obj.metadata | default dict }}
{{- $labels := merge (dict "app.kubernetes.io/part-of" "configpush-operator") ($ctx.Values.commonLabels | default dict) ($meta.labels | default dict) }}
{{- $_ := set $meta "labels" $labels }}
{{- if not (has $obj.kind $clusterScoped) }}
{{- $_ := set $meta "namespace" $ctx.Release.Namespace }}
{{- end }}
{{- $_ := set $obj "metadata" $meta }}
---
{{ toYaml $obj }}
{{- end }}
{{- end }}

{{/*
The documents of a file in files/manifests/ (a verbatim copy of manifests/)
as a list of objects, in a dict under "objects" (templates return strings).
Pass a dict {"ctx": ., "file": "rbac.yaml"}.
*/}}
{{- define "configpush-operator.manifestObjects" -}}
{{- $objects := list }}
{{- $file := printf "files/manifests/%s" .file }}
{{- $text := .ctx.Files.Get $file }}
{{- if not $text }}{{ fail (printf "%s is missing: run hack/helm/sync-chart.sh" $file) }}{{ end }}
{{- range $doc := regexSplit "(?m)^---\\s*$" $text -1 }}
{{- $obj := fromYaml $doc }}
{{- if hasKey $obj "Error" }}{{ fail (printf "%s: %s" $file $obj.Error) }}{{ end }}
{{- if and $obj $obj.kind }}{{ $objects = append $objects $obj }}{{ end }}
{{- end }}
{{- toYaml (dict "objects" $objects) }}
{{- end }}

{{/*
The rules of one Role or ClusterRole of manifests/rbac.yaml, so the chart
grants exactly what the kustomize install grants (one source for the
permissions). Pass a dict {"ctx": ., "kind": "ClusterRole", "name": "..."}.
*/}}
{{- define "configpush-operator.rulesOf" -}}
{{- $found := list }}
{{- range (include "configpush-operator.manifestObjects" (dict "ctx" .ctx "file" "rbac.yaml") | fromYaml).objects }}
{{- if and (eq .kind $.kind) (eq .metadata.name $.name) }}{{ $found = append $found .rules }}{{ end }}
{{- end }}
{{- if ne (len $found) 1 }}{{ fail (printf "manifests/rbac.yaml: expected one %s %s, found %d" .kind .name (len $found)) }}{{ end }}
{{- toYaml (first $found) }}
{{- end }}

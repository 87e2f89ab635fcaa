{{/* Names and labels shared by every template. */}}

{{- define "ballast.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's full name: the release name, prefixed with the chart's unless it already contains it. */}}
{{- define "ballast.fullname" -}}
{{- if contains .Chart.Name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{/*
The enabled operators' names, sorted, as a JSON list. Every per-operator
template ranges over them and renders with an operator context: a dict of
the root's fields plus `.operator`, the operator's name, which the helpers
below take.
*/}}
{{- define "ballast.enabledOperators" -}}
{{- $names := list }}
{{- range $name, $op := .Values.operators }}
{{- if and $op $op.enabled }}{{ $names = append $names $name }}{{ end }}
{{- end }}
{{- toJson $names }}
{{- end }}

{{/* <fullname>-<operator>: the name of every object of one operator. */}}
{{- define "ballast.operatorFullname" -}}
{{- printf "%s-%s" (include "ballast.fullname" .) .operator | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "ballast.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ballast.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: {{ .operator }}-operator
{{- end }}

{{- define "ballast.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "ballast.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: ballast
{{- end }}

{{- define "ballast.serviceAccountName" -}}
{{- $op := index .Values.operators .operator }}
{{- if .Values.serviceAccount.create }}
{{- default (include "ballast.operatorFullname" .) $op.serviceAccountName }}
{{- else }}
{{- required (printf "operators.%s.serviceAccountName is required when serviceAccount.create is false" .operator) $op.serviceAccountName }}
{{- end }}
{{- end }}

{{- define "ballast.image" -}}
{{- $op := index .Values.operators .operator }}
{{- $image := $op.image | default dict }}
{{- $repository := required (printf "operators.%s.image.repository is required" .operator) $image.repository }}
{{- printf "%s:%s" $repository (default (default .Chart.AppVersion .Values.image.tag) $image.tag) }}
{{- end }}

{{- define "ballast.replicas" -}}
{{- $op := index .Values.operators .operator }}
{{- if hasKey $op "replicas" }}{{ $op.replicas }}{{ else }}{{ .Values.replicas }}{{ end }}
{{- end }}

{{/*
The operator's generated rules (files/rules.yaml: `<operator>: {namespaced,
cluster, leaderElection}`, from its descriptor), as YAML.
*/}}
{{- define "ballast.rules" -}}
{{- $all := .Files.Get "files/rules.yaml" | fromYaml }}
{{- get $all .operator | toYaml }}
{{- end }}

{{/* Refuses values that would deploy a broken operator. */}}
{{- define "ballast.validate" -}}
{{- $known := .Files.Get "files/rules.yaml" | fromYaml }}
{{- range $name, $op := .Values.operators }}
{{- if not (hasKey $known $name) }}
{{- fail (printf "operators.%s: no such operator (the chart has %s)" $name (keys $known | sortAlpha | join ", ")) }}
{{- end }}
{{- if and $op $op.enabled }}
{{- $replicas := ternary $op.replicas $.Values.replicas (hasKey $op "replicas") }}
{{- if and (gt (int $replicas) 1) (not $.Values.leaderElection) }}
{{- fail (printf "operators.%s: replicas > 1 needs leaderElection: true (otherwise every replica reconciles the same clusters)" $name) }}
{{- end }}
{{- end }}
{{- end }}
{{- if not (has (toString .Values.logLevel) (list "debug" "info" "warn" "error")) }}
{{- fail (printf "logLevel must be one of debug, info, warn, error (got %q)" (toString .Values.logLevel)) }}
{{- end }}
{{- if ne (len .Values.watchNamespaces) (len (uniq .Values.watchNamespaces)) }}
{{- fail "watchNamespaces lists a namespace twice" }}
{{- end }}
{{- end }}

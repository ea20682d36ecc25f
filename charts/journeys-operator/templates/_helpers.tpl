{{/*
Names are fixed, not derived from the release: the operator's code names the webhook Service
(journeys-webhook) and the webhook configurations (journeys.dev), and the CRDs are cluster-wide,
so there is one installation per cluster, in the release's namespace.
*/}}

{{/* Labels of every object: those of manifests/ plus Helm's standard ones. */}}
{{- define "journeys.labels" -}}
app.kubernetes.io/part-of: journeys
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}

{{/* The operator's own objects (manifests/ labels them app.kubernetes.io/name too). */}}
{{- define "journeys.operatorLabels" -}}
app.kubernetes.io/name: journeys-operator
{{ include "journeys.labels" . }}
{{- end }}

{{- define "journeys.selector" -}}
app.kubernetes.io/name: journeys-operator
{{- end }}

{{- define "journeys.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/* Refuse value combinations that cannot work, with what to do instead. */}}
{{- define "journeys.validate" -}}
{{- if and (gt (int .Values.replicas) 1) .Values.webhook.enabled (eq .Values.webhook.certificate "generate") }}
{{- fail "replicas > 1 needs webhook.certificate=cert-manager: with certificates generated at start-up each replica would patch its own CA into the webhook configurations" }}
{{- end }}
{{- if and (gt (int .Values.replicas) 1) (not .Values.peering.name) }}
{{- fail "replicas > 1 needs peering.name: without peering every replica would reconcile" }}
{{- end }}
{{- if and .Values.peering.name (gt (len .Values.watchNamespaces) 0) }}
{{- range .Values.watchNamespaces }}
{{- if regexMatch "[*?\\[\\]!]" . }}
{{- fail (printf "watchNamespaces entry %q is a pattern: peering needs exact names (a KopfPeering lives in each); set peering.name=\"\" with one replica" .) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Names. Kubernetes names are at most 63 characters (DNS labels); every name the chart makes
is derived from leadscore.fullname so it is truncated once, here, with a trailing "-" trimmed.
*/}}
{{- define "leadscore.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "leadscore.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
A component's name: "<fullname>-<component>", truncated so the suffix always survives
(a long release name loses characters from the middle, never the component).
Usage: include "leadscore.componentName" (list . "collector")
*/}}
{{- define "leadscore.componentName" -}}
{{- $root := index . 0 }}
{{- $component := index . 1 }}
{{- $prefix := include "leadscore.fullname" $root | trunc (int (sub 62 (len $component))) | trimSuffix "-" }}
{{- printf "%s-%s" $prefix $component }}
{{- end }}

{{- define "leadscore.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels. selectorLabels never change after install (Deployment selectors are immutable), so they
hold only name, instance and component; labels adds the mutable ones.
Usage: include "leadscore.labels" (list . "operator")
*/}}
{{- define "leadscore.selectorLabels" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/name: {{ include "leadscore.name" $root }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{- define "leadscore.labels" -}}
{{- $root := index . 0 -}}
{{ include "leadscore.selectorLabels" . }}
app.kubernetes.io/part-of: leadscore
app.kubernetes.io/version: {{ $root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ $root.Release.Service }}
helm.sh/chart: {{ include "leadscore.chart" $root }}
{{- with $root.Values.global.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
An image reference: [global.imageRegistry/]repository(@digest | :tag), the tag defaulting to the
chart's appVersion. Fails with the offending value's path instead of rendering a broken image.
Usage: include "leadscore.image" (list . .Values.operator.image "operator.image")
*/}}
{{- define "leadscore.image" -}}
{{- $root := index . 0 }}
{{- $image := index . 1 }}
{{- $path := index . 2 }}
{{- if not $image.repository }}
{{- fail (printf "%s.repository is empty: set it to the image to run (e.g. leadscore/operator)" $path) }}
{{- end }}
{{- if contains ":" (splitList "/" $image.repository | last) }}
{{- fail (printf "%s.repository %q contains a tag: put the tag in %s.tag" $path $image.repository $path) }}
{{- end }}
{{- $repository := $image.repository }}
{{- with $root.Values.global.imageRegistry }}
{{- $repository = printf "%s/%s" (trimSuffix "/" .) $repository }}
{{- end }}
{{- if $image.digest }}
{{- if not (regexMatch "^sha256:[a-f0-9]{64}$" $image.digest) }}
{{- fail (printf "%s.digest %q is not a sha256 digest (sha256:<64 hex characters>)" $path $image.digest) }}
{{- end }}
{{- printf "%s@%s" $repository $image.digest }}
{{- else }}
{{- printf "%s:%s" $repository (default $root.Chart.AppVersion $image.tag) }}
{{- end }}
{{- end }}

{{- define "leadscore.imagePullSecrets" -}}
{{- with .Values.global.imagePullSecrets }}
imagePullSecrets:
{{- range . }}
  - name: {{ . }}
{{- end }}
{{- end }}
{{- end }}

{{/* The operator's ServiceAccount name. */}}
{{- define "leadscore.operator.serviceAccountName" -}}
{{- if .Values.operator.serviceAccount.create }}
{{- default (include "leadscore.componentName" (list . "operator")) .Values.operator.serviceAccount.name }}
{{- else }}
{{- required "operator.serviceAccount.name is required when operator.serviceAccount.create is false" .Values.operator.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The kopf peering object's name; one per release so two installs never pause each other. */}}
{{- define "leadscore.peeringName" -}}
{{- default (include "leadscore.fullname" .) .Values.operator.peering.name }}
{{- end }}

{{/*
Pod and container security: non-root, read-only root filesystem, no capabilities, the runtime's
default seccomp profile. Every pod the chart starts uses these (the bundled dev services too).
*/}}
{{- define "leadscore.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .runAsUser | default 65532 }}
runAsGroup: {{ .runAsUser | default 65532 }}
fsGroup: {{ .runAsUser | default 65532 }}
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "leadscore.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
{{- end }}

{{/*
Service endpoints, bundled or external: one definition each, used by every consumer. Bundled
services are named with their namespace, since Jobs and predictors in model namespaces use them.
*/}}
{{- define "leadscore.s3.endpoint" -}}
{{- if .Values.minio.enabled }}
{{- printf "http://%s.%s.svc:%d" (include "leadscore.componentName" (list . "minio")) .Release.Namespace (int .Values.minio.service.port) }}
{{- else }}
{{- .Values.externalObjectStore.endpoint }}
{{- end }}
{{- end }}

{{- define "leadscore.s3.secretName" -}}
{{- if .Values.minio.enabled }}
{{- default (include "leadscore.componentName" (list . "minio")) .Values.minio.auth.existingSecret }}
{{- else }}
{{- .Values.externalObjectStore.existingSecret }}
{{- end }}
{{- end }}

{{- define "leadscore.s3.accessKeyKey" -}}
{{- if .Values.minio.enabled }}{{ .Values.minio.auth.secretKeys.accessKey }}{{ else }}{{ .Values.externalObjectStore.secretKeys.accessKey }}{{ end }}
{{- end }}

{{- define "leadscore.s3.secretKeyKey" -}}
{{- if .Values.minio.enabled }}{{ .Values.minio.auth.secretKeys.secretKey }}{{ else }}{{ .Values.externalObjectStore.secretKeys.secretKey }}{{ end }}
{{- end }}

{{- define "leadscore.mlflow.trackingUri" -}}
{{- if .Values.mlflow.enabled }}
{{- printf "http://%s.%s.svc:%d" (include "leadscore.componentName" (list . "mlflow")) .Release.Namespace (int .Values.mlflow.service.port) }}
{{- else }}
{{- .Values.externalMlflow.trackingUri }}
{{- end }}
{{- end }}

{{- define "leadscore.database.secretName" -}}
{{- if .Values.postgresql.enabled }}
{{- default (include "leadscore.componentName" (list . "database")) .Values.postgresql.existingSecret }}
{{- else }}
{{- .Values.externalDatabase.existingSecret }}
{{- end }}
{{- end }}

{{/*
The collector's database: LEADSCORE_DB_URL for every container that opens the event store (the
collector, its CronJobs, the migration). The bundled PostgreSQL's own Secret holds the URL; with
postgresql.existingSecret (only a password) the URL is assembled by Kubernetes' $(VAR) expansion.
With collector.migration.enabled the chart migrates once (leadscore.collector.migration) and the
others only check the schema (LEADSCORE_DB_MIGRATE=false); pass (list . true) for the migration.
*/}}
{{- define "leadscore.database.env" -}}
{{- $root := index . 0 }}
{{- $migrating := index . 1 }}
{{- $pg := $root.Values.postgresql }}
{{- if and $pg.enabled $pg.existingSecret }}
- name: LEADSCORE_DB_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $pg.existingSecret }}
      key: {{ $pg.secretKeys.password }}
- name: LEADSCORE_DB_URL
  value: {{ printf "postgresql+psycopg://%s:$(LEADSCORE_DB_PASSWORD)@%s:%d/%s" $pg.username (include "leadscore.componentName" (list $root "postgresql")) (int $pg.service.port) $pg.database | quote }}
{{- else }}
- name: LEADSCORE_DB_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "leadscore.database.secretName" $root }}
      key: {{ if $pg.enabled }}url{{ else }}{{ $root.Values.externalDatabase.secretKeys.url }}{{ end }}
{{- end }}
{{- if and $root.Values.collector.migration.enabled (not $migrating) }}
- name: LEADSCORE_DB_MIGRATE
  value: "false"
{{- end }}
{{- end }}

{{- define "leadscore.collector.url" -}}
{{- printf "http://%s.%s.svc:%d" (include "leadscore.componentName" (list . "collector")) .Release.Namespace (int .Values.collector.service.port) }}
{{- end }}

{{/*
S3 environment for a container (the names leadscore.store.s3.S3Settings.from_env, MLflow and
KServe all read).
*/}}
{{- define "leadscore.s3.env" -}}
- name: AWS_ENDPOINT_URL
  value: {{ include "leadscore.s3.endpoint" . | quote }}
{{- with .Values.externalObjectStore.region }}
{{- if not $.Values.minio.enabled }}
- name: AWS_REGION
  value: {{ . | quote }}
{{- end }}
{{- end }}
- name: S3_VERIFY_SSL
  value: {{ ternary "1" "0" (or .Values.minio.enabled .Values.externalObjectStore.verifySsl) | quote }}
{{- if include "leadscore.s3.secretName" . }}
- name: AWS_ACCESS_KEY_ID
  valueFrom:
    secretKeyRef:
      name: {{ include "leadscore.s3.secretName" . }}
      key: {{ include "leadscore.s3.accessKeyKey" . }}
- name: AWS_SECRET_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "leadscore.s3.secretName" . }}
      key: {{ include "leadscore.s3.secretKeyKey" . }}
{{- end }}
{{- end }}

{{/*
Contradictions and omissions that would install fine and fail later: refuse them at render time,
naming the values involved.
*/}}
{{- define "leadscore.validate" -}}
{{- if and .Values.minio.enabled .Values.externalObjectStore.endpoint }}
{{- fail "minio.enabled=true and externalObjectStore.endpoint are both set: use the bundled MinIO or an external object store, not both" }}
{{- end }}
{{- if and (not .Values.minio.enabled) (not .Values.externalObjectStore.endpoint) }}
{{- fail "no object store: set minio.enabled=true (dev) or externalObjectStore.endpoint (e.g. https://s3.eu-west-1.amazonaws.com)" }}
{{- end }}
{{- if and (not .Values.minio.enabled) .Values.externalObjectStore.endpoint (not (regexMatch "^https?://" .Values.externalObjectStore.endpoint)) }}
{{- fail (printf "externalObjectStore.endpoint %q must start with http:// or https://" .Values.externalObjectStore.endpoint) }}
{{- end }}
{{- if and .Values.mlflow.enabled .Values.externalMlflow.trackingUri }}
{{- fail "mlflow.enabled=true and externalMlflow.trackingUri are both set: use the bundled MLflow or an external one, not both" }}
{{- end }}
{{- if and (not .Values.mlflow.enabled) (not .Values.externalMlflow.trackingUri) }}
{{- fail "no MLflow: set mlflow.enabled=true (dev) or externalMlflow.trackingUri (e.g. https://mlflow.example.com)" }}
{{- end }}
{{- if .Values.collector.enabled }}
{{- if and .Values.postgresql.enabled .Values.externalDatabase.existingSecret }}
{{- fail "postgresql.enabled=true and externalDatabase.existingSecret are both set: use the bundled PostgreSQL or an external database, not both" }}
{{- end }}
{{- if and (not .Values.postgresql.enabled) .Values.postgresql.existingSecret }}
{{- fail "postgresql.existingSecret is set but postgresql.enabled is false: it holds the bundled PostgreSQL's password; an external database's URL goes in externalDatabase.existingSecret" }}
{{- end }}
{{- if and (not .Values.postgresql.enabled) (not .Values.externalDatabase.existingSecret) }}
{{- fail "the collector has no database: set postgresql.enabled=true (dev) or externalDatabase.existingSecret (a Secret holding the SQLAlchemy URL)" }}
{{- end }}
{{- if and .Values.collector.export.enabled (not .Values.collector.export.output) }}
{{- fail "collector.export.enabled=true needs collector.export.output (an s3:// URI for the Parquet training set)" }}
{{- end }}
{{- if and (include "leadscore.collector.hashes" .) (not .Values.collector.privacy.existingSecret) }}
{{- fail "collector.privacy.rules hash fields: set collector.privacy.existingSecret (a Secret holding the hashing key)" }}
{{- end }}
{{- if .Values.rescoring.enabled }}
{{- range $key := list "model" "data" "output" }}
{{- if not (index $.Values.rescoring $key) }}
{{- fail (printf "rescoring.enabled=true needs rescoring.%s (model: a version's s3:// artifact URI; data: the leads' s3:// URI; output: an s3:// .csv or .parquet URI)" $key) }}
{{- end }}
{{- end }}
{{- if and .Values.rescoring.since (not .Values.rescoring.timeColumn) }}
{{- fail "rescoring.since needs rescoring.timeColumn (the dataset's time column the window reads), or set rescoring.since=\"\" to score every lead" }}
{{- end }}
{{- end }}
{{- if and .Values.collector.export.enabled (not .Values.collector.export.namespace) }}
{{- fail "collector.export.enabled=true needs collector.export.namespace (the model namespace whose leads are exported)" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
A generated credential that survives upgrades: the value already in the Secret when there is one
(lookup), else a new random string. `helm template` cannot look anything up, so it always
generates; only `helm install/upgrade` keep values.
Usage: include "leadscore.keptSecretValue" (list . "<secret name>" "<key>" <length>)
*/}}
{{- define "leadscore.keptSecretValue" -}}
{{- $root := index . 0 }}
{{- $existing := lookup "v1" "Secret" $root.Release.Namespace (index . 1) }}
{{- if and $existing (hasKey $existing.data (index . 2)) }}
{{- index $existing.data (index . 2) | b64dec }}
{{- else }}
{{- randAlphaNum (int (index . 3)) }}
{{- end }}
{{- end }}

{{/* Storage of a bundled service: its PVC when persistence is on, else an emptyDir. */}}
{{- define "leadscore.dataVolume" -}}
{{- $root := index . 0 }}
{{- $component := index . 1 }}
{{- $persistence := index . 2 }}
- name: data
{{- if $persistence.enabled }}
  persistentVolumeClaim:
    claimName: {{ include "leadscore.componentName" (list $root $component) }}
{{- else }}
  emptyDir: {}
{{- end }}
{{- end }}

{{- define "leadscore.dataClaim" -}}
{{- $root := index . 0 }}
{{- $component := index . 1 }}
{{- $persistence := index . 2 }}
{{- if $persistence.enabled }}
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: {{ include "leadscore.componentName" (list $root $component) }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "leadscore.labels" (list $root $component) | nindent 4 }}
  annotations:
    # Data outlives the release; delete the claim by hand to drop it.
    helm.sh/resource-policy: keep
spec:
  accessModes: [ReadWriteOnce]
  {{- with $persistence.storageClass }}
  storageClassName: {{ . }}
  {{- end }}
  resources:
    requests:
      storage: {{ $persistence.size }}
---
{{- end }}
{{- end }}

{{/*
The bundled MinIO's credentials, generated once per render (memoized in .Values) because the
same pair goes into MinIO's own Secret and into the Secret of every model namespace.
*/}}
{{- define "leadscore.minio.credentials" -}}
{{- if not (hasKey .Values "__minioCredentials") }}
{{- $secret := include "leadscore.s3.secretName" . }}
{{- $keys := .Values.minio.auth.secretKeys }}
{{- $_ := set .Values "__minioCredentials" (dict
      "accessKey" (include "leadscore.keptSecretValue" (list . $secret $keys.accessKey 16))
      "secretKey" (include "leadscore.keptSecretValue" (list . $secret $keys.secretKey 40))) }}
{{- end }}
{{- toJson (get .Values "__minioCredentials") }}
{{- end }}

{{/* Namespaces that get the per-namespace settings (modelNamespaces.names, else watchNamespace). */}}
{{- define "leadscore.modelNamespaces" -}}
{{- $names := .Values.modelNamespaces.names }}
{{- if and (not $names) .Values.operator.watchNamespace }}
{{- $names = list .Values.operator.watchNamespace }}
{{- end }}
{{- toJson (uniq $names) }}
{{- end }}

{{/*
The credentials Secret of the model namespaces, or "" when the object store takes no static
credentials (external store without existingSecret, e.g. IRSA): Jobs then reference none.
*/}}
{{- define "leadscore.modelS3Secret" -}}
{{- if or .Values.minio.enabled .Values.externalObjectStore.existingSecret }}
{{- .Values.modelNamespaces.s3Secret }}
{{- end }}
{{- end }}

{{- define "leadscore.collector.hashes" -}}
{{- range $model, $rule := .Values.collector.privacy.rules }}{{ if $rule.hash }}yes{{ end }}{{ end }}
{{- end }}

{{/*
The collector's personal-data rules (leadscore.collector.privacy): fields dropped or hashed per
model before storage, and again in the export.
*/}}
{{- define "leadscore.collector.privacyEnv" -}}
- name: LEADSCORE_PRIVACY
  value: {{ .Values.collector.privacy.rules | toJson | quote }}
{{- with .Values.collector.privacy.existingSecret }}
- name: LEADSCORE_PRIVACY_KEY
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: {{ $.Values.collector.privacy.secretKeys.key }}
{{- end }}
{{- end }}

{{/*
A CronJob running one `leadscore collector ...` command against the collector's database (the
export and the retention prune): same image, account, security and placement as the collector.
Usage: include "leadscore.collector.cronJob" (dict "root" . "component" "collector-export"
  "schedule" "0 3 1 * *" "args" (list "collector" "export" ...) "resources" {...} "s3" true)
*/}}
{{- define "leadscore.collector.cronJob" -}}
{{- $root := .root }}
{{- $env := include "leadscore.collector.cronEnv" . }}
{{- include "leadscore.cronJob" (dict "root" $root "component" .component "schedule" .schedule "args" .args
      "resources" .resources "env" $env "container" (.component | trimPrefix "collector-")
      "image" (include "leadscore.image" (list $root $root.Values.collector.image "collector.image"))
      "pullPolicy" $root.Values.collector.image.pullPolicy
      "serviceAccount" (include "leadscore.componentName" (list $root "collector"))
      "what" "It reads and writes the database (and the object store); no Kubernetes API."
      "nodeSelector" $root.Values.collector.nodeSelector "tolerations" $root.Values.collector.tolerations) }}
{{- end }}

{{- define "leadscore.collector.cronEnv" -}}
{{ include "leadscore.database.env" (list .root false) | trim }}
{{- if .s3 }}
{{ include "leadscore.s3.env" .root }}
{{ include "leadscore.collector.privacyEnv" .root }}
{{- end }}
{{- end }}

{{/*
A CronJob running one `leadscore` command with the chart's pod hardening: the collector's
export and prune, and the scheduled re-scoring. Its pods never call the Kubernetes API.
Usage: include "leadscore.cronJob" (dict "root" . "component" "rescoring" "schedule" "..." "args" (list ...)
  "resources" {...} "env" "<rendered EnvVar list>" "container" "score" "image" "..." "pullPolicy" "..."
  "serviceAccount" "..." "what" "<comment>" "nodeSelector" {...} "tolerations" [...])
*/}}
{{- define "leadscore.cronJob" -}}
{{- $root := .root }}
apiVersion: batch/v1
kind: CronJob
metadata:
  name: {{ include "leadscore.componentName" (list $root .component) }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "leadscore.labels" (list $root .component) | nindent 4 }}
spec:
  schedule: {{ .schedule | quote }}
  timeZone: Etc/UTC
  # a slow run must not overlap the next one
  concurrencyPolicy: Forbid
  successfulJobsHistoryLimit: 3
  failedJobsHistoryLimit: 3
  jobTemplate:
    spec:
      backoffLimit: 2
      template:
        metadata:
          labels:
            {{- include "leadscore.labels" (list $root .component) | nindent 12 }}
        spec:
          restartPolicy: Never
          # {{ .what }}
          automountServiceAccountToken: false
          serviceAccountName: {{ .serviceAccount }}
          {{- with include "leadscore.imagePullSecrets" $root }}{{ . | nindent 10 }}{{ end }}
          securityContext:
            {{- include "leadscore.podSecurityContext" dict | nindent 12 }}
          containers:
            - name: {{ .container }}
              image: {{ .image }}
              imagePullPolicy: {{ .pullPolicy }}
              command: [leadscore]
              args: {{ toJson .args }}
              env:
                {{- .env | nindent 16 }}
              securityContext:
                {{- include "leadscore.containerSecurityContext" $root | nindent 16 }}
              resources:
                {{- toYaml .resources | nindent 16 }}
              volumeMounts:
                - name: tmp
                  mountPath: /tmp
          volumes:
            - name: tmp
              emptyDir:
                sizeLimit: 2Gi
          {{- with .nodeSelector }}
          nodeSelector:
            {{- toYaml . | nindent 12 }}
          {{- end }}
          {{- with .tolerations }}
          tolerations:
            {{- toYaml . | nindent 12 }}
          {{- end }}
{{- end }}

{{- /*
LEADSCORE_LOG_FORMAT and, with (list . true), the OpenTelemetry variables of a traced component
(the collector, the predictors): monitoring.logFormat and monitoring.tracing (docs/monitoring.md).
*/ -}}
{{- define "leadscore.observability.env" -}}
{{- $root := index . 0 }}
{{- $traced := index . 1 }}
{{- $m := $root.Values.monitoring }}
{{- if eq $m.logFormat "json" }}
- name: LEADSCORE_LOG_FORMAT
  value: json
{{- end }}
{{- if and $traced $m.tracing.enabled }}
{{- if not $m.tracing.endpoint }}
{{- fail "monitoring.tracing.endpoint: required when monitoring.tracing.enabled is true (the OTLP/HTTP endpoint, e.g. http://otel-collector.observability:4318)" }}
{{- end }}
- name: OTEL_TRACES_EXPORTER
  value: otlp
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ $m.tracing.endpoint | quote }}
- name: OTEL_TRACES_SAMPLER
  value: parentbased_traceidratio
- name: OTEL_TRACES_SAMPLER_ARG
  value: {{ $m.tracing.sampleRatio | quote }}
{{- end }}
{{- end }}

{{/*
A `helm test` Pod running files/helm-test.py with the chart's pod hardening (Pod Security
restricted). With a serviceAccount it mounts that account's token (for API checks), else none.
Usage: include "leadscore.testPod" (dict "root" . "name" "..." "serviceAccount" "..." "image" "..."
  "pullPolicy" "..." "script" "<files/helm-test.py>" "checks" (list "http:..." ...))
*/}}
{{- define "leadscore.testPod" -}}
{{- $root := .root }}
apiVersion: v1
kind: Pod
metadata:
  name: {{ .name }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "leadscore.labels" (list $root "test") | nindent 4 }}
  annotations:
    helm.sh/hook: test
    # kept after the run so `kubectl logs` shows each check; the next `helm test` replaces it
    helm.sh/hook-delete-policy: before-hook-creation
spec:
  restartPolicy: Never
  automountServiceAccountToken: {{ not (empty .serviceAccount) }}
  {{- with .serviceAccount }}
  serviceAccountName: {{ . }}
  {{- end }}
  {{- with include "leadscore.imagePullSecrets" $root }}{{ . | nindent 2 }}{{ end }}
  securityContext:
    {{- include "leadscore.podSecurityContext" dict | nindent 4 }}
  containers:
    - name: check
      image: {{ .image }}
      imagePullPolicy: {{ .pullPolicy }}
      command: [python, -c, {{ .script | quote }}]
      args: {{ toJson .checks }}
      securityContext:
        {{- include "leadscore.containerSecurityContext" $root | nindent 8 }}
      resources:
        requests:
          cpu: 10m
          memory: 32Mi
        limits:
          memory: 128Mi
{{- end }}

{{/*
The ClusterStorageContainer of leadscore predictors (storagecontainer.yaml), or "" when the chart
makes none: the operator then names none and KServe picks one by the storageUri's scheme.
*/}}
{{- define "leadscore.storageContainerName" -}}
{{- if and .Values.servingRuntime.enabled .Values.servingRuntime.storageContainer.enabled }}
{{- printf "%s-storage" .Values.servingRuntime.name }}
{{- end }}
{{- end }}

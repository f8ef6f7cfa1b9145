// Kept apart from tracing.ts so that deciding loads none of the OpenTelemetry SDK.

/** Whether traces are configured at all, by tidegate.yaml or by the standard OTEL_* variables. */
export function tracingConfigured(
  endpoint: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): boolean {
  return Boolean(endpoint || env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

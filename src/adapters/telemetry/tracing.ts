import { context, trace } from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor, type SpanProcessor } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from "@opentelemetry/semantic-conventions";
import { tracingConfigured } from "./configured";

// The OpenTelemetry SDK, set up only when traces are configured: telemetry.traces.endpoint, or the
// standard OTEL_EXPORTER_OTLP_ENDPOINT / OTEL_EXPORTER_OTLP_TRACES_ENDPOINT variables. Spans go to
// an OTLP/HTTP collector (JSON bodies); stopping flushes what is buffered.

export interface Tracing {
  /** Flushes buffered spans and unregisters the provider. */
  shutdown(): Promise<void>;
}

export interface TracingOptions {
  /** The collector's base URL (as OTEL_EXPORTER_OTLP_ENDPOINT); /v1/traces is appended. */
  endpoint?: string;
  version?: string;
  env?: NodeJS.ProcessEnv;
  /** For tests: the span processor instead of the batching OTLP exporter. */
  processor?: SpanProcessor;
}

/** The collector URL spans are posted to: the configured base with /v1/traces. */
export function tracesUrl(endpoint: string): string {
  return `${endpoint.replace(/\/+$/, "")}/v1/traces`;
}

/** Registers the global tracer provider when traces are configured; undefined otherwise. */
export function startTracing(options: TracingOptions): Tracing | undefined {
  if (!options.processor && !tracingConfigured(options.endpoint, options.env)) return undefined;
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: "tidegate",
      ...(options.version ? { [ATTR_SERVICE_VERSION]: options.version } : {}),
    }),
    // Without an endpoint in tidegate.yaml the exporter reads the OTEL_* variables itself.
    spanProcessors: [
      options.processor ??
        new BatchSpanProcessor(
          new OTLPTraceExporter(options.endpoint ? { url: tracesUrl(options.endpoint) } : {}),
        ),
    ],
  });
  provider.register();
  return {
    shutdown: async () => {
      try {
        await provider.shutdown();
      } finally {
        trace.disable();
        context.disable();
      }
    },
  };
}

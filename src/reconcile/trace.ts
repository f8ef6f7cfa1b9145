import { type Attributes, type Span, SpanStatusCode, trace } from "@opentelemetry/api";

// The engine's spans, through the OpenTelemetry API only: without an SDK registered (no
// telemetry.traces configured) every span is a no-op. Attributes are names, kinds and statuses only.

export const TRACER_NAME = "tidegate";
export const RUN_SPAN = "tidegate.run";

/** Runs `work` in an active span named `name`; a throw marks the span as an error and is rethrown. */
export function inSpan<T>(
  name: string,
  attributes: Attributes,
  work: (span: Span) => Promise<T>,
): Promise<T> {
  return trace.getTracer(TRACER_NAME).startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await work(span);
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.name : "error" });
      throw error;
    } finally {
      span.end();
    }
  });
}

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { trace } from "@opentelemetry/api";
import { withPulumiTracing } from "../../../src/adapters/telemetry/pulumi";
import { startTracing, type Tracing } from "../../../src/adapters/telemetry/tracing";

// Pulumi's previews and updates get --otel-traces and the active span as TRACEPARENT; nothing else
// does, and nothing changes without a configured endpoint.

let tracing: Tracing | undefined;
beforeAll(() => {
  tracing = startTracing({ processor: new SimpleSpanProcessor(new InMemorySpanExporter()) });
});
afterAll(async () => {
  await tracing?.shutdown();
});

describe("withPulumiTracing", () => {
  it("adds --otel-traces and the active span's TRACEPARENT to a preview and an update", async () => {
    await trace.getTracer("test").startActiveSpan("run", async (span) => {
      const { traceId, spanId } = span.spanContext();
      for (const command of ["preview", "up"]) {
        const traced = withPulumiTracing("http://127.0.0.1:4318", [command, "--json"], { A: "1" });
        expect(traced.args).toEqual([command, "--json", "--otel-traces", "http://127.0.0.1:4318"]);
        expect(traced.env).toEqual({ A: "1", TRACEPARENT: `00-${traceId}-${spanId}-01` });
      }
      span.end();
    });
  });

  it("leaves other commands, and every command without an endpoint, as they were", () => {
    const env = { A: "1" };
    expect(withPulumiTracing("http://c:4318", ["stack", "ls"], env)).toEqual({ args: ["stack", "ls"], env });
    expect(withPulumiTracing(undefined, ["preview"], env)).toEqual({ args: ["preview"], env });
  });
});

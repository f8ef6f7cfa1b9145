import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { SpanStatusCode } from "@opentelemetry/api";
import { startTracing, type Tracing } from "../../../src/adapters/telemetry/tracing";
import { tracingConfigured } from "../../../src/adapters/telemetry/configured";
import { PulumiError } from "../../../src/adapters/pulumi/errors";
import { RUN_SPAN } from "../../../src/reconcile/trace";
import { changes, FakeStack, resource } from "../../support/fake-stack";
import { environment, SYNC, useRunHarness } from "../../support/run-harness";

// The span structure of one run (Git, the stack and the clock faked): a root span per run with its
// attributes, and one child per stage that timed() records, exported in memory.

const h = useRunHarness();
const exporter = new InMemorySpanExporter();
let tracing: Tracing | undefined;

beforeAll(() => {
  tracing = startTracing({ processor: new SimpleSpanProcessor(exporter) });
});
afterAll(async () => {
  await tracing?.shutdown();
});

describe("a run's spans", () => {
  it("are one run span with the run's attributes and a child span per stage, in the run's trace", async () => {
    exporter.reset();
    const deployed = h.git.add("deployed");
    h.git.branches.set("env/test", h.git.add("head", { parent: deployed }));
    h.stack = new FakeStack({
      pending: [changes("pending", resource("logs", "create"))],
      drift: [changes("drift")],
      deployed: { commit: deployed, version: 1, endTime: new Date(0) },
    });
    const report = await h.run(environment(), SYNC);

    const spans = exporter.getFinishedSpans();
    const runs = spans.filter((s) => s.name === RUN_SPAN);
    expect(runs).toHaveLength(1);
    const run = runs[0]!;
    expect(run.attributes).toEqual({
      "tidegate.environment": "test",
      "tidegate.stack": "test",
      "tidegate.mode": "sync",
      "tidegate.trigger": "schedule",
      "tidegate.run_id": report.runId,
      "tidegate.status": report.status,
    });
    const stages = spans.filter((s) => s !== run);
    // Every stage the report timed has its span, and each is a child of the run's span.
    expect(stages.map((s) => s.name).sort()).toEqual(
      Object.keys(report.timings)
        .map((stage) => `tidegate.${stage}`)
        .sort(),
    );
    expect(stages.map((s) => s.name)).toContain("tidegate.sync");
    for (const stage of stages) {
      expect(stage.spanContext().traceId).toBe(run.spanContext().traceId);
      expect(stage.parentSpanContext?.spanId).toBe(run.spanContext().spanId);
    }
  });

  it("mark a stage that throws as an error", async () => {
    exporter.reset();
    const deployed = h.git.add("deployed");
    h.git.branches.set("env/test", h.git.add("head", { parent: deployed }));
    h.stack = new FakeStack({
      pending: [new PulumiError("provider-error", "error: creating bucket failed")],
      drift: [changes("drift")],
      deployed: { commit: deployed, version: 1, endTime: new Date(0) },
    });
    const report = await h.run(environment(), SYNC);
    const spans = exporter.getFinishedSpans();
    expect(report.status).toBe("Failed");
    expect(spans.find((s) => s.name === "tidegate.preview")?.status.code).toBe(SpanStatusCode.ERROR);
    expect(spans.find((s) => s.name === "tidegate.poll")?.status.code).toBe(SpanStatusCode.UNSET);
    expect(spans.find((s) => s.name === RUN_SPAN)?.attributes["tidegate.status"]).toBe("Failed");
  });
});

describe("whether traces are exported", () => {
  it("follows telemetry.traces.endpoint or the standard OTEL variables", () => {
    expect(tracingConfigured(undefined, {})).toBe(false);
    expect(tracingConfigured("http://127.0.0.1:4318", {})).toBe(true);
    expect(tracingConfigured(undefined, { OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318" })).toBe(true);
    expect(tracingConfigured(undefined, { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://c/v1/traces" })).toBe(
      true,
    );
    expect(startTracing({ env: {} })).toBeUndefined();
  });
});

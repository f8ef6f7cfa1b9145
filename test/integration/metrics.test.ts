import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { awsEnvVars } from "../../src/devenv/emulator";
import { STATUSES } from "../../src/app/metrics";
import { emulatorDefinition } from "../helpers/aws";
import { apiUrlOf } from "../helpers/api";
import { configureServed, createEngineFixture, type EngineFixture } from "../helpers/engine";
import { parseMetrics, sampleValue } from "../helpers/metrics";
import { eventually, killTidegate, startTidegate, type TidegateProcess } from "../helpers/process";

// /metrics of a real `tidegate run` (real engine, Git, the emulator) scraped over real HTTP and read
// with a real Prometheus text parser: the values match the store. /readyz is 200, and the run and
// stage spans reach a real OTLP/HTTP receiver on loopback, flushed when the daemon stops.

interface OtlpSpan {
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  attributes?: { key: string; value: { stringValue?: string } }[];
}

/**
 * A collector's /v1/traces: keeps every span of tidegate's JSON export requests, and the raw
 * protobuf bodies the Pulumi CLI sends.
 */
function otlpReceiver(): { server: Server; spans: OtlpSpan[]; contentTypes: string[]; protobuf: Buffer[] } {
  const spans: OtlpSpan[] = [];
  const contentTypes: string[] = [];
  const protobuf: Buffer[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      contentTypes.push(`${req.method} ${req.url} ${req.headers["content-type"] ?? ""}`);
      if (req.url === "/v1/traces" && req.headers["content-type"] === "application/json") {
        const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
          resourceSpans: { scopeSpans: { spans: OtlpSpan[] }[] }[];
        };
        for (const r of body.resourceSpans) for (const s of r.scopeSpans) spans.push(...s.spans);
      }
      if (req.url === "/v1/traces" && req.headers["content-type"] === "application/x-protobuf") {
        protobuf.push(Buffer.concat(chunks));
      }
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  return { server, spans, contentTypes, protobuf };
}

describe("metrics and traces of tidegate run", () => {
  let f: EngineFixture;
  let daemon: TidegateProcess | undefined;
  const receiver = otlpReceiver();

  beforeAll(async () => {
    await new Promise<void>((resolve) => receiver.server.listen(0, "127.0.0.1", resolve));
    const { port } = receiver.server.address() as AddressInfo;
    f = await createEngineFixture([
      { name: "test", sync: "auto", drift: "report", definition: emulatorDefinition() },
      { name: "prod", sync: "gated", drift: "report", definition: emulatorDefinition() },
    ]);
    configureServed(f.configPath, {
      telemetry: { traces: { endpoint: `http://127.0.0.1:${port}` } },
    });
  });
  afterAll(async () => {
    await killTidegate(daemon);
    receiver.server.close();
    await f?.cleanup();
  });

  it("serves metrics that match the store, is ready, and exports a span per run and stage", async () => {
    daemon = startTidegate(
      ["run", "--config", f.configPath, "--log-format", "json"],
      awsEnvVars(inject("aws")),
    );
    const d = daemon;
    const logs = () => `daemon stderr:\n${d.stderr().slice(-4000)}`;
    const root = new URL("/", await apiUrlOf(d)).href;

    expect((await fetch(`${root}healthz`)).status).toBe(200);
    // The startup checks are done when the daemon says it watches.
    await eventually(
      () => `the startup checks (${logs()})`,
      400_000,
      async () => (d.stdout().includes("Watching 2 environments") ? true : undefined),
    );

    const ready = await fetch(`${root}readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: "ready", checks: { store: "ok", toolchain: "ok" } });

    const res = await fetch(`${root}metrics`);
    expect(res.status).toBe(200);
    const m = parseMetrics(await res.text());
    const store = f.engine.store;
    const states = await store.statuses();
    expect(states.map((s) => [s.environment, s.status]).sort()).toEqual([
      ["prod", "AwaitingApproval"],
      ["test", "Synced"],
    ]);
    for (const state of states) {
      const labels = { environment: state.environment, stack: state.stack };
      for (const status of STATUSES) {
        expect(sampleValue(m, "tidegate_environment_status", { ...labels, status }), status).toBe(
          status === state.status ? 1 : 0,
        );
      }
      expect(sampleValue(m, "tidegate_environment_pending_resources", labels)).toBe(state.pendingCount);
      expect(sampleValue(m, "tidegate_environment_drifted_resources", labels)).toBe(state.driftCount);
    }
    expect(states.find((s) => s.environment === "prod")?.pendingCount).toBeGreaterThan(0);
    // prod waits since its report; test was synced by its run.
    const since = await store.statusSince("prod", "AwaitingApproval");
    const age = sampleValue(m, "tidegate_environment_status_age_seconds", {
      environment: "prod",
      status: "AwaitingApproval",
    });
    expect(age).toBeGreaterThanOrEqual(0);
    expect(age).toBeLessThanOrEqual((Date.now() - Date.parse(since ?? "")) / 1000 + 1);
    const testReport = await store.latestReport("test");
    expect(testReport?.sync?.applied).toBe(true);
    expect(sampleValue(m, "tidegate_environment_last_sync_timestamp_seconds", { environment: "test" })).toBe(
      Date.parse(testReport?.endedAt ?? "") / 1000,
    );
    for (const gate of (await store.latestReport("prod"))?.gates ?? []) {
      const labels = { environment: "prod", gate: gate.gate, verdict: gate.verdict };
      expect(sampleValue(m, "tidegate_gate_verdict", labels)).toBe(1);
    }
    // One observation per run the store recorded, each by its kind; a stage per run.
    const runs = await store.runs();
    expect(runs).toHaveLength(2);
    for (const kind of new Set(runs.map((r) => r.kind))) {
      expect(sampleValue(m, "tidegate_run_duration_seconds_count", { mode: kind })).toBe(
        runs.filter((r) => r.kind === kind).length,
      );
      expect(
        sampleValue(m, "tidegate_run_phase_duration_seconds_count", { mode: kind, phase: "preview" }),
      ).toBe(runs.filter((r) => r.kind === kind).length);
    }
    expect(sampleValue(m, "tidegate_queue_in_flight")).toBe(0);

    // A clean stop flushes the spans still buffered.
    d.child.kill("SIGTERM");
    expect(await d.exit).toEqual({ code: 0, signal: null });
    const spans = receiver.spans;
    expect(receiver.contentTypes.length, receiver.contentTypes.join("\n")).toBeGreaterThan(0);
    const runSpans = spans.filter((s) => s.name === "tidegate.run");
    const attribute = (s: OtlpSpan, key: string) =>
      s.attributes?.find((a) => a.key === key)?.value.stringValue;
    expect(runSpans.map((s) => attribute(s, "tidegate.run_id")).sort()).toEqual(runs.map((r) => r.id).sort());
    for (const run of runSpans) {
      const children = spans.filter((s) => s.parentSpanId === run.spanId);
      const report = await store.report(attribute(run, "tidegate.run_id") ?? "");
      expect(attribute(run, "tidegate.status")).toBe(report?.status);
      expect(children.map((s) => s.name).sort()).toEqual(
        Object.keys(report?.timings ?? {})
          .map((stage) => `tidegate.${stage}`)
          .sort(),
      );
      for (const child of children) expect(child.traceId).toBe(run.traceId);
      // The Pulumi CLI's own spans (--otel-traces, TRACEPARENT) are in the run's trace.
      const traceId = Buffer.from(run.traceId, "hex");
      expect(
        receiver.protobuf.some((body) => body.includes(traceId)),
        `Pulumi spans of run ${attribute(run, "tidegate.run_id")} among ${receiver.protobuf.length} protobuf bodies:\n${receiver.contentTypes.join("\n")}`,
      ).toBe(true);
    }
  });
});

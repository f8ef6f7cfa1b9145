import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { openMemoryStore } from "../../../src/adapters/store/memory";
import { Telemetry } from "../../../src/app/metrics";
import { readinessCheck } from "../../../src/compose";
import { createApp } from "../../../src/server";
import type { Readiness } from "../../../src/server/metrics";
import { fakeApi, principal } from "../server/fixture";
import { parseMetrics, sampleValue } from "../../helpers/metrics";

// /metrics, /healthz and /readyz on the API's app: open or behind a read token, and readiness that
// names the part that is not ready (a real toolchain folder on disk, a store that fails to read).

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

function toolchainDir(bins: string[]): { binDir: string; root: string } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "tidegate-toolchain-"));
  dirs.push(root);
  const binDir = path.join(root, "bin");
  fs.mkdirSync(binDir);
  for (const bin of bins) fs.writeFileSync(path.join(binDir, bin), "#!/bin/sh\n", { mode: 0o755 });
  return { binDir, root };
}

function app(options: { requireToken?: boolean; readiness?: () => Promise<Readiness> } = {}) {
  const telemetry = new Telemetry();
  telemetry.watch({
    store: openMemoryStore(),
    environments: () => [{ name: "prod", stack: "prod" }],
    now: () => new Date(),
  });
  return createApp({
    api: fakeApi(),
    authenticate: async (secret) => principal(secret),
    anonymousRead: false,
    log: { error: () => {} },
    telemetry: {
      scrape: () => telemetry.scrape(),
      readiness:
        options.readiness ?? (async () => ({ ready: true, checks: { store: "ok", toolchain: "ok" } })),
      requireToken: options.requireToken ?? false,
    },
  });
}

describe("/metrics", () => {
  it("is open by default, in the Prometheus text format", async () => {
    const res = await app().request("/metrics");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/plain; version=0.0.4");
    const families = parseMetrics(await res.text());
    expect(
      sampleValue(families, "tidegate_environment_status", { environment: "prod", status: "Unknown" }),
    ).toBe(1);
  });

  it("wants a token with read when telemetry.metrics.requireToken is set", async () => {
    const a = app({ requireToken: true });
    expect((await a.request("/metrics")).status).toBe(401);
    const auth = (secret: string) => ({ headers: { authorization: `Bearer ${secret}` } });
    expect((await a.request("/metrics", auth("tg_unknown"))).status).toBe(401);
    expect((await a.request("/metrics", auth("tg_read"))).status).toBe(200);
    // Health checks stay open for the orchestrator.
    expect((await a.request("/healthz")).status).toBe(200);
  });
});

describe("/readyz", () => {
  it("is 503 naming the part that is not ready, and 200 once both are", async () => {
    let ready = false;
    const a = app({
      readiness: async () => ({
        ready,
        checks: { store: "ok", toolchain: ready ? "ok" : "not usable: gone" },
      }),
    });
    const res = await a.request("/readyz");
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({
      status: "not ready",
      checks: { store: "ok", toolchain: "not usable: gone" },
    });
    ready = true;
    expect((await a.request("/readyz")).status).toBe(200);
  });
});

describe("the readiness check", () => {
  it("is ready with a store that reads and an executable Pulumi CLI and language host", async () => {
    const check = readinessCheck(openMemoryStore(), toolchainDir(["pulumi", "pulumi-language-nodejs"]));
    expect(await check()).toEqual({ ready: true, checks: { store: "ok", toolchain: "ok" } });
  });

  it("names a missing language host and a store that fails", async () => {
    const store = { statuses: async () => Promise.reject(new Error("database is locked")) };
    const result = await readinessCheck(store, toolchainDir(["pulumi"]))();
    expect(result.ready).toBe(false);
    expect(result.checks.store).toBe("not usable: database is locked");
    expect(result.checks.toolchain).toMatch(/^not usable: .*pulumi-language-nodejs/);
  });
});

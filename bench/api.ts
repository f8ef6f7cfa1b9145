// The HTTP API and the dashboard on a store the size of a busy installation (100 environments, 10,000
// runs): latency over real HTTP, against reading the same rows as `tidegate status --json` does.
// Run alone with `npx tsx bench/api.ts`; `npm run bench` runs it after the engine bench.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PassThrough } from "node:stream";
import { person } from "../src/app/actor";
import { type ReadPorts, status } from "../src/app/read";
import { TokenService } from "../src/app/tokens";
import { openAuditLog } from "../src/compose";
import { openSqliteStore, STORE_FILE } from "../src/adapters/store/sqlite";
import type { Store } from "../src/adapters/store/port";
import type { EnvironmentStatus } from "../src/domain/model";
import { createLogger } from "../src/log";
import { createApp } from "../src/server";
import { startServer } from "../src/server/listen";
import { readApiPorts } from "../src/server/engine-ports";
import type { ApiPorts } from "../src/server/ports";
import { gatedReport } from "../test/unit/report/fixture";

export const ENVIRONMENTS = 100;
export const RUNS_PER_ENVIRONMENT = 100;
const REQUESTS = 200;
const WARM_UP = 20;
/** The goal for a page or an API call on this data: p95 under this. */
export const GOAL_P95_MS = 50;

const STATUSES: EnvironmentStatus[] = ["Synced", "OutOfSync", "Drifted", "AwaitingApproval", "Blocked"];
const MINUTE = 60_000;
const START = Date.parse("2026-01-01T00:00:00.000Z");

export interface LatencyRow {
  name: string;
  /** Undefined: the route is not built (it did not answer 200). */
  p50?: number;
  p95?: number;
  /** The baseline's median, when the row compares to one. */
  baseline?: number;
}

/**
 * Seeds the store through its own API: each environment's newest runs share its current status for
 * a stretch as long as its index (so "since when" reads up to 100 runs back), older ones vary.
 */
export async function seedStore(store: Store, environments: readonly string[]): Promise<void> {
  for (const [i, environment] of environments.entries()) {
    const current = STATUSES[i % STATUSES.length] ?? "Synced";
    const heldFor = (i % RUNS_PER_ENVIRONMENT) + 1;
    let last: { runId: string; at: string; sha: string } | undefined;
    for (let j = 0; j < RUNS_PER_ENVIRONMENT; j++) {
      const runId = `${environment}-run-${String(j).padStart(4, "0")}`;
      const at = new Date(START + (j * environments.length + i) * MINUTE).toISOString();
      const held = j >= RUNS_PER_ENVIRONMENT - heldFor;
      const runStatus = held ? current : (STATUSES[(i + j + 1) % STATUSES.length] ?? "Synced");
      const sha = j.toString(16).padStart(40, "0");
      await store.startRun({
        id: runId,
        environment,
        stack: environment,
        kind: "check",
        trigger: "schedule",
        owner: "bench/1/0/x",
        startedAt: at,
        commit: sha,
      });
      await store.finishRun(runId, "succeeded");
      const base = gatedReport();
      await store.saveReport({
        ...base,
        runId,
        environment,
        stack: environment,
        branch: environment,
        status: runStatus,
        startedAt: at,
        endedAt: at,
        ...(base.desired ? { desired: { ...base.desired, sha } } : {}),
        ...(base.plan ? { plan: { ...base.plan, commit: sha } } : {}),
      });
      last = { runId, at, sha };
    }
    await store.setStatus({
      environment,
      branch: environment,
      stack: environment,
      status: current,
      headCommit: last?.sha,
      pendingCount: 1,
      driftCount: 1,
      lastRunId: last?.runId,
      lastRunAt: last?.at,
      updatedAt: last?.at ?? new Date(START).toISOString(),
    });
  }
}

/** The API's read use cases over the store, as enginePorts wires them; the bench changes nothing. */
function readOnlyPorts(read: ReadPorts): ApiPorts {
  const refuse = async (): Promise<never> => {
    throw new Error("the API bench only reads");
  };
  return {
    ...readApiPorts(read),
    approve: refuse,
    plan: refuse,
    resolveDrift: refuse,
    revoke: refuse,
    request: refuse,
    requestProgress: refuse,
    promote: refuse,
    audit: refuse,
    webhookDeliveries: async () => [],
    verifyAudit: refuse,
  };
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

/** p50 and p95 of `REQUESTS` sequential GETs after a warm-up; undefined when the route is not 200. */
async function latency(
  url: string,
  headers: Record<string, string>,
): Promise<{ p50: number; p95: number } | undefined> {
  const get = async () => {
    const response = await fetch(url, { headers, redirect: "manual" });
    await response.arrayBuffer();
    return response.status;
  };
  if ((await get()) !== 200) return undefined;
  for (let i = 0; i < WARM_UP; i++) await get();
  const times = await sortedTimes(REQUESTS, get);
  return { p50: percentile(times, 50), p95: percentile(times, 95) };
}

/**
 * What a signed-in browser sends for a page: the bearer token if the pages take it, else the session
 * cookie a POST /login form gives.
 */
async function pageHeaders(origin: string, secret: string): Promise<Record<string, string>> {
  const bearer = { authorization: `Bearer ${secret}` };
  const first = await fetch(`${origin}/`, { headers: bearer, redirect: "manual" });
  await first.arrayBuffer();
  if (first.status === 200) return bearer;
  const login = await fetch(`${origin}/login`, {
    method: "POST",
    // A browser sends its origin with a form; the sign-in's CSRF check wants it.
    headers: { origin },
    body: new URLSearchParams({ token: secret, next: "/" }),
    redirect: "manual",
  });
  await login.arrayBuffer();
  const cookie = login.headers
    .getSetCookie()
    .map((c) => c.split(";")[0])
    .join("; ");
  return cookie ? { cookie } : bearer;
}

/** How long each of `n` sequential calls took, in ms, shortest first. */
async function sortedTimes(n: number, fn: () => Promise<unknown>): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    await fn();
    times.push(performance.now() - start);
  }
  return times.sort((a, b) => a - b);
}

export async function apiBench(log: (line: string) => void = (l) => console.error(l)): Promise<LatencyRow[]> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "tidegate-bench-api-"));
  const store = openSqliteStore(path.join(dataDir, STORE_FILE));
  const names = Array.from({ length: ENVIRONMENTS }, (_, i) => `env-${String(i).padStart(3, "0")}`);
  try {
    const seeded = performance.now();
    await seedStore(store, names);
    log(
      `seeded ${ENVIRONMENTS} environments × ${RUNS_PER_ENVIRONMENT} runs in ${((performance.now() - seeded) / 1000).toFixed(1)} s`,
    );
    const read: ReadPorts = {
      store,
      environments: names.map((name) => ({ name, branch: name, stack: name })),
      isOwnerDead: () => false,
    };
    const tokens = new TokenService({ store, audit: openAuditLog(dataDir) });
    const { secret } = await tokens.create(
      { name: "bench-reader", owner: "bench@example.com", scopes: ["read"] },
      person("bench@example.com"),
    );
    const app = createApp({
      api: readOnlyPorts(read),
      authenticate: (s) => tokens.authenticate(s),
      anonymousRead: false,
      log: createLogger({ mode: "json", stream: new PassThrough().resume() }),
    });
    const server = await startServer(app.fetch, { host: "127.0.0.1", port: 0, anonymousRead: false });
    try {
      // The baseline: what `tidegate status --json` does once its store is open (read every status
      // row, then print it), in this process so process start-up does not hide the difference.
      const statusJson = async () => JSON.stringify({ environments: await status(read) });
      const baseline = percentile(await sortedTimes(21, statusJson), 50);
      const origin = server.url.replace(/\/api\/v1$/, "");
      const auth = { authorization: `Bearer ${secret}` };
      const rows: LatencyRow[] = [];
      const api = await latency(`${server.url}/environments`, auth);
      rows.push({ name: "GET /api/v1/environments", ...api, baseline });
      const history = await latency(`${server.url}/environments/${names[50]}/runs?page=3&limit=20`, auth);
      rows.push({ name: "GET /api/v1/environments/:env/runs?page=3", ...history });
      const pipeline = await latency(`${origin}/`, await pageHeaders(origin, secret));
      rows.push({ name: "GET / (pipeline page)", ...pipeline, baseline });
      return rows;
    } finally {
      await server.close();
    }
  } finally {
    await store.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

/** The rows as the bench prints its tables: p50, p95, the baseline and the ratio of p95 to it. */
export function formatLatencyTable(rows: readonly LatencyRow[]): string {
  const ms = (n: number | undefined) => (n === undefined ? "–" : `${n.toFixed(1)} ms`);
  const lines = [
    `| request (${ENVIRONMENTS} environments × ${RUNS_PER_ENVIRONMENT} runs; goal p95 < ${GOAL_P95_MS} ms) | p50 | p95 | status --json | ratio (p95) |`,
    "|---|---:|---:|---:|---:|",
  ];
  for (const row of rows) {
    if (row.p95 === undefined) {
      lines.push(`| ${row.name} | not built | | | |`);
      continue;
    }
    const ratio = row.baseline === undefined ? "" : `${(row.p95 / row.baseline).toFixed(2)}×`;
    const goal = row.p95 < GOAL_P95_MS ? "" : " (over the goal)";
    lines.push(
      `| ${row.name} | ${ms(row.p50)} | ${ms(row.p95)}${goal} | ${row.baseline === undefined ? "" : ms(row.baseline)} | ${ratio} |`,
    );
  }
  return lines.join("\n");
}

if (require.main === module) {
  apiBench()
    .then((rows) => console.log(formatLatencyTable(rows)))
    .catch((error: unknown) => {
      console.error(error);
      process.exit(1);
    });
}

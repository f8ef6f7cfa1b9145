import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it, vi } from "vitest";
import { awsEnvVars } from "../../src/devenv/emulator";
import { emulatorDefinition } from "../helpers/aws";
import { apiUrlOf, createApiToken } from "../helpers/api";
import {
  configureServed,
  createEngineFixture,
  type EngineFixture,
  PROJECT,
  setStackConfig,
} from "../helpers/engine";
import { type GitHttpServer, selfSignedCertificate, startGitHttpServer } from "../helpers/git-http";
import { eventually, killTidegate, startTidegate, type TidegateProcess } from "../helpers/process";

// Every secret tidegate is given, planted at once in a real `tidegate run`, then every HTTP answer
// it can give swept for them: each API route (good and bad input, each scope) and every dashboard
// page reachable from the pipeline. A status line, header or body holding one is a leak.

const GIT_USER = "sweep-bot";
// Characters a URL must encode: the decoded and the encoded form are both planted.
const GIT_PASSWORD = `pw@${randomBytes(6).toString("hex")}/:x`;
const STACK_PASSPHRASE = `stack-pass-${randomBytes(6).toString("hex")}`;
const READ_CREDENTIAL = `read-cred-${randomBytes(6).toString("hex")}`;
const UPDATE_CREDENTIAL = `update-cred-${randomBytes(6).toString("hex")}`;
const CONFIG_VALUE = `config-value-${randomBytes(6).toString("hex")}`;
const API_KEYS = [
  `api-key-one-${randomBytes(6).toString("hex")}`,
  `api-key-two-${randomBytes(6).toString("hex")}`,
];
const MAX_PAGES = 200;

interface Seen {
  what: string;
  text: string;
}

describe("no planted secret reaches an HTTP answer", () => {
  let f: EngineFixture;
  let git: GitHttpServer;
  let daemon: TidegateProcess | undefined;
  let xdgConfigHome: string;

  beforeAll(async () => {
    vi.stubEnv("SWEEP_STACK_PASSPHRASE", STACK_PASSPHRASE);
    vi.stubEnv("SWEEP_READ_CREDENTIAL", READ_CREDENTIAL);
    vi.stubEnv("SWEEP_UPDATE_CREDENTIAL", UPDATE_CREDENTIAL);
    const emulator = emulatorDefinition() as {
      config: Record<string, string>;
      credentials: { read: Record<string, unknown> };
    };
    f = await createEngineFixture([
      {
        name: "test",
        sync: "auto",
        drift: "report",
        definition: {
          config: { ...emulator.config, SWEEP_SETTING: CONFIG_VALUE },
          credentials: {
            read: { ...emulator.credentials.read, SWEEP_TOKEN: { env: "SWEEP_READ_CREDENTIAL" } },
            update: { ...emulator.credentials.read, SWEEP_TOKEN: { env: "SWEEP_UPDATE_CREDENTIAL" } },
          },
          secrets: { passphrase: { env: "SWEEP_STACK_PASSPHRASE" } },
        },
      },
      { name: "prod", sync: "gated", drift: "report", definition: emulatorDefinition() },
    ]);
    // test's queue carries the stack secret apiKey as a tag, once it is set.
    const program = fs.readFileSync(path.join(f.remote.workDir, PROJECT, "index.ts"), "utf8");
    const withKey = program
      .replace(
        "const events = new Queue(",
        'const apiKey = config.getSecret("apiKey");\nconst events = new Queue(',
      )
      .replace(
        '  messageRetentionSeconds: (config.getNumber("messageRetentionDays") ?? 4) * 86_400,\n  tags,\n',
        '  messageRetentionSeconds: (config.getNumber("messageRetentionDays") ?? 4) * 86_400,\n  tags: apiKey ? { ...tags, "api-key": apiKey } : tags,\n',
      );
    expect(withKey).toContain('"api-key": apiKey');
    await f.commitTo("test", { [`${PROJECT}/index.ts`]: withKey }, "Tag the queue with the API key");

    // The repository over HTTPS, with the credentials in the URL (encoded, as a URL must).
    const tls = selfSignedCertificate(f.remote.root);
    xdgConfigHome = tls.xdgConfigHome;
    git = await startGitHttpServer({
      projectRoot: f.remote.root,
      username: GIT_USER,
      password: GIT_PASSWORD,
      tls: { key: tls.key, cert: tls.cert },
    });
    const repo = path.relative(f.remote.root, f.remote.remoteDir);
    const url = git.url(repo).replace("https://", `https://${GIT_USER}:${encodeURIComponent(GIT_PASSWORD)}@`);
    configureServed(f.configPath, { repository: { url } });
  });
  afterAll(async () => {
    await killTidegate(daemon);
    await git?.close();
    await f?.cleanup();
    vi.unstubAllEnvs();
  });

  it("sweeps every API route and dashboard page, with each token, for every planted value", async () => {
    const dataDir = path.join(path.dirname(f.configPath), "data");
    const reader = await createApiToken(dataDir, "sweep-reader", ["read"]);
    const admin = await createApiToken(dataDir, "sweep-admin", ["admin"]);
    daemon = startTidegate(["run", "--config", f.configPath, "--log-format", "json"], {
      ...awsEnvVars(inject("aws")),
      XDG_CONFIG_HOME: xdgConfigHome,
    });
    const d = daemon;
    const logs = () => `daemon stderr:\n${d.stderr().slice(-4000)}`;
    const base = await apiUrlOf(d);
    const origin = base.replace(/\/api\/v1$/, "");
    const json = async (secret: string, route: string, init: RequestInit = {}) => {
      const response = await fetch(`${base}${route}`, {
        ...init,
        headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    type Row = { environment: string; status: string; lastRunId?: string };
    const rows = async () => ((await json(reader, "/environments")).body.environments as Row[]) ?? [];
    const settled = (lastRun?: string) =>
      eventually(
        () => `test Synced after ${lastRun ?? "start"} and prod AwaitingApproval (${logs()})`,
        300_000,
        async () => {
          const list = await rows();
          const row = (name: string) => list.find((r) => r.environment === name);
          return row("test")?.status === "Synced" &&
            row("test")?.lastRunId !== lastRun &&
            row("prod")?.status === "AwaitingApproval"
            ? (row("test")?.lastRunId ?? "")
            : undefined;
        },
      );
    let lastTestRun = await settled();

    // The stack secret, set as a developer would (pulumi config set --secret) and committed
    // encrypted; then changed.
    for (const key of API_KEYS) {
      const encrypted = await setStackConfig(f, "test", {
        passphrase: STACK_PASSPHRASE,
        values: { apiKey: key },
        secret: true,
        message: "Set the API key",
      });
      expect(encrypted).not.toContain(key);
      expect((await json(admin, "/environments/test/sync", { method: "POST" })).status).toBe(202);
      lastTestRun = await settled(lastTestRun);
    }

    // Control: the secret did reach a report, masked (the run that added it), and Git did use the
    // credentials. (The run that changed it lists the queue's update with no property: the engine's
    // events show both values as "[secret]", so no difference is seen.)
    const history = (await json(reader, "/environments/test/runs?limit=50")).body.items as {
      runId: string;
    }[];
    const reports = await Promise.all(
      history.map(async ({ runId }) =>
        JSON.stringify((await json(reader, `/environments/test/runs/${runId}/report`)).body),
      ),
    );
    expect(reports.find((r) => r.includes('"tags.api-key"'))).toContain("[secret]");
    expect(git.counts.authorized).toBeGreaterThan(0);

    const planted = [
      GIT_PASSWORD,
      encodeURIComponent(GIT_PASSWORD),
      Buffer.from(`${GIT_USER}:${GIT_PASSWORD}`).toString("base64"),
      f.passphrase,
      Buffer.from(f.passphrase).toString("base64"),
      fs.readFileSync(path.join(path.dirname(f.configPath), "passphrase"), "utf8").trim(),
      STACK_PASSPHRASE,
      Buffer.from(STACK_PASSPHRASE).toString("base64"),
      READ_CREDENTIAL,
      UPDATE_CREDENTIAL,
      CONFIG_VALUE,
      ...API_KEYS,
    ];
    const seen: Seen[] = [];
    const record = async (what: string, response: Response): Promise<string> => {
      const body = await response.text();
      const headers = [...response.headers].map(([k, v]) => `${k}: ${v}`).join("\n");
      seen.push({ what, text: `${response.status} ${response.statusText}\n${headers}\n\n${body}` });
      return body;
    };

    // The API: every route of the OpenAPI document, path parameters filled with real and bad values.
    const spec = (await json(reader, "/openapi.json")).body as {
      paths: Record<string, Record<string, unknown>>;
    };
    const runIds = (
      (await json(reader, "/environments/test/runs?limit=50")).body.items as { runId: string }[]
    )
      .map((r) => r.runId)
      .slice(0, 3);
    expect(runIds.length).toBeGreaterThan(0);
    const values: Record<string, string[]> = {
      env: ["test", "prod", "nope", "..%2F..%2Fetc"],
      runId: [...runIds, "nope"],
      seq: ["1", "2", "999999", "abc"],
    };
    const expand = (template: string): string[] => {
      const match = /\{(\w+)\}/.exec(template);
      if (!match) return [template];
      return (values[match[1] ?? ""] ?? ["x"]).flatMap((v) => expand(template.replace(match[0], v)));
    };
    const badBodies = [
      undefined,
      "not json",
      "{}",
      JSON.stringify({ digest: `sha256:${"0".repeat(64)}` }),
      JSON.stringify({ from: "nope", approver: 5 }),
    ];
    let operations = 0;
    for (const [template, methods] of Object.entries(spec.paths)) {
      const route = template.replace(/^\/api\/v1/, "");
      for (const method of Object.keys(methods)) {
        operations++;
        for (const url of expand(route)) {
          if (method === "get") {
            for (const [who, secret] of [
              ["reader", reader],
              ["admin", admin],
              ["anonymous", undefined],
            ] as const) {
              const response = await fetch(`${base}${url}`, {
                headers: secret ? { authorization: `Bearer ${secret}` } : {},
              });
              await record(`GET ${url} as ${who}`, response);
            }
            continue;
          }
          // A read token may change nothing: 403, whatever the body.
          const post = (secret: string, body: string | undefined) =>
            fetch(`${base}${url}`, {
              method: method.toUpperCase(),
              headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
              ...(body === undefined ? {} : { body }),
            });
          const refused = await post(reader, JSON.stringify({ digest: `sha256:${"0".repeat(64)}` }));
          await record(`${method} ${url} as reader`, refused);
          if (url.includes("/environments/test/") || url.includes("/environments/prod/")) {
            expect(refused.status, `${method} ${url}`).toBe(403);
          }
          // An admin's bad input: 400 or 409 (or 404 for an unknown environment), never a change.
          // A check, a sync or a preview (POST .../plan: every field optional) takes an empty body.
          const plain = /\/(check|sync|plan)$/.test(url);
          if (plain && !url.includes("/nope/")) continue; // any input would be a real request
          for (const body of badBodies) {
            if (url.endsWith("/approve") && body === badBodies[3] && !url.includes("/prod/")) continue;
            const response = await post(admin, body);
            await record(`${method} ${url} as admin with ${body ?? "no body"}`, response);
            // Revoking with no filter revokes the admin's own approvals: none, so nothing changes.
            if (!url.endsWith("/revoke") || body === "not json") {
              expect(response.status, `${method} ${url} with ${body}`).not.toBeLessThan(400);
            }
          }
        }
      }
    }
    expect(operations).toBeGreaterThanOrEqual(12);

    // The dashboard: signed in with the form (as each token), every same-origin link from the
    // pipeline, bounded.
    const page = (url: string, who: Record<string, string>) =>
      fetch(new URL(url, origin), { headers: who, redirect: "manual" });
    let cookie = "";
    let pagesFound = 0;
    let pipelineBuilt = false;
    const visited = new Set<string>();
    for (const [who, secret] of [
      ["reader", reader],
      ["admin", admin],
    ] as const) {
      const login = await fetch(`${origin}/login`, {
        method: "POST",
        body: new URLSearchParams({ token: secret, next: "/" }),
        redirect: "manual",
      });
      await record(`POST /login as ${who}`, login);
      cookie = login.headers
        .getSetCookie()
        .map((c) => c.split(";")[0])
        .join("; ");
      const queue = ["/", "/audit", "/login", "/no-such-page", "/environments/nope"];
      const mine = new Set<string>();
      while (queue.length > 0 && mine.size < MAX_PAGES) {
        const next = queue.shift() ?? "/";
        if (mine.has(next)) continue;
        mine.add(next);
        visited.add(next);
        const response = await page(next, cookie ? { cookie } : {});
        const body = await record(`page ${next} as ${who}`, response);
        if (response.status === 200) pagesFound++;
        if (next === "/" && response.status === 200) pipelineBuilt = true;
        if (!(response.headers.get("content-type") ?? "").includes("text/html")) continue;
        for (const [, href] of body.matchAll(/<a\b[^>]*\bhref="([^"]*)"/g)) {
          const target = new URL(href?.replace(/&amp;/g, "&") ?? "", new URL(next, origin));
          // The event stream never ends: it is read below, its first bytes only.
          if (target.origin !== origin || target.pathname === "/events") continue;
          if (!mine.has(target.pathname + target.search)) queue.push(target.pathname + target.search);
        }
      }
    }
    // Signed out: the same pages redirect or refuse, naming nothing.
    for (const url of ["/", "/audit", "/environments/test"])
      await record(`signed out ${url}`, await page(url, {}));
    // The first bytes of the event stream.
    const events = new AbortController();
    const stream = await fetch(`${origin}/events`, {
      headers: cookie ? { cookie } : {},
      signal: events.signal,
    });
    const chunks = stream.body?.getReader();
    const first = chunks
      ? await Promise.race([
          chunks.read().catch(() => undefined),
          new Promise<undefined>((r) => setTimeout(() => r(undefined), 3_000)),
        ])
      : undefined;
    seen.push({
      what: "GET /events",
      text: `${stream.status}\n${[...stream.headers].join("\n")}\n${first?.value ? Buffer.from(first.value).toString() : ""}`,
    });
    events.abort();

    // The sweep looked: every API operation answered, and the dashboard's pages when it is built.
    expect(seen.length).toBeGreaterThan(operations * 3);
    // ... and its search finds what is there: the audit log names the tokens made for it.
    expect(seen.filter((s) => s.text.includes("sweep-reader")).length).toBeGreaterThan(0);
    // Built, the dashboard links the pipeline to both environments, their histories and runs, the audit log (twice: once per token).
    if (pipelineBuilt) expect(pagesFound).toBeGreaterThanOrEqual(12);
    console.info(
      `swept ${seen.length} answers (${operations} API operations, ${visited.size} pages, ${pagesFound} found)`,
    );
    for (const secret of planted) {
      expect(secret.length).toBeGreaterThan(5);
      const leaks = seen.filter((s) => s.text.includes(secret)).map((s) => s.what);
      expect(leaks, `a planted value leaked`).toEqual([]);
    }
  }, 480_000);
});

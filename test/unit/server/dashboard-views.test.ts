import { describe, expect, it } from "vitest";
import type { AuditEntry, VerifyResult } from "../../../src/adapters/audit";
import type { EnvironmentOverview } from "../../../src/app/overview";
import type { HistoryEntry } from "../../../src/app/read";
import type { RunReport } from "../../../src/domain/model";
import type { Scope } from "../../../src/domain/token";
import {
  ASSETS,
  auditPage,
  environmentPage,
  errorPage,
  historyPage,
  loginPage,
  type PageContext,
  pipelinePage,
  runPage,
} from "../../../src/server/dashboard/views";
import { ago, statusAge, statusClass } from "../../../src/server/dashboard/views/ages";
import { DIGEST, gatedReport } from "../report/fixture";

// The dashboard's pages rendered from realistic reports: the hooks the browser tests use, old → new
// values, escaping of everything that comes from a report or the store, and which controls a
// viewer's scopes show.

const NOW = new Date("2025-03-04T12:30:00Z");
const EVIL = `<script>alert("x")</script>`;
const CSRF = "csrf-token-123";

function ctx(scopes?: Scope[], extra: Partial<PageContext> = {}): PageContext {
  return {
    now: NOW,
    ...(scopes ? { viewer: { name: "alice", scopes }, csrf: CSRF } : {}),
    ...extra,
  };
}

/** prod held by its gates, with a hostile commit, a hostile drifted value and a masked secret. */
function prodReport(overrides: Partial<RunReport> = {}): RunReport {
  const base = gatedReport();
  const drift = base.drift ?? { kind: "drift", resources: [] };
  return {
    ...base,
    status: "AwaitingApproval",
    desired: {
      ...(base.desired as NonNullable<RunReport["desired"]>),
      author: `Mallory ${EVIL}`,
      message: `Tune the queue ${EVIL}\n\nbody`,
    },
    drift: {
      ...drift,
      resources: [
        {
          ...(drift.resources[0] as NonNullable<(typeof drift.resources)[number]>),
          properties: [
            { path: "tags.team", kind: "update", old: "platform", new: EVIL, replaces: false },
            { path: "policy", kind: "update", old: "[secret]", new: "[secret]", replaces: false },
          ],
          unchanged: 7,
        } as NonNullable<(typeof drift.resources)[number]>,
      ],
    },
    ...overrides,
  };
}

function overview(report: RunReport, extra: Partial<EnvironmentOverview> = {}): EnvironmentOverview {
  return {
    environment: report.environment,
    branch: report.branch,
    stack: report.stack,
    status: report.status,
    ...(report.reason ? { reason: report.reason } : {}),
    ...(report.desired ? { headCommit: report.desired.sha, head: report.desired } : {}),
    ...(report.deployed?.commit ? { deployedCommit: report.deployed.commit } : {}),
    pendingCount: report.pending?.resources.length ?? 0,
    driftCount: report.drift?.resources.length ?? 0,
    lastRunId: report.runId,
    lastRunAt: report.startedAt,
    updatedAt: report.endedAt,
    statusSince: "2025-03-04T09:30:00Z",
    ...(report.plan ? { plan: report.plan } : {}),
    gates: report.gates ?? [],
    ...extra,
  };
}

function envPage(scopes?: Scope[], report = prodReport(), promotableFrom?: string): string {
  return flat(
    environmentPage(
      { overview: overview(report), report, ...(promotableFrom ? { promotableFrom } : {}) },
      ctx(scopes),
    ),
  );
}

/** The page with each run of whitespace as one space: the markup is formatted for people. */
function flat(page: unknown): string {
  return String(page).replace(/\s+/g, " ");
}

/** How many elements carry `data-testid="<id>"`. */
function count(page: string, testid: string): number {
  return page.split(`data-testid="${testid}"`).length - 1;
}

function form(page: string, testid: string): string | undefined {
  return page.match(new RegExp(`<form[^>]*data-testid="${testid}"[\\s\\S]*?</form>`))?.[0];
}

function expectNoInlineCode(page: string): void {
  expect(page).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/i);
  expect(page).not.toMatch(/<style[\s>]/i);
  expect(page).not.toMatch(/\sstyle\s*=/i);
  expect(page).not.toMatch(/\son[a-z]+\s*=/i);
  expect(page).not.toMatch(/javascript:/i);
  expect(page).not.toContain(EVIL);
}

describe("pipelinePage", () => {
  const stage = gatedReport({ environment: "stage", status: "Synced", gates: [] });
  const prod = prodReport();
  const page = flat(
    pipelinePage(
      [
        overview(stage, { statusSince: "2025-03-02T12:00:00Z" }),
        overview(prod),
        {
          ...overview(prod),
          environment: "test",
          status: "Unknown",
          lastRunAt: undefined,
          statusSince: undefined,
        },
      ],
      ctx(["read"]),
    ),
  );

  it("shows one card per environment with its exact status and a link to it", () => {
    for (const [name, status] of [
      ["stage", "Synced"],
      ["prod", "AwaitingApproval"],
      ["test", "Unknown"],
    ]) {
      const card = page.match(new RegExp(`data-testid="env-${name}"[\\s\\S]*?</li>`))?.[0] ?? "";
      expect(card).toMatch(new RegExp(`data-testid="status">${status}<`));
      expect(card).toContain(`href="/environments/${name}"`);
    }
  });

  it("says since when, with head vs deployed, counts and the gates", () => {
    expect(page).toContain("awaiting approval for 3h");
    expect(page).toContain("in sync for 2d");
    expect(page).toContain("4f1c2a9e0b7d");
    expect(page).toContain("9a8b7c6d5e4f");
    expect(page).toContain("1 pending");
    expect(page).toMatch(
      /data-gate="window" data-verdict="block"\s*>[^<]*<span[^>]*>✖ block<\/span> <strong>window<\/strong>: closed until Mon 09:00/,
    );
    expect(page).toContain("3h ago");
  });

  it("escapes the commit author and message", () => {
    expect(page).toContain("Tune the queue &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;");
    expect(page).toContain("Mallory &lt;script&gt;");
    expectNoInlineCode(page);
  });

  it("has the navigation, the viewer, Sign out and the CSRF meta when signed in", () => {
    expect(page).toContain(`<meta name="csrf-token" content="${CSRF}" />`);
    expect(page).toContain('href="/audit">Audit</a>');
    expect(page).toContain('href="/">Pipeline</a>');
    expect(page).toMatch(/Signed in as <strong>alice<\/strong>/);
    const out = page.match(/<form method="post" action="\/logout"[\s\S]*?<\/form>/)?.[0];
    expect(out).toContain(`name="_csrf" value="${CSRF}"`);
    expect(out).toContain("Sign out");
    expect(page).toMatch(/<body data-page="pipeline"\s*>/);
  });

  it("shows an anonymous viewer no form and no CSRF meta", () => {
    const anonymous = flat(pipelinePage([overview(prod)], ctx()));
    expect(anonymous).not.toContain("<form");
    expect(anonymous).not.toContain("csrf-token");
    expect(anonymous).toContain('href="/login"');
  });

  it("shows the webhooks received, per provider and repository, only when there were some", () => {
    expect(flat(pipelinePage([overview(prod)], ctx()))).not.toContain('data-testid="webhooks"');
    const shown = flat(
      pipelinePage([overview(prod)], ctx(), [
        { provider: "github", repository: "", refused: 3 },
        {
          provider: "github",
          repository: "acme/<infra>",
          refused: 0,
          lastVerifiedAt: "2025-03-01T00:00:00Z",
        },
      ]),
    );
    expect(shown).toContain('data-testid="webhooks"');
    expect(shown).toMatch(/github: last verified never, <span data-testid="refused">3<\/span> refused/);
    expect(shown).toContain("<code>acme/&lt;infra&gt;</code>: last verified");
  });
});

describe("the owning replica", () => {
  it("is named on the pipeline card and the environment page when replicas share the environments", () => {
    const prod = prodReport();
    const owned = overview(prod, { owner: "web-1/4242/99/ab12cd34" });
    expect(flat(pipelinePage([owned], ctx()))).toContain('data-testid="owner">Owned by web-1 pid 4242<');
    const page = flat(environmentPage({ overview: owned, report: prod }, ctx()));
    expect(page).toContain('Owned by replica <code data-testid="owner">web-1 pid 4242</code>');
    expect(flat(pipelinePage([overview(prod)], ctx()))).not.toContain('data-testid="owner"');
  });
});

describe("environmentPage", () => {
  it("shows pending and drift per resource and property, old → new, secrets masked as held", () => {
    const page = envPage(["read"]);
    expect(page).toContain('data-testid="status">AwaitingApproval<');
    expect(count(page, "pending")).toBe(1);
    expect(count(page, "drift")).toBe(1);
    expect(page).toContain('data-urn="urn:pulumi:test::platform::aws:sqs/queue:Queue::events"');
    const drift = page.slice(page.indexOf('data-testid="drift"'));
    const row = (path: string, within = page) =>
      within.match(new RegExp(`data-testid="property" data-property="${path}"[\\s\\S]*?</tr>`))?.[0] ?? "";
    const timeout = row("visibilityTimeoutSeconds");
    expect(timeout).toMatch(/class="old"><code>30<\/code>[\s\S]*class="new"><code>60<\/code>/);
    expect(row("policy")).toMatch(
      /class="old"><code>\[secret\]<\/code>[\s\S]*class="new"><code>\[secret\]<\/code>/,
    );
    expect(row("tags.team", drift)).toContain(
      "&quot;&lt;script&gt;alert(\\&quot;x\\&quot;)&lt;/script&gt;&quot;",
    );
    expect(page).toMatch(
      /<summary>\s*<span class="action">update<\/span>\s*<span class="type">aws:sqs\/queue:Queue<\/span>\s*<span class="name">events<\/span/,
    );
    expect(page).toContain("7 unchanged properties hidden");
    expect(count(page, "unchanged")).toBe(1);
    expectNoInlineCode(page);
  });

  it("says none for an empty section and not checked for a missing one", () => {
    const page = envPage(
      ["read"],
      prodReport({ pending: { kind: "pending", resources: [] }, drift: undefined }),
    );
    expect(page).toMatch(/data-testid="pending"[\s\S]*?<p class="empty">none<\/p>/);
    expect(page).toMatch(/data-testid="drift"[\s\S]*?Not checked\./);
  });

  it("shows the gates, approvals, checks output and policy findings", () => {
    const page = envPage(["read"]);
    expect(count(page, "gate")).toBe(4);
    expect(page).toMatch(/data-testid="gates"/);
    expect(page).toMatch(/data-gate="promotion" data-verdict="pass"/);
    expect(page).toContain("alice@example.com");
    expect(page).toMatch(/<pre>ok 12 tests<\/pre>/);
    // The functional check failed: its output is open, and markup in it is text.
    expect(page).toMatch(/data-check="functional" open/);
    const report = prodReport();
    const raw = String(environmentPage({ overview: overview(report), report }, ctx(["read"])));
    expect(raw).toContain("&lt;/details&gt;\nFAIL</pre>");
    expect(page).toMatch(/mandatory<\/span> on assets: <code>aws-guard\/s3-no-public-read<\/code>/);
    expect(page).toContain(`data-testid="digest" title="3f9a0c1d2e4b">${DIGEST}</code>`);
  });

  it("shows the approve form, bound to the plan's digest, only with approve:<env> or admin", () => {
    for (const scopes of [["approve:prod"], ["admin"]] as Scope[][]) {
      const page = envPage(scopes);
      const approve = form(page, "approve") ?? "";
      expect(approve).toMatch(/^<form method="post" action="\/environments\/prod\/approve"/);
      expect(approve.match(/name="digest" value="([^"]*)"/)?.[1]).toBe(DIGEST);
      expect(approve).toContain(`name="_csrf" value="${CSRF}"`);
      expect(approve).toContain(">Approve</button>");
      expect(form(page, "revoke")).toContain(`name="_csrf" value="${CSRF}"`);
    }
    for (const scopes of [["read"], ["approve:stage"], ["sync:prod"], ["promote:prod"]] as Scope[][]) {
      const page = envPage(scopes);
      expect(form(page, "approve")).toBeUndefined();
      expect(form(page, "revoke")).toBeUndefined();
    }
    expect(envPage(undefined)).not.toContain("<form");
  });

  it("binds the approve form to the restore or accept of drift its plan is, and offers both on a drifted environment", () => {
    const base = prodReport();
    const restore = prodReport({ plan: { ...(base.plan ?? never()), resolve: "restore-drift" } });
    const approve = form(envPage(["approve:prod"], restore), "approve") ?? "";
    expect(approve).toContain('name="resolve" value="restore-drift"');
    expect(form(envPage(["approve:prod"]), "approve")).not.toContain('name="resolve"');
    for (const scopes of [["approve:prod"], ["sync:prod"]] as Scope[][]) {
      for (const resolve of ["restore-drift", "accept-drift"]) {
        const preview = form(envPage(scopes), resolve) ?? "";
        expect(preview).toMatch(/action="\/environments\/prod\/resolve-drift\/preview"/);
        expect(preview).toContain(`name="resolve" value="${resolve}"`);
        expect(preview).toContain(`name="_csrf" value="${CSRF}"`);
      }
    }
    expect(form(envPage(["read", "promote:prod"]), "restore-drift")).toBeUndefined();
    const calm = prodReport({ drift: { kind: "drift", resources: [] } });
    expect(form(envPage(["admin"], calm), "accept-drift")).toBeUndefined();
  });

  it("shows no approve form without a plan", () => {
    const report = prodReport({ plan: undefined });
    const page = flat(
      environmentPage({ overview: { ...overview(report), plan: undefined }, report }, ctx(["admin"])),
    );
    expect(form(page, "approve")).toBeUndefined();
    expect(form(page, "sync")).toBeDefined();
  });

  it("shows check and sync for sync:<env>, promote for promote:<env> with a source", () => {
    const sync = envPage(["sync:prod"]);
    expect(form(sync, "check")).toMatch(/action="\/environments\/prod\/check"/);
    expect(form(sync, "sync")).toMatch(/action="\/environments\/prod\/sync"[\s\S]*name="_csrf"/);
    expect(form(sync, "promote")).toBeUndefined();
    expect(form(envPage(["promote:prod"]), "promote")).toBeUndefined();
    const promote = form(envPage(["promote:prod"], prodReport(), "stage"), "promote") ?? "";
    expect(promote).toMatch(/name="from" value="stage"/);
    expect(promote).toMatch(/name="dryRun" value="1"/);
    expect(form(envPage(["read"], prodReport(), "stage"), "promote")).toBeUndefined();
  });

  it("marks the page with its environment and escapes the flash", () => {
    const page = flat(
      environmentPage(
        { overview: overview(prodReport()), report: prodReport() },
        ctx(["read"], { flash: { kind: "error", text: `stale digest ${EVIL}` } }),
      ),
    );
    expect(page).toMatch(/<body data-page="environment" data-environment="prod"\s*>/);
    expect(page).toMatch(/data-testid="flash" role="alert"\s*>\s*stale digest &lt;script&gt;/);
    expectNoInlineCode(page);
  });

  it("renders an environment never checked", () => {
    const report = prodReport();
    const page = flat(
      environmentPage(
        { overview: { ...overview(report), status: "Unknown", plan: undefined, gates: [] } },
        ctx(["admin"]),
      ),
    );
    expect(page).toContain('data-testid="status">Unknown<');
    expect(count(page, "pending")).toBe(1);
    expect(page).toMatch(/data-testid="drift"[\s\S]*?Not checked\./);
    expect(form(page, "approve")).toBeUndefined();
  });
});

describe("runPage", () => {
  it("shows a past run's report without controls", () => {
    const page = flat(
      runPage(prodReport({ sync: { applied: true, summary: { update: 2, same: 5 } } }), ctx(["admin"])),
    );
    expect(page).toContain('data-testid="status">AwaitingApproval<');
    expect(page).toContain("Applied: 2 update.");
    expect(page).toContain("took 12.5 s");
    expect(form(page, "approve")).toBeUndefined();
    expectNoInlineCode(page);
  });
});

describe("historyPage", () => {
  const entries: (HistoryEntry & { endedAt?: string; sync?: RunReport["sync"] })[] = [
    {
      runId: "run-0002",
      startedAt: "2025-03-04T12:00:00Z",
      endedAt: "2025-03-04T12:00:30Z",
      status: "Synced",
      kind: "sync",
      mode: "reconcile",
      trigger: `cli:${EVIL}`,
      commit: "4f1c2a9e0b7d3c5a6e8f",
      sync: { applied: true, summary: { update: 1 } },
    },
    { runId: "run-0001", startedAt: "2025-03-04T09:30:00Z", status: "OutOfSync" },
  ];
  const page = flat(historyPage("prod", { items: entries, page: 1, limit: 2, total: 5 }, ctx(["read"])));

  it("lists each run with trigger, mode, commit, status, duration and what it applied", () => {
    expect(count(page, "run")).toBe(2);
    const first = page.match(/data-testid="run"[\s\S]*?<\/tr>/)?.[0] ?? "";
    expect(first).toContain('href="/environments/prod/runs/run-0002"');
    expect(first).toContain("reconcile");
    expect(first).toContain("4f1c2a9e0b7d");
    expect(first).toContain("30.0 s");
    expect(first).toContain("applied: 1 update");
    expect(first).toContain("30m ago");
    expect(page).toContain("Page 1 of 3 (5 runs)");
    expect(page).toContain('href="/environments/prod/runs?page=2"');
    expectNoInlineCode(page);
  });
});

describe("auditPage", () => {
  const entry = (seq: number, extra: Partial<AuditEntry> = {}): AuditEntry => ({
    seq,
    time: "2025-03-04T10:30:00Z",
    actor: `bob ${EVIL}`,
    action: "approve",
    environment: "prod",
    planDigest: DIGEST,
    reason: "looks fine",
    prev: "0".repeat(64),
    hash: "1".repeat(64),
    ...extra,
  });
  const render = (verification: VerifyResult, filter: Record<string, string> = {}) =>
    flat(
      auditPage(
        { items: [entry(1), entry(2, { action: "sync" })], page: 1, limit: 50, total: 2, verification },
        filter,
        ctx(["read"]),
      ),
    );

  it("says the chain is verified, lists entries and keeps the filter", () => {
    const page = render({ ok: true, entries: 2, head: "1".repeat(64) }, { actor: `"><b>`, action: "sync" });
    expect(page).toMatch(/data-testid="audit-verify"[^>]*>[^<]*Chain verified/);
    expect(count(page, "audit-entry")).toBe(2);
    expect(page).toContain('name="actor" value="&quot;&gt;&lt;b&gt;"');
    expect(page).toContain("<option selected>sync</option>");
    expect(page).toMatch(/<form method="get" action="\/audit"/);
    expect(page).toContain("2h ago");
    expectNoInlineCode(page);
  });

  it("says where a broken chain breaks", () => {
    const page = render({ ok: false, entries: 1, firstBad: { seq: 2, line: 2, problem: "edited" } });
    expect(page).toMatch(/data-testid="audit-verify"[^>]*>\s*✖ Chain broken at line 2 \(seq 2\): edited/);
  });
});

describe("loginPage and errorPage", () => {
  it("asks for the token and carries next, escaped", () => {
    const page = flat(loginPage({ now: NOW, next: `/x"${EVIL}`, error: `bad ${EVIL}` }));
    expect(page).toContain('<input name="token" id="token" type="password"');
    expect(page).toContain(">Sign in</button>");
    expect(page).toContain('name="next" value="/x&quot;&lt;script&gt;');
    expectNoInlineCode(page);
  });

  it("names the problem and the way out", () => {
    const page = flat(
      errorPage(
        { status: 403, title: "Forbidden", detail: `no ${EVIL}`, recovery: "sign in" },
        ctx(["read"]),
      ),
    );
    expect(page).toContain("403 Forbidden");
    expect(page).toContain("no &lt;script&gt;");
    expectNoInlineCode(page);
  });
});

describe("ages", () => {
  it("words since when a status holds, and how long ago a moment was", () => {
    expect(statusAge("OutOfSync", "2025-03-04T09:29:00Z", NOW)).toBe("out of sync for 3h");
    expect(statusAge("Drifted", "2025-03-01T12:30:00Z", NOW)).toBe("drifted for 3d");
    expect(statusAge("AwaitingApproval", "2025-03-04T12:29:58Z", NOW)).toBe(
      "awaiting approval for a few seconds",
    );
    expect(statusAge("Synced", undefined, NOW)).toBeUndefined();
    expect(statusAge("Synced", "not a time", NOW)).toBeUndefined();
    expect(ago("2025-03-04T12:25:00Z", NOW)).toBe("5m ago");
    expect(statusClass("OutOfSync+Drifted")).toBe("status-out-of-sync-drifted");
  });
});

describe("the inline-code sweep", () => {
  it("catches inline scripts, styles and handlers", () => {
    for (const bad of ["<script>x</script>", '<p style="x">', '<a onclick="x">', "<style>p{}</style>"]) {
      expect(() => expectNoInlineCode(bad)).toThrow();
    }
    expect(() => expectNoInlineCode('<script src="/assets/dashboard.js" defer></script>')).not.toThrow();
  });
});

describe("ASSETS", () => {
  it("serves the stylesheet and the script with their types", () => {
    expect(ASSETS["dashboard.css"]?.type).toMatch(/^text\/css/);
    expect(ASSETS["dashboard.css"]?.body).toContain(":focus-visible");
    expect(ASSETS["dashboard.css"]?.body).toContain(".status-awaiting-approval");
    const js = ASSETS["dashboard.js"]?.body ?? "";
    expect(ASSETS["dashboard.js"]?.type).toMatch(/^text\/javascript/);
    expect(js).toContain('new EventSource("/events")');
    expect(js).toContain('addEventListener("run"');
    expect(() => new Function(js)).not.toThrow();
  });
});

function never(): never {
  throw new Error("the report fixture has a plan");
}

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach } from "vitest";
import type { AuditInput } from "../../src/adapters/audit";
import type { Store } from "../../src/adapters/store/port";
import { openSqliteStore } from "../../src/adapters/store/sqlite";
import type { Gates } from "../../src/domain/gates";
import type { RunReport } from "../../src/domain/model";
import {
  runEnvironment,
  type RunContext,
  type RunEnvironment,
  type RunOptions,
} from "../../src/reconcile/run";
import { FakeGit } from "./fake-git";
import { FakeStack } from "./fake-stack";
import { FakeClock, FakeLeases, MemoryLogger } from "./fakes";

// One environment's run with the outside world faked (Git, the Pulumi stack, the lease, the clock)
// and the real SQLite store on a temp file.

export const NO_GATES: Gates = { windows: [], checks: [], policyPacks: [] };

export function environment(overrides: Partial<RunEnvironment> = {}): RunEnvironment {
  return {
    name: "test",
    branch: "env/test",
    stack: "test",
    project: "stacks/app",
    sync: { policy: "auto" },
    drift: { policy: "report" },
    gates: NO_GATES,
    ...overrides,
  };
}

export const CHECK: RunOptions = { kind: "check", trigger: "schedule", allowSync: false };
export const SYNC: RunOptions = { kind: "sync", trigger: "schedule", allowSync: true };

export interface RunHarness {
  readonly git: FakeGit;
  readonly clock: FakeClock;
  readonly leases: FakeLeases;
  readonly log: MemoryLogger;
  /** The stack the next run opens; replace it to script another. */
  stack: FakeStack;
  /** With several stacks: the stack opened for a project folder (others open `stack`). */
  readonly stacks: Map<string, FakeStack>;
  /** The real store; wrap it (e.g. to fail a write) by assigning another. */
  store: Store;
  /** The environment's gates as defined at a commit. */
  readonly gatesAt: Map<string, Gates>;
  readonly audit: AuditInput[];
  readonly reportFiles: RunReport[];
  /** Runs one check of `env` and returns its report. */
  run(env: RunEnvironment, options?: RunOptions): Promise<RunReport>;
  /** A person's approval of one plan of `test` (a sync); `id` defaults to one from the digest. */
  approve(commit: string, planDigest: string, id?: string): Promise<void>;
  /** The context a run gets, for tests of single phases. */
  context(): RunContext;
}

/** Registers the hooks that make a fresh harness (temp store included) around each test. */
export function useRunHarness(): RunHarness {
  let dir = "";
  let opened: Store | undefined;
  let runs = 0;
  const harness = {} as RunHarness;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "tidegate-run-"));
    const clock = new FakeClock();
    opened = openSqliteStore(path.join(dir, "tidegate.db"), { now: clock.now });
    const fresh: RunHarness = {
      git: new FakeGit(),
      clock,
      leases: new FakeLeases(),
      log: new MemoryLogger(),
      stack: new FakeStack(),
      stacks: new Map(),
      store: opened,
      gatesAt: new Map(),
      audit: [],
      reportFiles: [],
      run: (env, options = CHECK) =>
        runEnvironment(
          context(harness, dir, () => `run-${++runs}`),
          env,
          options,
        ),
      context: () => context(harness, dir, () => `run-${++runs}`),
      approve: (commit, planDigest, id = `approval-${planDigest.slice(7, 15)}`) =>
        harness.store.addApproval({
          id,
          environment: "test",
          commit,
          planDigest,
          approver: "ops@example.com",
          scope: "sync",
          at: harness.clock.now().toISOString(),
        }),
    };
    Object.assign(harness, fresh);
  });
  afterEach(async () => {
    await opened?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return harness;
}

function context(h: RunHarness, dir: string, newRunId: () => string): RunContext {
  return {
    git: h.git,
    store: h.store,
    owner: "test-host/1/0/harness",
    log: h.log,
    workspaceDir: (env) => path.join(dir, "workspaces", env.name),
    installDependencies: (projectDir) =>
      Promise.resolve({ packageDir: projectDir, key: "lock-1", installed: false, linked: false }),
    openStack: (env) => Promise.resolve(h.stacks.get(env.project) ?? h.stack),
    acquireLease: async (env, runId) => h.leases.acquire(env, runId),
    writeReport: (report) => void h.reportFiles.push(report),
    preparePolicyPacks: (packs, workDir) => Promise.resolve(packs.map((p) => path.join(workDir, p))),
    audit: async (entry) => void h.audit.push(entry),
    gatesAt: (_env, commit) => Promise.resolve(h.gatesAt.get(commit)),
    runCommand: (command) => Promise.reject(new Error(`no check command is scripted (${command.name})`)),
    versions: { tidegate: "0.0.0-test", pulumi: "3.0.0", node: process.version },
    now: h.clock.now,
    newRunId,
  };
}

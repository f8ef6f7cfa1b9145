import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PassThrough } from "node:stream";
import { Engine } from "../../../src/app/engine";
import type { EngineDeps } from "../../../src/app/ports";
import type { GitPort } from "../../../src/adapters/git/port";
import type { StackPort } from "../../../src/adapters/pulumi/port";
import { type ResolvedEnvironment, resolveEnvironment, resolveSettings } from "../../../src/config/resolve";
import type { ChangeSet } from "../../../src/domain/changes";
import type { RunReport, CommitInfo } from "../../../src/domain/model";
import { openAuditLog, openStore, storeSpec } from "../../../src/compose";
import { createLogger } from "../../../src/log";

// An Engine on a real SQLite store and a real audit log in a temporary data directory, with Git and
// the stack faked: the branch heads and the preview are whatever the test sets.

export const HEAD = "c".repeat(40);
export const AUTHOR = "author@example.com";

const DEFAULTS = resolveSettings({ repository: { url: "." } }, "/repo").defaults;

/** An environment as the configuration resolves it (gated: one approval by a non-author), project `app`. */
export function environment(name: string, overrides: Partial<ResolvedEnvironment> = {}): ResolvedEnvironment {
  return {
    ...resolveEnvironment(`environments/${name}.yaml`, { name, order: 0 }, DEFAULTS),
    project: "app",
    ...overrides,
  };
}

export interface EngineFixture {
  engine: Engine;
  dataDir: string;
  /** The branch heads the fake remote has. */
  heads: Record<string, string>;
  /** What the fake stack's preview shows as pending. */
  pending: ChangeSet;
  reports: RunReport[];
  cleanup(): Promise<void>;
}

export function createFixture(environments: ResolvedEnvironment[]): EngineFixture {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "tidegate-app-"));
  const heads: Record<string, string> = Object.fromEntries(environments.map((e) => [e.branch, HEAD]));
  const state = { pending: { kind: "pending", resources: [] } as ChangeSet };
  const reports: RunReport[] = [];
  const commit = (sha: string): CommitInfo => ({
    sha,
    author: "Author",
    authorEmail: AUTHOR,
    date: "2025-01-01T00:00:00Z",
    message: "change",
  });
  const git: GitPort = {
    heads: (branches) =>
      Promise.resolve(Object.fromEntries(branches.flatMap((b) => (heads[b] ? [[b, heads[b]]] : [])))),
    fetch: (branch) => Promise.resolve(heads[branch] ?? HEAD),
    checkout: (_branch, _sha, dir) => {
      // What assertProgramPaths looks for: the project folder and its Pulumi.yaml.
      fs.mkdirSync(path.join(dir, "app"), { recursive: true });
      fs.writeFileSync(path.join(dir, "app", "Pulumi.yaml"), "name: app\nruntime: nodejs\n");
      return Promise.resolve();
    },
    commit: (sha) => Promise.resolve(commit(sha)),
    isAncestor: () => Promise.resolve(true),
    treeHash: () => Promise.resolve("tree"),
    readFiles: () => Promise.resolve([]),
    changedPaths: () => Promise.resolve([]),
    commitsBetween: (_from, to) => Promise.resolve([commit(to)]),
    merge: () => Promise.reject(new Error("not faked")),
    push: () => Promise.reject(new Error("not faked")),
  };
  const stack: StackPort = {
    verifySecrets: () => Promise.resolve(),
    preview: () => Promise.resolve({ changes: state.pending, summary: {}, policy: [] }),
    previewDrift: () =>
      Promise.resolve({ changes: { kind: "drift", resources: [] }, summary: {}, policy: [] }),
    up: () => Promise.resolve({ summary: { update: 1 }, outputs: {} }),
    deployed: () => Promise.resolve(undefined),
    checkpoint: () => Promise.resolve(undefined),
    pendingOperations: () => Promise.resolve([]),
    locks: () => Promise.resolve([]),
    cancel: () => Promise.resolve(),
    refresh: () => Promise.resolve({}),
    clearPendingOperations: () => Promise.resolve({}),
    access: () => ({ stackName: "app", workDir: dataDir, pulumi: "pulumi", backendUrl: "file:///state" }),
  };
  let ids = 0;
  const now = () => new Date("2025-06-01T12:00:00Z");
  const deps: EngineDeps = {
    config: { environments, environmentsDir: "environments" },
    store: openStore(storeSpec({ dataDir })),
    git,
    audit: openAuditLog(dataDir, { now }),
    log: createLogger({ mode: "json", level: "error", stream: new PassThrough().resume() }),
    forRun: (env) => ({
      openStack: () => Promise.resolve(stack),
      acquireLease: async (runId) => ({ owner: `${env.stack}:${runId}`, release: () => {} }),
      installDependencies: (projectDir) =>
        Promise.resolve({ packageDir: projectDir, key: "deps", installed: false, linked: false }),
      installPolicyPack: () => Promise.resolve(),
      runCommand: () => Promise.reject(new Error("no check commands here")),
    }),
    owner: "test-host/1/0/app",
    duringRun: (work) => work(),
    isOwnerDead: () => false,
    writeReport: (report) => void reports.push(report),
    workspaceDir: (name) => path.join(dataDir, "workspaces", name),
    scratchDir: () => path.join(dataDir, "scratch", String(++ids)),
    versions: { tidegate: "test", pulumi: "test", node: process.version },
    now,
    newId: () => `id-${++ids}`,
  };
  const engine = new Engine(deps);
  return {
    engine,
    dataDir,
    heads,
    get pending() {
      return state.pending;
    },
    set pending(changes: ChangeSet) {
      state.pending = changes;
    },
    reports,
    async cleanup() {
      await engine.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export const QUEUE_UPDATE: ChangeSet = {
  kind: "pending",
  resources: [
    {
      urn: "urn:pulumi:prod::app::aws:sqs/queue:Queue::events",
      type: "aws:sqs/queue:Queue",
      name: "events",
      action: "update",
      properties: [{ path: "visibilityTimeoutSeconds", kind: "update", old: 30, new: 45, replaces: false }],
    },
  ],
};

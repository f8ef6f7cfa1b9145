import { afterEach, type TestContext } from "vitest";
import { StoreError, type StoreErrorKind } from "../../../src/adapters/store/errors";
import type { EnvironmentState, NewRun, Store } from "../../../src/adapters/store/port";
import type { Approval, CommandResult } from "../../../src/domain/gates";

// What every store implementation is given to run the contract suite.

/** The clock a store under contract reads (finishRun records it as the end). */
export const STORE_NOW = "2025-03-04T12:00:00.000Z";
export const T0 = "2025-03-04T09:00:00.000Z";

export interface StoreUnderTest {
  store: Store;
  /** Another handle on the same data: another process, or the same one after a restart. */
  reopen?(): Promise<Store>;
  /** Closes every handle and removes what the store left behind. */
  cleanup(): Promise<void>;
}

/** Opens an empty store whose clock reads STORE_NOW. */
export type StoreFactory = () => Promise<StoreUnderTest>;

/** Opens a fresh store per test (`open()`), cleaned up after it. */
export function useStore(factory: StoreFactory): {
  open(): Promise<Store>;
  /** Another handle on the store `open()` gave; undefined when the implementation has none. */
  reopen(): Promise<Store> | undefined;
} {
  let current: StoreUnderTest | undefined;
  afterEach(async () => {
    await current?.cleanup();
    current = undefined;
  });
  return {
    async open() {
      current = await factory();
      return current.store;
    },
    reopen() {
      if (!current) throw new Error("open() the store first");
      return current.reopen?.();
    },
  };
}

/** Another handle on the test's store, or the test is skipped (with the reason) when there is none. */
export async function secondHandle(
  handles: { reopen(): Promise<Store> | undefined },
  ctx: TestContext,
): Promise<Store> {
  return (await handles.reopen()) ?? ctx.skip("this store offers no second handle on its data");
}

/** The kind of the StoreError `work` throws; fails when it throws none. */
export async function storeError(work: () => unknown): Promise<StoreErrorKind> {
  try {
    await work();
  } catch (error) {
    if (error instanceof StoreError) return error.problem;
    throw error;
  }
  throw new Error("expected a StoreError");
}

export const OWNER = "host-a/4242/1000/aaaa1111";

export const newRun = (id: string, overrides: Partial<NewRun> = {}): NewRun => ({
  id,
  environment: "test",
  stack: "test",
  kind: "check",
  trigger: "schedule",
  commit: "4f1c2a9e",
  owner: OWNER,
  startedAt: T0,
  ...overrides,
});

export const state = (environment: string, overrides: Partial<EnvironmentState> = {}): EnvironmentState => ({
  environment,
  branch: environment,
  stack: environment,
  status: "Synced",
  pendingCount: 0,
  driftCount: 0,
  updatedAt: T0,
  ...overrides,
});

export const approval = (id: string, overrides: Partial<Approval> = {}): Approval => ({
  id,
  environment: "prod",
  commit: "4f1c2a9e",
  planDigest: "sha256:plan-1",
  approver: "ada@example.com",
  scope: "sync",
  at: "2025-03-04T09:00:00.000Z",
  ...overrides,
});

export const commandResult = (overrides: Partial<CommandResult> = {}): CommandResult => ({
  name: "unit",
  command: "npm test",
  commit: "4f1c2a9e",
  exitCode: 0,
  timedOut: false,
  durationMs: 1234,
  output: "ok\n",
  at: "2025-03-04T09:00:00.000Z",
  ...overrides,
});

import { afterEach } from "vitest";
import type { AuditEntry, AuditFilter, AuditInput, VerifyResult } from "../../../src/adapters/audit";

// What every audit log implementation is given to run the contract suite.

/** A log as the use cases and `tidegate audit` see it. */
export interface AuditLogHandle {
  readonly file: string;
  append(input: AuditInput): Promise<AuditEntry>;
  entries(filter?: AuditFilter): Promise<AuditEntry[]>;
  verify(): Promise<VerifyResult>;
}

export interface AuditLogOptions {
  now?: () => Date;
  redact?: (text: string) => string;
}

export interface AuditLogUnderTest {
  /** A new handle on the one log each call: another replica (its own connections) or process. */
  open(options?: AuditLogOptions): AuditLogHandle;
  /** Each entry as stored (the file's lines, the table's rows), in chain order. */
  stored(): Promise<string[]>;
  /** Rewrites entry `seq` as stored, behind the log's back. */
  tamper(seq: number, edit: (stored: string) => string): Promise<void>;
  /** Removes the last entry as stored, leaving the head anchor as it was. */
  removeLast(): Promise<void>;
  cleanup(): Promise<void>;
}

/** An empty log. */
export type AuditLogFactory = () => Promise<AuditLogUnderTest>;

/** A fresh log per test, cleaned up after it. */
export function useAuditLog(factory: AuditLogFactory): () => Promise<AuditLogUnderTest> {
  let current: AuditLogUnderTest | undefined;
  afterEach(async () => {
    await current?.cleanup();
    current = undefined;
  });
  return async () => {
    current = await factory();
    return current;
  };
}

/** A clock that moves one minute per call, from 2025-05-01T10:00Z. */
export function steppingClock(start = Date.parse("2025-05-01T10:00:00Z")): () => Date {
  let tick = 0;
  return () => new Date(start + 60_000 * tick++);
}

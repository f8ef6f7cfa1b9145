import type { ChangeSet, ResourceChange } from "../../../src/domain/changes";
import type { Approval, Plan } from "../../../src/domain/gates";

// Plans and approvals for the gate tests.

export const COMMIT = "1234567890abcdef1234567890abcdef12345678";
export const DIGEST = "sha256:aaaaaaaaaaaa0000000000000000000000000000000000000000000000000000";

export function plan(overrides: Partial<Plan> = {}): Plan {
  return {
    environment: "prod",
    stack: "prod",
    commit: COMMIT,
    digest: DIGEST,
    remediate: false,
    ...overrides,
  };
}

let nextId = 1;

/** An approval of the default plan by `approver`. */
export function approval(approver: string, overrides: Partial<Approval> = {}): Approval {
  return {
    id: `a${nextId++}`,
    environment: "prod",
    commit: COMMIT,
    planDigest: DIGEST,
    approver,
    scope: "sync",
    at: "2025-06-02T10:00:00.000Z",
    ...overrides,
  };
}

export function change(name: string, type: string, action: ResourceChange["action"]): ResourceChange {
  return { urn: `urn:pulumi:prod::app::${type}::${name}`, type, name, action, properties: [] };
}

export function pending(...resources: ResourceChange[]): ChangeSet {
  return { kind: "pending", resources };
}

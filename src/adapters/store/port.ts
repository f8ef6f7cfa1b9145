import type { Approval, CommandResult } from "../../domain/gates";
import type { RunReport, EnvironmentState, RunOutcome, RunRecord, ReportSummary } from "../../domain/model";
import type { IsDead, OwnerId } from "../../domain/owner";
import type { Scope } from "../../domain/token";

export type { EnvironmentState, IsDead, OwnerId, ReportSummary };

export interface RunFilter {
  environment?: string;
  /** At most this many runs, newest first; all when absent. */
  limit?: number;
}

/** A run as it starts: its owner's heartbeat starts at `startedAt`. */
export type NewRun = Omit<RunRecord, "endedAt" | "outcome" | "error" | "owner" | "heartbeatAt"> & {
  owner: OwnerId;
};

export interface InterruptSweep {
  /** ISO 8601: the end recorded on the runs marked. */
  now: string;
  /** Whether a run's owner is dead (see isOwnerDead); the runs of live owners are left alone. */
  isDead: IsDead;
}

export interface ApprovalQuery {
  /** Also list revoked approvals (kept as history); default: active ones only. */
  includeRevoked?: boolean;
}

/** Which active approvals of an environment to revoke, and who revokes them when. */
export interface Revocation {
  by: string;
  /** ISO 8601. */
  at: string;
  /** Only this approver's approvals. */
  approver?: string;
  /** Only the approvals of this plan. */
  planDigest?: string;
  /** Only this approval. */
  id?: string;
}

/**
 * A program tree (the infrastructure code, environment-specific stack config excluded) that was
 * deployed successfully to an environment, or found Synced there at a commit.
 */
export interface NewSuccess {
  environment: string;
  commit: string;
  programTree: string;
  /** ISO 8601. */
  at: string;
}

/** What the promotion gate asks: has this tree succeeded here, since when, and at which commit last. */
export interface ProgramSuccess {
  environment: string;
  /** The commit of the latest success. */
  commit: string;
  programTree: string;
  /** The first time this tree succeeded here (soak time counts from it). */
  firstAt: string;
  /** The latest time it did. */
  lastAt: string;
}

/** Runs: who started what, when, and how it ended. */
export interface RunStore {
  /** Records a run that has started. Fails with StoreError "conflict" when the id exists. */
  startRun(run: NewRun): Promise<void>;
  /**
   * Records a run's end. A run marked interrupted may still be finished by the process that owns it
   * (its outcome is the truth); finishing a run twice otherwise fails with StoreError "conflict".
   */
  finishRun(id: string, outcome: RunOutcome, error?: RunRecord["error"]): Promise<void>;
  /** Records the commit the run observed (as soon as it knows it, so an interrupted run keeps it). */
  setRunCommit(id: string, commit: string): Promise<void>;
  /**
   * Says the owner is alive: sets the heartbeat of each of its unfinished runs to `at` (never back)
   * and returns how many it touched.
   */
  heartbeat(owner: OwnerId, at: string): Promise<number>;
  runs(filter?: RunFilter): Promise<RunRecord[]>;
  run(id: string): Promise<RunRecord | undefined>;
  /** Runs whose outcome is "interrupted", newest first. */
  interruptedRuns(): Promise<RunRecord[]>;
  /**
   * Every run with no end whose owner is dead is one a crash cut short: marks each "interrupted"
   * (ended at `now`, with a recovery hint) and returns them, newest first. Runs of live owners stay.
   */
  markInterrupted(sweep: InterruptSweep): Promise<RunRecord[]>;
}

/** A configured environment as `tidegate status` lists it. */
export interface ListedEnvironment {
  name: string;
  branch: string;
  stack: string;
  /** With several stacks, their names in dependency order (status shows each from the latest report). */
  stacks?: { name: string }[];
}

/** What `tidegate status` shows per environment. */
export interface StatusStore {
  /** Replaces the environment's state. */
  setStatus(state: EnvironmentState): Promise<void>;
  /** All environments, by name. */
  statuses(): Promise<EnvironmentState[]>;
  status(environment: string): Promise<EnvironmentState | undefined>;
  /**
   * Replaces the configured environments, in promotion order, as the engine last loaded them: status
   * lists them without reading the configuration's files in Git.
   */
  setEnvironmentList(environments: readonly ListedEnvironment[]): Promise<void>;
  /** The list last written; undefined when none ever was. */
  environmentList(): Promise<ListedEnvironment[] | undefined>;
}

/** Every run's report, kept as history. */
export interface ReportStore {
  /**
   * Keeps the report; earlier ones stay as history. Saving the same report again does nothing; a
   * different report for the same run fails with StoreError "conflict".
   */
  saveReport(report: RunReport): Promise<void>;
  latestReport(environment: string): Promise<RunReport | undefined>;
  /** The environment's reports, newest first: at most `limit`, after skipping the newest `offset`. */
  reports(environment: string, limit: number, offset?: number): Promise<ReportSummary[]>;
  /** How many reports the environment has (what a history's pager shows as its total). */
  reportCount(environment: string): Promise<number>;
  /**
   * Since when the environment's reports say `status`: the start of the oldest report of the newest
   * unbroken series with that status; undefined when the newest report says another (or none is).
   */
  statusSince(environment: string, status: string): Promise<string | undefined>;
  report(runId: string): Promise<RunReport | undefined>;
}

/** Approvals bound to plans, and their revocations. */
export interface ApprovalStore {
  /**
   * Records an approval (which must not be revoked yet). Adding the same id again does nothing, and
   * so does a second approval of the same plan (environment, commit, digest) by the same approver
   * in the same scope while the first is active. The same id with different content fails with
   * StoreError "conflict".
   */
  addApproval(approval: Approval): Promise<void>;
  /** The environment's approvals, newest first; only active ones unless asked for revoked ones too. */
  approvals(environment: string, query?: ApprovalQuery): Promise<Approval[]>;
  /**
   * Marks the environment's active approvals that match every given filter revoked and returns
   * them (newest first). Revoked approvals stay, as history.
   */
  revokeApprovals(environment: string, revocation: Revocation): Promise<Approval[]>;
}

/** Where a program tree succeeded: what the promotion gate reads. */
export interface SuccessStore {
  /**
   * Records that a program tree succeeded in an environment. The first time per (environment, tree)
   * is kept, and the latest commit and time.
   */
  recordSuccess(success: NewSuccess): Promise<void>;
  success(environment: string, programTree: string): Promise<ProgramSuccess | undefined>;
}

/** Gate commands' results, cached per commit. */
export interface CommandResultStore {
  /**
   * Caches a check command's result under a key the caller chooses (see commandKey()). A result
   * replaces the one under the same key unless that one is newer (by its `at`).
   */
  saveCommandResult(environment: string, key: string, result: CommandResult): Promise<void>;
  commandResult(environment: string, key: string): Promise<CommandResult | undefined>;
}

/** Who holds a key (e.g. a stack) until when. */
export interface Lease {
  key: string;
  owner: OwnerId;
  /** ISO 8601: when this owner took it. */
  acquiredAt: string;
  /** ISO 8601: the holder's last acquire or renew (its heartbeat). */
  renewedAt: string;
  /** ISO 8601: after this, anyone may take it. */
  expiresAt: string;
}

/** Leases shared by every process on the store: one holder per key at a time. */
export interface LeaseStore {
  /**
   * Takes the lease for `ttlMs` from `now`, or returns undefined when another owner holds it. The
   * holder taking it again renews it. A lease is free once expired, or at once when `isDead` says
   * its holder is dead (a crashed process on this host).
   */
  acquire(
    key: string,
    owner: OwnerId,
    ttlMs: number,
    now: string,
    isDead?: IsDead,
  ): Promise<Lease | undefined>;
  /**
   * `acquire` for many keys at once, in one transaction (a replica claims its share in one write):
   * returns the keys taken or renewed, the others being held by live owners.
   */
  acquireLeases(
    keys: string[],
    owner: OwnerId,
    ttlMs: number,
    now: string,
    isDead?: IsDead,
  ): Promise<string[]>;
  /** Extends the holder's lease to `now + ttlMs`; undefined when `owner` does not hold it. */
  renew(key: string, owner: OwnerId, ttlMs: number, now: string): Promise<Lease | undefined>;
  /**
   * Renews every lease of `keys` that `owner` holds, in one write (a replica renews all it owns at
   * each heartbeat); returns the keys renewed, the others being no longer its own.
   */
  renewLeases(keys: string[], owner: OwnerId, ttlMs: number, now: string): Promise<string[]>;
  /** Frees the lease if `owner` holds it; returns whether it did. */
  release(key: string, owner: OwnerId): Promise<boolean>;
  /** The lease as stored, expired or not; undefined when free. */
  holder(key: string): Promise<Lease | undefined>;
  /** Every lease whose key starts with `prefix` (or any of several), as stored (expired or not), by key. */
  leases(prefix: string | readonly string[]): Promise<Lease[]>;
}

/** Who asked: a person (approve, revoke, check) comes before a schedule. */
export type RequestPriority = "person" | "schedule";

export interface NewWorkRequest {
  environment: string;
  /** Why, in a few words ("approved by ada", "webhook push"). */
  reason: string;
  priority: RequestPriority;
  actor?: string;
  /**
   * A person asked for a full check (or a sync): the daemon checks even when the head has not
   * moved. Without it a request only re-judges (a poll, or a check when gates wait).
   */
  look?: "check" | "sync";
  /** ISO 8601. */
  at: string;
}

export interface WorkRequest extends NewWorkRequest {
  /** Increasing, never reused: the daemon reads the requests after the last seq it saw. */
  seq: number;
}

/** Work requests from other processes (a CLI approve) to the daemon, which reads new ones often. */
export interface RequestStore {
  /** Adds a request and returns its seq. */
  addRequest(request: NewWorkRequest): Promise<number>;
  /** The requests with a seq above `seq`, oldest first, at most `limit` (all when absent). */
  requestsSince(seq: number, limit?: number): Promise<WorkRequest[]>;
  /** Deletes the requests made before `before` (ISO 8601); returns how many. */
  pruneRequests(before: string): Promise<number>;
  /**
   * Stores shared by several hosts (PostgreSQL): calls `onWake` soon after any process adds a
   * request, and after each (re)connection, since what was added meanwhile woke nobody. Resolves
   * once the first attempt to listen is over (failures go to `onError`, once per outage, and it
   * keeps trying); the function it returns stops listening.
   */
  watchRequests?(handlers: RequestWatchHandlers): Promise<() => Promise<void>>;
}

export interface RequestWatchHandlers {
  onWake: () => void;
  onError: (error: unknown) => void;
}

/** An API token as created: only a hash of its secret is stored, never the secret. */
export interface NewToken {
  /** Unique for good: a revoked token keeps its name, so the audit log's actor stays unambiguous. */
  name: string;
  /** The person behind the token (an email): the gates judge its approvals as theirs. */
  owner: string;
  scopes: Scope[];
  /** `sha256:<hex>` of the secret: what authentication looks up. */
  secretHash: string;
  /** ISO 8601. */
  createdAt: string;
  createdBy: string;
  /** ISO 8601; never expires when absent. */
  expiresAt?: string;
}

/** A stored token, as read back: without its hash. */
export interface TokenRecord extends Omit<NewToken, "secretHash"> {
  /** ISO 8601: the last authentication, recorded at most about once a minute. */
  lastUsedAt?: string;
  revokedAt?: string;
  revokedBy?: string;
}

/** API tokens: who may call the HTTP API, and as whom. */
export interface TokenStore {
  /** Adds a token. StoreError "conflict" when the name (or the hash) is taken, revoked or not. */
  addToken(token: NewToken): Promise<void>;
  /** Every token, revoked and expired ones too, by name. */
  tokens(): Promise<TokenRecord[]>;
  /** The token whose secret hashes to `secretHash`, whatever its state; undefined when none. */
  tokenByHash(secretHash: string): Promise<TokenRecord | undefined>;
  /** Records a use at `at` (ISO 8601); a later use already recorded stays. */
  touchToken(name: string, at: string): Promise<void>;
  /**
   * Marks the token revoked and returns it; undefined when there is no token of that name. Revoking
   * a revoked token changes nothing and returns it as it was.
   */
  revokeToken(name: string, by: string, at: string): Promise<TokenRecord | undefined>;
}

/** A webhook delivery as the receiver judged it: verified (its repository known) or refused. */
export interface WebhookDeliveryMark {
  provider: string;
  /** The repository the verified payload names; "" when unknown (a refused delivery is never read). */
  repository: string;
  outcome: "verified" | "refused";
  /** ISO 8601. */
  at: string;
}

/** Per provider and repository: the last verified delivery and how many were refused. */
export interface WebhookDeliveryStats {
  provider: string;
  repository: string;
  lastVerifiedAt?: string;
  refused: number;
  /** ISO 8601: the last refusal. */
  lastRefusedAt?: string;
}

/** What `tidegate status` and the dashboard show of the webhooks received. */
export interface WebhookStore {
  recordWebhook(mark: WebhookDeliveryMark): Promise<void>;
  /** By provider, then repository. */
  webhookDeliveries(): Promise<WebhookDeliveryStats[]>;
}

/** A notification to deliver to one sink: the event as JSON, rendered for the sink when sent. */
export interface NewNotification {
  /** The event's identity: a key already queued for this sink is not queued again. */
  key: string;
  sink: string;
  body: string;
  /** ISO 8601: when it was queued (and first due). */
  at: string;
}

export interface Notification extends NewNotification {
  id: number;
  /** Delivery attempts begun. */
  attempts: number;
  /** ISO 8601: not tried again before this. */
  nextAttemptAt: string;
  lastError?: string;
  deliveredAt?: string;
}

/** The notifications outbox and the detector's marks (cursors, last notified status). */
export interface NotificationStore {
  /** Every mark, by name. */
  notifyMarks(): Promise<Record<string, string>>;
  /**
   * In one transaction: queues the notifications (skipping a key and sink queued before) and sets
   * the marks, so a crash neither loses nor repeats an event. Returns how many were queued.
   */
  queueNotifications(notifications: NewNotification[], marks: Record<string, string>): Promise<number>;
  /**
   * Claims up to `limit` undelivered notifications due at `now`, oldest first: each gets one more
   * attempt and is not due again before `holdUntil` (another sender skips it meanwhile).
   */
  claimNotifications(now: string, holdUntil: string, limit: number): Promise<Notification[]>;
  /** Marks one delivered; false when it already was. */
  notificationDelivered(id: number, at: string): Promise<boolean>;
  /** Records a failed attempt and when to try again. */
  notificationFailed(id: number, error: string, nextAttemptAt: string): Promise<void>;
  /** The newest notifications first, delivered or not. */
  notifications(limit: number): Promise<Notification[]>;
}

/**
 * The state store, split by what it stores. Lists are newest first (by start time). Several
 * processes may share one store; every method is safe to call from each of them.
 */
export interface Store
  extends
    RunStore,
    StatusStore,
    ReportStore,
    ApprovalStore,
    SuccessStore,
    CommandResultStore,
    LeaseStore,
    RequestStore,
    TokenStore,
    WebhookStore,
    NotificationStore {
  close(): Promise<void>;
}

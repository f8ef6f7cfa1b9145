import * as path from "node:path";

import { z } from "zod";

import { DURATION_FORMS, parseDuration } from "../gates/duration";
import { propertyGlobProblem } from "../domain/ignore";
import { findStackCycle } from "../domain/stacks";
import { showValue } from "./errors";
import {
  branchNameProblem,
  checkNameProblem,
  configKeyProblem,
  cronInZoneProblem,
  cronProblem,
  durationProblem,
  environmentKeyProblem,
  environmentNameProblem,
  envVarNameProblem,
  listenProblem,
  normalizeRepoPath,
  positiveDurationProblem,
  repoPathProblem,
  stackNameProblem,
  timeZoneProblem,
  usernameProblem,
} from "./rules";
import {
  BACKEND_URL_FORMS,
  backendUrlProblem,
  environmentBackendUrlProblem,
  REPOSITORY_URL_FORMS,
  repositoryUrlProblem,
  STORE_URL_FORM,
  storeUrlProblem,
} from "./url";

// The two kinds of files as they are written: every key the user may leave out is optional here,
// and resolve.ts fills it in. Objects are strict, so a typo or a key from a later release is an
// error rather than silently ignored. The descriptions end up in the JSON Schemas for editors.

/** What tidegate uses for each key the files leave out. */
export const DEFAULTS = {
  dataDir: ".tidegate",
  sandbox: "auto",
  passphraseEnv: "PULUMI_CONFIG_PASSPHRASE",
  tokenUsername: "x-access-token",
  gitTimeouts: { connect: "15s", lowSpeed: "60s", lsRemote: "60s", operation: "10m" },
  daemon: {
    retryInitial: "30s",
    retryMax: "1h",
    stallAfter: 5,
    concurrency: "auto" as const,
    stackConcurrency: 2,
    startup: "check" as const,
    ownershipTtl: "30s",
    heartbeat: "5s",
  },
  timeouts: { preview: "30m", update: "60m", refresh: "30m", stack: "5m", install: "15m" },
  server: { listen: "127.0.0.1:7420", anonymousRead: false },
  environmentsDir: "environments",
  configRef: "main",
  schedule: { poll: "*/1 * * * *", drift: "*/15 * * * *" },
  syncPolicy: "gated",
  driftPolicy: "report",
  project: ".",
  gates: {
    approvalRequired: 1,
    timezone: "UTC",
    checkTimeout: "10m",
    soak: "0s",
    protectOperations: ["delete", "replace"],
    protectAction: "refuse",
  },
} as const;

/**
 * A check that reports `<value> <reason>` and, apart, what was expected; `problem` gives the
 * reason or undefined. `hideValue` keeps the value out of the issue (it may be a secret).
 */
function rule<T>(problem: (value: T) => string | undefined, expected: string, hideValue = false) {
  return (ctx: z.core.ParsePayload<T>): void => {
    const reason = problem(ctx.value);
    if (reason === undefined) return;
    const message = hideValue ? reason : `${showValue(ctx.value)} ${reason}`;
    ctx.issues.push({ code: "custom", input: ctx.value, message, params: { expected, hideValue } });
  };
}

function checkedString(problem: (value: string) => string | undefined, expected: string) {
  return z.string().check(rule(problem, expected));
}

/** A check that an object sets exactly one of two keys; `skip` leaves an object to other checks. */
function oneOfTwo<T extends object>(
  first: keyof T & string,
  second: keyof T & string,
  skip?: (value: T) => boolean,
) {
  return (ctx: z.core.ParsePayload<T>): void => {
    const value = ctx.value;
    if (skip?.(value) || (value[first] === undefined) !== (value[second] === undefined)) return;
    const both = value[first] !== undefined;
    ctx.issues.push({
      code: "custom",
      input: value,
      message: both ? `sets both ${first} and ${second}` : `sets neither ${first} nor ${second}`,
      params: { expected: `exactly one of ${first} or ${second}` },
    });
  };
}

export const Cron = checkedString(
  cronProblem,
  'five fields like "*/5 * * * *" (minute hour day-of-month month day-of-week)',
).meta({ examples: ["*/5 * * * *"] });

export const SyncPolicy = z.enum(["auto", "gated"]).meta({
  description:
    "auto: apply every pending change as soon as the gates pass; gated: also needs an approval (without gates.approval, one approval from anyone but the commits' authors).",
});
export type SyncPolicy = z.infer<typeof SyncPolicy>;

export const DriftPolicy = z.enum(["report", "remediate"]).meta({
  description: "report: only report drift; remediate: run an update that puts the deployed state back.",
});
export type DriftPolicy = z.infer<typeof DriftPolicy>;

const nonEmpty = (what: string) => checkedString((v) => (v.trim() === "" ? "is empty" : undefined), what);

/** One drift.ignore rule: drift an environment expects, with why (see src/domain/ignore.ts). */
export const DriftIgnoreRule = z
  .strictObject({
    resource: z
      .strictObject({
        type: nonEmpty('a glob on the resource type, like "aws:s3/bucket:Bucket" or "aws:*"')
          .optional()
          .meta({ description: "Glob (`*`, `?`) on the resource's type." }),
        name: nonEmpty('a glob on the resource name, like "artifacts" or "app-*"')
          .optional()
          .meta({ description: "Glob (`*`, `?`) on the resource's name (the last part of its URN)." }),
      })
      .check((ctx) => {
        if (ctx.value.type !== undefined || ctx.value.name !== undefined) return;
        ctx.issues.push({
          code: "custom",
          input: ctx.value,
          message: "names no resource",
          params: { expected: "type, name or both" },
        });
      })
      .meta({ description: "Which resources: a type glob, a name glob, or both." }),
    property: checkedString(
      propertyGlobProblem,
      'a property path like "tags.team", "tags.*" or "spec.replicas" (`*` is any one key)',
    ).meta({ description: "The property path the rule covers, and everything below it." }),
    reason: nonEmpty("why this drift is expected").meta({
      description: "Why this drift is expected; shown wherever it is.",
    }),
    owner: nonEmpty("who answers for the rule").optional().meta({ description: "Who answers for the rule." }),
    expires: checkedString(
      (v) =>
        /^\d{4}-\d{2}-\d{2}$/.test(v) && !Number.isNaN(Date.parse(`${v}T00:00:00Z`))
          ? undefined
          : "is not a date",
      'a date like "2026-12-31"',
    )
      .optional()
      .meta({
        description: "YYYY-MM-DD: the rule applies through that day (UTC); after it, the drift counts again.",
      }),
  })
  .meta({ description: "Drift to expect: shown as ignored, not Drifted, never reverted by remediate." });
export type DriftIgnoreRule = z.infer<typeof DriftIgnoreRule>;

export const SandboxMode = z.enum(["auto", "bubblewrap", "off"]).meta({
  description:
    "Where each environment's Pulumi work runs: bubblewrap (an OS sandbox seeing only the environment's worktree, its own stack's state (read-only: the stacks of its environment it depends on), the dependency cache and the toolchain), off, or auto (bubblewrap when it works on this machine, else off with a warning).",
});
export type SandboxMode = z.infer<typeof SandboxMode>;

export const BranchName = checkedString(
  branchNameProblem,
  'a branch name like "main" or "release/prod": letters, digits, ".", "_", "-" and "/"; no ".."; not ending in "/" or ".lock"',
);

export const RepoPath = checkedString(
  repoPathProblem,
  'a relative path inside the repository, like "." or "stacks/aws"',
);

export const EnvVarName = checkedString(
  envVarNameProblem,
  "an upper-case variable name like PULUMI_CONFIG_PASSPHRASE (A-Z, 0-9 and _)",
).meta({ pattern: "^[A-Z_][A-Z0-9_]*$" });

const passphraseInstead =
  "secrets.passphraseEnv: <VARIABLE> (default PULUMI_CONFIG_PASSPHRASE) or secrets.passphraseFile: <path outside the repository>";

export const Secrets = z
  .strictObject({
    passphraseEnv: EnvVarName.optional().meta({
      description: `The environment variable holding the stacks' secrets passphrase (default ${DEFAULTS.passphraseEnv}).`,
    }),
    passphraseFile: z.string().min(1).optional().meta({
      description:
        "A file holding the passphrase, relative to this file's folder; keep it out of the repository.",
    }),
    // Named only to refuse it with a reason: a passphrase written here would be committed.
    passphrase: z
      .unknown()
      .check(
        rule(
          () => "is refused: tidegate.yaml is committed, and a secret does not belong in a committed file",
          passphraseInstead,
          true,
        ),
      )
      .optional()
      .meta({
        not: {},
        description: `Refused: secrets do not belong in a committed file. Use ${passphraseInstead}.`,
      }),
  })
  // An inline passphrase is reported on its own.
  .check(oneOfTwo("passphraseEnv", "passphraseFile", (value) => value.passphrase !== undefined))
  .meta({
    description:
      "Where the passphrase for the stacks' secrets comes from: exactly one of passphraseEnv or passphraseFile.",
    oneOf: [{ required: ["passphraseEnv"] }, { required: ["passphraseFile"] }],
  });
export type Secrets = z.infer<typeof Secrets>;

const PollCron = Cron.optional().meta({
  description: "How often to look for new commits on the branch (cron, five fields).",
});
const DriftCron = Cron.optional().meta({
  description: "How often to check the live state for drift (cron, five fields).",
});

export const Defaults = z
  .strictObject({
    schedule: z
      .strictObject({
        poll: PollCron.meta({ default: DEFAULTS.schedule.poll }),
        drift: DriftCron.meta({ default: DEFAULTS.schedule.drift }),
      })
      .optional(),
    syncPolicy: SyncPolicy.optional().meta({ default: DEFAULTS.syncPolicy }),
    driftPolicy: DriftPolicy.optional().meta({ default: DEFAULTS.driftPolicy }),
  })
  .meta({ description: "What environments get for the schedule and policies they leave out." });
export type Defaults = z.infer<typeof Defaults>;

const EnvironmentName = checkedString(
  environmentNameProblem,
  'a kebab-case name (lower-case letters, digits, single hyphens), like "prod"',
).meta({ pattern: "^[a-z0-9]+(?:-[a-z0-9]+)*$" });

/** An environment as tidegate knows it: its name, or "<repository>.<name>" with several repositories. */
const EnvironmentKey = checkedString(
  environmentKeyProblem,
  'an environment\'s name, or "<repository>.<environment>" when tidegate.yaml lists several repositories',
);

const DURATION_PATTERN = "^(?:0|(?=\\d)(?:\\d+d)?(?:\\d+h)?(?:\\d+m)?(?:\\d+s)?)$";

/** A span of time that may be zero: "0s", "90s", "10m", "1h30m", "2d". */
export const Duration = checkedString(durationProblem, DURATION_FORMS).meta({
  pattern: DURATION_PATTERN,
  examples: ["10m", "1h30m"],
});

/** A span of time longer than zero. */
export const PositiveDuration = checkedString(positiveDurationProblem, `${DURATION_FORMS}, not zero`).meta({
  pattern: DURATION_PATTERN,
  examples: ["10m", "1h30m"],
});

export const TimeZone = checkedString(
  timeZoneProblem,
  'an IANA time zone like "UTC", "Europe/Berlin" or "America/New_York"',
).meta({ examples: ["UTC", "Europe/Berlin"] });

/**
 * `list` whose items must differ in `key`; a repeat is reported where it is written. It runs even
 * when some items have other problems, so every problem is reported at once.
 */
function unique<S extends z.ZodArray>(
  list: S,
  noun: string,
  key: (item: unknown) => unknown,
  keyPath: PropertyKey[] = [],
): S {
  return list.superRefine(
    (items, ctx) => {
      const first = new Map<unknown, number>();
      (items as unknown[]).forEach((item, index) => {
        const value = key(item);
        if (value === undefined) return;
        const earlier = first.get(value);
        if (earlier === undefined) {
          first.set(value, index);
          return;
        }
        // As written: the key may be folded ("Alice@…" → "alice@…").
        const written = keyPath.length === 0 ? item : value;
        ctx.addIssue({
          code: "custom",
          input: written,
          path: [index, ...keyPath],
          message: `${showValue(written)} is listed twice (first at [${earlier}])`,
          params: { expected: `each ${noun} once` },
        });
      });
    },
    { when: (payload) => Array.isArray(payload.value) },
  );
}

/** `value` as a mapping, or an empty one when it is anything else (reported elsewhere). */
function asMapping(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

/** A string item as compared for repeats; undefined for anything else (reported elsewhere). */
function text(item: unknown, fold: (value: string) => string = (value) => value): string | undefined {
  return typeof item === "string" ? fold(item) : undefined;
}

export const ApprovalConfig = z
  .strictObject({
    required: z.int().min(1).optional().meta({
      description: "How many distinct people must approve the plan.",
      default: DEFAULTS.gates.approvalRequired,
    }),
    approvers: unique(
      z.array(
        z
          .string()
          .min(1)
          .meta({ examples: ["alice@example.com"] }),
      ),
      "approver",
      (item) => text(item, (approver) => approver.toLowerCase()),
    )
      .optional()
      .meta({
        description: "Who may approve (as they identify to tidegate, e.g. emails); empty or absent: anyone.",
      }),
    allowSelfApproval: z.boolean().optional().meta({
      description: "Whether an author of a commit being deployed may approve it.",
      default: false,
    }),
  })
  .check((ctx) => {
    const { required = DEFAULTS.gates.approvalRequired, approvers = [] } = ctx.value;
    if (approvers.length === 0 || required <= approvers.length) return;
    ctx.issues.push({
      code: "custom",
      input: required,
      path: ["required"],
      message: `${required} approvals can never be met by ${approvers.length} approver${approvers.length === 1 ? "" : "s"}`,
      params: { expected: `at most ${approvers.length}, the number of approvers listed` },
    });
  })
  .meta({
    description:
      "Approvals a sync needs. Each approval binds to the environment, the commit and the plan's digest: a new commit, new drift or any change in the preview needs a new approval.",
  });
export type ApprovalConfig = z.infer<typeof ApprovalConfig>;

export const PromotionConfig = z
  .strictObject({
    from: EnvironmentName.optional().meta({
      description:
        "The environment the program must have succeeded in first, with a lower order; default: the environment just below this one.",
    }),
    soak: Duration.optional().meta({
      description: "How long the program must have run there since it first succeeded.",
      default: DEFAULTS.gates.soak,
    }),
    requireNoDrift: z.boolean().optional().meta({
      description:
        "Refuse promotions into this environment while the environment promoted from shows drift. Default false: drift there is a warning in the promotion's output.",
      default: false,
    }),
  })
  .meta({
    description:
      "The program at the head (its tree, stack config excluded) must already have been deployed successfully in a lower environment.",
  });
export type PromotionConfig = z.infer<typeof PromotionConfig>;

export const SyncWindowConfig = z
  .strictObject({
    kind: z.enum(["allow", "deny"]).meta({
      description:
        "allow: syncs run only inside an allow window; deny: no sync while it is open (deny wins).",
    }),
    schedule: Cron.meta({ description: "When the window opens (cron, five fields, read in the time zone)." }),
    duration: PositiveDuration.meta({ description: "How long it stays open each time." }),
    timezone: TimeZone.optional().meta({
      description: "The IANA time zone the schedule is read in.",
      default: DEFAULTS.gates.timezone,
    }),
  })
  .check((ctx) => {
    const { schedule, timezone = DEFAULTS.gates.timezone } = ctx.value;
    const problem = cronInZoneProblem(schedule, timezone);
    if (problem === undefined) return;
    ctx.issues.push({
      code: "custom",
      input: schedule,
      path: ["schedule"],
      message: `${showValue(schedule)} ${problem}`,
      params: { expected: "a cron expression that fires in its time zone" },
    });
  })
  .meta({ description: "A sync window: open for `duration` from each time `schedule` fires." });
export type SyncWindowConfig = z.infer<typeof SyncWindowConfig>;

export const CheckConfig = z
  .strictObject({
    name: checkedString(
      checkNameProblem,
      'a short name like "unit" or "e2e-smoke" (letters, digits, ".", "_", "-")',
    ).meta({
      description: "The check's name in status and reports; unique in the environment.",
    }),
    run: z
      .string()
      .min(1)
      .meta({
        description:
          "A shell command, run with `sh -c` in the Pulumi project folder of the environment's checkout.",
        examples: ["npm test"],
      }),
    timeout: PositiveDuration.optional().meta({
      description: "How long it may run before it is stopped and counts as failed.",
      default: DEFAULTS.gates.checkTimeout,
    }),
  })
  .meta({ description: "A command that must exit 0 at the commit being deployed." });
export type CheckConfig = z.infer<typeof CheckConfig>;

const StackName = checkedString(
  environmentNameProblem,
  'a kebab-case name (lower-case letters, digits, single hyphens) like "cloud" or "app"',
).meta({ pattern: "^[a-z0-9]+(?:-[a-z0-9]+)*$" });

export const ProtectConfig = z
  .strictObject({
    operations: unique(z.array(z.enum(["delete", "replace"])).min(1), "operation", (item) => text(item))
      .optional()
      .meta({
        description: "Which operations are protected.",
        default: [...DEFAULTS.gates.protectOperations],
      }),
    resources: z.array(z.string().min(1)).optional().meta({
      description:
        'Globs ("*" for any text) over the resource type or name, e.g. "aws:s3/bucket:Bucket", "aws:s3/*", "prod-*"; empty or absent: every resource.',
    }),
    action: z.enum(["refuse", "approve"]).optional().meta({
      description:
        "refuse: never through tidegate; approve: needs its own approval (tidegate approve --protected).",
      default: DEFAULTS.gates.protectAction,
    }),
    stacks: z.array(StackName).min(1).optional().meta({
      description: "Only resources of these stacks (an environment listing stacks:); absent: every stack.",
    }),
  })
  .meta({ description: "Deletes and replacements that are refused or need their own approval." });
export type ProtectConfig = z.infer<typeof ProtectConfig>;

export const GatesConfig = z
  .strictObject({
    approval: ApprovalConfig.optional(),
    promotion: PromotionConfig.optional(),
    windows: z.array(SyncWindowConfig).optional().meta({
      description:
        "Sync windows. With allow windows a sync runs only inside one; an open deny window blocks it. An update running when a window closes is let finish.",
    }),
    checks: unique(
      z.array(CheckConfig),
      "check name",
      (item) => text((item as { name?: unknown } | null)?.name),
      ["name"],
    )
      .optional()
      .meta({ description: "Commands that must pass before a sync, e.g. unit and functional tests." }),
    protect: ProtectConfig.optional(),
    policyPacks: unique(z.array(RepoPath.meta({ examples: ["policies/baseline"] })), "policy pack", (item) =>
      text(item, normalizeRepoPath),
    )
      .optional()
      .meta({
        description:
          "Repository-relative folders of Pulumi policy packs run on every preview; a mandatory violation blocks the sync.",
      }),
  })
  .meta({
    description:
      "What a sync must pass. The gates in force are those of the deployed commit, never those of the commit being deployed.",
  });
export type GatesConfig = z.infer<typeof GatesConfig>;

/** How long a Git call to the remote may take; every one is bounded, so a silent remote cannot hang tidegate. */
export const GitTimeoutsConfig = z
  .strictObject({
    connect: PositiveDuration.optional().meta({
      description:
        "How long to wait for the connection to the remote (ssh: ConnectTimeout, which covers the server's banner). Over https, Git 2.39 has no connect setting of its own: lowSpeed and the deadlines bound it.",
      default: DEFAULTS.gitTimeouts.connect,
    }),
    lowSpeed: PositiveDuration.optional().meta({
      description:
        "A transfer slower than 1000 bytes/s for this long is stopped (https: http.lowSpeedTime; ssh: keepalives unanswered for about this long).",
      default: DEFAULTS.gitTimeouts.lowSpeed,
    }),
    lsRemote: PositiveDuration.optional().meta({
      description: "The deadline of one poll for new commits (git ls-remote); Git is stopped after it.",
      default: DEFAULTS.gitTimeouts.lsRemote,
    }),
    operation: PositiveDuration.optional().meta({
      description: "The deadline of one git fetch or git push; Git is stopped after it.",
      default: DEFAULTS.gitTimeouts.operation,
    }),
  })
  .meta({
    description:
      "Limits on every Git call to the remote; a call that exceeds one fails with an error naming the limit, and is retried at the next poll.",
  });
export type GitTimeoutsConfig = z.infer<typeof GitTimeoutsConfig>;

/** How the daemon treats an environment that keeps failing: back-off between tries, then Stalled. */
export const DaemonConfig = z
  .strictObject({
    retry: z
      .strictObject({
        initial: PositiveDuration.optional().meta({
          description: "The wait after a first failure; it doubles with each failure in a row (with jitter).",
          default: DEFAULTS.daemon.retryInitial,
        }),
        max: PositiveDuration.optional().meta({
          description: "The longest wait between two tries of a failing environment.",
          default: DEFAULTS.daemon.retryMax,
        }),
      })
      .check((ctx) => {
        const initial = parseDuration(ctx.value.initial ?? DEFAULTS.daemon.retryInitial);
        const max = parseDuration(ctx.value.max ?? DEFAULTS.daemon.retryMax);
        if (initial === undefined || max === undefined || max >= initial) return;
        ctx.issues.push({
          code: "custom",
          input: ctx.value.max,
          path: ["max"],
          message: `${showValue(ctx.value.max ?? DEFAULTS.daemon.retryMax)} is shorter than retry.initial`,
          params: { expected: "a duration at least as long as retry.initial" },
        });
      })
      .optional()
      .meta({
        description:
          "Scheduled looks at a failing environment are skipped for a while that grows with each failure; a success resets it. A person's request is never held back.",
      }),
    stallAfter: z.number().int().min(1).optional().meta({
      description:
        "After this many identical failures in a row the environment is Stalled: no scheduled run until its branch or its definition changes, or a person asks (tidegate check <env>).",
      default: DEFAULTS.daemon.stallAfter,
    }),
    concurrency: z
      .union([z.number().int().min(1).max(64), z.literal("auto")])
      .optional()
      .meta({
        description:
          "How many environments `tidegate run` checks or syncs at once (one environment never runs beside itself). 'auto': one per CPU core, at most one per GiB of memory.",
        default: DEFAULTS.daemon.concurrency,
      }),
    stackConcurrency: z.number().int().min(1).max(16).optional().meta({
      description:
        "How many stacks of one environment (one that lists stacks:) are previewed or updated at once; updates always wait for the stacks they depend on.",
      default: DEFAULTS.daemon.stackConcurrency,
    }),
    startup: z.enum(["check", "poll"]).optional().meta({
      description:
        "What `tidegate run` does first with each environment. 'check': a full check (preview and drift preview) of every one. 'poll': only those whose branch moved since their last recorded check, that were never checked, or whose last check failed; the others keep their recorded status until their schedules come (drift on the drift schedule). With hundreds of environments 'poll' saves a preview of each at every restart. `tidegate run --once` always checks in full.",
      default: DEFAULTS.daemon.startup,
    }),
    requestPoll: PositiveDuration.optional().meta({
      description:
        "How often `tidegate run` reads the requests other processes leave in the store (approvals, revocations, webhooks, check requests) when nothing wakes it. Default: 1s on SQLite; 30s on PostgreSQL, where each request wakes every replica at once and the read is only a fallback.",
    }),
    replicas: z
      .strictObject({
        ownershipTtl: PositiveDuration.optional().meta({
          description:
            "How long a replica's ownership of an environment lasts without a heartbeat: the longest an environment of a replica that died (on another host) waits before another replica takes it over.",
          default: DEFAULTS.daemon.ownershipTtl,
        }),
        heartbeat: PositiveDuration.optional().meta({
          description:
            "How often a replica renews what it owns, sees the other replicas, and takes or hands over environments to even out the work.",
          default: DEFAULTS.daemon.heartbeat,
        }),
      })
      .check((ctx) => {
        const ttl = parseDuration(ctx.value.ownershipTtl ?? DEFAULTS.daemon.ownershipTtl);
        const beat = parseDuration(ctx.value.heartbeat ?? DEFAULTS.daemon.heartbeat);
        if (ttl === undefined || beat === undefined || beat < ttl) return;
        ctx.issues.push({
          code: "custom",
          input: ctx.value.heartbeat,
          path: ["heartbeat"],
          message: `${showValue(ctx.value.heartbeat ?? DEFAULTS.daemon.heartbeat)} is not shorter than ownershipTtl`,
          params: { expected: "a duration shorter than replicas.ownershipTtl (a few heartbeats per TTL)" },
        });
      })
      .optional()
      .meta({
        description:
          "Several `tidegate run` processes on one store share the environments: each is owned by one live replica at a time, and a replica that stops or dies hands its environments to the others.",
      }),
  })
  .meta({ description: "How `tidegate run` works through the environments." });
export type DaemonConfig = z.infer<typeof DaemonConfig>;
const deadline = (key: keyof typeof DEFAULTS.timeouts, description: string) =>
  PositiveDuration.optional().meta({ description, default: DEFAULTS.timeouts[key] });

export const TimeoutsConfig = z
  .strictObject({
    preview: deadline("preview", "The deadline of one Pulumi preview (pending changes or drift)."),
    update: deadline(
      "update",
      "The deadline of one Pulumi update; the update is cancelled after it (the resource operations in flight get 2 minutes to finish), and pending operations it leaves are reported.",
    ),
    refresh: deadline("refresh", "The deadline of one Pulumi refresh."),
    stack: deadline(
      "stack",
      "The deadline of the other Pulumi calls: stack select and init, export, history.",
    ),
    install: deadline(
      "install",
      "The deadline of one npm install of a project's or a policy pack's dependencies.",
    ),
  })
  .meta({
    description:
      "Deadlines of the Pulumi CLI and npm; a call that exceeds one is stopped and fails with an error naming the operation and what to check.",
  });
export type TimeoutsConfig = z.infer<typeof TimeoutsConfig>;

/** The HTTP API of `tidegate run` and `tidegate serve`. */
export const ServerConfig = z
  .strictObject({
    listen: z
      .string()
      .check(rule(listenProblem, "host:port, e.g. 127.0.0.1:7420 or [::1]:7420"))
      .optional()
      .meta({
        description:
          "Where the HTTP API listens, host:port. The default is loopback only: exposing it is a deliberate choice (behind a reverse proxy doing TLS, or with server.tls).",
        default: DEFAULTS.server.listen,
      }),
    tls: z
      .strictObject({
        cert: z
          .string()
          .min(1)
          .meta({ description: "The certificate chain file (PEM), relative to this file's folder." }),
        key: z
          .string()
          .min(1)
          .meta({ description: "The private key file (PEM), relative to this file's folder." }),
      })
      .optional()
      .meta({ description: "Serve HTTPS with this certificate and key; absent: plain HTTP." }),
    anonymousRead: z.boolean().optional().meta({
      description:
        "Let requests without a token read (GET); every change still needs a token with its scope.",
      default: DEFAULTS.server.anonymousRead,
    }),
    publicUrl: z
      .url({ protocol: /^https?$/ })
      .optional()
      .meta({
        description:
          "The dashboard's address as people reach it (behind a proxy): notifications link to it. Default: http://<listen>/.",
      }),
  })
  .meta({ description: "The HTTP API (/api/v1) served by `tidegate run` and `tidegate serve`." });
export type ServerConfig = z.infer<typeof ServerConfig>;

/** Why `value` is not a collector URL tidegate posts traces to, or undefined. */
function collectorUrlProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return "the collector endpoint is not a URL";
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return "the collector endpoint is not http:// or https://";
  }
  // The endpoint is logged and shown; credentials go in OTEL_EXPORTER_OTLP_HEADERS instead.
  if (url.username || url.password) {
    return "the collector endpoint carries credentials: put them in OTEL_EXPORTER_OTLP_HEADERS";
  }
  return undefined;
}

/** Prometheus metrics, health checks and OpenTelemetry traces. */
export const TelemetryConfig = z
  .strictObject({
    metrics: z
      .strictObject({
        requireToken: z.boolean().optional().meta({
          description:
            "Require a token with the read scope on /metrics. Off by default: Prometheus scrapes without one, and the metrics hold only names, statuses, counts and durations.",
          default: false,
        }),
      })
      .optional(),
    traces: z
      .strictObject({
        endpoint: z
          .string()
          // Not echoed: a URL with credentials must not reach the output.
          .check(
            rule(collectorUrlProblem, "the OTLP/HTTP collector's base URL, e.g. http://127.0.0.1:4318", true),
          )
          .optional()
          .meta({
            description:
              "Export a span per run and per stage to this OTLP/HTTP collector (/v1/traces is appended). Without it, OTEL_EXPORTER_OTLP_ENDPOINT turns traces on; with neither, no spans are exported.",
          }),
      })
      .optional(),
  })
  .meta({ description: "/metrics, /healthz, /readyz and traces." });
export type TelemetryConfig = z.infer<typeof TelemetryConfig>;
/** Where a webhook secret comes from: never inline, since this file is committed. */
const WebhookSecret = z
  .strictObject({
    env: EnvVarName.optional().meta({ description: "A variable of tidegate's own environment." }),
    file: z
      .string()
      .min(1)
      .optional()
      .meta({ description: "A file (relative to this file's folder); its content, trimmed." }),
  })
  .check(oneOfTwo("env", "file"))
  .meta({
    description: "Where the secret comes from: exactly one of { env: VARIABLE } or { file: path }.",
    oneOf: [{ required: ["env"] }, { required: ["file"] }],
  });

/** The hard maximum of webhooks.<provider>.maxBodyBytes (25 MiB, GitHub's own cap on a delivery). */
export const WEBHOOK_MAX_BODY_BYTES = 25 * 1024 * 1024;

const WebhookProvider = z
  .strictObject({
    secret: WebhookSecret.optional().meta({
      description:
        "The shared secret (GitHub, Gitea/Forgejo, Bitbucket, generic: the HMAC key; GitLab: the secret token sent in X-Gitlab-Token).",
    }),
    signingSecret: WebhookSecret.optional().meta({
      description:
        "GitLab only: the signing token (whsec_...) of the signed webhook-signature scheme (Standard Webhooks).",
    }),
    maxBodyBytes: z
      .int()
      .check(
        rule(
          (n: number) => (n < 1 || n > WEBHOOK_MAX_BODY_BYTES ? "is out of range" : undefined),
          `a whole number of bytes from 1 to ${WEBHOOK_MAX_BODY_BYTES} (25 MiB)`,
        ),
      )
      .optional()
      .meta({
        description: "The largest body accepted, in bytes (default 1 MiB, at most 25 MiB).",
        default: 1048576,
      }),
  })
  .meta({ description: "One provider's webhook: off until a secret is set." });

export const WEBHOOK_PROVIDERS = ["github", "gitlab", "gitea", "forgejo", "bitbucket", "generic"] as const;

export const WebhooksConfig = z
  .strictObject(
    Object.fromEntries(WEBHOOK_PROVIDERS.map((name) => [name, WebhookProvider.optional()])) as Record<
      (typeof WEBHOOK_PROVIDERS)[number],
      z.ZodOptional<typeof WebhookProvider>
    >,
  )
  .check((ctx) => {
    for (const name of WEBHOOK_PROVIDERS) {
      if (name === "gitlab" || ctx.value[name]?.signingSecret === undefined) continue;
      ctx.issues.push({
        code: "custom",
        input: ctx.value,
        path: [name, "signingSecret"],
        message: "is only for gitlab",
        params: { expected: `secret (the HMAC key) for ${name}` },
      });
    }
  })
  .meta({
    description:
      "Webhooks in (POST /api/v1/webhooks/<provider>): a verified push makes the daemon poll the environments of the branches it names.",
  });
export type WebhooksConfig = z.infer<typeof WebhooksConfig>;

const tokenSources = "repository.tokenEnv: <VARIABLE> or repository.tokenFile: <path outside the repository>";

const RepositoryFields = {
  url: checkedString(repositoryUrlProblem, REPOSITORY_URL_FORMS).meta({
    description:
      "The Git repository to watch: a local path (relative to this file's folder) or a file://, https://, ssh:// or git@host:path URL. Credentials in an https URL are never printed, and reach Git only through tidegate's credential helper.",
  }),
  tokenEnv: EnvVarName.optional().meta({
    description:
      "The environment variable holding the token for an https repository (sent as the HTTP password). Git never sees the variable; prefer tokenFile, since the Pulumi engine and check commands may inherit tidegate's environment.",
  }),
  tokenFile: z.string().min(1).optional().meta({
    description:
      "A file holding the token for an https repository, relative to this file's folder; read before each fetch or push, so a rotated token is picked up.",
  }),
  username: z
    .string()
    .check(rule(usernameProblem, "a user name without spaces, ':' or control characters"))
    .optional()
    .meta({
      description: `The user name sent with the token (default ${DEFAULTS.tokenUsername}, as GitHub expects for app tokens).`,
      default: DEFAULTS.tokenUsername,
    }),
  timeouts: GitTimeoutsConfig.optional(),
};

/** What a repository's fields must agree on (a token needs https, and so on). */
function repositoryRules(ctx: z.core.ParsePayload<RepositoryIdentity>): void {
  const { url, tokenEnv, tokenFile, username } = ctx.value;
  const issue = (key: string, message: string, expected: string): void => {
    ctx.issues.push({ code: "custom", input: ctx.value, path: [key], message, params: { expected } });
  };
  const token = tokenEnv !== undefined || tokenFile !== undefined;
  if (tokenEnv !== undefined && tokenFile !== undefined) {
    issue("tokenFile", "is set as well as tokenEnv", `exactly one of ${tokenSources}`);
  }
  if (username !== undefined && !token) {
    issue("username", "is set without a token", `repository.username only beside ${tokenSources}`);
  }
  if (token && !/^https:\/\//i.test(url)) {
    issue("url", "is not an https URL, so a token cannot be used", "an https:// URL when a token is set");
  } else if (token && /^https:\/\/[^/?#]*@/i.test(url)) {
    issue(
      "url",
      "holds credentials as well as a token source",
      "either credentials in the URL or a token source (repository.tokenEnv or repository.tokenFile), not both",
    );
  }
}

interface RepositoryIdentity {
  url: string;
  tokenEnv?: string;
  tokenFile?: string;
  username?: string;
}

export const Repository = z
  .strictObject(RepositoryFields)
  .check(repositoryRules)
  .meta({ description: "The Git repository holding the Pulumi programs and the environment branches." });
export type Repository = z.infer<typeof Repository>;

/** A Pulumi backend: where the stacks' state is kept. */
const Backend = z.strictObject({
  url: checkedString(backendUrlProblem, BACKEND_URL_FORMS).meta({
    description: `The Pulumi backend: ${BACKEND_URL_FORMS}. A relative file:// path is relative to this file's folder.`,
  }),
});

/** One of several repositories: a name, its credentials, and where its environments and stacks are. */
export const RepositoryEntry = z
  .strictObject({
    name: checkedString(
      environmentNameProblem,
      'a kebab-case name (lower-case letters, digits, single hyphens), like "payments"',
    ).meta({
      description:
        'The repository\'s name: its environments are known across tidegate as "<name>.<environment>".',
    }),
    ...RepositoryFields,
    backend: Backend.optional().meta({
      description: "This repository's Pulumi backend; default: tidegate.yaml's backend.",
    }),
    environmentsDir: RepoPath.optional().meta({
      description: "The folder in this repository holding one <env>.yaml per environment.",
      default: DEFAULTS.environmentsDir,
    }),
    configRef: BranchName.optional().meta({
      description: "The branch of this repository whose environments folder is read.",
      default: DEFAULTS.configRef,
    }),
  })
  .check(repositoryRules)
  .meta({ description: "One Git repository among several, with its own credentials and backend." });
export type RepositoryEntry = z.infer<typeof RepositoryEntry>;

const Repositories = z
  .array(RepositoryEntry)
  .min(1)
  .check((ctx) => {
    const seen = new Set<string>();
    ctx.value.forEach((entry, index) => {
      if (!seen.has(entry.name)) return void seen.add(entry.name);
      ctx.issues.push({
        code: "custom",
        input: entry.name,
        path: [index, "name"],
        message: `"${entry.name}" names another repository too`,
        params: { expected: "a name no other repository has" },
      });
    });
  })
  .meta({
    description:
      "Several Git repositories served by one tidegate, instead of repository. Each environment is known as <repository>.<environment>.",
  });

/** An absolute path to a file holding a secret (its content, trimmed, is the value). */
function secretFile(example: string, description: string) {
  return z
    .string()
    .min(1)
    .check(
      rule(
        (file: string) => (path.isAbsolute(file) ? undefined : "is not an absolute path"),
        `an absolute path outside the repository, like ${example}`,
      ),
    )
    .optional()
    .meta({ description });
}

/** Where a notification secret (a webhook URL, a signing key) comes from: never inline. */
const NotifySecretSource = z
  .strictObject({
    env: EnvVarName.optional().meta({ description: "A variable of tidegate's own environment." }),
    file: secretFile("/etc/tidegate/slack-url", "An absolute path; its content, trimmed, is the value."),
  })
  .check(oneOfTwo("env", "file"))
  .meta({ description: "Exactly one of { env: VARIABLE } or { file: /absolute/path }." });

/** A value written inline is refused without being echoed: it is a secret. */
export const NotifySecret = z.preprocess((value, ctx) => {
  if (typeof value !== "string") return value;
  ctx.issues.push({
    code: "custom",
    input: "[secret]",
    message: "is written inline, and it is a secret",
    params: { expected: "{ env: VARIABLE } or { file: /absolute/path }", hideValue: true },
  });
  return { env: "INLINE" };
}, NotifySecretSource);
export type NotifySecret = z.infer<typeof NotifySecretSource>;

export const NOTIFY_EVENTS = [
  "OutOfSync",
  "Drifted",
  "AwaitingApproval",
  "Blocked",
  "Failed",
  "Synced",
  "stale",
  "sync-started",
  "sync-succeeded",
  "sync-failed",
  "approved",
  "revoked",
  "promoted",
  "gates-change",
] as const;
export type NotifyEventName = (typeof NOTIFY_EVENTS)[number];

const StaleTiming = z.strictObject({
  after: PositiveDuration.optional().meta({
    description: "Alert once a status is this old.",
    default: "24h",
  }),
  every: PositiveDuration.optional().meta({ description: "Then again at this interval.", default: "24h" }),
});

export const NotificationsConfig = z
  .strictObject({
    sinks: z
      .record(
        EnvironmentName,
        z.discriminatedUnion("kind", [
          z.strictObject({
            kind: z.literal("slack"),
            url: NotifySecret.meta({ description: "The Slack incoming webhook URL." }),
          }),
          z.strictObject({
            kind: z.literal("teams"),
            url: NotifySecret.meta({ description: "The Microsoft Teams Workflows webhook URL." }),
          }),
          z.strictObject({
            kind: z.literal("webhook"),
            url: NotifySecret.meta({ description: "Where the JSON is POSTed." }),
            secret: NotifySecret.optional().meta({
              description: "Signs the body: Pulumi-Webhook-Signature is the hex HMAC-SHA256 of it.",
            }),
          }),
        ]),
      )
      .meta({ description: "Named sinks: slack, teams or webhook (generic JSON, signed)." }),
    routes: z
      .array(
        z.strictObject({
          sinks: z.array(EnvironmentName).min(1),
          environments: z
            .array(EnvironmentKey)
            .optional()
            .meta({ description: "Default: all. With several repositories: <repository>.<environment>." }),
          events: z.array(z.enum(NOTIFY_EVENTS)).optional().meta({ description: "Default: all." }),
        }),
      )
      .optional()
      .meta({
        description: "Which events of which environments go to which sinks; default: all to every sink.",
      }),
    stale: StaleTiming.extend({
      statuses: z
        .partialRecord(z.enum(["OutOfSync", "Drifted", "AwaitingApproval", "Blocked", "Failed"]), StaleTiming)
        .optional()
        .meta({ description: "Per status timings; a status not listed uses the global ones." }),
    })
      .optional()
      .meta({ description: "Reminders while an environment stays out of Synced." }),
  })
  .meta({
    description: "Notifications of status changes, syncs and human actions, with staleness reminders.",
  });
export type NotificationsConfig = z.infer<typeof NotificationsConfig>;

/** store: the shared store on PostgreSQL; without it, SQLite in the data directory. */
const StoreConfig = z
  .strictObject({
    // The URL is never echoed in an issue: a refused one may hold a password.
    url: z
      .string()
      .check(rule(storeUrlProblem, STORE_URL_FORM, true))
      .meta({ description: `The PostgreSQL database: ${STORE_URL_FORM}.` }),
    password: WebhookSecret.meta({
      description:
        "Where the database password comes from: exactly one of { env: VARIABLE } or { file: path } (relative to this file's folder).",
    }),
  })
  .meta({
    description:
      "The store shared by every tidegate replica: PostgreSQL. Without it the store is SQLite in the data directory.",
  });
export type StoreConfig = z.infer<typeof StoreConfig>;

/** tidegate.yaml: the engine's own configuration. */
export const TidegateFile = z
  .strictObject({
    repository: Repository.optional(),
    repositories: Repositories.optional(),
    dataDir: z.string().min(1).optional().meta({
      description: "Where tidegate keeps its state, relative to this file's folder.",
      default: DEFAULTS.dataDir,
    }),
    backend: Backend.optional().meta({
      description: "The Pulumi state backend; default file://<dataDir>/state.",
    }),
    sandbox: SandboxMode.optional().meta({ default: DEFAULTS.sandbox }),
    timeouts: TimeoutsConfig.optional(),
    secrets: Secrets.optional(),
    environmentsDir: RepoPath.optional().meta({
      description: "The folder in the repository holding one <env>.yaml per environment.",
      default: DEFAULTS.environmentsDir,
    }),
    configRef: BranchName.optional().meta({
      description: "The branch whose environments folder is read.",
      default: DEFAULTS.configRef,
    }),
    defaults: Defaults.optional(),
    daemon: DaemonConfig.optional(),
    server: ServerConfig.optional(),
    telemetry: TelemetryConfig.optional(),
    webhooks: WebhooksConfig.optional(),
    notifications: NotificationsConfig.optional(),
    store: StoreConfig.optional(),
  })
  .check(oneOfTwo("repository", "repositories"))
  .meta({ title: "tidegate.yaml", description: "The configuration of the tidegate engine." });
export type TidegateFile = z.infer<typeof TidegateFile>;

/** Variables tidegate sets itself for the engine; a credential may not take their place. */
export const RESERVED_VARIABLES = [
  "PATH",
  "PULUMI_HOME",
  "PULUMI_BACKEND_URL",
  "PULUMI_CONFIG_PASSPHRASE",
  "PULUMI_CONFIG_PASSPHRASE_FILE",
] as const;

const SOURCE_KINDS = ["env", "file", "command"] as const;
const SOURCE_FORMS =
  "exactly one of { env: VARIABLE } (of tidegate's own environment), { file: /absolute/path } or { command: [program, args...] }";

/**
 * Where a secret value comes from when a run starts: never the value itself, since this file is
 * committed. A command runs without a shell, with a timeout and the minimal environment.
 */
export const ValueSource = z
  .strictObject({
    env: EnvVarName.optional().meta({ description: "A variable of tidegate's own environment." }),
    file: secretFile(
      "/etc/tidegate/prod/aws-secret",
      "An absolute path outside the repository; its content, trimmed, is the value.",
    ),
    command: z
      .array(z.string().min(1))
      .check(
        rule(
          (argv: string[]) => (argv.length === 0 ? "is empty" : undefined),
          "a program and its arguments, like [aws, configure, export-credentials]",
        ),
      )
      .optional()
      .meta({
        description:
          'A program and its arguments (no shell), e.g. a cloud CLI\'s credential process such as ["vault", "kv", "get", "-field=key", "secret/prod"]; its standard output, trimmed, is the value.',
      }),
  })
  .check((ctx) => {
    const given = SOURCE_KINDS.filter((kind) => ctx.value[kind] !== undefined);
    if (given.length === 1) return;
    ctx.issues.push({
      code: "custom",
      input: ctx.value,
      message: given.length === 0 ? "names no source" : `names ${given.length} sources (${given.join(", ")})`,
      params: { expected: SOURCE_FORMS },
    });
  })
  .meta({
    description: `Where a secret comes from: ${SOURCE_FORMS}.`,
    oneOf: SOURCE_KINDS.map((kind) => ({ required: [kind] })),
  });
export type ValueSource = z.infer<typeof ValueSource>;

const CredentialMap = z
  .record(
    checkedString(
      (name: string) =>
        envVarNameProblem(name) ??
        ((RESERVED_VARIABLES as readonly string[]).includes(name) ? "is set by tidegate itself" : undefined),
      `an upper-case variable name like AWS_SECRET_ACCESS_KEY, not one of ${RESERVED_VARIABLES.join(", ")} (the passphrase goes in secrets.passphrase)`,
    ).meta({ pattern: "^[A-Z_][A-Z0-9_]*$" }),
    ValueSource,
  )
  .meta({ description: "Variable name → where its value comes from." });

export const CredentialsConfig = z
  .strictObject({
    read: CredentialMap.optional().meta({
      description:
        "For read-only work: previews, drift previews, policy packs and gate checks (e.g. a read-only cloud role).",
    }),
    update: CredentialMap.optional().meta({
      description:
        "For updates (pulumi up); default: read. When given it replaces read entirely, and is obtained only when an update runs.",
    }),
    kubeconfig: ValueSource.optional().meta({
      description:
        "The cluster's kubeconfig, for previews and updates: the source holds its contents or an absolute path to it. tidegate copies it to a private file and sets KUBECONFIG to that file.",
    }),
  })
  .meta({
    description:
      "The environment's own credentials, handed to its stacks' processes as environment variables. Nothing else of tidegate's environment reaches them.",
  });
export type CredentialsConfig = z.infer<typeof CredentialsConfig>;

const SECRETS_PROVIDER_SCHEMES = ["awskms", "hashivault", "gcpkms", "azurekeyvault"] as const;

export const EnvironmentSecrets = z
  .strictObject({
    passphrase: ValueSource.optional().meta({
      description: "The passphrase of this environment's stacks (passphrase secrets provider).",
    }),
    provider: checkedString(
      (url: string) =>
        SECRETS_PROVIDER_SCHEMES.some((scheme) => url.startsWith(`${scheme}://`))
          ? undefined
          : "is not a secrets provider URL",
      SECRETS_PROVIDER_SCHEMES.map((scheme) => `${scheme}://…`).join(", "),
    )
      .optional()
      .meta({
        description:
          "A cloud secrets provider for a new stack (pulumi stack init --secrets-provider); its credentials come from `credentials`.",
        examples: ["awskms://alias/tidegate-prod?region=eu-central-1"],
      }),
  })
  .check(oneOfTwo("passphrase", "provider"))
  .meta({
    description:
      "This environment's secrets provider; default: the engine-wide passphrase of tidegate.yaml (secrets.passphraseEnv / passphraseFile).",
    oneOf: [{ required: ["passphrase"] }, { required: ["provider"] }],
  });
export type EnvironmentSecrets = z.infer<typeof EnvironmentSecrets>;

/** One stack of an environment of several: a Pulumi project and stack, after those it depends on. */
export const StackConfig = z
  .strictObject({
    name: StackName.meta({
      description: "The stack's name in this environment: in reports, status, dependsOn and protect rules.",
    }),
    project: RepoPath.meta({ description: "The folder in the repository holding this stack's Pulumi.yaml." }),
    stack: checkedString(stackNameProblem, 'a Pulumi stack name like "prod" or "org/project/prod"')
      .optional()
      .meta({ description: "The Pulumi stack; default: the environment's name." }),
    dependsOn: z.array(StackName).optional().meta({
      description:
        "Stacks of this environment applied before this one (it may read their outputs through stack references); a failure of one stops this one.",
    }),
    ignore: z.array(DriftIgnoreRule).optional().meta({
      description:
        "Drift this stack expects, besides the environment's drift.ignore rules (read at the config ref only, as those).",
    }),
  })
  .meta({ description: "One Pulumi project and stack of the environment." });
export type StackConfig = z.infer<typeof StackConfig>;

/** environments/<env>.yaml: one environment, a branch and a Pulumi stack. */
export const EnvironmentFile = z
  .strictObject({
    name: checkedString(
      environmentNameProblem,
      'a kebab-case name (lower-case letters, digits, single hyphens) equal to the file name, like "prod"',
    ).meta({
      description: "The environment's name; the same as the file's name without .yaml.",
      pattern: "^[a-z0-9]+(?:-[a-z0-9]+)*$",
    }),
    branch: BranchName.optional().meta({
      description: "The Git branch deployed to this environment; default: the name.",
    }),
    stack: checkedString(stackNameProblem, 'a Pulumi stack name like "prod" or "org/project/prod"')
      .optional()
      .meta({ description: "The Pulumi stack of this environment; default: the name." }),
    project: RepoPath.optional().meta({
      description: "The folder in the repository holding Pulumi.yaml.",
      default: DEFAULTS.project,
    }),
    stacks: unique(z.array(StackConfig).min(1), "stack name", (item) => asMapping(item).name, ["name"])
      .optional()
      .meta({
        description:
          "Several Pulumi stacks deployed together, in dependency order, instead of project and stack: one run previews them all and an approval covers them all.",
      }),
    order: z.int().min(1).meta({
      description:
        "The promotion order, unique across environments: changes go from 1 (test) to 2 (stage) to 3 (prod).",
    }),
    schedule: z
      .strictObject({ poll: PollCron, drift: DriftCron })
      .optional()
      .meta({ description: "When to check this environment; default: defaults.schedule in tidegate.yaml." }),
    sync: z.strictObject({ policy: SyncPolicy }).optional().meta({
      description: "How pending changes are applied; default: defaults.syncPolicy in tidegate.yaml.",
    }),
    drift: z
      .strictObject({
        policy: DriftPolicy.optional(),
        ignore: z.array(DriftIgnoreRule).optional().meta({
          description: "Expected drift (read at the config ref only, so a branch cannot hide its own drift).",
        }),
      })
      .optional()
      .meta({
        description: "What to do about drift; default policy: defaults.driftPolicy in tidegate.yaml.",
      }),
    config: z
      .record(
        checkedString(
          configKeyProblem,
          "an upper-case variable name like AWS_REGION that holds no secret (a secret goes in credentials or Pulumi secrets)",
        ).meta({ pattern: "^[A-Z_][A-Z0-9_]*$" }),
        z.string(),
      )
      .optional()
      .meta({
        description:
          "Non-secret environment variables for this environment's processes (Pulumi, gate checks), e.g. AWS_REGION.",
      }),
    credentials: CredentialsConfig.optional(),
    secrets: EnvironmentSecrets.optional(),
    backend: z
      .strictObject({
        url: checkedString(
          environmentBackendUrlProblem,
          `${BACKEND_URL_FORMS}; a file:// path absolute`,
        ).meta({ description: `This environment's Pulumi backend: ${BACKEND_URL_FORMS}.` }),
      })
      .optional()
      .meta({
        description:
          "This environment's own Pulumi backend (its credentials in `credentials`); default: backend in tidegate.yaml.",
      }),
    install: z
      .strictObject({
        scripts: z.boolean().optional().meta({
          description:
            "Run npm lifecycle scripts (preinstall, postinstall, ...) of the program and its packages; they run with no credentials.",
          default: false,
        }),
      })
      .optional()
      .meta({ description: "How the program's npm dependencies are installed." }),
    gates: GatesConfig.optional(),
  })
  .superRefine(
    (file, ctx) => {
      // Judged even when other keys have problems, so every problem is reported at once.
      const config = asMapping(file.config);
      const credentials = asMapping(file.credentials);
      if (credentials.kubeconfig !== undefined) {
        for (const [where, names] of [
          [["config"], config],
          [["credentials", "read"], asMapping(credentials.read)],
          [["credentials", "update"], asMapping(credentials.update)],
        ] as const) {
          if (!("KUBECONFIG" in names)) continue;
          ctx.addIssue({
            code: "custom",
            input: "KUBECONFIG",
            path: [...where, "KUBECONFIG"],
            message: "KUBECONFIG is also set by credentials.kubeconfig",
            params: { expected: "the kubeconfig in credentials.kubeconfig alone" },
          });
        }
      }
      for (const issue of stacksIssues(file)) ctx.addIssue(issue);
      for (const mode of ["read", "update"] as const) {
        for (const name of Object.keys(asMapping(credentials[mode]))) {
          if (!(name in config)) continue;
          ctx.addIssue({
            code: "custom",
            input: name,
            path: ["credentials", mode, name],
            message: `${name} is also set in config`,
            params: { expected: "each variable either in config (non-secret) or in credentials, not both" },
          });
        }
      }
    },
    { when: (payload) => typeof payload.value === "object" && payload.value !== null },
  )
  .meta({
    title: "tidegate environment",
    description: "One environment: a Git branch deployed to a Pulumi stack.",
  });
export type EnvironmentFile = z.infer<typeof EnvironmentFile>;

/**
 * The checks across an environment's stacks: not both `stacks` and the one-stack form's `project`
 * or `stack`, one Pulumi stack per entry, every dependsOn a stack of the list, and no cycle. Reads
 * the file defensively: other checks report its malformed parts.
 */
function stacksIssues(file: Record<string, unknown>): z.core.$ZodRawIssue[] {
  if (!Array.isArray(file.stacks)) {
    const named = asMapping(asMapping(file.gates).protect).stacks;
    if (named === undefined) return [];
    return [
      {
        code: "custom",
        input: named,
        path: ["gates", "protect", "stacks"],
        message: "names stacks of an environment that lists none",
        params: {
          expected: "stacks: in this file, or no gates.protect.stacks (the rule covers the one stack)",
        },
      },
    ];
  }
  const stacks = file.stacks.map((item: unknown) => asMapping(item));
  const issues: z.core.$ZodRawIssue[] = [];
  for (const key of ["project", "stack"] as const) {
    if (file[key] === undefined) continue;
    issues.push({
      code: "custom",
      input: file[key],
      path: [key],
      message: `${showValue(file[key])} is given with stacks`,
      params: { expected: `${key} on each entry of stacks, or the one-stack form without stacks` },
    });
  }
  const names = stacks.flatMap((stack) => (typeof stack.name === "string" ? [stack.name] : []));
  const listed = names.map((name) => JSON.stringify(name)).join(", ");
  const targets = new Map<string, number>();
  stacks.forEach((stack, index) => {
    if (typeof stack.project === "string") {
      const target = `${normalizeRepoPath(stack.project)}\0${typeof stack.stack === "string" ? stack.stack : String(file.name)}`;
      const first = targets.get(target);
      if (first === undefined) targets.set(target, index);
      else {
        issues.push({
          code: "custom",
          input: stack.project,
          path: ["stacks", index, "project"],
          message: `is the project and stack of stacks[${first}] too`,
          params: { expected: "each entry its own Pulumi stack: another project folder or stack" },
        });
      }
    }
    if (!Array.isArray(stack.dependsOn)) return;
    stack.dependsOn.forEach((target: unknown, at) => {
      if (typeof target !== "string" || names.includes(target)) return;
      issues.push({
        code: "custom",
        input: target,
        path: ["stacks", index, "dependsOn", at],
        message: `${showValue(target)} is not a stack of this environment`,
        params: { expected: `the name of a stack listed in stacks: ${listed}` },
      });
    });
  });
  const nodes = stacks.flatMap((stack) =>
    typeof stack.name === "string"
      ? [{ name: stack.name, dependsOn: Array.isArray(stack.dependsOn) ? stack.dependsOn.map(String) : [] }]
      : [],
  );
  const protect = asMapping(asMapping(file.gates).protect);
  if (Array.isArray(protect.stacks)) {
    protect.stacks.forEach((target: unknown, at) => {
      if (typeof target !== "string" || names.includes(target)) return;
      issues.push({
        code: "custom",
        input: target,
        path: ["gates", "protect", "stacks", at],
        message: `${showValue(target)} is not a stack of this environment`,
        params: { expected: `the name of a stack listed in stacks: ${listed}` },
      });
    });
  }
  const cycle = findStackCycle(nodes);
  if (cycle) {
    issues.push({
      code: "custom",
      input: cycle[0],
      path: ["stacks", stacks.findIndex((stack) => stack.name === cycle[0]), "dependsOn"],
      message: `makes a cycle: ${cycle.join(" → ")}`,
      params: {
        expected: "dependencies without a cycle, so each stack can be applied after those it depends on",
      },
    });
  }
  return issues;
}

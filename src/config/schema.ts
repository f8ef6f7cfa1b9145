import { z } from "zod";

import { DURATION_FORMS } from "../gates/duration";
import { showValue } from "./errors";
import {
  branchNameProblem,
  checkNameProblem,
  configKeyProblem,
  cronInZoneProblem,
  cronProblem,
  durationProblem,
  environmentNameProblem,
  envVarNameProblem,
  normalizeRepoPath,
  positiveDurationProblem,
  repoPathProblem,
  stackNameProblem,
  timeZoneProblem,
} from "./rules";
import { BACKEND_URL_FORMS, backendUrlProblem, REPOSITORY_URL_FORMS, repositoryUrlProblem } from "./url";

// The two kinds of files as they are written: every key the user may leave out is optional here,
// and resolve.ts fills it in. Objects are strict, so a typo or a key from a later release is an
// error rather than silently ignored. The descriptions end up in the JSON Schemas for editors.

/** What tidegate uses for each key the files leave out. */
export const DEFAULTS = {
  dataDir: ".tidegate",
  sandbox: "auto",
  passphraseEnv: "PULUMI_CONFIG_PASSPHRASE",
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

export const SandboxMode = z.enum(["auto", "bubblewrap", "off"]).meta({
  description:
    "Where each environment's Pulumi work runs: bubblewrap (an OS sandbox seeing only the environment's worktree, its own stack's state, the dependency cache and the toolchain), off, or auto (bubblewrap when it works on this machine, else off with a warning).",
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
  .check((ctx) => {
    const { passphraseEnv, passphraseFile, passphrase } = ctx.value;
    if (passphrase !== undefined || (passphraseEnv === undefined) !== (passphraseFile === undefined)) return;
    const both = passphraseEnv !== undefined;
    ctx.issues.push({
      code: "custom",
      input: ctx.value,
      message: both
        ? "sets both passphraseEnv and passphraseFile"
        : "sets neither passphraseEnv nor passphraseFile",
      params: { expected: "exactly one of passphraseEnv or passphraseFile" },
    });
  })
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

/** tidegate.yaml: the engine's own configuration. */
export const TidegateFile = z
  .strictObject({
    repository: z
      .strictObject({
        url: checkedString(repositoryUrlProblem, REPOSITORY_URL_FORMS).meta({
          description:
            "The Git repository to watch: a local path (relative to this file's folder) or a file://, https://, ssh:// or git@host:path URL. Credentials in an https URL are never printed.",
        }),
      })
      .meta({ description: "The Git repository holding the Pulumi programs and the environment branches." }),
    dataDir: z.string().min(1).optional().meta({
      description: "Where tidegate keeps its state, relative to this file's folder.",
      default: DEFAULTS.dataDir,
    }),
    backend: z
      .strictObject({
        url: checkedString(backendUrlProblem, BACKEND_URL_FORMS).meta({
          description: `The Pulumi backend: ${BACKEND_URL_FORMS}. A relative file:// path is relative to this file's folder.`,
        }),
      })
      .optional()
      .meta({ description: "The Pulumi state backend; default file://<dataDir>/state." }),
    sandbox: SandboxMode.optional().meta({ default: DEFAULTS.sandbox }),
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
  })
  .meta({ title: "tidegate.yaml", description: "The configuration of the tidegate engine." });
export type TidegateFile = z.infer<typeof TidegateFile>;

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
      .strictObject({ policy: DriftPolicy })
      .optional()
      .meta({ description: "What to do about drift; default: defaults.driftPolicy in tidegate.yaml." }),
    config: z
      .record(
        checkedString(
          configKeyProblem,
          "an upper-case variable name like AWS_REGION that holds no secret (secrets belong in Pulumi secrets or the engine's environment)",
        ).meta({ pattern: "^[A-Z_][A-Z0-9_]*$" }),
        z.string(),
      )
      .optional()
      .meta({
        description: "Extra environment variables for the Pulumi engine, non-secret, e.g. AWS_REGION.",
      }),
    gates: GatesConfig.optional(),
  })
  .meta({
    title: "tidegate environment",
    description: "One environment: a Git branch deployed to a Pulumi stack.",
  });
export type EnvironmentFile = z.infer<typeof EnvironmentFile>;

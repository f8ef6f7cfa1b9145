import { z } from "zod";

import { showValue } from "./errors";
import {
  branchNameProblem,
  configKeyProblem,
  cronProblem,
  environmentNameProblem,
  envVarNameProblem,
  repoPathProblem,
  stackNameProblem,
} from "./rules";
import { BACKEND_URL_FORMS, backendUrlProblem, REPOSITORY_URL_FORMS, repositoryUrlProblem } from "./url";

// The two kinds of files as they are written: every key the user may leave out is optional here,
// and resolve.ts fills it in. Objects are strict, so a typo or a key from a later release is an
// error rather than silently ignored. The descriptions end up in the JSON Schemas for editors.

/** What tidegate uses for each key the files leave out. */
export const DEFAULTS = {
  dataDir: ".tidegate",
  passphraseEnv: "PULUMI_CONFIG_PASSPHRASE",
  environmentsDir: "environments",
  configRef: "main",
  schedule: { poll: "*/1 * * * *", drift: "*/15 * * * *" },
  syncPolicy: "gated",
  driftPolicy: "report",
  project: ".",
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
  description: "auto: apply every pending change as soon as the gates pass; gated: wait for an approval.",
});
export type SyncPolicy = z.infer<typeof SyncPolicy>;

export const DriftPolicy = z.enum(["report", "remediate"]).meta({
  description: "report: only report drift; remediate: run an update that puts the deployed state back.",
});
export type DriftPolicy = z.infer<typeof DriftPolicy>;

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
  })
  .meta({
    title: "tidegate environment",
    description: "One environment: a Git branch deployed to a Pulumi stack.",
  });
export type EnvironmentFile = z.infer<typeof EnvironmentFile>;

import { CommandError, ConcurrentUpdateError, StackNotFoundError } from "@pulumi/pulumi/automation";

/** What went wrong in a Pulumi operation, and what an operator should do about it. */
export type PulumiFailureKind =
  | "lock-held"
  | "stack-missing"
  | "pending-operations"
  | "state-corrupt"
  | "backend-unwritable"
  | "plugin-missing"
  | "program-error"
  | "provider-error"
  | "backend-unreachable"
  | "cancelled"
  | "passphrase"
  | "secrets-mismatch"
  | "secrets-replaced"
  | "unknown";

const RECOVERY: Record<PulumiFailureKind, string> = {
  "lock-held":
    "another update of this stack is running (another tidegate or a person); wait for it. If it crashed, `pulumi cancel` releases the lock.",
  "stack-missing": "create the stack, or check the environment's stack name and the backend URL.",
  "pending-operations":
    "an earlier update was interrupted; confirm the listed resources in the cloud, then run `pulumi refresh` (with --clear-pending-creates for pending creates) on the stack.",
  "state-corrupt":
    "the stack's state in the backend is damaged and tidegate will not use it (nor skip Pulumi's integrity check); restore the last good checkpoint from the backend's history with `pulumi stack import`, or mend it with `pulumi state repair`, then sync again. Nothing was changed.",
  "backend-unwritable":
    "make the backend writable again (a disk gone read-only or full, or the folder's permissions), then sync again: the next run names any lock or pending operation the stopped update left.",
  "plugin-missing": "run `tidegate doctor`: a provider plugin is not installed and cannot be downloaded.",
  "program-error": "the Pulumi program failed; fix the program or its config on the branch and push again.",
  "provider-error":
    "the cloud provider rejected an operation; see the message, fix the cause and sync again.",
  "backend-unreachable": "check the backend URL and credentials, and that the backend is reachable.",
  cancelled: "the operation was cancelled; run it again.",
  passphrase:
    "give the environment the passphrase its stack was created with, at the source named; nothing ran, so the stack and its secrets provider are unchanged.",
  "secrets-mismatch":
    "set encryptionsalt in the stack's config file on the branch to the deployed stack's (`pulumi stack export`: deployment.secrets_providers.state.salt), set its secret config again with `pulumi config set --secret`, and push; nothing ran.",
  "secrets-replaced":
    "the update changed the stack's secrets provider: compare `pulumi stack export` with the previous checkpoint in the backend's history and restore the old salt with `pulumi stack import` if the stack's secrets no longer open with the environment's passphrase.",
  unknown: "see the message; rerun with TIDEGATE_DEBUG=1 for details.",
};

/** A classified Pulumi failure. `message` is already free of engine noise and secrets are masked by Pulumi. */
export class PulumiError extends Error {
  readonly recovery: string;

  constructor(
    readonly kind: PulumiFailureKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "PulumiError";
    this.recovery = RECOVERY[kind];
  }
}

// The one place that reads the CLI's words; everything else switches on PulumiError.kind.
const PATTERNS: Array<[PulumiFailureKind, RegExp]> = [
  [
    "plugin-missing",
    /no resource plugin|plugin 'pulumi-[a-z]+-[\w-]+' found|failed to load plugin|could not find plugin/i,
  ],
  ["state-corrupt", /failed to load checkpoint|snapshot integrity (?:error|failure)/i],
  ["backend-unwritable", /read-only file system|no space left on device/i],
  ["pending-operations", /pending operations from previous deployment|interrupted while/i],
  [
    "backend-unreachable",
    /failed to (?:open|login to) (?:the )?(?:backend|bucket)|no such host|connection refused.*(?:s3|api\.pulumi)/i,
  ],
  [
    "program-error",
    /Program exited with non-zero exit code|Running program .* failed with an unhandled exception|TSError|ReferenceError|SyntaxError/i,
  ],
  ["cancelled", /update canceled|context canceled|operation cancel/i],
  [
    "provider-error",
    /error: .*(?:creating|updating|deleting|reading) .*failed|\bprovider\b.*error|error: .+:\s*(?:\d{3}|[A-Z][a-zA-Z]+Exception)/i,
  ],
];

/** The error lines Pulumi printed, without its banners and blank lines. */
export function failureSummary(stderr: string, stdout: string): string {
  const lines = `${stderr}\n${stdout}`
    .split("\n")
    .map((l) => l.trimEnd())
    .filter((l) => /^\s*error:/i.test(l) || /^\s{2,}\S/.test(l) || /Exception|Error:/.test(l));
  const unique = [...new Set(lines.map((l) => l.trim()))].filter(Boolean);
  return unique.slice(0, 12).join("\n") || stderr.trim().split("\n").slice(-5).join("\n");
}

export function classifyPulumiError(err: unknown): PulumiError {
  if (err instanceof PulumiError) return err;
  if (err instanceof ConcurrentUpdateError) {
    return new PulumiError("lock-held", "the stack is locked by another update", { cause: err });
  }
  if (err instanceof StackNotFoundError) {
    return new PulumiError("stack-missing", "the stack does not exist on the backend", { cause: err });
  }
  if (err instanceof CommandError) {
    const result = (err as unknown as { commandResult?: { stdout: string; stderr: string } }).commandResult;
    const text = `${result?.stderr ?? ""}\n${result?.stdout ?? ""}\n${err.message}`;
    const kind = PATTERNS.find(([, re]) => re.test(text))?.[0] ?? "unknown";
    return new PulumiError(kind, failureSummary(result?.stderr ?? err.message, result?.stdout ?? ""), {
      cause: err,
    });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new PulumiError("unknown", message, { cause: err });
}

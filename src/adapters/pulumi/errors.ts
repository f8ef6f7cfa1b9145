import { CommandError, ConcurrentUpdateError, StackNotFoundError } from "@pulumi/pulumi/automation";
import { redactUrl } from "../../config/url";
import { type ErrorKind, TidegateError } from "../../domain/errors";

/** What went wrong in a Pulumi operation, in Pulumi's terms; `PulumiError.kind` is the caller's. */
export type PulumiFailureKind =
  | "lock-held"
  | "stack-missing"
  | "stack-file"
  | "pending-operations"
  | "state-corrupt"
  | "backend-unwritable"
  | "plugin-missing"
  | "program-error"
  | "provider-error"
  | "backend-unreachable"
  | "backend-rejected"
  | "cancelled"
  | "passphrase"
  | "secrets-mismatch"
  | "secrets-replaced"
  | "plan-violated"
  | "unknown";

const KIND: Record<PulumiFailureKind, ErrorKind> = {
  "lock-held": "conflict",
  "stack-missing": "not-found",
  "stack-file": "invalid",
  "pending-operations": "interrupted",
  "state-corrupt": "invalid",
  "backend-unwritable": "unavailable",
  "plugin-missing": "unavailable",
  "program-error": "invalid",
  "provider-error": "unavailable",
  "backend-unreachable": "unavailable",
  "backend-rejected": "invalid",
  cancelled: "interrupted",
  passphrase: "unauthorized",
  "secrets-mismatch": "invalid",
  "secrets-replaced": "internal",
  "plan-violated": "conflict",
  unknown: "internal",
};

const RECOVERY: Record<PulumiFailureKind, string> = {
  "lock-held":
    "another update of this stack is running (another tidegate or a person); wait for it. If it crashed, `tidegate recover <env>` shows the lock and releases it.",
  "stack-missing": "create the stack, or check the environment's stack name and the backend URL.",
  "stack-file": "fix the stack's settings file at the line named, commit and push; nothing ran.",
  "pending-operations":
    "an earlier update was interrupted; confirm the listed resources in the cloud, then run `tidegate recover <env>` (it shows the pending operations, and the manual `pulumi` commands).",
  "state-corrupt":
    "the stack's state in the backend is damaged and tidegate will not use it (nor skip Pulumi's integrity check); restore the last good checkpoint from the backend's history with `pulumi stack import`, or mend it with `pulumi state repair`, then sync again. Nothing was changed.",
  "backend-unwritable":
    "make the backend writable again (a disk gone read-only or full, or the folder's permissions), then sync again: the next run names any lock or pending operation the stopped update left.",
  "plugin-missing": "run `tidegate doctor`: a provider plugin is not installed and cannot be downloaded.",
  "program-error": "the Pulumi program failed; fix the program or its config on the branch and push again.",
  "provider-error":
    "the cloud provider rejected an operation; see the message, fix the cause and sync again.",
  "backend-unreachable":
    "check that the backend is up and reachable from this machine (network, proxy, endpoint) and its credentials; the next check tries again.",
  "backend-rejected":
    "check the environment's backend URL (the bucket, its endpoint and region, and parameters Pulumi knows: endpoint, region, s3ForcePathStyle, disableSSL, profile) and the environment's credentials for it (credentials.read, and credentials.update for updates), then check again.",
  cancelled: "the operation was cancelled; run it again.",
  passphrase:
    "give the environment the passphrase its stack was created with, at the source named; nothing ran, so the stack and its secrets provider are unchanged.",
  "secrets-mismatch":
    "set encryptionsalt in the stack's config file on the branch to the deployed stack's (`pulumi stack export`: deployment.secrets_providers.state.salt), set its secret config again with `pulumi config set --secret`, and push; nothing ran.",
  "secrets-replaced":
    "the update changed the stack's secrets provider: compare `pulumi stack export` with the previous checkpoint in the backend's history and restore the old salt with `pulumi stack import` if the stack's secrets no longer open with the environment's passphrase.",
  "plan-violated":
    "the update tried an operation its approved preview did not show (a program that differs between runs, or a state that changed), and Pulumi stopped it there; operations before it may have been applied. Check the environment again and approve the new plan.",
  unknown: "see the message; rerun with TIDEGATE_DEBUG=1 for details.",
};

/**
 * A classified Pulumi failure. `message` is already free of engine noise (no command line, no
 * stack traces); secrets are masked by Pulumi and by the stack adapter.
 */
export class PulumiError extends TidegateError {
  constructor(
    /** What failed, in Pulumi's terms; `kind` is what it means to the caller. */
    readonly failure: PulumiFailureKind,
    message: string,
    options: { cause?: unknown; recovery?: string } = {},
  ) {
    super(KIND[failure], message, { ...options, recovery: options.recovery ?? RECOVERY[failure] });
    this.name = "PulumiError";
  }
}

/** What the classifier may name: the backend (masked here), the environment, the passphrase source. */
export interface PulumiFailureContext {
  backendUrl?: string;
  /** "environment 'test' (stack test)". */
  subject?: string;
  /** Where the passphrase comes from, e.g. "environment variable TEST_PASSPHRASE" (never the value). */
  passphraseSource?: string;
  /** The stack's settings file as the person knows it, e.g. "Pulumi.test.yaml". */
  stackFile?: string;
}

// The one place that reads the CLI's words; everything else switches on PulumiError.failure or kind.
const PATTERNS: Array<[PulumiFailureKind, RegExp]> = [
  ["plan-violated", /violates plan/i],
  [
    "plugin-missing",
    /no resource plugin|plugin 'pulumi-[a-z]+-[\w-]+' found|failed to load plugin|could not find plugin|could not automatically download and install resource plugin/i,
  ],
  ["state-corrupt", /failed to load checkpoint|snapshot integrity (?:error|failure)/i],
  ["backend-unwritable", /read-only file system|no space left on device/i],
  ["pending-operations", /pending operations from previous deployment|interrupted while/i],
  ["passphrase", /incorrect passphrase|passphrase must be set/i],
  ["stack-file", /getting stack configuration: invalid YAML|validating stack config/i],
  // The backend answered and refused: a bucket that does not exist, a URL parameter Pulumi does not
  // know, credentials the object store does not accept.
  [
    "backend-rejected",
    /NoSuchBucket|unable to open bucket|InvalidAccessKeyId|SignatureDoesNotMatch|blob (?:\(key "[^"]*"\) )?\(code=PermissionDenied\)/,
  ],
  [
    "backend-unreachable",
    /failed to (?:open|login to) (?:the )?(?:backend|bucket)|no such host|performing HTTP request|read "\.pulumi\/meta\.yaml"|connection refused|i\/o timeout/i,
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

// Lines that are the engine talking about itself, never the cause: the Automation API's command
// line, gRPC teardown after the real error, stack frames, retry notices.
const NOISE =
  /^(?:SDK \d{4}\/\d\d\/\d\d [\d:]+ WARN|Command failed with exit code|error: Error: Channel has been shut down|original message:|at |for call at|message severity|Will retry in|warning:)/;

// The progress view ("+  pulumi:pulumi:Stack app-test create …") and the diagnostics' headers
// ("  aws:s3/bucket:Bucket (logs):"): every error in them is repeated under Diagnostics.
const PROGRESS = /^\s*[+~-]*\s*[\w-]+:[\w/:.-]+ \S/;

/** At most this many lines continue one error (a YAML error's position, an exception's message). */
const CONTINUATION = 3;

/**
 * The error lines Pulumi printed, each with the lines that continue it (up to the next blank line:
 * a YAML error's "line 1: …", the exception of a program that failed), without the command line,
 * the progress view, stack frames and duplicates.
 */
export function failureSummary(stderr: string, stdout: string): string {
  const indent = (l: string) => l.length - l.trimStart().length;
  const errors: string[] = [];
  const kept: string[] = [];
  let open: { indent: number; lines: number } | undefined;
  for (const line of `${stderr}\n${stdout}`.split("\n")) {
    const text = line.trim();
    if (text === "") open = undefined;
    if (text === "" || NOISE.test(text) || PROGRESS.test(line)) continue;
    kept.push(text);
    if (/^error:/i.test(text)) {
      errors.push(text.replace(/^error:\s*/i, ""));
      open = { indent: indent(line), lines: 0 };
    } else if (open && indent(line) >= open.indent && open.lines < CONTINUATION) {
      errors[errors.length - 1] += ` ${text}`;
      open.lines += 1;
    } else {
      open = undefined;
    }
  }
  const chosen = errors.length > 0 ? errors : kept.filter((l) => /Exception|Error:/.test(l));
  const unique = [...new Set(chosen)];
  return unique.slice(0, 6).join("\n") || kept.slice(-3).join("\n") || "the Pulumi CLI failed";
}

/** The precise message and recovery of a failure whose words name what to fix. */
function specific(
  failure: PulumiFailureKind,
  text: string,
  summary: string,
  context: PulumiFailureContext,
): { message: string; recovery?: string } {
  const subject = context.subject ?? "the stack";
  switch (failure) {
    case "plugin-missing": {
      const found =
        /resource plugin '?(?:pulumi-resource-)?([\w-]+)'? at version v?([\w.+-]+)/i.exec(text) ??
        /no resource plugin '?(?:pulumi-resource-)?([\w-]+)'? found.*?(?:version )?v?(\d[\w.+-]*)?/i.exec(
          text,
        );
      if (!found) break;
      const [, name, version] = found;
      const at = version ? ` v${version}` : "";
      return {
        message: `${subject}: the provider plugin ${name}${at} is not installed and could not be downloaded`,
        recovery: `install it where tidegate's Pulumi looks (PULUMI_HOME of the data directory): \`pulumi plugin install resource ${name}${version ? ` v${version}` : ""}\`, or let this machine reach get.pulumi.com; \`tidegate doctor\` shows the plugin folder.`,
      };
    }
    case "backend-unreachable": {
      if (context.backendUrl === undefined) break;
      const cause = /dial tcp [^:]+:\d+: [^"\n]+|no such host|i\/o timeout|connection refused/i.exec(
        text,
      )?.[0];
      return {
        message: `${subject}: the backend ${redactUrl(context.backendUrl)} did not answer${cause ? ` (${cause})` : ""}`,
      };
    }
    case "backend-rejected": {
      if (context.backendUrl === undefined) break;
      const why = /NoSuchBucket/.test(text)
        ? "its bucket does not exist"
        : (/unknown query parameter "[^"]+"/.exec(text)?.[0] ??
          (/InvalidAccessKeyId|SignatureDoesNotMatch|PermissionDenied/.test(text)
            ? "it did not accept the environment's credentials"
            : summary));
      return { message: `${subject}: the backend ${redactUrl(context.backendUrl)} refused: ${why}` };
    }
    case "passphrase":
      return {
        message: `${subject}: the passphrase${context.passphraseSource ? ` from ${context.passphraseSource}` : ""} does not open the stack's secrets (Pulumi: ${summary})`,
      };
    case "stack-file": {
      if (context.stackFile === undefined) break;
      const line = /line (\d+)/.exec(text)?.[1];
      return { message: `${context.stackFile}${line ? `:${line}` : ""}: ${summary}` };
    }
    default:
      break;
  }
  return { message: summary };
}

/** The CLI's output in a CommandError (what the Automation API kept of it), or its message. */
function commandText(err: CommandError): string {
  const result = (err as unknown as { commandResult?: { stdout: string; stderr: string } }).commandResult;
  return result ? `${result.stderr}\n${result.stdout}` : err.message;
}

/**
 * Who holds Pulumi's lock, as its refusal lists them ("…: created by user@host (pid 42) at <time>"):
 * the only view of the lock a backend other than file:// gives. The lock's own URL is left out.
 */
export function lockHolders(text: string): string | undefined {
  const holders = [...text.matchAll(/created by (\S+) \(pid (\d+)\) at (\S+)/g)].map(
    ([, who, pid, since]) => `${who} pid ${pid} since ${since}`,
  );
  return holders.length > 0 ? [...new Set(holders)].join("; ") : undefined;
}

export function classifyPulumiError(err: unknown, context: PulumiFailureContext = {}): PulumiError {
  if (err instanceof PulumiError) return err;
  if (err instanceof ConcurrentUpdateError) {
    const holders = lockHolders(commandText(err));
    return new PulumiError(
      "lock-held",
      `the stack is locked by another update${holders ? ` (held by ${holders})` : ""}`,
      { cause: err },
    );
  }
  if (err instanceof StackNotFoundError) {
    return new PulumiError("stack-missing", "the stack does not exist on the backend", { cause: err });
  }
  if (err instanceof CommandError) {
    const result = (err as unknown as { commandResult?: { stdout: string; stderr: string } }).commandResult;
    const stderr = result?.stderr ?? err.message;
    const stdout = result?.stdout ?? "";
    const text = `${stderr}\n${stdout}`;
    const failure = PATTERNS.find(([, re]) => re.test(text))?.[0] ?? "unknown";
    const { message, recovery } = specific(failure, text, failureSummary(stderr, stdout), context);
    return new PulumiError(failure, message, { cause: err, ...(recovery ? { recovery } : {}) });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new PulumiError("unknown", message, { cause: err });
}

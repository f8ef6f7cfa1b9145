import { TidegateError } from "../domain/errors";
import { redactUrl } from "./url";

/** One problem in one configuration file, precise enough to fix without guessing. */
export interface ConfigIssue {
  /** The file as the user knows it, e.g. "environments/prod.yaml". */
  file: string;
  /** The key, dotted, e.g. "schedule.poll"; "" for the file as a whole. */
  path: string;
  /** The offending value as written; URLs with their credentials redacted, secrets never kept. */
  value?: unknown;
  /** What would have been accepted, e.g. `one of "auto", "gated"`. */
  expected: string;
  /** What is wrong, e.g. `"every 5 min" is not a cron expression`. */
  message: string;
  /** 1-based position of the key in the file, when known. */
  line?: number;
  column?: number;
}

/** The configuration cannot be used; `issues` holds every problem found in every file. */
export class ConfigError extends TidegateError {
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[], options?: ErrorOptions) {
    super("invalid", formatConfigIssues(issues), {
      recovery: "fix each file at the line named; nothing ran.",
      cause: options?.cause,
    });
    this.name = "ConfigError";
    this.issues = issues;
  }
}

/** The issues as text, one line each, in the form compilers use so editors can jump to them. */
export function formatConfigIssues(issues: readonly ConfigIssue[]): string {
  return issues.map(formatConfigIssue).join("\n");
}

/**
 * One issue as a line:
 * `environments/prod.yaml:7:3: schedule.poll: "every 5 min" is not a cron expression; expected …`.
 */
export function formatConfigIssue(issue: ConfigIssue): string {
  const where = issue.line === undefined ? issue.file : `${issue.file}:${issue.line}:${issue.column ?? 1}`;
  const key = issue.path === "" ? "" : `${issue.path}: `;
  return `${where}: ${key}${issue.message}; expected ${issue.expected}`;
}

/** A value as it appears in a message: strings quoted and shortened, URLs without credentials. */
export function showValue(value: unknown): string {
  if (typeof value === "string") {
    const text = redactUrl(value);
    return JSON.stringify(text.length > 80 ? `${text.slice(0, 77)}...` : text);
  }
  if (Array.isArray(value)) return "a list";
  if (value !== null && typeof value === "object") return "a mapping";
  return String(value);
}

/**
 * A value fit to keep in an issue: scalars only (a mapping may hold anything, secrets included),
 * strings with URL credentials redacted.
 */
export function safeValue(value: unknown): unknown {
  if (typeof value === "string") return redactUrl(value);
  return value !== null && typeof value === "object" ? undefined : value;
}

/** A key path as users write it in YAML: `schedule.poll`, `config.AWS_REGION`, `items[0]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((key, index) =>
      typeof key === "number" ? `[${key}]` : index === 0 ? String(key) : `.${String(key)}`,
    )
    .join("");
}

import * as path from "node:path";

import { CronTime, validateCronExpression } from "cron";

import { parseDuration } from "../gates/duration";

// Checks on single values, each answering "what is wrong with it" as a phrase that follows the
// value ("is not a cron expression"), or undefined when the value is fine. The schemas turn the
// phrase into an issue; keeping the rules here keeps them testable without zod.

/** Why `expression` is not a five-field cron expression that fires, or undefined when it is one. */
export function cronProblem(expression: string): string | undefined {
  // `cron` also takes a sixth field for seconds: tidegate schedules in minutes, so exactly five.
  if (expression.trim().split(/\s+/).length !== 5) return "is not a cron expression";
  const { valid, error } = validateCronExpression(expression);
  if (!valid) return `is not a cron expression (${lowerFirst(error?.message ?? "rejected by cron")})`;
  try {
    // `cron` accepts "0 0 31 2 *" and only finds out when it looks for the next date.
    new CronTime(expression, "UTC").sendAt();
  } catch {
    return "never fires";
  }
  return undefined;
}

/**
 * Why `name` is not a safe git branch name, or undefined when it is. Conservative: a subset of
 * what `git check-ref-format --branch` accepts (letters, digits, `.`, `_`, `-`, `/`), plus git's
 * own rules on dots, slashes and `.lock`.
 */
export function branchNameProblem(name: string): string | undefined {
  if (name === "") return "is empty";
  const bad = /[^A-Za-z0-9._/-]/.exec(name);
  if (bad) return `is not a branch name (it contains ${JSON.stringify(bad[0])})`;
  if (name === "HEAD") return "is not a branch name (HEAD is reserved)";
  if (name.includes("..")) return 'is not a branch name (it contains "..")';
  if (name.includes("//")) return 'is not a branch name (it contains "//")';
  if (name.startsWith("-") || name.startsWith("/"))
    return `is not a branch name (it starts with "${name[0]}")`;
  if (name.endsWith("/") || name.endsWith(".")) return `is not a branch name (it ends with "${name.at(-1)}")`;
  const parts = name.split("/");
  if (parts.some((part) => part.startsWith("."))) return 'is not a branch name (a part starts with ".")';
  if (parts.some((part) => part.endsWith(".lock"))) return 'is not a branch name (a part ends with ".lock")';
  return undefined;
}

/** Why `name` is not a Pulumi stack name (`stack` or `org/project/stack`), or undefined. */
export function stackNameProblem(name: string): string | undefined {
  const parts = name.split("/");
  if (parts.length > 3 || parts.some((part) => !/^[A-Za-z0-9_.-]+$/.test(part))) {
    return "is not a Pulumi stack name";
  }
  return undefined;
}

/** Why `name` is not a kebab-case environment name, or undefined when it is one. */
export function environmentNameProblem(name: string): string | undefined {
  return /^[a-z0-9]+(?:-[a-z0-9]+)*$/.test(name) ? undefined : "is not a kebab-case name";
}

/** Why `key` is neither an environment name nor "<repository>.<environment>" (see repositories.ts). */
export function environmentKeyProblem(key: string): string | undefined {
  const parts = key.split(".");
  if (parts.length > 2) return "has more than one dot";
  return parts.some((part) => environmentNameProblem(part)) ? "is not a kebab-case name" : undefined;
}

/** Why `relative` is not a path inside the repository, or undefined when it is one. */
export function repoPathProblem(relative: string): string | undefined {
  if (relative === "") return "is empty";
  if (relative.includes("\\")) return 'uses "\\"; separate folders with "/"';
  if (relative.startsWith("/") || /^[A-Za-z]:/.test(relative)) return "is absolute";
  const normal = path.posix.normalize(relative);
  if (normal === ".." || normal.startsWith("../")) return "leaves the repository";
  return undefined;
}

/** `relative` in its plain form: "./stacks/aws/" → "stacks/aws", "" parts and "." folded. */
export function normalizeRepoPath(relative: string): string {
  const normal = path.posix.normalize(relative);
  return normal.length > 1 && normal.endsWith("/") ? normal.slice(0, -1) : normal;
}

/** Why `name` is not an environment variable tidegate may set from a committed file, or undefined. */
export function configKeyProblem(name: string): string | undefined {
  // Environment files are committed: a variable named like a credential would hold one in Git.
  const secret = /SECRET|PASSWORD|PASSPHRASE|TOKEN|PRIVATE_KEY|CREDENTIAL/.test(name);
  return envVarNameProblem(name) ?? (secret ? "names a secret" : undefined);
}

/** Why `name` cannot be an HTTP Basic user name, or undefined when it can. */
export function usernameProblem(name: string): string | undefined {
  if (name === "") return "is empty";
  // eslint-disable-next-line no-control-regex
  return /[\s:\x00-\x1f\x7f]/.test(name) ? "holds a space, ':' or a control character" : undefined;
}

/** Why `name` is not an upper-case environment variable name, or undefined when it is one. */
export function envVarNameProblem(name: string): string | undefined {
  return /^[A-Z_][A-Z0-9_]*$/.test(name) ? undefined : "is not an environment variable name";
}

/** Why `text` is not a duration ("90s", "10m", "1h30m", "2d"; zero allowed), or undefined. */
export function durationProblem(text: string): string | undefined {
  return parseDuration(text) === undefined ? "is not a duration" : undefined;
}

/** Why `text` is not a duration longer than zero, or undefined when it is one. */
export function positiveDurationProblem(text: string): string | undefined {
  return durationProblem(text) ?? (parseDuration(text) === 0 ? "is zero" : undefined);
}

/** Why `zone` is not an IANA time zone this Node.js knows, or undefined when it is one. */
export function timeZoneProblem(zone: string): string | undefined {
  return canonicalTimeZone(zone) === undefined ? "is not a known time zone" : undefined;
}

/** The time zone's canonical spelling ("utc" → "UTC"), or undefined when it is unknown. */
export function canonicalTimeZone(zone: string): string | undefined {
  if (zone.trim() === "") return undefined;
  try {
    return new Intl.DateTimeFormat(undefined, { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}

/** Why `expression` never fires when read in `zone`, or undefined when it fires (or is invalid). */
export function cronInZoneProblem(expression: string, zone: string): string | undefined {
  if (cronProblem(expression) !== undefined || canonicalTimeZone(zone) === undefined) return undefined;
  try {
    new CronTime(expression, zone).sendAt();
  } catch {
    return `never fires in ${zone}`;
  }
  return undefined;
}

/** Why `name` is not a check name (letters, digits, ".", "_", "-"), or undefined when it is one. */
export function checkNameProblem(name: string): string | undefined {
  return /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name) ? undefined : "is not a check name";
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}

/** `host:port` (an IPv6 host in brackets: `[::1]:7420`); undefined when malformed. */
export function parseListen(text: string): { host: string; port: number } | undefined {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]]+)):(\d{1,5})$/.exec(text.trim());
  if (!match) return undefined;
  const port = Number(match[3]);
  if (port > 65535) return undefined;
  return { host: match[1] ?? match[2] ?? "", port };
}

export function listenProblem(text: string): string | undefined {
  return parseListen(text) ? undefined : "is not host:port (a port from 0 to 65535)";
}

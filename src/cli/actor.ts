import { execFileSync } from "node:child_process";
import * as os from "node:os";
import { type Actor, person } from "../app/actor";

// Who a person at the command line is: the only place tidegate looks an identity up. The identity is
// what the audit log and approvals record. It is claimed, not proven: anyone who can run tidegate
// with the data directory can set TIDEGATE_ACTOR, so the audit log shows who said they acted.

/** The person running this command, as the use cases take it (see currentActor). */
export function cliActor(env: NodeJS.ProcessEnv = process.env, cwd?: string): Actor {
  return person(currentActor(env, cwd));
}

/** Who started a run from the command line: `cli:<os user>`. */
export function cliTrigger(env: NodeJS.ProcessEnv = process.env): string {
  return `cli:${osUser(env) ?? "unknown"}`;
}

/**
 * The person running this command: `TIDEGATE_ACTOR` when set, else Git's `user.email` (as Git sees
 * it from `cwd`), else the operating-system user name, else "unknown".
 */
export function currentActor(env: NodeJS.ProcessEnv = process.env, cwd?: string): string {
  const given = env.TIDEGATE_ACTOR?.trim();
  if (given) return given;
  const email = gitEmail(env, cwd);
  if (email) return email;
  return osUser(env) ?? "unknown";
}

function gitEmail(env: NodeJS.ProcessEnv, cwd: string | undefined): string | undefined {
  try {
    const out = execFileSync("git", ["config", "user.email"], {
      ...(cwd === undefined ? {} : { cwd }),
      env,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
      timeout: 5_000,
    });
    return out.trim() || undefined;
  } catch {
    // No git, no user.email (exit 1), or cwd is gone: fall through to the OS user.
    return undefined;
  }
}

function osUser(env: NodeJS.ProcessEnv): string | undefined {
  try {
    const name = os.userInfo().username;
    if (name) return name;
  } catch {
    // No passwd entry for this uid (some containers).
  }
  return env.USER?.trim() || env.USERNAME?.trim() || undefined;
}

import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

// Processes tidegate starts are contained: each in a session of its own (the terminal's Ctrl-C
// reaches tidegate only, which decides what to stop), and dying with tidegate even on `kill -9`.
// How much of a process tree dies with it depends on what the host allows:
// - `namespace`: the process runs as pid 1 of its own pid namespace (bubblewrap without isolation:
//   the host's whole file system, network and users), so everything it starts (the Pulumi language
//   host, plugins, providers) dies with it;
// - `parent-death`: only the direct child gets the parent-death signal (setpriv);
// - `none`: neither tool works; processes get their own session only.

export type ContainmentLevel = "namespace" | "parent-death" | "none";

export interface Containment {
  level: ContainmentLevel;
  /** Why this level, for `tidegate doctor`. */
  detail: string;
}

/** bwrap's arguments for containment without isolation: a pid namespace, nothing else hidden. */
export const CONTAIN_ARGS = [
  "--dev-bind",
  "/",
  "/",
  "--proc",
  "/proc",
  "--unshare-pid",
  "--die-with-parent",
  "--as-pid-1",
];

/** setpriv sets the signal and execs: the pid stays, so it is the direct child of its caller. */
export const PARENT_DEATH = ["setpriv", "--pdeathsig", "KILL"];

/** What containment this host allows; probed once per bwrap path. */
export function probeContainment(bwrap = "bwrap"): Promise<Containment> {
  let probe = probes.get(bwrap);
  if (!probe) {
    probe = detect(bwrap);
    probes.set(bwrap, probe);
  }
  return probe;
}

const probes = new Map<string, Promise<Containment>>();

async function detect(bwrap: string): Promise<Containment> {
  const setpriv = await tryRun([...PARENT_DEATH, "true"]);
  if (setpriv !== undefined) {
    return {
      level: "none",
      detail: `setpriv does not run here (${setpriv}): processes tidegate starts get a session of their own, but outlive a killed tidegate`,
    };
  }
  const namespace = await tryRun([...PARENT_DEATH, bwrap, ...CONTAIN_ARGS, "--", "true"]);
  if (namespace !== undefined) {
    return {
      level: "parent-death",
      detail: `${bwrap} cannot create a pid namespace here (${namespace}): a killed tidegate takes the Pulumi CLI, npm and commands with it, but not what they started (the language host, plugins): install bubblewrap or allow unprivileged user namespaces`,
    };
  }
  return {
    level: "namespace",
    detail: "every process tidegate starts runs in its own session and pid namespace, and dies with tidegate",
  };
}

/** undefined when the command ran and succeeded, else why not. */
function tryRun(argv: string[]): Promise<string | undefined> {
  const [program, ...args] = argv as [string, ...string[]];
  return new Promise((resolve) => {
    execFile(program, args, { timeout: 10_000 }, (error, _stdout, stderr) => {
      if (!error) return resolve(undefined);
      const code = (error as NodeJS.ErrnoException).code;
      resolve(
        code === "ENOENT" ? `${program} is not installed` : stderr.trim().split("\n")[0] || error.message,
      );
    });
  });
}

const found = new Map<string, string | null>();

/** A program's path on tidegate's PATH, looked up once; null when it is not there. */
export function findProgram(name: string): string | null {
  let result = found.get(name);
  if (result === undefined) {
    result = null;
    for (const dir of (process.env.PATH ?? "/usr/bin:/bin").split(path.delimiter)) {
      const candidate = path.join(dir, name);
      try {
        fs.accessSync(candidate, fs.constants.X_OK);
        result = candidate;
        break;
      } catch {
        // not here
      }
    }
    found.set(name, result);
  }
  return result;
}

/**
 * `argv` with the parent-death signal when setpriv is there: for a process spawned `detached`
 * (a session and process group of its own), so it dies with tidegate even on `kill -9`, and its
 * group can be killed as one on a timeout or when tidegate stops.
 */
export function withParentDeath(argv: [string, ...string[]]): [string, ...string[]] {
  const setpriv = findProgram("setpriv");
  return setpriv === null ? argv : [setpriv, ...PARENT_DEATH.slice(1), ...argv];
}

/** Sends `signal` to the process group led by `pid`; a group already gone is no error. */
export function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is gone already.
  }
}

/** What `tidegate doctor` says about containment: the level, what it costs, and the fix. */
export async function containmentDiagnosis(
  bwrap = "bwrap",
): Promise<{ ok: boolean; detail: string; fix?: string }> {
  const containment = await probeContainment(bwrap);
  if (containment.level === "namespace") return { ok: true, detail: containment.detail };
  return {
    ok: false,
    detail: containment.detail,
    fix: "install bubblewrap and util-linux (apt-get install bubblewrap util-linux), and allow unprivileged user namespaces",
  };
}

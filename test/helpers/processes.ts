import * as fs from "node:fs";

// The processes on this machine, read from /proc: what a test looks at to prove that nothing
// tidegate started outlived it.

/** A live process (not a zombie) on this machine. */
export interface Proc {
  pid: number;
  ppid: number;
  cmdline: string;
  cwd: string;
}

/** Every live process, with its parent, command line and working folder (where readable). */
export function processes(): Proc[] {
  const out: Proc[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (fields[0] === "Z" || fields[0] === "X") continue;
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").join(" ").trim();
      let cwd = "";
      try {
        cwd = fs.readlinkSync(`/proc/${entry}/cwd`);
      } catch {
        // another user's process, or gone
      }
      out.push({ pid: Number(entry), ppid: Number(fields[1]), cmdline, cwd });
    } catch {
      // gone while we looked
    }
  }
  return out;
}

/**
 * The processes tidegate (pid `rootPid`) started, alive: its descendants while it runs, and any
 * process whose command line or working folder names the test's folder (orphans lose their
 * parent chain but keep those). Without a pid, only the latter.
 */
export function startedBy(rootPid: number | undefined, folder: string): Proc[] {
  const all = processes();
  const descendants = new Set<number>(rootPid === undefined ? [] : [rootPid]);
  for (let grew = rootPid !== undefined; grew;) {
    grew = false;
    for (const p of all) {
      if (!descendants.has(p.pid) && descendants.has(p.ppid)) {
        descendants.add(p.pid);
        grew = true;
      }
    }
  }
  return all.filter(
    (p) =>
      p.pid !== rootPid &&
      p.pid !== process.pid &&
      (descendants.has(p.pid) || p.cmdline.includes(folder) || p.cwd.startsWith(folder)),
  );
}

/** SIGKILLs whatever `startedBy(undefined, folder)` finds: a test's leftovers, whatever happened. */
export function killStartedBy(folder: string): void {
  for (const leftover of startedBy(undefined, folder)) {
    try {
      process.kill(leftover.pid, "SIGKILL");
    } catch {
      // gone already
    }
  }
}

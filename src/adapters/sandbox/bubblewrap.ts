import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

/** A folder or file visible inside the sandbox at `to` (by default the same path). */
export interface Bind {
  from: string;
  to?: string;
}

/** What one sandbox sees of the host; everything else is absent. */
export interface SandboxLayout {
  /** System paths (from `systemPaths()`): bound read-only, or recreated as the same symlink. */
  system: SystemPath[];
  readOnly: Bind[];
  readWrite: Bind[];
  /**
   * The folder seen as /tmp; absent: an empty tmpfs. An environment keeps its own between runs:
   * ts-node caches its compiled program there, and a fresh /tmp costs every preview and update
   * that runs the program about 1.4 s of compiling again.
   */
  tmp?: string;
}

/** A host path the sandbox needs: a symlink (`/bin -> usr/bin`) is recreated, anything else bound read-only. */
export interface SystemPath {
  path: string;
  link?: string;
}

/** The system folders and the few files of /etc a Node program and the Pulumi CLI need (DNS, TLS, users). */
const SYSTEM_PATHS = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"];
const ETC_FILES = [
  "/etc/resolv.conf",
  "/etc/hosts",
  "/etc/nsswitch.conf",
  "/etc/host.conf",
  "/etc/gai.conf",
  "/etc/passwd",
  "/etc/group",
  "/etc/localtime",
  "/etc/ssl",
  "/etc/ca-certificates",
  "/etc/pki",
];

/** The system paths present on this host, symlinks kept as symlinks. */
export function systemPaths(): SystemPath[] {
  const found: SystemPath[] = [];
  for (const p of [...SYSTEM_PATHS, ...ETC_FILES]) {
    let stat: fs.Stats;
    try {
      stat = fs.lstatSync(p);
    } catch {
      continue;
    }
    const topLevel = path.dirname(p) === "/";
    found.push(stat.isSymbolicLink() && topLevel ? { path: p, link: fs.readlinkSync(p) } : { path: p });
  }
  return found;
}

/**
 * bwrap's arguments for a layout: every namespace unshared but the network (the emulator is on
 * loopback, clouds are not), no capabilities and no nested user namespaces (so root inside cannot
 * mount its way out), a private /tmp (the environment's own, or empty), and the sandbox dies with
 * its parent.
 */
export function bubblewrapArgs(layout: SandboxLayout): string[] {
  const args = [
    "--unshare-all",
    "--share-net",
    "--unshare-user",
    "--disable-userns",
    "--cap-drop",
    "ALL",
    "--die-with-parent",
    "--new-session",
    // The CLI is pid 1: the wrapper passes it SIGINT, and everything it started dies with it.
    "--as-pid-1",
    "--proc",
    "/proc",
    "--dev",
    "/dev",
    ...(layout.tmp === undefined ? ["--tmpfs", "/tmp"] : ["--bind", layout.tmp, "/tmp"]),
  ];
  for (const entry of layout.system) {
    if (entry.link !== undefined) args.push("--symlink", entry.link, entry.path);
    else args.push("--ro-bind", entry.path, entry.path);
  }
  const binds = [
    ...layout.readOnly.map((b) => ({ ...b, option: "--ro-bind" })),
    ...layout.readWrite.map((b) => ({ ...b, option: "--bind" })),
  ];
  // A bind inside another must come after it, or the outer one would hide it.
  const depth = (p: string): number => path.resolve(p).split(path.sep).length;
  binds.sort((a, b) => depth(a.to ?? a.from) - depth(b.to ?? b.from));
  for (const bind of binds) args.push(bind.option, bind.from, bind.to ?? bind.from);
  return args;
}

export interface ProbeResult {
  ok: boolean;
  /** Why not, when not: bwrap missing, or the kernel refused the namespaces. */
  detail: string;
}

/** Whether bubblewrap works here, with the options the sandbox uses: runs `true` inside one. */
export function probeBubblewrap(bwrap = "bwrap"): Promise<ProbeResult> {
  const args = [...bubblewrapArgs({ system: systemPaths(), readOnly: [], readWrite: [] }), "--", "true"];
  return new Promise((resolve) => {
    execFile(bwrap, args, { timeout: 10_000 }, (error, _stdout, stderr) => {
      if (!error) return resolve({ ok: true, detail: `${bwrap} runs sandboxes here` });
      const code = (error as NodeJS.ErrnoException).code;
      const reason =
        code === "ENOENT" ? `${bwrap} is not installed` : stderr.trim().split("\n")[0] || error.message;
      resolve({ ok: false, detail: reason });
    });
  });
}

/** What `tidegate doctor` says about the sandbox: whether it works, and if not, what that costs and the fix. */
export async function sandboxDiagnosis(bwrap = "bwrap"): Promise<ProbeResult & { fix?: string }> {
  const result = await probeBubblewrap(bwrap);
  if (result.ok)
    return { ok: true, detail: `${result.detail}: each environment's Pulumi work runs sandboxed` };
  return {
    ok: false,
    detail: `${result.detail}: stacks run unsandboxed, so environments sharing one file:// backend can read and rewrite each other's state`,
    fix: "install bubblewrap (apt-get install bubblewrap, or bash scripts/setup.sh), or give each environment its own backend",
  };
}

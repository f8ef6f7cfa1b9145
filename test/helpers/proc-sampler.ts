import { spawn } from "node:child_process";

/** What a sampler saw while it ran. */
export interface ProcReport {
  sweeps: number;
  /** Where a secret was found: a process's command line, or the environment of one not exempted. */
  leaks: { pid: number; where: "cmdline" | "environ"; cmdline: string }[];
  /** Every distinct command line seen (secrets masked), to show the sampler did see Git's processes. */
  cmdlines: string[];
}

export interface ProcSampler {
  /** Stops sampling and returns what was seen. */
  stop(): Promise<ProcReport>;
}

// Runs in its own process, so it samples while the test process waits on Git. It reads every
// /proc/<pid>/cmdline and /proc/<pid>/environ each millisecond or so. The secrets come on stdin,
// never in its own argv or environment; closing stdin ends it and it prints its report.
const SAMPLER = `
const fs = require("node:fs");
let input = "";
let config;
const leaks = new Map();
const cmdlines = new Set();
let sweeps = 0;
let running = true;
const mask = (text) => config.secrets.reduce((t, s) => t.split(s).join("***"), text);
function sweep() {
  sweeps++;
  for (const name of fs.readdirSync("/proc")) {
    if (!/^\\d+$/.test(name) || Number(name) === process.pid) continue;
    let cmdline;
    try { cmdline = fs.readFileSync("/proc/" + name + "/cmdline", "latin1").split("\\0").join(" ").trim(); } catch { continue; }
    let environ = "";
    if (!config.exempt.includes(Number(name))) {
      try { environ = fs.readFileSync("/proc/" + name + "/environ", "latin1"); } catch {}
    }
    if (cmdline !== "") cmdlines.add(mask(cmdline).slice(0, 300));
    for (const secret of config.secrets) {
      for (const [where, text] of [["cmdline", cmdline], ["environ", environ]]) {
        if (text.includes(secret)) leaks.set(name + where, { pid: Number(name), where, cmdline: mask(cmdline) });
      }
    }
  }
  if (running) setTimeout(sweep, 1);
}
process.stdin.on("data", (chunk) => {
  input += chunk;
  if (config === undefined && input.includes("\\n")) {
    config = JSON.parse(input.slice(0, input.indexOf("\\n")));
    sweep();
    process.stdout.write("ready\\n");
  }
});
process.stdin.on("end", () => {
  running = false;
  process.stdout.write(JSON.stringify({ sweeps, leaks: [...leaks.values()], cmdlines: [...cmdlines] }) + "\\n");
});
`;

/**
 * Starts sampling every process's command line and environment for `secrets`. Processes in
 * `exempt` (tidegate's own, which holds the token by design) have only their command line checked.
 */
export async function startProcSampler(secrets: string[], exempt: number[]): Promise<ProcSampler> {
  const child = spawn(process.execPath, ["-e", SAMPLER], {
    stdio: ["pipe", "pipe", "inherit"],
    env: { PATH: process.env.PATH ?? "" },
  });
  let out = "";
  child.stdout.setEncoding("utf8");
  await new Promise<void>((resolve, reject) => {
    child.once("error", reject);
    child.stdout.on("data", (chunk: string) => {
      out += chunk;
      if (out.startsWith("ready\n")) resolve();
    });
    child.stdin.write(`${JSON.stringify({ secrets, exempt })}\n`);
  });
  return {
    stop: () =>
      new Promise((resolve, reject) => {
        child.once("close", () => {
          try {
            resolve(JSON.parse(out.slice("ready\n".length)) as ProcReport);
          } catch (err) {
            reject(err as Error);
          }
        });
        child.stdin.end();
      }),
  };
}

import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import type { Finding } from "../../src/cli/doctor-report";

// The published form of tidegate: `npm pack` (which builds dist/), installed into an empty folder
// with the machine's own npm and Node (not the repository's Node 22), then run through npx the way a
// user would. The npm cache makes the install work without the network when every package is cached.

const repoRoot = path.resolve(__dirname, "../..");
const repoBin = path.join(repoRoot, "node_modules", ".bin");
/** PATH without the repository's node_modules/.bin: `node` and `npm` are the machine's. */
const machinePath = (process.env.PATH ?? "")
  .split(path.delimiter)
  .filter((dir) => path.resolve(dir) !== repoBin)
  .join(path.delimiter);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], cwd: string, timeout = 240_000): Promise<Run> {
  // Without the npm_* variables of the `npm test` that may have started vitest.
  const inherited = Object.entries(process.env).filter(([key]) => !key.startsWith("npm_"));
  const env = { ...Object.fromEntries(inherited), PATH: machinePath, npm_config_update_notifier: "false" };
  return new Promise((resolve) => {
    execFile(file, args, { cwd, env, timeout, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === "number" ? error.code : -1) : 0, stdout, stderr });
    });
  });
}

describe("the npm package", () => {
  let dir: string;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "tidegate-package-"));
    const packed = await run("npm", ["pack", "--silent", "--pack-destination", dir], repoRoot);
    expect(packed.code, packed.stderr).toBe(0);
    const tarball = path.join(dir, packed.stdout.trim().split("\n").pop() ?? "");
    const app = path.join(dir, "app");
    fs.mkdirSync(app);
    fs.writeFileSync(path.join(app, "package.json"), "{}\n");
    const installed = await run(
      "npm",
      ["install", "--prefer-offline", "--no-audit", "--no-fund", tarball],
      app,
    );
    expect(installed.code, installed.stderr).toBe(0);
  }, 600_000);

  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("runs `tidegate --help` from its compiled code, with no engine warning", async () => {
    const app = path.join(dir, "app");
    expect(fs.existsSync(path.join(app, "node_modules", "tidegate", "src"))).toBe(false);
    expect(fs.existsSync(path.join(app, "node_modules", "tidegate", "dist", "main.js"))).toBe(true);

    const help = await run("npx", ["tidegate", "--help"], app);
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toContain("Usage: tidegate <command>");
    expect(help.stderr).not.toMatch(/EBADENGINE|Unsupported engine/);
  });

  it("runs `tidegate doctor` on the pinned Node 22 and finds its toolchain scripts", async () => {
    const app = path.join(dir, "app");
    const doctor = await run("npx", ["tidegate", "doctor", "--json"], app);
    const report = JSON.parse(doctor.stdout) as { ok: boolean; checks: Finding[] };
    const all = JSON.stringify(report.checks, null, 2);
    // The emulator's virtual environment is not part of the package, so `ok` may be false here.
    expect(doctor.code, all).toBe(report.ok ? 0 : 1);
    const node = report.checks.find((check) => check.name === "node");
    expect(node, all).toMatchObject({ ok: true });
    expect(node?.detail).toContain(path.join(app, "node_modules"));
    expect(
      report.checks.find((check) => check.name === "pulumi"),
      all,
    ).toMatchObject({ ok: true });
  });
});

import { execFile } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

import { describe, expect, it } from "vitest";

import { type Finding, pinnedPulumiVersion } from "../../src/cli/doctor-report";

// Runs the real CLI in a child process, the way a user does, with the repository's Node 22 first
// on PATH. Asserts only what the built toolchain guarantees on any machine: the emulator, Docker
// and provider plugins differ between machines, so their checks are only required to be present.

const repoRoot = path.resolve(__dirname, "../..");
const binDir = path.join(repoRoot, "node_modules", ".bin");
const env = { ...process.env, PATH: [binDir, process.env.PATH].filter(Boolean).join(path.delimiter) };

/** Checks whose outcome depends on the machine (Docker, venv, plugins): only their presence is asserted. */
const MACHINE_DEPENDENT = [
  "policy launcher",
  "provider kubernetes",
  "provider aws",
  "emulator",
  "go",
  "python3",
];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { cwd: repoRoot, env: { ...env, ...extraEnv }, timeout: 120_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

function byName(checks: Finding[], name: string): Finding {
  const found = checks.find((check) => check.name === name);
  if (!found) throw new Error(`doctor reported no '${name}' check`);
  return found;
}

describe("tidegate doctor", () => {
  it("reports the pinned Pulumi toolchain and a working language host and launcher as JSON", async () => {
    const result = await run(path.join(binDir, "tsx"), ["src/main.ts", "doctor", "--json"]);
    const report = JSON.parse(result.stdout) as { ok: boolean; checks: Finding[] };
    const all = JSON.stringify(report.checks, null, 2); // shown when an assertion fails
    expect(result.code, all).toBe(report.ok ? 0 : 1);

    const pinned = pinnedPulumiVersion(readFileSync(path.join(repoRoot, "toolchain/pulumi/go.mod"), "utf8"));
    expect(pinned).toBeDefined();
    const pulumi = byName(report.checks, "pulumi");
    expect(pulumi, all).toMatchObject({ ok: true, required: true });
    expect(pulumi.detail).toContain(`(pinned ${pinned})`);

    expect(byName(report.checks, "node"), all).toMatchObject({ ok: true });
    expect(byName(report.checks, "language host"), all).toMatchObject({ ok: true, required: true });
    expect(byName(report.checks, "dynamic-provider launcher"), all).toMatchObject({
      ok: true,
      required: true,
    });
    expect(byName(report.checks, "git"), all).toMatchObject({ ok: true });
    for (const name of MACHINE_DEPENDENT) expect(byName(report.checks, name).detail).not.toBe("");
    // Whatever this machine has, doctor says where the cluster binaries come from, or that none were found.
    const cluster = byName(report.checks, "kubernetes api server");
    expect(cluster.detail, all).toMatch(
      cluster.ok
        ? /^kube-apiserver \d+\.\d+\.\d+.* from (the built cache|KUBEBUILDER_ASSETS|PATH) \(\//
        : /kube-apiserver: not found|etcd: not found/,
    );
  });

  it("says kube-apiserver and etcd come from KUBEBUILDER_ASSETS when it names a folder holding them", async () => {
    const assets = mkdtempSync(path.join(tmpdir(), "tidegate-assets-"));
    try {
      // Doctor only asks their versions: small scripts stand in for the envtest binaries.
      const fake = (name: string, output: string) => {
        writeFileSync(path.join(assets, name), `#!/bin/sh\necho '${output}'\n`);
        chmodSync(path.join(assets, name), 0o755);
      };
      fake("kube-apiserver", "Kubernetes v1.33.0");
      fake("etcd", "etcd Version: 3.5.21");
      const result = await run(path.join(binDir, "tsx"), ["src/main.ts", "doctor", "--json"], {
        KUBEBUILDER_ASSETS: assets,
      });
      const report = JSON.parse(result.stdout) as { checks: Finding[] };
      const cluster = byName(report.checks, "kubernetes api server");
      expect(cluster, result.stdout).toMatchObject({ ok: true });
      expect(cluster.detail).toContain(
        `kube-apiserver 1.33.0, etcd 3.5.21 from KUBEBUILDER_ASSETS (${assets})`,
      );
    } finally {
      rmSync(assets, { recursive: true, force: true });
    }
  });

  it("prints one line per check and a verdict through the bin launcher", async () => {
    const result = await run(path.join(repoRoot, "bin", "tidegate.js"), ["doctor"]);
    const output = `${result.stdout}${result.stderr}`; // shown when an assertion fails
    expect([0, 1], output).toContain(result.code);
    expect(result.stdout, output).toMatch(/^✔ pulumi +v\d+\.\d+\.\d+ \(pinned /m);
    expect(result.stdout, output).toMatch(/^✔ language host +/m);
    expect(result.stdout, output).toMatch(
      result.code === 0 ? /All required checks passed/ : /required checks? failed/,
    );
  });

  it("exits 2 with usage on stderr for an unknown command or option", async () => {
    const unknown = await run(path.join(repoRoot, "bin", "tidegate.js"), ["frobnicate"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown command 'frobnicate'");
    expect(unknown.stderr).toContain("Usage: tidegate <command> [options]");

    const badOption = await run(path.join(binDir, "tsx"), ["src/main.ts", "doctor", "--bogus"]);
    expect(badOption.code).toBe(2);
    expect(badOption.stderr).toContain("tidegate help doctor");
  });
});

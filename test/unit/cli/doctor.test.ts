import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

import { describe, expect, it, vi } from "vitest";

import { type CommandContext, UsageError } from "../../../src/cli/command";
import {
  type Finding,
  compareVersions,
  emulatorReason,
  exitCode,
  formatHuman,
  formatJson,
  isAtLeast,
  parsePluginList,
  parseVersion,
  pinnedPulumiVersion,
  summarize,
} from "../../../src/cli/doctor-report";
import { probeChromium } from "../../../src/cli/doctor";
import { launchBrowser } from "../../helpers/browser";
import { main, reportError } from "../../../src/main";

const repoRoot = path.resolve(__dirname, "../../..");

function check(overrides: Partial<Finding> & { name: string }): Finding {
  return { ok: true, required: true, detail: "fine", ...overrides };
}

describe("parseVersion", () => {
  it.each([
    ["v3.274.1", [3, 274, 1]],
    ["22.13.0", [22, 13, 0]],
    ["go version go1.26.8 linux/amd64", [1, 26, 8]],
    ["Python 3.11.7", [3, 11, 7]],
    ["git version 2.39.5", [2, 39, 5]],
    ["1.26", [1, 26, 0]],
  ])("reads %s", (text, expected) => {
    expect(parseVersion(text)).toEqual(expected);
  });

  it("gives undefined when there is no version", () => {
    expect(parseVersion("command not found")).toBeUndefined();
  });
});

describe("compareVersions and isAtLeast", () => {
  it("compares numerically, not as text", () => {
    expect(compareVersions("v3.9.0", "v3.274.1")).toBe(-1);
    expect(compareVersions("v3.274.1", "v3.274.1")).toBe(0);
    expect(compareVersions("v3.275.0", "v3.274.1")).toBe(1);
    expect(compareVersions("v4.0.0", "v3.274.1")).toBe(1);
  });

  it("applies the Node floor: 22.13 and later", () => {
    expect(isAtLeast("22.12.0", "22.13.0")).toBe(false);
    expect(isAtLeast("22.13.0", "22.13.0")).toBe(true);
    expect(isAtLeast("22.23.3", "22.13.0")).toBe(true);
    expect(isAtLeast("20.20.2", "22.13.0")).toBe(false);
  });

  it("reads versions out of tool output", () => {
    expect(isAtLeast("go version go1.26.8 linux/amd64", "1.26")).toBe(true);
    expect(isAtLeast("go version go1.25.3 linux/amd64", "1.26")).toBe(false);
  });

  it("treats output without a version as too old, and refuses to compare it", () => {
    expect(isAtLeast("", "v3.274.1")).toBe(false);
    expect(() => compareVersions("garbage", "1.0")).toThrow(/cannot compare/);
  });
});

describe("pinnedPulumiVersion", () => {
  it("reads the pkg/v3 requirement, indirect or not, in a block or on one line", () => {
    const block = [
      "module tidegate.local/toolchain/pulumi",
      "require (",
      "\tgithub.com/pulumi/pulumi/sdk/v3 v3.274.1",
      "\tgithub.com/pulumi/pulumi/pkg/v3 v3.274.1 // indirect",
      ")",
      "tool github.com/pulumi/pulumi/pkg/v3/cmd/pulumi",
    ].join("\n");
    expect(pinnedPulumiVersion(block)).toBe("v3.274.1");
    expect(pinnedPulumiVersion("require github.com/pulumi/pulumi/pkg/v3 v3.200.0\n")).toBe("v3.200.0");
  });

  it("gives undefined when pkg/v3 is not required", () => {
    expect(pinnedPulumiVersion("tool github.com/pulumi/pulumi/pkg/v3/cmd/pulumi\n")).toBeUndefined();
  });

  it("reads the repository's go.mod", () => {
    const goMod = readFileSync(path.join(repoRoot, "toolchain/pulumi/go.mod"), "utf8");
    expect(pinnedPulumiVersion(goMod)).toMatch(/^v3\.\d+\.\d+$/);
  });
});

describe("parsePluginList", () => {
  it("accepts the null pulumi prints when no plugins are installed", () => {
    expect(parsePluginList("null")).toEqual([]);
    expect(parsePluginList("")).toEqual([]);
  });

  it("keeps name, kind and version", () => {
    const json = JSON.stringify([
      { name: "aws", kind: "resource", version: "7.48.0", size: 1 },
      { name: "nodejs", kind: "language", version: "3.274.1" },
      { kind: "resource" },
    ]);
    expect(parsePluginList(json)).toEqual([
      { name: "aws", kind: "resource", version: "7.48.0" },
      { name: "nodejs", kind: "language", version: "3.274.1" },
    ]);
  });
});

describe("emulatorReason", () => {
  it("explains each choice", () => {
    expect(emulatorReason("external")).toBe("AWS_ENDPOINT_URL is set");
    expect(emulatorReason("localstack-container")).toContain("Docker engine is reachable");
    expect(emulatorReason("localstack-host")).toContain("LocalStack runs on the host");
    expect(emulatorReason("moto")).toBe("no AWS_ENDPOINT_URL and no Docker engine");
  });
});

describe("summarize and exitCode", () => {
  it("passes when every required check passes, whatever the optional ones say", () => {
    const report = summarize([check({ name: "node" }), check({ name: "aws", ok: false, required: false })]);
    expect(report.ok).toBe(true);
    expect(exitCode(report)).toBe(0);
  });

  it("fails when a required check fails", () => {
    const report = summarize([check({ name: "node" }), check({ name: "pulumi", ok: false })]);
    expect(report.ok).toBe(false);
    expect(exitCode(report)).toBe(1);
  });

  it("passes with no checks", () => {
    expect(exitCode(summarize([]))).toBe(0);
  });
});

describe("formatHuman", () => {
  const report = summarize([
    check({ name: "node", detail: "v22.23.3" }),
    check({ name: "language host", ok: false, detail: "not built", fix: "bash scripts/setup.sh" }),
    check({ name: "aws", ok: false, required: false, detail: "not installed", fix: "pulumi plugin install" }),
    check({ name: "emulator", ok: false, detail: "moto missing", fix: "bash scripts/setup.sh" }),
  ]);

  it("prints one aligned line per check with its mark, and the fix under anything not ok", () => {
    const lines = formatHuman(report).split("\n");
    expect(lines.slice(0, 7)).toEqual([
      "✔ node           v22.23.3",
      "✖ language host  not built",
      "                 fix: bash scripts/setup.sh",
      "• aws            not installed",
      "                 fix: pulumi plugin install",
      "✖ emulator       moto missing",
      "                 fix: bash scripts/setup.sh",
    ]);
  });

  it("ends with the failed required checks and their fixes, each fix once", () => {
    const text = formatHuman(report);
    expect(text).toContain(
      "2 required checks failed: language host, emulator.\nFix: bash scripts/setup.sh\n",
    );
    expect(text).not.toContain("Fix: pulumi plugin install");
  });

  it("says so when everything required passed", () => {
    const ok = summarize([check({ name: "node" }), check({ name: "aws", ok: false, required: false })]);
    expect(formatHuman(ok).trimEnd().split("\n").pop()).toBe(
      "All required checks passed (1 optional not available).",
    );
  });
});

describe("formatJson", () => {
  it("prints { ok, checks } as JSON", () => {
    const report = summarize([
      check({ name: "node" }),
      check({ name: "git", ok: false, fix: "install git" }),
    ]);
    expect(JSON.parse(formatJson(report))).toEqual({
      ok: false,
      checks: [
        { name: "node", ok: true, required: true, detail: "fine" },
        { name: "git", ok: false, required: true, detail: "fine", fix: "install git" },
      ],
    });
  });
});

describe("the doctor command line", () => {
  function capture(): CommandContext & { out: string[]; err: string[] } {
    const out: string[] = [];
    const err: string[] = [];
    return { repoRoot, env: {}, out, err, stdout: (t) => void out.push(t), stderr: (t) => void err.push(t) };
  }

  it("shows the doctor usage for `help doctor` and `doctor --help`", async () => {
    for (const argv of [
      ["help", "doctor"],
      ["doctor", "--help"],
    ]) {
      const context = capture();
      expect(await main(argv, context)).toBe(0);
      expect(context.out.join("")).toMatch(/^Usage: tidegate doctor \[--json\]\n/);
    }
  });

  it("rejects unknown options and arguments as usage errors (exit code 2)", async () => {
    for (const argv of [["doctor", "--bogus"], ["doctor", "extra"], ["doktor"]]) {
      const context = capture();
      const error = await main(argv, context).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UsageError);
      expect(reportError(error, context)).toBe(2);
      expect(context.err.join("")).toMatch(/^tidegate: /);
    }
  });

  it("prints usage on stderr and exits 2 without a command", async () => {
    const context = capture();
    expect(await main([], context)).toBe(2);
    expect(context.err.join("")).toContain("Usage: tidegate <command> [options]");
    expect(context.err.join("")).toContain("  doctor ");
  });
});

describe("the chromium check", () => {
  it("names the browser and its version, or says how to get one", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "tidegate-chromium-"));
    try {
      const fake = path.join(dir, "chromium");
      writeFileSync(
        fake,
        "#!/bin/sh\necho 'Chromium 156.0.8078.108 built on Debian GNU/Linux 12 (bookworm)'\n",
        {
          mode: 0o755,
        },
      );
      const found = await probeChromium({ ...process.env, TIDEGATE_CHROMIUM: fake });
      expect(found).toEqual({
        ok: true,
        detail: `Chromium found at ${fake}: Chromium 156.0.8078.108 built on Debian GNU/Linux 12 (bookworm)`,
      });

      const gone = path.join(dir, "nope");
      const missing = await probeChromium({ ...process.env, TIDEGATE_CHROMIUM: gone });
      expect(missing.ok).toBe(false);
      expect(missing.detail).toContain(`TIDEGATE_CHROMIUM=${gone}`);
      expect(missing.fix).toContain("scripts/setup.sh");
      expect(missing.fix).toContain("TIDEGATE_CHROMIUM");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("launchBrowser", () => {
  it("fails naming the fix when there is no Chromium", async () => {
    vi.stubEnv("TIDEGATE_CHROMIUM", "/nonexistent/chromium");
    try {
      await expect(launchBrowser()).rejects.toThrow(
        /no executable Chromium at TIDEGATE_CHROMIUM=\/nonexistent\/chromium; fix: bash scripts\/setup\.sh/,
      );
    } finally {
      vi.unstubAllEnvs();
    }
  });
});

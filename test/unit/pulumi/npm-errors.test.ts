import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { npmFailure } from "../../../src/adapters/pulumi/npm-errors";
import { errorLine, errorRecord } from "../../../src/domain/errors";

// npm's words, captured once from npm 11.19.1: see fixtures/npm-failures.json.
const captured = JSON.parse(
  fs.readFileSync(path.join(__dirname, "fixtures/npm-failures.json"), "utf8"),
) as Record<string, string[]>;
const output = (name: string): string[] => captured[name] ?? [];

describe("npmFailure on npm's real output", () => {
  it("an unreachable registry is unavailable and names the registry", () => {
    const error = npmFailure("install", output("registry-refused"), "stacks/platform");
    expect(error.kind).toBe("unavailable");
    expect(error.message).toBe(
      "npm install for stacks/platform: the registry http://127.0.0.1:9/ did not answer (ECONNREFUSED)",
    );
    expect(error.recovery).toContain(".npmrc");
  });

  it("a package the registry does not have is not-found and names the package and the registry", () => {
    const error = npmFailure("install", output("package-404"), "stacks/platform");
    expect(error.kind).toBe("not-found");
    expect(error.message).toBe(
      "npm install for stacks/platform: package left-pad@1.3.0 is not in the registry http://127.0.0.1:18731/",
    );
  });

  it("a stale lockfile is invalid, names what is missing, and says to run npm install", () => {
    const error = npmFailure("ci", output("lockfile-out-of-sync"), "stacks/platform");
    expect(error.kind).toBe("invalid");
    expect(error.message).toBe(
      "npm ci for stacks/platform: package-lock.json is out of sync with package.json (not in the lockfile: x@1.0.0)",
    );
    expect(error.recovery).toBe("run `npm install` in stacks/platform, commit package-lock.json and push.");
  });

  it("masks a registry's credentials and keeps stack frames out of the line", () => {
    const lines = output("registry-refused").map((l) =>
      l.replace("http://127.0.0.1:9/", "https://ci:s3cret@npm.example.com/"),
    );
    const shown = errorLine(errorRecord(npmFailure("install", lines, "p")));
    expect(shown).toContain("https://***@npm.example.com/");
    expect(shown).not.toContain("s3cret");
    const other = errorLine(
      errorRecord(npmFailure("install", ["npm error code EBADENGINE", "npm error     at x (y.js:1:1)"], "p")),
    );
    expect(other).toBe(
      "npm install for p failed (EBADENGINE): code EBADENGINE — what to do: run the same npm command in the program's folder to see the whole output.",
    );
  });
});

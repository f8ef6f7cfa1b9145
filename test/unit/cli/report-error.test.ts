import { describe, expect, it } from "vitest";
import { NotFoundError } from "../../../src/app/errors";
import { GitTimeoutError } from "../../../src/adapters/git/errors";
import { PulumiError } from "../../../src/adapters/pulumi/errors";
import { UsageError } from "../../../src/cli/command";
import { EXIT_CODES } from "../../../src/domain/errors";
import { reportError } from "../../../src/main";

function report(error: unknown, env: Record<string, string> = {}): { code: number; stderr: string } {
  let stderr = "";
  const code = reportError(error, { env, stderr: (text) => void (stderr += text) });
  return { code, stderr };
}

describe("reportError", () => {
  it("exits with the code of the error's kind, one line of message and one of what to do", () => {
    const { code, stderr } = report(
      new PulumiError("passphrase", "environment 'test': wrong passphrase\nmore"),
    );
    expect(code).toBe(EXIT_CODES.unauthorized);
    expect(stderr.split("\n")).toEqual([
      "tidegate: environment 'test': wrong passphrase (TIDEGATE_DEBUG=1 shows the rest)",
      expect.stringMatching(/^what to do: give the environment the passphrase/),
      "",
    ]);
  });

  it("maps each of tidegate's errors to its own code", () => {
    expect(report(new NotFoundError("no run r1")).code).toBe(EXIT_CODES["not-found"]);
    const timeout = new GitTimeoutError("fetch", "https://host/x.git", "deadline", "60s", "it took too long");
    expect(report(timeout).code).toBe(EXIT_CODES.timeout);
    expect(report(new PulumiError("lock-held", "locked")).code).toBe(EXIT_CODES.conflict);
  });

  it("exits 1 for a foreign error, and 2 for a bad command line", () => {
    expect(report(new TypeError("x is undefined"))).toEqual({
      code: 1,
      stderr: "tidegate: x is undefined\n",
    });
    expect(report(new UsageError("unknown option '--x'", "status")).code).toBe(2);
  });
});

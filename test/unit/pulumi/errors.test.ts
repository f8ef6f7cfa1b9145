import { CommandError, ConcurrentUpdateError } from "@pulumi/pulumi/automation";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  classifyPulumiError,
  PulumiError,
  type PulumiFailureContext,
} from "../../../src/adapters/pulumi/errors";
import { assertStackFile } from "../../../src/adapters/pulumi/stack-file";
import { errorLine, errorRecord, EXIT_CODES } from "../../../src/domain/errors";

// The CLI's words, captured once from the real Pulumi CLI v3.274.1 (~/.cache/tidegate/pulumi) as the
// Automation API hands them over (CommandError.commandResult): see fixtures/cli-failures.json.
const captured = JSON.parse(
  fs.readFileSync(path.join(__dirname, "fixtures/cli-failures.json"), "utf8"),
) as Record<string, { stdout: string; stderr: string; code: number }>;

/** A CommandError as the Automation API builds it (its constructor is internal to the SDK). */
function commandError(name: string): CommandError {
  const result = captured[name];
  if (!result) throw new Error(`no fixture ${name}`);
  // The Automation API raises its own subclass for Pulumi's lock.
  const locked = name.startsWith("lock-held");
  const error = Object.create(
    locked ? ConcurrentUpdateError.prototype : CommandError.prototype,
  ) as CommandError;
  Object.assign(error, {
    name: locked ? "ConcurrentUpdateError" : "CommandError",
    message: `code: ${result.code}\n stdout: ${result.stdout}\n stderr: ${result.stderr}\n err?: `,
    commandResult: result,
  });
  return error;
}

const context: PulumiFailureContext = {
  backendUrl: "s3://AKIAEXAMPLE:secretvalue@bucket?endpoint=http://127.0.0.1:9",
  subject: "environment 'test' (stack test)",
  passphraseSource: "environment variable TEST_PASSPHRASE",
  stackFile: "Pulumi.test.yaml",
};

/** The single status line of a classified fixture. */
function line(name: string): { error: PulumiError; line: string } {
  const error = classifyPulumiError(commandError(name), context);
  return { error, line: errorLine(errorRecord(error)) };
}

describe("classifyPulumiError on the real CLI's words", () => {
  it.each(Object.keys(captured).filter((k) => !k.startsWith("_")))(
    "%s: no command line, no dump, one line",
    (name) => {
      const { line: shown } = line(name);
      expect(shown).not.toMatch(/code: -2|stdout:|stderr:|Command failed with exit code|--non-interactive/);
      expect(shown).not.toMatch(/at callErrorFromStatus|Channel has been shut down|Will retry/);
      expect(shown).not.toContain("\n");
      expect(shown).not.toContain("secretvalue");
    },
  );

  it("a malformed stack file is invalid and names the file and Pulumi's line", () => {
    const { error, line: shown } = line("malformed-yaml");
    expect(error).toMatchObject({ failure: "stack-file", kind: "invalid" });
    expect(shown).toMatch(/^Pulumi\.test\.yaml:2: getting stack configuration: invalid YAML file/);
    expect(EXIT_CODES[error.kind]).toBe(EXIT_CODES.invalid);
    expect(line("wrong-type").line).toMatch(/^Pulumi\.test\.yaml:1: .*cannot unmarshal !!int `5`/);
  });

  it("a wrong passphrase is unauthorized and names the environment and the passphrase's source", () => {
    const { error, line: shown } = line("wrong-passphrase");
    expect(error).toMatchObject({ failure: "passphrase", kind: "unauthorized" });
    expect(shown).toContain(
      "environment 'test' (stack test): the passphrase from environment variable TEST_PASSPHRASE",
    );
    expect(shown).toContain("incorrect passphrase");
  });

  it("a missing plugin names the plugin, its version and the command that installs it", () => {
    const { error, line: shown } = line("plugin-missing");
    expect(error).toMatchObject({ failure: "plugin-missing", kind: "unavailable" });
    expect(error.message).toBe(
      "environment 'test' (stack test): the provider plugin random v4.16.7 is not installed and could not be downloaded",
    );
    expect(shown).toContain("pulumi plugin install resource random v4.16.7");
  });

  it("a backend that does not answer names the backend, credentials masked", () => {
    for (const name of ["backend-s3-refused", "backend-http-refused"]) {
      const { error, line: shown } = line(name);
      expect(error).toMatchObject({ failure: "backend-unreachable", kind: "unavailable" });
      expect(shown).toContain("the backend s3://***@bucket?endpoint=http://127.0.0.1:9 did not answer");
      expect(shown).toContain("dial tcp 127.0.0.1:9: connect: connection refused");
    }
  });

  it("a backend that answers and refuses is a configuration problem naming the backend and what it refused", () => {
    const cases = {
      "backend-s3-no-bucket": "refused: its bucket does not exist",
      "backend-s3-bad-parameter": 'refused: unknown query parameter "insecure"',
    };
    for (const [name, why] of Object.entries(cases)) {
      const { error, line: shown } = line(name);
      expect(error).toMatchObject({ failure: "backend-rejected", kind: "invalid" });
      expect(error.message).toBe(
        `environment 'test' (stack test): the backend s3://***@bucket?endpoint=http://127.0.0.1:9 ${why}`,
      );
      expect(shown).toContain("credentials.update");
    }
  });

  it("a stack locked in an s3:// backend names who holds Pulumi's lock, not the lock's URL", () => {
    const { error, line: shown } = line("lock-held-s3");
    expect(error).toMatchObject({ failure: "lock-held", kind: "conflict" });
    expect(error.message).toBe(
      "the stack is locked by another update (held by deployer@build-7 pid 4242 since 2026-11-30T07:41:19Z)",
    );
    expect(shown).not.toContain("s3://");
  });

  it("an update that leaves its saved plan is a conflict naming the resource and what differs", () => {
    const { error, line: shown } = line("plan-violated");
    expect(error.failure).toBe("plan-violated");
    expect(error.kind).toBe("conflict");
    expect(shown).toMatch(/violates plan: properties changed/);
    expect(error.recovery).toMatch(/approve the new plan/);
  });

  it("without context, keeps Pulumi's own error line", () => {
    const error = classifyPulumiError(commandError("backend-s3-refused"));
    expect(error.message).toMatch(/^read "\.pulumi\/meta\.yaml": blob/);
  });

  it("keeps the Pulumi failure under `failure`, and the caller's meaning under `kind`", () => {
    const error = new PulumiError("lock-held", "the stack is locked by another update");
    expect(error).toMatchObject({ failure: "lock-held", kind: "conflict" });
    expect(error.recovery).toContain("tidegate recover");
  });
});

describe("assertStackFile", () => {
  const dirs: string[] = [];
  afterEach(() => dirs.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
  const write = (text: string): string => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tidegate-stackfile-"));
    dirs.push(dir);
    const file = path.join(dir, "Pulumi.test.yaml");
    fs.writeFileSync(file, text);
    return file;
  };
  const refusal = (file: string): PulumiError => {
    try {
      assertStackFile(file);
    } catch (error) {
      return error as PulumiError;
    }
    throw new Error("expected a refusal");
  };

  it("names the file and the exact line of a YAML syntax error", () => {
    const error = refusal(write("encryptionsalt: v1:abc\nconfig:\n  cap:x: [1\n  cap:y: 2\n"));
    expect(error).toMatchObject({ failure: "stack-file", kind: "invalid" });
    expect(error.message).toMatch(/^Pulumi\.test\.yaml:\d+:\d+: YAML syntax error/);
    expect(error.recovery).toContain("fix Pulumi.test.yaml");
  });

  it("names the key, the line and what was expected for a wrong type", () => {
    const error = refusal(write("encryptionsalt: v1:abc\nconfig: 5\n"));
    expect(error.message).toMatch(/^Pulumi\.test\.yaml:2:\d+: config: .*expected a mapping/);
  });

  it("accepts a well-formed file, an empty one and a missing one", () => {
    expect(() => assertStackFile(write("config:\n  cap:x: 1\n  cap:y:\n    nested: [1, 2]\n"))).not.toThrow();
    expect(() => assertStackFile(write(""))).not.toThrow();
    expect(() => assertStackFile("/nonexistent/Pulumi.test.yaml")).not.toThrow();
  });
});

import { describe, expect, it } from "vitest";
import {
  EXIT_CODES,
  HTTP_STATUS,
  TidegateError,
  errorKind,
  errorRecord,
  remoteMessage,
  type ErrorKind,
} from "../../../src/domain/errors";

describe("TidegateError", () => {
  it("derives the exit code and the HTTP status from its kind alone", () => {
    const kinds = Object.keys(EXIT_CODES) as ErrorKind[];
    expect(new Set(kinds.map((k) => EXIT_CODES[k])).size).toBe(kinds.length);
    for (const kind of kinds) {
      // 0 to 3 keep their meanings (ok, failure, usage, changes found); only `internal` shares 1.
      if (kind !== "internal") expect(EXIT_CODES[kind]).toBeGreaterThan(3);
      expect(HTTP_STATUS[kind]).toBeGreaterThanOrEqual(400);
    }
  });

  it("records kind, message and recovery, and treats foreign errors as internal", () => {
    const own = new TidegateError("timeout", "git fetch took longer than 60 s", {
      recovery: "check the remote",
    });
    expect(errorRecord(own)).toEqual({
      kind: "timeout",
      message: "git fetch took longer than 60 s",
      recovery: "check the remote",
    });
    expect(errorRecord(new Error("boom"))).toEqual({ kind: "internal", message: "boom" });
    expect(errorKind("a string")).toBe("internal");
  });

  it("shows a remote caller the message only when it is marked safe", () => {
    expect(remoteMessage(new TidegateError("not-found", "no run 42", { remoteSafe: true }))).toBe(
      "no run 42",
    );
    const local = remoteMessage(new TidegateError("unavailable", "cannot read /srv/state/.pulumi"));
    expect(local).not.toContain("/srv");
    expect(local).toContain("unavailable");
    expect(remoteMessage(new Error("secret path /root"))).not.toContain("/root");
  });
});

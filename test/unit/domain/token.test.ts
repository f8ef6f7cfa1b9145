import { describe, expect, it } from "vitest";
import { TidegateError } from "../../../src/domain/errors";
import { allows, isScope, parseScope, type Scope } from "../../../src/domain/token";

describe("parseScope", () => {
  it("reads every form, trimmed", () => {
    expect(parseScope("read")).toBe("read");
    expect(parseScope(" admin ")).toBe("admin");
    expect(parseScope("approve:prod")).toBe("approve:prod");
    expect(parseScope("sync:eu-west")).toBe("sync:eu-west");
    expect(parseScope("promote:stage")).toBe("promote:stage");
    // An environment of one of several repositories.
    expect(parseScope("approve:payments.prod")).toBe("approve:payments.prod");
  });

  it.each([
    ["write", "invalid scope 'write': expected read, admin, approve:<env>, sync:<env> or promote:<env>"],
    ["", "invalid scope '': expected read, admin, approve:<env>, sync:<env> or promote:<env>"],
    [
      "read:prod",
      "invalid scope 'read:prod': expected read, admin, approve:<env>, sync:<env> or promote:<env>",
    ],
    ["approve", "invalid scope 'approve': expected approve:<env>, e.g. approve:prod"],
    ["sync:", "invalid scope 'sync:': expected sync:<env>, e.g. sync:prod"],
    [
      "sync:a.b.prod",
      "invalid scope 'sync:a.b.prod': 'a.b.prod' is not an environment name (kebab case, e.g. prod)",
    ],
    ["sync:Prod", "invalid scope 'sync:Prod': 'Prod' is not an environment name (kebab case, e.g. prod)"],
    [
      "approve:*",
      "invalid scope 'approve:*': '*' is not an environment name (kebab case, e.g. prod) (wildcards are not supported: name each environment, or use admin)",
    ],
  ])("refuses %j, naming the text and what is expected", (text, message) => {
    let thrown: unknown;
    try {
      parseScope(text);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(TidegateError);
    expect(thrown).toMatchObject({ kind: "invalid", message, remoteSafe: true });
  });

  it("isScope accepts only scopes as parseScope returns them", () => {
    expect(isScope("approve:prod")).toBe(true);
    expect(isScope(" read")).toBe(false);
    expect(isScope("approve:*")).toBe(false);
  });
});

describe("allows", () => {
  const scopes: Scope[] = ["read", "approve:prod"];

  it("allows exactly the scopes held", () => {
    expect(allows(scopes, "read")).toBe(true);
    expect(allows(scopes, "approve:prod")).toBe(true);
    expect(allows(scopes, "approve:stage")).toBe(false);
    expect(allows(scopes, "sync:prod")).toBe(false);
    expect(allows(scopes, "admin")).toBe(false);
  });

  it("does not let acting imply reading", () => {
    expect(allows(["approve:prod"], "read")).toBe(false);
    expect(allows([], "read")).toBe(false);
  });

  it("lets admin do everything", () => {
    for (const needed of ["read", "admin", "approve:prod", "sync:x", "promote:y"] as const) {
      expect(allows(["admin"], needed)).toBe(true);
    }
  });
});

import { describe, expect, it } from "vitest";
import { Redactor } from "../../../src/log/redact";

const redactor = (secrets: string[] = []) => new Redactor({ secrets, stacks: false });

describe("Redactor.text", () => {
  it.each([
    ["https://user:token@host/path", "https://***@host/path"],
    ["git clone https://oauth2:abc@gitlab.com/a/b.git now", "git clone https://***@gitlab.com/a/b.git now"],
    ["https://u:p@ss@host", "https://***@host"],
    ['{"url":"s3://key:secret@bucket"}', '{"url":"s3://***@bucket"}'],
    ["https://host/path?email=a@b.c", "https://host/path?email=a@b.c"],
    ["https://host, contact ops@example.com", "https://host, contact ops@example.com"],
    ["git@github.com:acme/infra.git", "git@github.com:acme/infra.git"],
  ])("redacts URL credentials in %s", (input, expected) => {
    expect(redactor().text(input)).toBe(expected);
  });

  it("masks a secret that contains another secret whole, in one pass", () => {
    expect(redactor(["cret", "my-secret-value"]).text("a my-secret-value b cret")).toBe(
      "a [secret] b [secret]",
    );
  });

  it("masks the URL-encoded and JSON-escaped forms of a secret", () => {
    const r = redactor(['pa"ss/wo rd']);
    expect(r.text(`q=${encodeURIComponent('pa"ss/wo rd')}`)).toBe("q=[secret]");
    expect(r.text(JSON.stringify({ v: 'pa"ss/wo rd' }))).toBe('{"v":"[secret]"}');
  });

  it("treats regular-expression characters in secrets literally", () => {
    expect(redactor(["a.b*c"]).text("axbbc a.b*c")).toBe("axbbc [secret]");
  });
});

describe("Redactor.value", () => {
  it("serializes URLs, dates, maps and sets and redacts inside them", () => {
    const r = redactor(["hunter22"]);
    expect(
      r.value({
        url: new URL("https://me:hunter22@example.com/x"),
        at: new Date("2024-01-02T03:04:05Z"),
        map: new Map([["k", "hunter22"]]),
        set: new Set(["hunter22"]),
      }),
    ).toEqual({
      url: "https://***@example.com/x",
      at: "2024-01-02T03:04:05.000Z",
      map: { k: "[secret]" },
      set: ["[secret]"],
    });
  });

  it("repeats a shared (non-cyclic) object instead of calling it circular", () => {
    const shared = { a: 1 };
    expect(redactor().value({ x: shared, y: shared })).toEqual({ x: { a: 1 }, y: { a: 1 } });
  });
});

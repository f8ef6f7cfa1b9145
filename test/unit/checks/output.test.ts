import { describe, expect, it } from "vitest";
import { OutputTail } from "../../../src/adapters/commands/output";

const mask = (secrets: string[]) => (text: string) =>
  secrets.reduce((out, secret) => out.split(secret).join("[secret]"), text);

function tail(limit: number, ...chunks: string[]): OutputTail {
  const out = new OutputTail(limit);
  for (const chunk of chunks) out.push(Buffer.from(chunk));
  return out;
}

describe("OutputTail", () => {
  it("keeps short output whole", () => {
    expect(tail(100, "a\n", "b\n").text(mask([]), [])).toBe("a\nb\n");
    expect(tail(4, "abcd").text(mask([]), [])).toBe("abcd");
  });

  it("keeps the last bytes, from the first whole line, and counts what it cut", () => {
    expect(tail(10, "line1\nline2\n", "line3\nline4\n").text(mask([]), [])).toBe("… 18 bytes cut\nline4\n");
  });

  it("starts after a blank when there is no line break, and never inside a UTF-8 character", () => {
    expect(tail(9, "xxxxxxxxxxx word1 word2").text(mask([]), [])).toBe("… 18 bytes cut\nword2");
    // "é" is 2 bytes: a cut through it drops its second byte rather than showing a broken one.
    expect(tail(3, "ééé").text(mask([]), [])).toBe("… 4 bytes cut\né");
  });

  it("drops the end of a secret the cut went through, which masking can no longer see", () => {
    const secret = "s3cr3t-value";
    const text = tail(16, `${secret}${secret}${secret}`).text(mask([secret]), [secret]);
    // Kept: "et-value" + "s3cr3t-value" minus the fragment "et-value" → the whole secret, masked.
    expect(text).toBe("… 24 bytes cut\n[secret]");

    // A secret spanning lines, cut at a line break inside it.
    const key = "-----BEGIN KEY-----\nabcdefgh\n-----END KEY-----";
    const out = tail(40, `prefix ${key}\nafter\n`).text(mask([key]), [key]);
    expect(out).not.toMatch(/abcdefgh|END KEY/);
    expect(out).toBe("… 53 bytes cut\n\nafter\n");
  });

  it("holds little more than the limit however much is pushed", () => {
    const out = new OutputTail(1024);
    for (let i = 0; i < 10_000; i++) out.push(Buffer.from(`${i}`.padStart(99, ".") + "\n"));
    const text = out.text(mask([]), []);
    expect(text).toMatch(/^… \d+ bytes cut\n/);
    expect(text.endsWith(".9999\n")).toBe(true);
    expect(Buffer.byteLength(text)).toBeLessThan(1100);
  });
});

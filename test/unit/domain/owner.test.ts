import { describe, expect, it } from "vitest";
import { formatOwnerId, isOwnerDead, parseOwnerId, type LivenessProbe } from "../../../src/domain/owner";

const NOW = Date.parse("2025-03-04T12:00:00.000Z");

/** This host ("here") runs pid 100, started at tick 5000; every other pid is gone. */
const probe = (overrides: Partial<LivenessProbe> = {}): LivenessProbe => ({
  host: "here",
  now: NOW,
  ttlMs: 60_000,
  pidAlive: (pid) => pid === 100,
  startOf: (pid) => (pid === 100 ? "5000" : undefined),
  ...overrides,
});

const ago = (seconds: number) => new Date(NOW - seconds * 1000).toISOString();

describe("owner ids", () => {
  it("carry host, pid, start time and suffix, and read back", () => {
    const id = formatOwnerId({ host: "ci-7", pid: 100, start: "5000", suffix: "ab12cd34" });
    expect(id).toBe("ci-7/100/5000/ab12cd34");
    expect(parseOwnerId(id)).toEqual({ host: "ci-7", pid: 100, start: "5000", suffix: "ab12cd34" });
    expect(parseOwnerId(formatOwnerId({ host: "a/b", pid: 1, start: "", suffix: "x" }))).toEqual({
      host: "a_b",
      pid: 1,
      start: "",
      suffix: "x",
    });
  });

  it("are not read from anything else", () => {
    for (const id of [undefined, "", "host:1:x", "h/0/1/x", "h/-1/1/x", "h/1/1/", "/1/1/x", "h/1/2/3/4"]) {
      expect(parseOwnerId(id), String(id)).toBeUndefined();
    }
  });
});

describe("isOwnerDead", () => {
  it("on this host: alive while its pid runs with the same start time, whatever the heartbeat", () => {
    expect(isOwnerDead("here/100/5000/x", ago(3600), probe())).toBe(false);
    expect(isOwnerDead("here/100/5000/x", undefined, probe())).toBe(false);
  });

  it("on this host: dead when its pid is gone or was reused by a later process", () => {
    expect(isOwnerDead("here/101/5000/x", ago(1), probe())).toBe(true);
    expect(isOwnerDead("here/100/4000/x", ago(1), probe())).toBe(true);
  });

  it("on this host: alive when a start time cannot be compared and the pid runs", () => {
    expect(isOwnerDead("here/100//x", ago(3600), probe())).toBe(false);
    expect(isOwnerDead("here/100/4000/x", ago(3600), probe({ startOf: () => undefined }))).toBe(false);
  });

  it("on another host: dead when its heartbeat is older than the TTL, or missing", () => {
    expect(isOwnerDead("there/100/5000/x", ago(59), probe())).toBe(false);
    expect(isOwnerDead("there/100/5000/x", ago(60), probe())).toBe(false);
    expect(isOwnerDead("there/100/5000/x", ago(61), probe())).toBe(true);
    expect(isOwnerDead("there/100/5000/x", undefined, probe())).toBe(true);
    expect(isOwnerDead("there/100/5000/x", "not a time", probe())).toBe(true);
  });

  it("for an id that says no host (an older tidegate's run): by heartbeat alone", () => {
    expect(isOwnerDead(undefined, undefined, probe())).toBe(true);
    expect(isOwnerDead("laptop:100:ab12", ago(10), probe())).toBe(false);
    expect(isOwnerDead("laptop:100:ab12", ago(120), probe())).toBe(true);
  });
});

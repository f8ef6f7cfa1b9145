import { describe, expect, it } from "vitest";
import { LoginThrottle, sameSecret, SessionStore } from "../../../src/server/dashboard/sessions";

describe("SessionStore", () => {
  it("forgets a session when it expires, and keeps at most max, dropping the oldest", () => {
    let now = 0;
    const store = new SessionStore({ ttlMs: 100, max: 2, now: () => now });
    const a = store.create("tg_a");
    expect(a.id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(a.csrf).not.toBe(a.id);
    const b = store.create("tg_b");
    const c = store.create("tg_c");
    expect(store.get(a.id)).toBeUndefined();
    expect(store.get(b.id)?.secret).toBe("tg_b");
    now = 100;
    expect(store.get(c.id)).toBeUndefined();
    store.create("tg_d");
    expect(store.size).toBe(1);
  });
});

describe("LoginThrottle", () => {
  it("blocks an address after max failures until the window ends; a success clears it", () => {
    let now = 0;
    const throttle = new LoginThrottle({ max: 2, windowMs: 1000, maxAddresses: 10, now: () => now });
    throttle.failed("a");
    expect(throttle.blockedFor("a")).toBe(0);
    throttle.failed("a");
    expect(throttle.blockedFor("a")).toBe(1000);
    expect(throttle.blockedFor("b")).toBe(0);
    now = 1000;
    expect(throttle.blockedFor("a")).toBe(0);
    throttle.failed("a");
    throttle.failed("a");
    throttle.succeeded("a");
    expect(throttle.blockedFor("a")).toBe(0);
  });
});

describe("sameSecret", () => {
  it("compares whole secrets, whatever their lengths", () => {
    expect(sameSecret("abc", "abc")).toBe(true);
    expect(sameSecret("abd", "abc")).toBe(false);
    expect(sameSecret("ab", "abc")).toBe(false);
    expect(sameSecret("", "abc")).toBe(false);
  });
});

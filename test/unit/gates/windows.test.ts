import { describe, expect, it } from "vitest";

import type { SyncWindow } from "../../../src/domain/gates";
import {
  describeWindow,
  evaluateWindows,
  formatInstant,
  openedAt,
  spanEnd,
  windowState,
} from "../../../src/gates/windows";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function allow(schedule: string, durationMs: number, timezone = "UTC"): SyncWindow {
  return { kind: "allow", schedule, durationMs, timezone };
}

function deny(schedule: string, durationMs: number, timezone = "UTC"): SyncWindow {
  return { kind: "deny", schedule, durationMs, timezone };
}

const at = (iso: string) => new Date(iso);

const OFFICE = allow("0 9 * * 1-5", 8 * HOUR, "Europe/Berlin");
const CHRISTMAS = deny("0 0 24 12 *", 2 * DAY);

describe("windowState", () => {
  it("is open without windows", () => {
    expect(windowState([], at("2025-06-02T03:00:00Z"))).toEqual({ open: true, reason: "no sync windows" });
  });

  it("is open inside an allow window, and says until when in the window's time zone", () => {
    // Monday 2 June 2025, 10:00 in Berlin (CEST, UTC+2).
    expect(windowState([OFFICE], at("2025-06-02T08:00:00Z"))).toEqual({
      open: true,
      reason: "inside allow window '0 9 * * 1-5' (8h, Europe/Berlin) until 2025-06-02 17:00 Europe/Berlin",
      closesAt: at("2025-06-02T15:00:00Z"),
    });
  });

  it("is closed outside every allow window, and says when the next opens", () => {
    // Saturday 7 June: the next opening is Monday 9:00 in Berlin.
    expect(windowState([OFFICE], at("2025-06-07T12:00:00Z"))).toEqual({
      open: false,
      reason:
        "outside every allow window; next opens 2025-06-09 09:00 Europe/Berlin (allow window '0 9 * * 1-5' (8h, Europe/Berlin))",
      nextOpen: at("2025-06-09T07:00:00Z"),
    });
  });

  it("opens at the firing and closes exactly `duration` later", () => {
    expect(windowState([OFFICE], at("2025-06-02T06:59:59.999Z")).open).toBe(false);
    expect(windowState([OFFICE], at("2025-06-02T07:00:00Z")).open).toBe(true);
    expect(windowState([OFFICE], at("2025-06-02T14:59:59.999Z")).open).toBe(true);
    expect(windowState([OFFICE], at("2025-06-02T15:00:00Z")).open).toBe(false);
  });

  it("reads the cron in the window's time zone, summer and winter", () => {
    // 07:30 UTC is 09:30 in Berlin in summer (inside) but 08:30 in winter (outside).
    expect(windowState([OFFICE], at("2025-06-02T07:30:00Z")).open).toBe(true);
    expect(windowState([OFFICE], at("2025-01-06T07:30:00Z")).open).toBe(false);
    expect(windowState([OFFICE], at("2025-01-06T08:30:00Z"))).toMatchObject({
      open: true,
      closesAt: at("2025-01-06T16:00:00Z"),
    });
    // The same cron in New York and in UTC, at one instant: 13:30 UTC is 09:30 in New York.
    const instant = at("2025-06-02T13:30:00Z");
    expect(windowState([allow("0 9 * * *", HOUR, "America/New_York")], instant).open).toBe(true);
    expect(windowState([allow("0 9 * * *", HOUR)], instant).open).toBe(false);
  });

  it("opens a window whose time is skipped by the spring DST change at the first time after the gap", () => {
    // 30 March 2025: Berlin jumps from 02:00 to 03:00; "02:30" fires at 03:00 CEST (01:00 UTC).
    const night = allow("30 2 * * *", HOUR, "Europe/Berlin");
    expect(openedAt(night, at("2025-03-30T01:30:00Z"))).toEqual(at("2025-03-30T01:00:00Z"));
    expect(windowState([night], at("2025-03-30T00:45:00Z")).open).toBe(false);
    expect(windowState([night], at("2025-03-30T01:59:00Z")).open).toBe(true);
  });

  it("measures the duration in elapsed time across the autumn DST change", () => {
    // 26 October 2025: Berlin falls back from 03:00 CEST to 02:00 CET. A window from midnight
    // lasting 4h closes at 03:00 on the wall clock, four real hours later.
    const night = allow("0 0 * * *", 4 * HOUR, "Europe/Berlin");
    expect(windowState([night], at("2025-10-25T23:00:00Z"))).toEqual({
      open: true,
      reason: "inside allow window '0 0 * * *' (4h, Europe/Berlin) until 2025-10-26 03:00 Europe/Berlin",
      closesAt: at("2025-10-26T02:00:00Z"),
    });
    // In the repeated hour, "30 2 * * *" opens at the first 02:30 (CEST, 00:30 UTC).
    const twoThirty = allow("30 2 * * *", 30 * 60_000, "Europe/Berlin");
    expect(windowState([twoThirty], at("2025-10-26T00:45:00Z")).open).toBe(true);
  });

  it("lets an open deny window win over an open allow window", () => {
    const always = allow("0 0 * * *", DAY);
    expect(windowState([always, CHRISTMAS], at("2025-12-25T12:00:00Z"))).toEqual({
      open: false,
      reason:
        "deny window '0 0 24 12 *' (2d, UTC) is open until 2025-12-26 00:00 UTC; syncs may run again from 2025-12-26 00:00 UTC",
      nextOpen: at("2025-12-26T00:00:00Z"),
    });
  });

  it("looks past a deny window for the next allow window", () => {
    const mornings = allow("0 9 * * *", 8 * HOUR);
    expect(windowState([mornings, CHRISTMAS], at("2025-12-25T10:00:00Z"))).toMatchObject({
      open: false,
      nextOpen: at("2025-12-26T09:00:00Z"),
    });
    expect(windowState([mornings, CHRISTMAS], at("2025-12-25T10:00:00Z")).reason).toContain(
      "next opens 2025-12-26 09:00 UTC (allow window '0 9 * * *' (8h, UTC))",
    );
  });

  it("with deny windows only, is open until the next deny window opens", () => {
    expect(windowState([CHRISTMAS], at("2025-12-01T00:00:00Z"))).toEqual({
      open: true,
      reason: "no deny window is open; deny window '0 0 24 12 *' (2d, UTC) opens 2025-12-24 00:00 UTC",
      closesAt: at("2025-12-24T00:00:00Z"),
    });
  });

  it("closes an allow window early when a deny window opens inside it", () => {
    const lunch = deny("0 12 * * *", 30 * 60_000);
    expect(windowState([allow("0 9 * * *", 8 * HOUR), lunch], at("2025-06-02T10:00:00Z"))).toMatchObject({
      open: true,
      closesAt: at("2025-06-02T12:00:00Z"),
    });
    expect(windowState([allow("0 9 * * *", 8 * HOUR), lunch], at("2025-06-02T12:10:00Z"))).toMatchObject({
      open: false,
      nextOpen: at("2025-06-02T12:30:00Z"),
    });
  });

  it("merges firings that overlap and windows that follow each other", () => {
    expect(windowState([allow("0 9,10 * * *", 2 * HOUR)], at("2025-06-02T09:30:00Z")).closesAt).toEqual(
      at("2025-06-02T12:00:00Z"),
    );
    const back = [allow("0 9 * * *", 2 * HOUR), allow("0 11 * * *", 2 * HOUR)];
    expect(windowState(back, at("2025-06-02T10:00:00Z")).closesAt).toEqual(at("2025-06-02T13:00:00Z"));
  });

  it("says so when an open window does not close in sight", () => {
    const state = windowState([allow("*/5 * * * *", HOUR)], at("2025-06-02T10:02:00Z"));
    expect(state.open).toBe(true);
    expect(state.closesAt).toBeUndefined();
    expect(windowState([deny("*/5 * * * *", HOUR)], at("2025-06-02T10:02:00Z")).reason).toBe(
      "deny window '*/5 * * * *' (1h, UTC) is open with no end in sight (it fires again before it closes); no opening in sight",
    );
  });
});

describe("window helpers", () => {
  it("finds the latest firing that keeps a dense window open", () => {
    expect(openedAt(allow("*/5 * * * *", HOUR), at("2025-06-02T10:02:30.500Z"))).toEqual(
      at("2025-06-02T10:00:00Z"),
    );
    expect(openedAt(allow("0 9 * * *", HOUR), at("2025-06-02T10:00:00Z"))).toBeUndefined();
    expect(spanEnd(allow("0 9 * * *", HOUR), at("2025-06-02T09:00:00Z"))).toEqual(at("2025-06-02T10:00:00Z"));
  });

  it("describes a window and a time in its zone", () => {
    expect(describeWindow(CHRISTMAS)).toBe("deny window '0 0 24 12 *' (2d, UTC)");
    expect(formatInstant(at("2025-01-06T23:30:00Z"), "Asia/Tokyo")).toBe("2025-01-07 08:30 Asia/Tokyo");
  });
});

describe("evaluateWindows", () => {
  it("passes inside and blocks outside, with the reason", () => {
    expect(evaluateWindows([OFFICE], at("2025-06-02T08:00:00Z"))).toMatchObject({
      gate: "window",
      verdict: "pass",
    });
    expect(evaluateWindows([OFFICE, CHRISTMAS], at("2025-12-24T10:00:00Z"))).toEqual({
      gate: "window",
      verdict: "block",
      reason:
        "deny window '0 0 24 12 *' (2d, UTC) is open until 2025-12-26 00:00 UTC; next opens 2025-12-26 09:00 Europe/Berlin (allow window '0 9 * * 1-5' (8h, Europe/Berlin))",
    });
  });
});

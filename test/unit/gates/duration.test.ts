import { describe, expect, it } from "vitest";

import { formatDuration, parseDuration } from "../../../src/gates/duration";

describe("durations", () => {
  it.each([
    ["90s", 90_000],
    ["10m", 600_000],
    ["1h30m", 5_400_000],
    ["2d", 172_800_000],
    ["1d2h3m4s", 93_784_000],
    ["0", 0],
    ["0s", 0],
  ])("reads %s", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(["", "10", "1.5h", "30m1h", "1h 30m", "-5m", "1w", "10M", "h"])("refuses %j", (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });

  it("writes the largest units first and reads back the same", () => {
    expect(formatDuration(5_400_000)).toBe("1h30m");
    expect(formatDuration(172_800_000)).toBe("2d");
    expect(formatDuration(90_000)).toBe("1m30s");
    expect(formatDuration(0)).toBe("0s");
    expect(formatDuration(1_499)).toBe("1s");
    for (const ms of [1_000, 61_000, 3_600_000, 93_784_000])
      expect(parseDuration(formatDuration(ms))).toBe(ms);
  });
});

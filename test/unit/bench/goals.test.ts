import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import { describe, expect, it } from "vitest";

import { formatGoalTable, judge, jsonTarget, writeGoalJson } from "../../../bench/goals";

describe("bench goals", () => {
  const results = judge([
    { measure: "tidegate --help / node -e 0", value: 1.5, goal: 2, unit: "×", detail: "30 ms vs 20 ms" },
    { measure: "tidegate status: time", value: 0.31, goal: 0.3, unit: "s" },
    { measure: "tidegate status: peak memory", value: 100, goal: 100, unit: "MB" },
    { measure: "a check / raw pulumi preview", value: Number.NaN, goal: 1.2, unit: "×" },
  ]);

  it("meets a goal at or under it, and never with no value", () => {
    expect(results.map((row) => row.met)).toEqual([true, false, true, false]);
  });

  it("prints each value beside its goal and whether it is met, details below", () => {
    expect(formatGoalTable(results)).toBe(
      [
        "| measure | value | goal | met? |",
        "|---|---:|---:|:---:|",
        "| tidegate --help / node -e 0 | 1.50× | ≤ 2.00× | yes |",
        "| tidegate status: time | 0.31 s | ≤ 0.30 s | no |",
        "| tidegate status: peak memory | 100 MB | ≤ 100 MB | yes |",
        "| a check / raw pulumi preview | n/a | ≤ 1.20× | no |",
        "",
        "- tidegate --help / node -e 0: 30 ms vs 20 ms",
        "",
      ].join("\n"),
    );
  });

  it("reads --json <file> and --json=<file>, and refuses --json without a file", () => {
    expect(jsonTarget(["--json", "out.json"])).toBe("out.json");
    expect(jsonTarget(["--json=out.json"])).toBe("out.json");
    expect(jsonTarget([])).toBeUndefined();
    expect(() => jsonTarget(["--json"])).toThrow(/needs a file/);
    expect(() => jsonTarget(["--json", "--other"])).toThrow(/needs a file/);
  });

  it("writes every result to the JSON file", () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "tidegate-goals-")), "bench.json");
    writeGoalJson(file, results, new Date("2026-01-01T00:00:00.000Z"));
    const written = JSON.parse(fs.readFileSync(file, "utf8")) as { measuredAt: string; results: unknown[] };
    expect(written.measuredAt).toBe("2026-01-01T00:00:00.000Z");
    expect(written.results).toHaveLength(4);
    expect(written.results[1]).toMatchObject({ measure: "tidegate status: time", value: 0.31, met: false });
    fs.rmSync(path.dirname(file), { recursive: true });
  });
});

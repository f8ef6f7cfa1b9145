import { describe, expect, it } from "vitest";

import {
  ConfigError,
  type ConfigIssue,
  formatConfigIssue,
  formatConfigIssues,
  formatPath,
  showValue,
} from "../../../src/config/errors";

const cron: ConfigIssue = {
  file: "environments/prod.yaml",
  path: "schedule.poll",
  value: "every 5 min",
  message: '"every 5 min" is not a cron expression',
  expected: 'five fields like "*/5 * * * *"',
};

describe("formatConfigIssues", () => {
  it("writes one line per issue: file, key, what is wrong, what was expected", () => {
    expect(formatConfigIssue(cron)).toBe(
      'environments/prod.yaml: schedule.poll: "every 5 min" is not a cron expression; expected five fields like "*/5 * * * *"',
    );
  });

  it("adds the line and column when known, and leaves out an empty key", () => {
    const text = formatConfigIssues([
      { ...cron, line: 7, column: 3 },
      {
        file: "environments/",
        path: "",
        message: "holds no environment files",
        expected: "one <name>.yaml per environment",
      },
    ]);
    expect(text.split("\n")).toEqual([
      'environments/prod.yaml:7:3: schedule.poll: "every 5 min" is not a cron expression; expected five fields like "*/5 * * * *"',
      "environments/: holds no environment files; expected one <name>.yaml per environment",
    ]);
  });
});

describe("ConfigError", () => {
  it("carries the issues, and their text as its message", () => {
    const cause = new Error("underneath");
    const error = new ConfigError([cron], { cause });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe("ConfigError");
    expect(error.issues).toEqual([cron]);
    expect(error.message).toBe(formatConfigIssues([cron]));
    expect(error.cause).toBe(cause);
  });
});

describe("showValue and formatPath", () => {
  it("shows values the way YAML users read them, without credentials", () => {
    expect(showValue("x")).toBe('"x"');
    expect(showValue(3)).toBe("3");
    expect(showValue(null)).toBe("null");
    expect(showValue([1])).toBe("a list");
    expect(showValue({ a: 1 })).toBe("a mapping");
    expect(showValue("https://bot:tok@example.com/r")).toBe('"https://***@example.com/r"');
    expect(showValue("x".repeat(100))).toHaveLength(82);
  });

  it("writes key paths dotted, list items in brackets", () => {
    expect(formatPath(["schedule", "poll"])).toBe("schedule.poll");
    expect(formatPath(["items", 0, "name"])).toBe("items[0].name");
    expect(formatPath([])).toBe("");
  });
});

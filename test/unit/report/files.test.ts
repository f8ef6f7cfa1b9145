import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ReportPathError, writeReportFiles } from "../../../src/adapters/reports/files";
import { parseRunReport } from "../../../src/domain/report-schema";
import { renderMarkdown } from "../../../src/render/markdown";
import { sampleReport } from "./fixture";

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "tidegate-report-"));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const read = (...parts: string[]) => fs.readFileSync(path.join(dir, ...parts), "utf8");
const tempFiles = (envDir: string) => fs.readdirSync(envDir).filter((name) => name.endsWith(".tmp"));

describe("writeReportFiles", () => {
  it("writes the run's JSON and Markdown under the environment, and the same as latest", () => {
    const report = sampleReport();
    const files = writeReportFiles(dir, report);

    expect(files).toEqual({
      json: path.join(dir, "test", "20250304T093000000Z-run-0001.json"),
      markdown: path.join(dir, "test", "20250304T093000000Z-run-0001.md"),
    });
    expect(parseRunReport(JSON.parse(fs.readFileSync(files.json, "utf8")))).toEqual(report);
    expect(fs.readFileSync(files.markdown, "utf8")).toBe(renderMarkdown(report));
    expect(read("test", "latest.json")).toBe(fs.readFileSync(files.json, "utf8"));
    expect(read("test", "latest.md")).toBe(renderMarkdown(report));
    expect(tempFiles(path.join(dir, "test"))).toEqual([]);
  });

  it("keeps history and replaces latest by rename, so a reader holding the old file sees it whole", () => {
    writeReportFiles(dir, sampleReport());
    const latest = path.join(dir, "test", "latest.json");
    const before = fs.statSync(latest).ino;
    const reader = fs.openSync(latest, "r");
    try {
      const next = sampleReport({
        runId: "run-0002",
        startedAt: "2025-03-04T10:00:00.000Z",
        status: "Synced",
      });
      writeReportFiles(dir, next);

      // A new file took the name; the reader's file is the old one, complete.
      expect(fs.statSync(latest).ino).not.toBe(before);
      expect(JSON.parse(fs.readFileSync(reader, "utf8")).runId).toBe("run-0001");
      expect(JSON.parse(read("test", "latest.json")).runId).toBe("run-0002");
      expect(read("test", "latest.md")).toContain("# test: Synced");
    } finally {
      fs.closeSync(reader);
    }
    expect(fs.readdirSync(path.join(dir, "test")).sort()).toEqual([
      "20250304T093000000Z-run-0001.json",
      "20250304T093000000Z-run-0001.md",
      "20250304T100000000Z-run-0002.json",
      "20250304T100000000Z-run-0002.md",
      "latest.json",
      "latest.md",
    ]);
  });

  it("does not let a run that finished late replace a newer latest", () => {
    writeReportFiles(dir, sampleReport({ runId: "run-0002", startedAt: "2025-03-04T10:00:00.000Z" }));
    writeReportFiles(dir, sampleReport({ runId: "run-0001", startedAt: "2025-03-04T09:30:00.000Z" }));
    expect(JSON.parse(read("test", "latest.json")).runId).toBe("run-0002");
    expect(fs.existsSync(path.join(dir, "test", "20250304T093000000Z-run-0001.json"))).toBe(true);
  });

  it("leaves no temp file behind when a write fails", () => {
    const envDir = path.join(dir, "test");
    fs.mkdirSync(path.join(envDir, "latest.md"), { recursive: true }); // a directory cannot be renamed over
    fs.writeFileSync(path.join(envDir, "latest.md", "keep"), "");
    expect(() => writeReportFiles(dir, sampleReport())).toThrow();
    expect(tempFiles(envDir)).toEqual([]);
  });

  it("refuses names that would leave the report directory", () => {
    expect(() => writeReportFiles(dir, sampleReport({ environment: "../outside" }))).toThrow(ReportPathError);
    expect(() => writeReportFiles(dir, sampleReport({ runId: "a/b" }))).toThrow(/runId 'a\/b'/);
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});

import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { TidegateError } from "../../domain/errors";
import type { RunReport } from "../../domain/model";
import { renderMarkdown } from "../../render/markdown";

// Report files on disk: one JSON and one Markdown file per run, kept as history, plus latest.json
// and latest.md per environment. Every file appears whole or not at all (temp file + rename), so a
// reader (a dashboard, a CI step) never sees half a report.

export interface ReportFiles {
  json: string;
  markdown: string;
}

/** A name that would escape the report directory or is no file name at all. */
export class ReportPathError extends TidegateError {
  constructor(message: string) {
    super("invalid", message);
    this.name = "ReportPathError";
  }
}

const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Writes `<dir>/<env>/<startedAt>-<runId>.{json,md}` and refreshes `latest.{json,md}`; returns the run's files. */
export function writeReportFiles(dir: string, report: RunReport): ReportFiles {
  const envDir = path.join(dir, safeName("environment", report.environment));
  const base = `${compactTime(report.startedAt)}-${safeName("runId", report.runId)}`;
  const json = `${JSON.stringify(report, null, 2)}\n`;
  const markdown = renderMarkdown(report);
  fs.mkdirSync(envDir, { recursive: true });

  const files = { json: path.join(envDir, `${base}.json`), markdown: path.join(envDir, `${base}.md`) };
  writeFileAtomic(files.json, json);
  writeFileAtomic(files.markdown, markdown);
  // Two runs may finish out of order; latest must not go back to an older report.
  if (!isNewerOnDisk(path.join(envDir, "latest.json"), report.startedAt)) {
    writeFileAtomic(path.join(envDir, "latest.json"), json);
    writeFileAtomic(path.join(envDir, "latest.md"), markdown);
  }
  return files;
}

function safeName(field: string, value: string): string {
  if (!SAFE_NAME.test(value)) {
    throw new ReportPathError(
      `report ${field} '${value}' cannot be used in a file name: use letters, digits, '.', '_' and '-', starting with a letter or digit`,
    );
  }
  return value;
}

/** 2025-01-02T03:04:05.678Z → 20250102T030405678Z: sorts by time, safe on every file system. */
function compactTime(iso: string): string {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new ReportPathError(`report startedAt '${iso}' is not an ISO 8601 time`);
  return new Date(ms).toISOString().replace(/[-:.]/g, "");
}

function isNewerOnDisk(latest: string, startedAt: string): boolean {
  try {
    const current = JSON.parse(fs.readFileSync(latest, "utf8")) as { startedAt?: unknown };
    return typeof current.startedAt === "string" && Date.parse(current.startedAt) > Date.parse(startedAt);
  } catch {
    return false; // missing or unreadable: replace it
  }
}

/** Writes to a temp file beside the target, flushes it, then renames it over the target. */
export function writeFileAtomic(file: string, content: string): void {
  const temp = path.join(
    path.dirname(file),
    `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`,
  );
  try {
    const fd = fs.openSync(temp, "wx");
    try {
      fs.writeFileSync(fd, content);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temp, file);
  } catch (error) {
    fs.rmSync(temp, { force: true });
    // A write on a full disk says only "ENOSPC ..., write": name the file, so the person knows which disk.
    throw new Error(`cannot write ${file}: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
}

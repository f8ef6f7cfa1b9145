import type { Lease } from "../../src/adapters/pulumi/lease";
import type { Logger } from "../../src/log";

// Small fakes every run test needs: a clock that moves only when told, a lease, a silent logger.

export class FakeClock {
  private at: number;

  constructor(start = "2026-11-27T12:00:00.000Z") {
    this.at = Date.parse(start);
  }

  now = (): Date => new Date(this.at);

  advance(ms: number): void {
    this.at += ms;
  }
}

/** tidegate's lease on stacks: free unless `held`; counts what was taken and released. */
export class FakeLeases {
  held = false;
  taken = 0;
  released = 0;

  acquire = (_env: unknown, runId: string): Lease | undefined => {
    if (this.held) return undefined;
    this.taken++;
    return {
      owner: `fake:${runId}`,
      release: () => {
        this.released++;
      },
    };
  };
}

/** A logger that keeps its lines, for tests that read what was logged. */
export class MemoryLogger implements Logger {
  constructor(
    readonly lines: { level: string; fields: object; message: string }[] = [],
    private readonly fields: object = {},
  ) {}

  debug(fields: object, message: string): void {
    this.lines.push({ level: "debug", fields: { ...this.fields, ...fields }, message });
  }
  info(fields: object, message: string): void {
    this.lines.push({ level: "info", fields: { ...this.fields, ...fields }, message });
  }
  warn(fields: object, message: string): void {
    this.lines.push({ level: "warn", fields: { ...this.fields, ...fields }, message });
  }
  error(fields: object, message: string): void {
    this.lines.push({ level: "error", fields: { ...this.fields, ...fields }, message });
  }
  child(fields: object): Logger {
    return new MemoryLogger(this.lines, { ...this.fields, ...fields });
  }
}

import { Writable } from "node:stream";

import type { Logger } from "../log";
import type { RunKind } from "../domain/model";
import { progressLine, stageAfter } from "../render/format";

// A progress line for long operations. On a terminal, one line that updates in place
// (`⠋ checking test: preview… 12s`) with log lines written above it; elsewhere, one line when an
// operation begins and the log lines as they come. The stage is read from the engine's own log
// entries, so nothing in the engine knows about it.

export type ProgressMode = "spinner" | "lines" | "off";

export interface Progress {
  /** Starts the line for one operation, e.g. `begin("checking test", "check")`. */
  begin(label: string, kind?: RunKind): void;
  /** Sets the stage by hand (e.g. while the toolchain builds). */
  stage(text: string): void;
  /** Clears the line. */
  end(): void;
  /** Where log lines go: each is written above the progress line. */
  readonly stream: NodeJS.WritableStream;
  /** The logger, passing on every entry and moving the stage on from the entries it sees. */
  observe(log: Logger): Logger;
}

const REDRAW_MS = 100;
const CLEAR_LINE = "\r\x1b[2K";

export function createProgress(options: { write: (text: string) => void; mode: ProgressMode }): Progress {
  const { write, mode } = options;
  let label: string | undefined;
  let kind: RunKind = "check";
  let stage: string | undefined;
  let started = 0;
  let frame = 0;
  let timer: NodeJS.Timeout | undefined;
  let drawn = false;

  const draw = () => {
    if (mode !== "spinner" || label === undefined) return;
    write(`${CLEAR_LINE}${progressLine(frame++, label, stage, Date.now() - started)}`);
    drawn = true;
  };
  const clear = () => {
    if (drawn) write(CLEAR_LINE);
    drawn = false;
  };

  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      clear();
      write(chunk.toString());
      draw();
      callback();
    },
  });

  const see = (fields: object, message: string) => {
    if (label === undefined) return;
    const next = stageAfter(message, fields as Record<string, unknown>, kind);
    if (next !== undefined && next !== stage) {
      stage = next;
      draw();
    }
  };

  const observe = (inner: Logger): Logger => {
    const at = (level: "debug" | "info" | "warn" | "error") => (fields: object, message: string) => {
      see(fields, message);
      inner[level](fields, message);
    };
    return {
      debug: at("debug"),
      info: at("info"),
      warn: at("warn"),
      error: at("error"),
      child: (fields) => observe(inner.child(fields)),
    };
  };

  return {
    begin(text, runKind = "check") {
      label = text;
      kind = runKind;
      stage = undefined;
      started = Date.now();
      if (mode === "lines") write(`${text}…\n`);
      if (mode !== "spinner") return;
      draw();
      timer ??= setInterval(draw, REDRAW_MS);
      // The line never keeps the process alive.
      timer.unref();
    },
    stage(text) {
      stage = text;
      draw();
    },
    end() {
      if (timer) clearInterval(timer);
      timer = undefined;
      clear();
      label = undefined;
    },
    stream,
    observe,
  };
}

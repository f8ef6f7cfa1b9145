import { CronTime } from "cron";

import { formatDuration } from "./duration";
import type { GateVerdict, SyncWindow } from "../domain/gates";

// Sync windows: a window is open for `duration` from each time its cron fires, read in its time
// zone. Allow windows: a sync runs only inside one; deny windows: none runs while one is open, and
// deny wins. Pure: `now` is passed in. Firings that overlap (a window that fires again before it
// closes) make one continuous opening. Durations are elapsed time; a time skipped by a DST change
// fires at the first time after the gap, and a repeated one fires at least once (cron's rules).

export interface WindowState {
  open: boolean;
  /** Which window decides it, and until when. */
  reason: string;
  /** Open: when syncs stop being allowed (an allow window ends or a deny window opens), if in sight. */
  closesAt?: Date;
  /** Closed: when syncs are allowed again, if in sight. */
  nextOpen?: Date;
}

/** How far the searches for a close or the next opening walk before they give up. */
const MAX_STEPS = 16;

/** "deny window '0 0 24 12 *' (2d, UTC)". */
export function describeWindow(window: SyncWindow): string {
  return `${window.kind} window '${window.schedule}' (${formatDuration(window.durationMs)}, ${window.timezone})`;
}

/** Whether syncs may run at `now`, with the reason and when that changes. No windows: always. */
export function windowState(windows: readonly SyncWindow[], now: Date): WindowState {
  if (windows.length === 0) return { open: true, reason: "no sync windows" };
  const openDenies = windows.flatMap((window) => {
    const opened = window.kind === "deny" ? openedAt(window, now) : undefined;
    return opened ? [{ window, end: spanEnd(window, opened) }] : [];
  });
  const allows = windows.filter((window) => window.kind === "allow");
  const openAllows = allows.filter((window) => openedAt(window, now) !== undefined);

  if (openDenies.length > 0 || (allows.length > 0 && openAllows.length === 0)) {
    const nextOpen = findNextOpen(windows, now);
    const why =
      openDenies.length > 0
        ? openDenies.map(({ window, end }) => `${describeWindow(window)} is open ${until(end, window)}`)
        : ["outside every allow window"];
    const next = nextOpen
      ? nextOpen.window.kind === "allow"
        ? `next opens ${show(nextOpen)} (${describeWindow(nextOpen.window)})`
        : `syncs may run again from ${show(nextOpen)}`
      : "no opening in sight";
    return { open: false, reason: [...why, next].join("; "), ...(nextOpen ? { nextOpen: nextOpen.at } : {}) };
  }

  const closes = findClose(windows, now);
  const reason =
    openAllows.length > 0
      ? `inside ${openAllows.map(describeWindow).join(" and ")}${closes ? ` until ${show(closes)}` : ""}`
      : `no deny window is open${closes ? `; ${describeWindow(closes.window)} opens ${show(closes)}` : ""}`;
  return { open: true, reason, ...(closes ? { closesAt: closes.at } : {}) };
}

/** The sync windows as a gate: pass inside, block outside (a closed window is not waited for). */
export function evaluateWindows(windows: readonly SyncWindow[], now: Date): GateVerdict {
  const state = windowState(windows, now);
  return { gate: "window", verdict: state.open ? "pass" : "block", reason: state.reason };
}

/** The latest firing of `window` that keeps it open at `at` (in (at − duration, at]), if any. */
export function openedAt(window: SyncWindow, at: Date): Date | undefined {
  const time = cronTime(window);
  const atMs = at.getTime();
  let latest = nextFiring(time, window, new Date(atMs - window.durationMs));
  if (!latest || latest.getTime() > atMs) return undefined;
  // Usually the window fired once in that span; walk a few firings, then bisect for dense crons.
  for (let step = 0; step < 4; step++) {
    const next = nextFiring(time, window, latest);
    if (!next || next.getTime() > atMs) return latest;
    latest = next;
  }
  // nextFiring(at − s) ≤ at holds exactly when s > at − latestFiring; cron works in whole seconds.
  let lo = 0;
  let hi = atMs - latest.getTime() + 1000;
  while (hi - lo > 1000) {
    const mid = lo + Math.floor((hi - lo) / 2);
    const found = nextFiring(time, window, new Date(atMs - mid));
    if (found && found.getTime() <= atMs) hi = mid;
    else lo = mid;
  }
  return nextFiring(time, window, new Date(atMs - hi)) ?? latest;
}

/** When the opening that began at `opened` ends, later firings that overlap it included. */
export function spanEnd(window: SyncWindow, opened: Date): Date | undefined {
  let end = new Date(opened.getTime() + window.durationMs);
  for (let step = 0; step < MAX_STEPS; step++) {
    const again = openedAt(window, end);
    if (!again) return end;
    end = new Date(again.getTime() + window.durationMs);
  }
  return undefined;
}

/** The first firing of `window` after `after`. */
export function nextOpening(window: SyncWindow, after: Date): Date | undefined {
  return nextFiring(cronTime(window), window, after);
}

/** A moment a window decides: it opens or closes then; shown in that window's time zone. */
interface Moment {
  at: Date;
  window: SyncWindow;
}

/** When syncs are allowed again, from a moment when they are not. */
function findNextOpen(windows: readonly SyncWindow[], from: Date): Moment | undefined {
  const denies = windows.filter((window) => window.kind === "deny");
  const allows = windows.filter((window) => window.kind === "allow");
  let moment: Moment | undefined;
  let at = from;
  for (let step = 0; step < MAX_STEPS; step++) {
    const denyEnds = denies.flatMap((window) => {
      const opened = openedAt(window, at);
      return opened ? [{ at: spanEnd(window, opened), window }] : [];
    });
    if (denyEnds.length > 0) {
      if (denyEnds.some((end) => end.at === undefined)) return undefined;
      moment = latestOf(denyEnds as Moment[]);
      at = moment.at;
      continue;
    }
    if (allows.length > 0 && !allows.some((window) => openedAt(window, at))) {
      const openings = allows.flatMap((window) => {
        const next = nextOpening(window, at);
        return next ? [{ at: next, window }] : [];
      });
      if (openings.length === 0) return undefined;
      moment = earliestOf(openings);
      at = moment.at;
      continue;
    }
    return moment;
  }
  return undefined;
}

/** When syncs stop being allowed, from a moment when they are. */
function findClose(windows: readonly SyncWindow[], from: Date): Moment | undefined {
  const denies = windows.filter((window) => window.kind === "deny");
  const allows = windows.filter((window) => window.kind === "allow");
  let at = from;
  for (let step = 0; step < MAX_STEPS; step++) {
    const denyOpenings = denies.flatMap((window) => {
      const next = nextOpening(window, at);
      return next ? [{ at: next, window }] : [];
    });
    const denyNext = denyOpenings.length > 0 ? earliestOf(denyOpenings) : undefined;
    if (allows.length === 0) return denyNext;
    const allowEnds = allows.flatMap((window) => {
      const opened = openedAt(window, at);
      return opened ? [{ at: spanEnd(window, opened), window }] : [];
    });
    // An allow window that does not close in sight: only a deny window can end the opening.
    if (allowEnds.some((end) => end.at === undefined)) return denyNext;
    const allowEnd = latestOf(allowEnds as Moment[]);
    if (denyNext && denyNext.at.getTime() <= allowEnd.at.getTime()) return denyNext;
    // Another allow window may have opened meanwhile and still be open when this one ends.
    if (!allows.some((window) => openedAt(window, allowEnd.at))) return allowEnd;
    at = allowEnd.at;
  }
  return undefined;
}

function until(end: Date | undefined, window: SyncWindow): string {
  return end
    ? `until ${formatInstant(end, window.timezone)}`
    : "with no end in sight (it fires again before it closes)";
}

function cronTime(window: SyncWindow): CronTime {
  return new CronTime(window.schedule, window.timezone);
}

function nextFiring(time: CronTime, window: SyncWindow, after: Date): Date | undefined {
  try {
    return time.getNextDateFrom(after, window.timezone).toJSDate();
  } catch {
    // The config check refuses a cron that never fires; cron also gives up after eight years.
    return undefined;
  }
}

function earliestOf(moments: readonly Moment[]): Moment {
  return moments.reduce((a, b) => (b.at.getTime() < a.at.getTime() ? b : a));
}

function latestOf(moments: readonly Moment[]): Moment {
  return moments.reduce((a, b) => (b.at.getTime() > a.at.getTime() ? b : a));
}

function show(moment: Moment): string {
  return formatInstant(moment.at, moment.window.timezone);
}

/** "2025-12-26 00:00 Europe/Berlin": the wall-clock time where the window is defined. */
export function formatInstant(at: Date, timeZone: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-GB", {
      timeZone,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
    })
      .formatToParts(at)
      .map((part) => [part.type, part.value]),
  );
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute} ${timeZone}`;
}

import type { DurationMs } from "../domain/gates";

// Durations as written in environment files: whole numbers of days, hours, minutes and seconds,
// largest unit first, each at most once ("90s", "10m", "1h30m", "2d"). A day is 24 hours of
// elapsed time, not a calendar day: a window of "1d" across a DST change lasts 24 hours.

const UNITS = [
  ["d", 86_400_000],
  ["h", 3_600_000],
  ["m", 60_000],
  ["s", 1_000],
] as const;

const FORM = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;

/** The examples shown wherever a duration is expected. */
export const DURATION_FORMS = 'a duration like "90s", "10m", "1h30m" or "2d"';

/** "1h30m" → 5 400 000; undefined when `text` is not a duration. "0" and "0s" are zero. */
export function parseDuration(text: string): DurationMs | undefined {
  if (text === "0") return 0;
  const match = FORM.exec(text);
  if (!match || text === "") return undefined;
  let total = 0;
  UNITS.forEach(([, ms], index) => {
    const amount = match[index + 1];
    if (amount !== undefined) total += Number(amount) * ms;
  });
  return Number.isSafeInteger(total) ? total : undefined;
}

/** 5 400 000 → "1h30m"; rounded to the second, "0s" for nothing. Parses back to the same value. */
export function formatDuration(ms: DurationMs): string {
  let rest = Math.max(0, Math.round(ms / 1000)) * 1000;
  let text = "";
  for (const [unit, size] of UNITS) {
    const amount = Math.floor(rest / size);
    rest -= amount * size;
    if (amount > 0) text += `${amount}${unit}`;
  }
  return text === "" ? "0s" : text;
}

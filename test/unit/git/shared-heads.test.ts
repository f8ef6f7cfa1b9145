import { describe, expect, it } from "vitest";
import { SharedHeads } from "../../../src/adapters/git/shared-heads";

/** A remote whose listings the test answers one by one; it counts them and when each started. */
function fakeRemote() {
  const started: number[] = [];
  const answers: { resolve: (stdout: string) => void; reject: (err: Error) => void }[] = [];
  let clock = 1_000;
  const shared = new SharedHeads(
    () =>
      new Promise<string>((resolve, reject) => {
        started.push(clock);
        answers.push({ resolve, reject });
      }),
    () => clock,
  );
  return {
    shared,
    started,
    at: (ms: number) => (clock = ms),
    answer: (i: number, heads: Record<string, string>) =>
      answers[i]?.resolve(
        Object.entries(heads)
          .map(([branch, sha]) => `${sha}\trefs/heads/${branch}\n`)
          .join(""),
      ),
    fail: (i: number) => answers[i]?.reject(new Error("the remote hung up")),
  };
}

const tick = (ms: number) => new Date(ms);

describe("SharedHeads", () => {
  it("answers the polls of one tick from one listing of every branch, each with its own branches", async () => {
    const remote = fakeRemote();
    const polls = ["dev", "test", "prod", "gone"].map((b) => remote.shared.heads([b, "main"], tick(900)));
    remote.answer(0, { main: "m1", dev: "d1", test: "t1", prod: "p1" });
    expect(await Promise.all(polls)).toEqual([
      { dev: "d1", main: "m1" },
      { test: "t1", main: "m1" },
      { prod: "p1", main: "m1" },
      { main: "m1" },
    ]);
    // Later polls of the same tick: the listing it started is still recent enough.
    remote.at(5_000);
    expect(await remote.shared.heads(["dev"], tick(900))).toEqual({ dev: "d1" });
    expect(remote.started).toEqual([1_000]);
  });

  it("lists again for a poll whose tick came after the last listing started: never an older head", async () => {
    const remote = fakeRemote();
    const first = remote.shared.heads(["dev"], tick(1_000));
    remote.at(1_500);
    // Ticked while the first listing ran: that one may have read the remote before the tick.
    const second = remote.shared.heads(["dev"], tick(1_200));
    expect(remote.started).toEqual([1_000, 1_500]);
    remote.answer(0, { dev: "d1" });
    remote.answer(1, { dev: "d2" });
    expect(await first).toEqual({ dev: "d1" });
    expect(await second).toEqual({ dev: "d2" });
    // A poll of the earlier tick may use the newer listing.
    expect(await remote.shared.heads(["dev"], tick(1_000))).toEqual({ dev: "d2" });
    expect(remote.started).toHaveLength(2);
  });

  it("does not keep a failed listing: the polls waiting on it fail, the next one asks again", async () => {
    const remote = fakeRemote();
    const polls = [remote.shared.heads(["dev"], tick(900)), remote.shared.heads(["test"], tick(900))];
    remote.fail(0);
    for (const poll of polls) await expect(poll).rejects.toThrow("the remote hung up");
    const again = remote.shared.heads(["dev"], tick(900));
    remote.answer(1, { dev: "d1" });
    expect(await again).toEqual({ dev: "d1" });
    expect(remote.started).toHaveLength(2);
  });
});

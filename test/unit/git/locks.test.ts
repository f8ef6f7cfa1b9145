import { describe, expect, it } from "vitest";
import { KeyedLocks } from "../../../src/adapters/git/locks";

const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 5));

describe("KeyedLocks", () => {
  it("runs holders of one key one at a time, in call order, and other keys alongside", async () => {
    const locks = new KeyedLocks();
    const events: string[] = [];
    const hold = (key: string, name: string) =>
      locks.run(key, async () => {
        events.push(`${name} start`);
        await tick();
        events.push(`${name} end`);
        return name;
      });

    const results = await Promise.all([hold("mirror", "a"), hold("mirror", "b"), hold("other", "c")]);

    expect(results).toEqual(["a", "b", "c"]);
    expect(events.indexOf("a end")).toBeLessThan(events.indexOf("b start"));
    expect(events.indexOf("c start")).toBeLessThan(events.indexOf("a end"));
  });

  it("releases the key when a holder fails", async () => {
    const locks = new KeyedLocks();
    const failed = locks.run("k", async () => {
      throw new Error("boom");
    });
    const next = locks.run("k", async () => "after");

    await expect(failed).rejects.toThrow("boom");
    await expect(next).resolves.toBe("after");
  });
});

import { describe, expect, it } from "vitest";
import { isSkipped, SingleFlight } from "../../../src/app/single-flight";

/** A promise the test resolves when it chooses. */
function deferred<T = void>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe("SingleFlight", () => {
  it("skips a second call on a busy key instead of queueing it", async () => {
    const flights = new SingleFlight();
    const gate = deferred<string>();
    const first = flights.run("test", () => gate.promise);
    let secondCalled = false;
    const second = await flights.run("test", async () => {
      secondCalled = true;
      return "second";
    });

    expect(second).toEqual({ skipped: true, reason: "busy" });
    expect(isSkipped(second)).toBe(true);
    expect(secondCalled).toBe(false);
    expect(flights.busy("test")).toBe(true);

    gate.resolve("first");
    expect(await first).toBe("first");
    expect(flights.busy("test")).toBe(false);
    expect(await flights.run("test", async () => "third")).toBe("third");
  });

  it("runs different keys side by side", async () => {
    const flights = new SingleFlight();
    const gate = deferred();
    const test = flights.run("test", () => gate.promise);
    expect(await flights.run("prod", async () => "prod")).toBe("prod");
    expect(flights.keys()).toEqual(["test"]);
    gate.resolve();
    await test;
  });

  it("with wait, runs callers one after another in arrival order", async () => {
    const flights = new SingleFlight();
    const events: string[] = [];
    const gate = deferred();
    const first = flights.run("test", async () => {
      events.push("first start");
      await gate.promise;
      events.push("first end");
    });
    const second = flights.run(
      "test",
      async () => {
        events.push("second");
        return 2;
      },
      { wait: true },
    );
    const third = flights.run(
      "test",
      async () => {
        events.push("third");
        return 3;
      },
      { wait: true },
    );
    await Promise.resolve();
    expect(events).toEqual(["first start"]);

    gate.resolve();
    await first;
    expect(await second).toBe(2);
    expect(await third).toBe(3);
    expect(events).toEqual(["first start", "first end", "second", "third"]);
  });

  it("releases the key when the operation fails, and waiters still run", async () => {
    const flights = new SingleFlight();
    const gate = deferred();
    const failing = flights.run("test", () => gate.promise);
    const waiter = flights.run("test", async () => "after", { wait: true });
    gate.reject(new Error("boom"));

    await expect(failing).rejects.toThrow("boom");
    expect(await waiter).toBe("after");
    expect(flights.busy("test")).toBe(false);
  });

  it("reports a synchronous throw as a rejection and releases the key", async () => {
    const flights = new SingleFlight();
    await expect(
      flights.run("test", () => {
        throw new Error("sync");
      }),
    ).rejects.toThrow("sync");
    expect(flights.busy("test")).toBe(false);
  });
});

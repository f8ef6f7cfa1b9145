import { describe, expect, it } from "vitest";
import { alternate } from "../sequencer.mjs";

const line = (item: string) => item.split(":")[0] as string;

describe("the test sequencer", () => {
  it("takes integration and service files in turns, where the first of them stood", () => {
    const sorted = ["faults:a", "integration:1", "integration:2", "integration:3", "service:x", "unit:b"];
    expect(alternate(sorted, line)).toEqual([
      "faults:a",
      "integration:1",
      "service:x",
      "integration:2",
      "integration:3",
      "unit:b",
    ]);
  });

  it("keeps an order without them as it is", () => {
    expect(alternate(["unit:a", "contract:b"], line)).toEqual(["unit:a", "contract:b"]);
  });
});

import { describe, expect, it } from "vitest";
import { otlpHeaderValues } from "../../../src/cli/context";

describe("otlpHeaderValues", () => {
  it("are the collector credentials the logger must redact", () => {
    expect(
      otlpHeaderValues({
        OTEL_EXPORTER_OTLP_HEADERS: "authorization=Bearer abc123, x-team = ops",
        OTEL_EXPORTER_OTLP_TRACES_HEADERS: "api-key=k=v",
      }),
    ).toEqual(["Bearer abc123", "ops", "k=v"]);
    expect(otlpHeaderValues({})).toEqual([]);
  });
});

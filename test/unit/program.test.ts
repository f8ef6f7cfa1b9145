import { describe, expect, it } from "vitest";
import { programSelection } from "../../src/domain/program";

describe("programSelection", () => {
  it("is the project folder without its stack config files", () => {
    expect(programSelection("stacks/aws-sdk")).toEqual({
      include: ["stacks/aws-sdk"],
      exclude: ["stacks/aws-sdk/Pulumi.*.yaml"],
    });
    expect(programSelection("stacks/app")).toEqual({
      include: ["stacks/app"],
      exclude: ["stacks/app/Pulumi.*.yaml"],
    });
  });

  it("reads a project at the repository root as everything but the stack configs", () => {
    expect(programSelection(".")).toEqual({ exclude: ["Pulumi.*.yaml"] });
  });
});

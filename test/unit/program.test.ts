import { describe, expect, it } from "vitest";
import { programPolicyPacks, programSelection } from "../../src/domain/program";

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

  it("adds the policy pack folders, once each and in one order, so equal programs select equally", () => {
    expect(programSelection("stacks/app", ["policies/b", "policies/a", "policies/b"])).toEqual({
      include: ["stacks/app", "policies/a", "policies/b"],
      exclude: ["stacks/app/Pulumi.*.yaml"],
    });
    expect(programSelection("stacks/app", ["policies/a"])).toEqual(
      programSelection("stacks/app", ["policies/a", "policies/a"]),
    );
  });

  it("needs no pack folder for a project at the root: it selects everything already", () => {
    expect(programSelection(".", ["policies/a"])).toEqual({ exclude: ["Pulumi.*.yaml"] });
  });
});

describe("programPolicyPacks", () => {
  it("is every environment's packs, the same for all of them", () => {
    const env = (...policyPacks: string[]) => ({ gates: { policyPacks } });
    expect(programPolicyPacks([env("policies/prod"), env(), env("policies/base", "policies/prod")])).toEqual([
      "policies/base",
      "policies/prod",
    ]);
  });
});

import { describe, expect, it } from "vitest";

import { awsClientConfig, awsEnvVars, chooseEmulator, type EmulatorKind } from "../../../src/devenv/emulator";

describe("chooseEmulator", () => {
  const cases: Array<{
    name: string;
    facts: Parameters<typeof chooseEmulator>[0];
    expected: EmulatorKind;
  }> = [
    {
      name: "an explicit endpoint wins over everything",
      facts: { endpointUrl: "http://aws.example:4566", dockerAvailable: true, localstackHostWorks: true },
      expected: "external",
    },
    {
      name: "an explicit endpoint is used even without Docker or a host emulator",
      facts: { endpointUrl: "http://127.0.0.1:5000", dockerAvailable: false, localstackHostWorks: false },
      expected: "external",
    },
    {
      name: "Docker beats a host process",
      facts: { dockerAvailable: true, localstackHostWorks: true },
      expected: "localstack-container",
    },
    {
      name: "Docker without host LocalStack",
      facts: { dockerAvailable: true, localstackHostWorks: false },
      expected: "localstack-container",
    },
    {
      name: "host LocalStack when there is no Docker",
      facts: { dockerAvailable: false, localstackHostWorks: true },
      expected: "localstack-host",
    },
    {
      name: "moto as the last resort",
      facts: { dockerAvailable: false, localstackHostWorks: false },
      expected: "moto",
    },
    {
      name: "an empty endpoint counts as unset",
      facts: { endpointUrl: "", dockerAvailable: false, localstackHostWorks: false },
      expected: "moto",
    },
    {
      name: "a blank endpoint counts as unset",
      facts: { endpointUrl: "  ", dockerAvailable: true, localstackHostWorks: false },
      expected: "localstack-container",
    },
  ];

  it.each(cases)("$name", ({ facts, expected }) => {
    expect(chooseEmulator(facts)).toBe(expected);
  });
});

describe("awsEnvVars", () => {
  it("points every AWS client at the emulator with dummy credentials", () => {
    expect(awsEnvVars({ endpoint: "http://127.0.0.1:40123", region: "eu-west-1" })).toEqual({
      AWS_ENDPOINT_URL: "http://127.0.0.1:40123",
      AWS_REGION: "eu-west-1",
      AWS_DEFAULT_REGION: "eu-west-1",
      AWS_ACCESS_KEY_ID: "test",
      AWS_SECRET_ACCESS_KEY: "test",
    });
  });

  it("returns only strings, so it can be spread into a child process environment", () => {
    const vars = awsEnvVars({ endpoint: "http://localhost:4566", region: "us-east-1" });
    for (const value of Object.values(vars)) expect(typeof value).toBe("string");
  });
});

describe("awsClientConfig", () => {
  it("uses path-style addressing and the same dummy credentials", () => {
    expect(awsClientConfig({ endpoint: "http://127.0.0.1:40123", region: "us-east-1" })).toEqual({
      endpoint: "http://127.0.0.1:40123",
      region: "us-east-1",
      forcePathStyle: true,
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
    });
  });
});

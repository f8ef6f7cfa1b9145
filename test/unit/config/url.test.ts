import { describe, expect, it } from "vitest";

import {
  backendUrlProblem,
  isLocalPath,
  redactUrl,
  repositoryUrlProblem,
  resolveBackendUrl,
  resolveRepositoryUrl,
} from "../../../src/config/url";

describe("redactUrl", () => {
  it.each([
    ["https://user:s3cret@github.com/acme/infra.git", "https://***@github.com/acme/infra.git"],
    ["https://ghp_token123@github.com/acme/infra.git", "https://***@github.com/acme/infra.git"],
    // An unencoded "@" in the password must not leave half of it behind.
    ["https://user:p@ss@github.com/acme/infra.git", "https://***@github.com/acme/infra.git"],
    ["ssh://git:pw@host:2222/infra.git", "ssh://***@host:2222/infra.git"],
    ["HTTPS://u:p@example.com", "HTTPS://***@example.com"],
  ])("hides the userinfo of %s", (url, redacted) => {
    expect(redactUrl(url)).toBe(redacted);
    expect(redactUrl(url)).not.toMatch(/s3cret|token123|p@ss|pw@/);
  });

  it.each([
    "https://github.com/acme/infra.git",
    "https://github.com/acme/infra.git?ref=a@b",
    "git@github.com:acme/infra.git",
    "/srv/git/infra",
    "../infra",
    "file:///srv/git/infra",
  ])("leaves %s as it is", (url) => {
    expect(redactUrl(url)).toBe(url);
  });
});

describe("repositoryUrlProblem", () => {
  it.each([
    ".",
    "../infra",
    "/srv/git/infra",
    "file:///srv/git/infra",
    "https://github.com/acme/infra.git",
    "https://x-access-token:abc@github.com/acme/infra.git",
    "ssh://git@github.com/acme/infra.git",
    "git@github.com:acme/infra.git",
  ])("accepts %s", (url) => {
    expect(repositoryUrlProblem(url)).toBeUndefined();
  });

  it.each([
    ["http://github.com/acme/infra.git", 'uses the unsupported scheme "http://"'],
    ["git://github.com/acme/infra.git", 'uses the unsupported scheme "git://"'],
    ["https://", "names no host"],
    ["file://", "names no path"],
    ["github.com:acme/infra", "is neither a path nor a supported URL"],
    ["", "is empty"],
  ])("refuses %s: %s", (url, problem) => {
    expect(repositoryUrlProblem(url)).toBe(problem);
  });

  it("tells local paths from URLs", () => {
    expect(isLocalPath("../infra")).toBe(true);
    expect(isLocalPath("git@github.com:acme/infra.git")).toBe(false);
    expect(isLocalPath("file:///srv/infra")).toBe(false);
  });

  it("makes local paths absolute and leaves URLs alone", () => {
    expect(resolveRepositoryUrl("../infra", "/etc/tidegate")).toBe("/etc/infra");
    expect(resolveRepositoryUrl("git@github.com:acme/infra.git", "/etc/tidegate")).toBe(
      "git@github.com:acme/infra.git",
    );
  });
});

describe("backendUrlProblem", () => {
  it.each([
    "file:///var/lib/tidegate/state",
    "file://~",
    "s3://acme-state/tidegate",
    "https://api.pulumi.com",
  ])("accepts %s", (url) => {
    expect(backendUrlProblem(url)).toBeUndefined();
  });

  it.each([
    ["gs://bucket", 'uses the unsupported scheme "gs://"'],
    ["azblob://container", 'uses the unsupported scheme "azblob://"'],
    ["http://localhost:8080", 'uses the unsupported scheme "http://"'],
    ["/var/lib/state", "is not a backend URL"],
    ["s3://", "names no bucket"],
    ["file://", "names no path"],
  ])("refuses %s: %s", (url, problem) => {
    expect(backendUrlProblem(url)).toBe(problem);
  });

  it("makes a relative file:// path absolute, leaving ~ to Pulumi", () => {
    expect(resolveBackendUrl("file://state", "/etc/tidegate")).toBe("file:///etc/tidegate/state");
    expect(resolveBackendUrl("file:///abs/state", "/etc/tidegate")).toBe("file:///abs/state");
    expect(resolveBackendUrl("file://~/.pulumi", "/etc/tidegate")).toBe("file://~/.pulumi");
    expect(resolveBackendUrl("s3://bucket", "/etc/tidegate")).toBe("s3://bucket");
  });
});

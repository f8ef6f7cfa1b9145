import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { withCredentialHelper } from "../../../src/adapters/git/credential-server";

const execFileAsync = promisify(execFile);
const credentials = { username: "x-access-token", password: "tok-0123456789" };

/** Runs the helper the way Git does: through the shell, the operation appended, the request on stdin. */
async function ask(
  env: Record<string, string>,
  config: string,
  operation: string,
  request: string,
): Promise<string> {
  const command = `${config.replace(/^credential\.helper=!/, "")} ${operation}`;
  const child = execFileAsync("sh", ["-c", command], { env: { PATH: process.env.PATH ?? "", ...env } });
  child.child.stdin?.end(request);
  return (await child).stdout;
}

describe("withCredentialHelper", () => {
  it("answers Git's request for the remote's protocol and host, and nothing else", async () => {
    await withCredentialHelper("https://git.example.com/acme/infra.git", credentials, async (session) => {
      const helper = session.config[1];
      expect(session.config[0]).toBe("credential.helper=");
      expect(JSON.stringify(session)).not.toContain(credentials.password);

      const get = (request: string): Promise<string> => ask(session.env, helper, "get", request);
      const answer = "username=x-access-token\npassword=tok-0123456789\n";
      expect(await get("protocol=https\nhost=git.example.com\n\n")).toBe(answer);
      expect(await get("protocol=https\nhost=GIT.example.com:443\nwwwauth[]=Basic realm=x\n\n")).toBe(answer);
      // A redirect elsewhere, another scheme or another port gets nothing.
      expect(await get("protocol=https\nhost=evil.example.com\n\n")).toBe("");
      expect(await get("protocol=http\nhost=git.example.com\n\n")).toBe("");
      expect(await get("protocol=https\nhost=git.example.com:8443\n\n")).toBe("");
      expect(session.rejected).toBe(false);
      expect(await ask(session.env, helper, "store", "protocol=https\nhost=git.example.com\n\n")).toBe("");
      expect(session.rejected).toBe(false);
      expect(await ask(session.env, helper, "erase", "protocol=https\nhost=git.example.com\n\n")).toBe("");
      expect(session.rejected).toBe(true);
    });
  });

  it("keeps the socket in a folder only its owner can enter, removed afterwards", async () => {
    let dir = "";
    await withCredentialHelper("http://127.0.0.1:8080/r.git", credentials, async (session) => {
      dir = path.dirname(session.env.TIDEGATE_GIT_CREDENTIAL_SOCKET);
      expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
      expect(fs.statSync(session.env.TIDEGATE_GIT_CREDENTIAL_SOCKET).isSocket()).toBe(true);
    });
    expect(fs.existsSync(dir)).toBe(false);
  });
});

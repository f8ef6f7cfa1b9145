import { describe, expect, it } from "vitest";
import { resolveGitTimeouts } from "../../../src/config/resolve";
import {
  httpConfig,
  remoteClosedIn,
  sshCommand,
  timeoutIn,
  transportOf,
  withoutProgress,
} from "../../../src/adapters/git/transport";

const timeouts = resolveGitTimeouts({ connect: "15s", lowSpeed: "60s" });
const LIMITS = "-o ConnectTimeout=15 -o ServerAliveInterval=30 -o ServerAliveCountMax=2 -o BatchMode=yes";

describe("transportOf", () => {
  it("reads a URL as Git does", () => {
    expect(transportOf("https://github.com/acme/infra.git")).toBe("http");
    expect(transportOf("http://127.0.0.1:8080/x.git")).toBe("http");
    expect(transportOf("ssh://git@github.com/acme/infra.git")).toBe("ssh");
    expect(transportOf("git@github.com:acme/infra.git")).toBe("ssh");
    expect(transportOf("github.com:acme/infra.git")).toBe("ssh");
    expect(transportOf("file:///srv/git/infra.git")).toBe("other");
    expect(transportOf("git://example.com/infra.git")).toBe("other");
    expect(transportOf("/srv/git/infra.git")).toBe("other");
    expect(transportOf("./dir:with-colon/infra.git")).toBe("other");
  });
});

describe("transport limits", () => {
  it("gives http(s) curl's low-speed limit in whole seconds", () => {
    expect(httpConfig(timeouts)).toEqual(["http.lowSpeedLimit=1000", "http.lowSpeedTime=60"]);
  });

  it("gives ssh a connect timeout, keepalives and batch mode, after the user's own options", () => {
    expect(sshCommand(timeouts)).toBe(`ssh ${LIMITS}`);
    expect(sshCommand(timeouts, "")).toBe(`ssh ${LIMITS}`);
    expect(sshCommand(timeouts, "ssh -i /keys/deploy -o ConnectTimeout=5")).toBe(
      `ssh -i /keys/deploy -o ConnectTimeout=5 ${LIMITS}`,
    );
    expect(sshCommand(timeouts, '"/usr/bin/ssh" -F /etc/tidegate/ssh_config')).toBe(
      `"/usr/bin/ssh" -F /etc/tidegate/ssh_config ${LIMITS}`,
    );
  });

  it("leaves a command that is not OpenSSH's ssh alone", () => {
    expect(sshCommand(timeouts, "plink -batch")).toBeUndefined();
    expect(sshCommand(timeouts, "/opt/bin/ssh-wrapper.sh")).toBeUndefined();
  });
});

describe("reading Git's stderr", () => {
  it("tells which transport limit fired", () => {
    expect(
      timeoutIn(
        "fatal: unable to access 'http://h/x.git/': Operation too slow. Less than 1000 bytes/sec transferred the last 60 seconds",
      ),
    ).toBe("low-speed");
    expect(timeoutIn("Timeout, server example.com not responding.\nfatal: the remote end hung up")).toBe(
      "low-speed",
    );
    expect(
      timeoutIn("Connection timed out during banner exchange\nConnection to 127.0.0.1 port 2222 timed out"),
    ).toBe("connect");
    expect(timeoutIn("ssh: connect to host example.com port 22: Connection timed out")).toBe("connect");
    expect(
      timeoutIn("fatal: unable to access 'https://h/': Connection timed out after 300001 milliseconds"),
    ).toBe("connect");
    expect(timeoutIn("fatal: couldn't find remote ref refs/heads/nope")).toBeUndefined();
  });

  it("tells a connection cut mid-transfer", () => {
    expect(
      remoteClosedIn("error: RPC failed; curl 18 transfer closed with outstanding read data remaining"),
    ).toBe(true);
    expect(remoteClosedIn("fatal: early EOF\nfatal: fetch-pack: invalid index-pack output")).toBe(true);
    expect(remoteClosedIn("kex_exchange_identification: Connection closed by remote host")).toBe(true);
    expect(remoteClosedIn("fatal: Authentication failed for 'https://h/x.git/'")).toBe(false);
  });

  it("drops progress updates a later one overwrote", () => {
    expect(
      withoutProgress(
        "Receiving objects:  10% (1/10)\rReceiving objects: 100% (10/10), done.\nfatal: early EOF\n",
      ),
    ).toBe("Receiving objects: 100% (10/10), done.\nfatal: early EOF\n");
  });
});

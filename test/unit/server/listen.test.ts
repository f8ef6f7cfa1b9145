import * as fs from "node:fs";
import * as net from "node:net";
import { describe, expect, it } from "vitest";
import { startServer } from "../../../src/server/listen";
import { TidegateError } from "../../../src/domain/errors";

const settings = { host: "127.0.0.1", port: 0, anonymousRead: false };

describe("the API's socket", () => {
  it("listens on a free port when given 0, answers, and closes", async () => {
    const server = await startServer(() => new Response("hi"), settings);
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/v1$/);
    expect(await (await fetch(server.url)).text()).toBe("hi");
    await server.close();
    await expect(fetch(server.url)).rejects.toThrow();
  });

  it("says which address is in use, and names a TLS file it cannot read", async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    const port = (taken.address() as net.AddressInfo).port;
    try {
      const error = await startServer(() => new Response(""), { ...settings, port }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TidegateError);
      expect(error).toMatchObject({
        kind: "conflict",
        message: expect.stringContaining(`127.0.0.1:${port}`),
      });
    } finally {
      taken.close();
    }
    const missing = "/nonexistent/tidegate/cert.pem";
    expect(fs.existsSync(missing)).toBe(false);
    await expect(
      startServer(() => new Response(""), { ...settings, tls: { cert: missing, key: missing } }),
    ).rejects.toThrow("server.tls.cert");
  });
});

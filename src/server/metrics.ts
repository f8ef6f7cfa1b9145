import type { Hono } from "hono";
import { authentication, type Authenticate, type AuthVariables, requires } from "./auth";

// /metrics (Prometheus text format), /healthz (the process answers) and /readyz (the store answers
// a read and the Pulumi toolchain is usable), at the root beside the dashboard. /metrics is open
// like Prometheus expects unless telemetry.metrics.requireToken asks for a token with read; the
// health checks are always open and say only which part is not ready.

export interface Readiness {
  ready: boolean;
  /** Each part's verdict: "ok", or why not. */
  checks: Record<string, string>;
}

export interface TelemetryRoutes {
  scrape(): Promise<{ contentType: string; body: string }>;
  readiness(): Promise<Readiness>;
  requireToken: boolean;
}

export function mountTelemetry(
  app: Hono<{ Variables: AuthVariables }>,
  routes: TelemetryRoutes,
  authenticate: Authenticate,
): void {
  if (routes.requireToken) {
    app.use("/metrics", authentication({ authenticate, anonymousRead: false }), requires("read"));
  }
  app.get("/metrics", async (c) => {
    const { contentType, body } = await routes.scrape();
    return c.body(body, 200, { "content-type": contentType, "cache-control": "no-store" });
  });
  app.get("/healthz", (c) => c.json({ status: "ok" }, 200, { "cache-control": "no-store" }));
  app.get("/readyz", async (c) => {
    const { ready, checks } = await routes.readiness();
    return c.json({ status: ready ? "ready" : "not ready", checks }, ready ? 200 : 503, {
      "cache-control": "no-store",
    });
  });
}

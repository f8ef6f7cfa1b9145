import { PassThrough } from "node:stream";
import type { Engine } from "../src/app/engine";
import { composeEngine, type EngineOptions, loadEngineConfig } from "../src/compose";
import type { ResolvedConfig } from "../src/config/resolve";
import { Daemon } from "../src/daemon/daemon";
import { createLogger, type Logger } from "../src/log";

// The real engine as `tidegate run` composes it from a tidegate.yaml, its log thrown away: what every
// bench part measures.

export interface BenchEngine {
  config: ResolvedConfig;
  engine: Engine;
  log: Logger;
}

export async function openBenchEngine(
  configPath: string,
  options: Omit<EngineOptions, "config" | "log" | "versions">,
): Promise<BenchEngine> {
  const config = await loadEngineConfig(configPath);
  const log = createLogger({ mode: "json", stream: new PassThrough().resume() });
  const engine = await composeEngine({
    ...options,
    config,
    log,
    versions: { tidegate: "bench", pulumi: "bench", node: process.version },
  });
  return { config, engine, log };
}

/**
 * The daemon `tidegate run` would put on this engine, with its retry and concurrency from the
 * config; without ownership, schedules started or a request feed (the benches ask for the looks).
 */
export function benchDaemon({ config, engine, log }: BenchEngine): Daemon {
  const { ownershipTtlMs: _ttl, heartbeatMs: _heartbeat, ...retry } = config.daemon;
  return new Daemon({
    engine,
    log,
    retry: { ...retry, configRef: config.configRef },
    workers: config.daemon.concurrency,
  });
}

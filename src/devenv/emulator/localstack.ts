/**
 * LocalStack in a container through @testcontainers/localstack, used when a Docker engine answers.
 *
 * LocalStack *on the host* (the PyPI package localstack-core, run as `python -m localstack.runtime.main`)
 * is deliberately absent: upstream does not support host mode, and localstack-core 2026.3.0 did not
 * start here. On Python 3.11 (it declares Requires-Python >=3.10) it fails with a SyntaxError on PEP 695
 * generics (`class RegionBundle[BaseStoreType](dict)`), surfacing as "No component plugins found in
 * namespace localstack.runtime.components"; on 3.12 `from warnings import deprecated` fails (3.13+ only);
 * on 3.13 it needs `cbor2<5.7` (`No module named 'cbor2._decoder'` with cbor2 6.3.0), and then the
 * runtime exits with `'X509' object has no attribute 'add_extensions'` (pyOpenSSL 26.4.0) while making
 * its TLS certificate, after trying to download one from api.localstack.cloud and writing under
 * /var/lib/localstack. Its unpinned dependencies break it, so moto is the host-process emulator.
 */

/**
 * Images after 4.14.0 need a LOCALSTACK_AUTH_TOKEN (LocalStack consolidated its images in March 2026);
 * 4.14.0 is the last free community image. TIDEGATE_LOCALSTACK_IMAGE overrides it, and a
 * LOCALSTACK_AUTH_TOKEN in the environment is passed to the container.
 */
export const DEFAULT_LOCALSTACK_IMAGE = "localstack/localstack:4.14.0";

export interface RunningLocalstack {
  endpoint: string;
  stop(): Promise<void>;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** True when testcontainers finds a container runtime that answers, within `timeoutMs`. */
export async function dockerAvailable(timeoutMs = 5_000): Promise<boolean> {
  try {
    const { getContainerRuntimeClient } = await import("testcontainers");
    await withTimeout(getContainerRuntimeClient(), timeoutMs, "container runtime probe");
    return true;
  } catch {
    return false;
  }
}

export async function startLocalstackContainer(options: {
  env: NodeJS.ProcessEnv;
  log: (message: string) => void;
}): Promise<RunningLocalstack> {
  const { LocalstackContainer } = await import("@testcontainers/localstack");
  const image = options.env.TIDEGATE_LOCALSTACK_IMAGE?.trim() || DEFAULT_LOCALSTACK_IMAGE;
  const token = options.env.LOCALSTACK_AUTH_TOKEN?.trim();
  options.log(`starting LocalStack container ${image}`);
  const container = new LocalstackContainer(image);
  if (token) container.withEnvironment({ LOCALSTACK_AUTH_TOKEN: token });
  const started = await container.start();
  let stopping: Promise<void> | undefined;
  return {
    endpoint: started.getConnectionUri(),
    stop: () => {
      stopping ??= started.stop().then(() => undefined);
      return stopping;
    },
  };
}

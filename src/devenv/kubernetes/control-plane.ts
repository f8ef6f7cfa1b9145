import { constants as fsConstants, promises as fs } from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";

import { findFreePort, sleep } from "../emulator/ports";
import { binariesIn } from "./binaries";
import { ADMIN_USER, generateCertificates, type ControlPlaneCertificates } from "./certs";
import { kubeRequest, type KubeCredentials } from "./client";
import { renderKubeconfig } from "./kubeconfig";
import { describeExit, startProcess, type ManagedProcess } from "./process";

export interface ControlPlaneOptions {
  /** Folder with etcd, kube-apiserver and kube-controller-manager (what scripts/kubernetes.sh prints). */
  binDir: string;
  /**
   * Parent folder of the control plane's own temporary folder (certificates, etcd data, kubeconfig);
   * default: the OS temp folder. `stop()` removes the temporary folder, never `dataDir` itself.
   */
  dataDir?: string;
  /** Receives lifecycle messages and every output line of the processes. */
  log?: (line: string) => void;
  /** How long the processes together may take to become ready; default 90 s. */
  readyTimeoutMs?: number;
  /**
   * kube-controller-manager's `--controllers`; default: the namespace controller and the garbage
   * collector. An empty list starts no controller manager.
   */
  controllers?: readonly string[];
}

export interface ControlPlane {
  /** A kubeconfig for the admin user (system:masters), with its certificates inlined. */
  kubeconfigPath: string;
  /** The API server's URL, `https://127.0.0.1:<port>`. */
  server: string;
  /** What the kubeconfig holds, as PEM: for clients that do not read kubeconfigs. */
  credentials: KubeCredentials;
  /** etcd's client URL, `http://127.0.0.1:<port>`. */
  etcdServer: string;
  /**
   * Stops the controller manager, kube-apiserver, then etcd (SIGTERM, then SIGKILL), and removes the
   * temporary folder.
   */
  stop(): Promise<void>;
}

const HOST = "127.0.0.1";
const PORT_ATTEMPTS = 3;
const POLL_MS = 250;
const APISERVER_STOP_GRACE_MS = 15_000;
const CONTROLLER_MANAGER_STOP_GRACE_MS = 10_000;
const ETCD_STOP_GRACE_MS = 10_000;
const SERVICE_CLUSTER_IP_RANGE = "10.0.0.0/24";
// Pulumi deletes with foreground propagation, which only the garbage collector completes, and a
// namespace is only gone once the namespace controller emptied it: without these two every delete
// waits for its timeout. Nothing runs pods here (no scheduler, no kubelet), so the workload
// controllers would add load and no meaning.
export const DEFAULT_CONTROLLERS: readonly string[] = Object.freeze([
  "namespace-controller",
  "garbage-collector-controller",
]);

/** A process died or did not get ready; `portTaken` when it lost its port to another process. */
class StartError extends Error {
  constructor(
    message: string,
    readonly portTaken: boolean,
  ) {
    super(message);
    this.name = "StartError";
  }
}

async function requireExecutable(file: string): Promise<void> {
  try {
    await fs.access(file, fsConstants.X_OK);
  } catch {
    throw new Error(
      `${file} is missing or not executable; run scripts/kubernetes.sh (it takes it from KUBEBUILDER_ASSETS or PATH, or builds it)`,
    );
  }
}

/**
 * The controllers to run. envtest's asset folders (KUBEBUILDER_ASSETS) hold no
 * kube-controller-manager: by default the plane then starts without one rather than failing, and
 * says what that costs. Controllers asked for explicitly still need the binary.
 */
export async function chooseControllers(
  asked: readonly string[] | undefined,
  controllerManager: string,
  log: (line: string) => void,
): Promise<readonly string[]> {
  if (asked !== undefined) return asked;
  try {
    await fs.access(controllerManager, fsConstants.X_OK);
    return DEFAULT_CONTROLLERS;
  } catch {
    log(
      `no kube-controller-manager at ${controllerManager}: starting without one, so deletes that wait for the garbage collector (foreground propagation, namespaces) do not finish`,
    );
    return [];
  }
}

/** Distinct free ports; the kernel may hand another process one of them before it is bound. */
async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await findFreePort(HOST));
  return [...ports];
}

/** The HTTP status of a GET, or undefined when nothing answers. No connection reuse. */
function httpStatus(url: string, timeoutMs = 2_000): Promise<number | undefined> {
  return new Promise((resolve) => {
    const request = http.get(url, { agent: false, timeout: timeoutMs }, (response) => {
      response.resume();
      resolve(response.statusCode);
    });
    request.once("timeout", () => request.destroy(new Error("timeout")));
    request.once("error", () => resolve(undefined));
  });
}

/** Polls `ready` until it holds; fails fast, with the output tail, when any of `processes` exits. */
async function waitUntilReady(
  what: string,
  processes: ManagedProcess[],
  ready: () => Promise<boolean>,
  deadline: number,
  timeoutMs: number,
): Promise<void> {
  for (;;) {
    for (const child of processes) {
      const exit = child.exit();
      if (exit === undefined) continue;
      const output = child.tail();
      throw new StartError(
        `${child.name} exited (${describeExit(exit)}) before ${what} was ready; last output:\n${output}`,
        /address already in use/i.test(output),
      );
    }
    if (await ready()) return;
    if (Date.now() >= deadline) {
      const tails = processes.map((child) => `--- ${child.name}:\n${child.tail()}`).join("\n");
      throw new StartError(`${what} was not ready within ${timeoutMs} ms; last output:\n${tails}`, false);
    }
    await sleep(POLL_MS);
  }
}

function etcdArgs(dataDir: string, clientUrl: string, peerUrl: string): string[] {
  return [
    "--name=tidegate",
    `--data-dir=${dataDir}`,
    `--listen-client-urls=${clientUrl}`,
    `--advertise-client-urls=${clientUrl}`,
    `--listen-peer-urls=${peerUrl}`,
    `--initial-advertise-peer-urls=${peerUrl}`,
    `--initial-cluster=tidegate=${peerUrl}`,
    // Throwaway data: skipping fsync makes writes fast, as envtest does.
    "--unsafe-no-fsync=true",
  ];
}

// The flags envtest (controller-runtime's pkg/internal/testing/controlplane) passes, with our certs.
function apiserverArgs(
  certs: ControlPlaneCertificates,
  certDir: string,
  etcdServer: string,
  securePort: number,
): string[] {
  return [
    `--advertise-address=${HOST}`,
    // Since 1.37 the default (lease) endpoint reconciler refuses a loopback advertise address; with
    // no pods to reach it, the `kubernetes` Service needs no endpoints.
    "--endpoint-reconciler-type=none",
    `--bind-address=${HOST}`,
    `--secure-port=${securePort}`,
    `--etcd-servers=${etcdServer}`,
    `--cert-dir=${certDir}`,
    `--tls-cert-file=${certs.servingCert}`,
    `--tls-private-key-file=${certs.servingKey}`,
    `--client-ca-file=${certs.caCert}`,
    `--service-account-issuer=https://${HOST}:${securePort}/`,
    `--service-account-key-file=${certs.serviceAccountPublicKey}`,
    `--service-account-signing-key-file=${certs.serviceAccountKey}`,
    `--service-cluster-ip-range=${SERVICE_CLUSTER_IP_RANGE}`,
    "--authorization-mode=RBAC",
    // The service account controller does not run, so this plugin would reject every pod.
    "--disable-admission-plugins=ServiceAccount",
    "--allow-privileged=true",
  ];
}

function controllerManagerArgs(
  certs: ControlPlaneCertificates,
  certDir: string,
  kubeconfig: string,
  securePort: number,
  controllers: readonly string[],
): string[] {
  return [
    `--kubeconfig=${kubeconfig}`,
    // Authenticates and authorizes requests to its own /metrics through the API server.
    `--authentication-kubeconfig=${kubeconfig}`,
    `--authorization-kubeconfig=${kubeconfig}`,
    `--bind-address=${HOST}`,
    `--secure-port=${securePort}`,
    `--cert-dir=${certDir}`,
    `--tls-cert-file=${certs.servingCert}`,
    `--tls-private-key-file=${certs.servingKey}`,
    "--leader-elect=false",
    `--controllers=${controllers.join(",")}`,
  ];
}

/** True once `url` answers 200 to the admin; any failure to answer is "not yet". */
async function answers200(url: string, credentials: KubeCredentials): Promise<boolean> {
  try {
    const response = await kubeRequest(url, credentials, { path: new URL(url).pathname, timeoutMs: 5_000 });
    return response.status === 200;
  } catch {
    return false;
  }
}

interface Attempt {
  /** In the order they are stopped. */
  processes: { process: ManagedProcess; graceMs: number }[];
  server: string;
  etcdServer: string;
}

async function attemptStart(
  options: ControlPlaneOptions,
  root: string,
  attempt: number,
  certs: ControlPlaneCertificates,
  credentials: KubeCredentials,
  kubeconfigPath: string,
  log: (line: string) => void,
): Promise<Attempt> {
  const binaries = binariesIn(options.binDir);
  const controllers = options.controllers ?? DEFAULT_CONTROLLERS;
  const timeoutMs = options.readyTimeoutMs ?? 90_000;
  const deadline = Date.now() + timeoutMs;
  const [clientPort, peerPort, securePort, managerPort] = (await freePorts(4)) as [
    number,
    number,
    number,
    number,
  ];
  const etcdServer = `http://${HOST}:${clientPort}`;
  const server = `https://${HOST}:${securePort}`;
  const started: Attempt["processes"] = [];
  const running: ManagedProcess[] = [];
  const start = (name: string, command: string, args: string[], graceMs: number): ManagedProcess => {
    const child = startProcess({ name, command, args, cwd: root, log });
    started.unshift({ process: child, graceMs });
    running.push(child);
    return child;
  };

  try {
    log(`starting etcd on ${etcdServer}`);
    start(
      "etcd",
      binaries.etcd,
      etcdArgs(path.join(root, `etcd-${attempt}`), etcdServer, `http://${HOST}:${peerPort}`),
      ETCD_STOP_GRACE_MS,
    );
    await waitUntilReady(
      "etcd",
      running,
      async () => (await httpStatus(`${etcdServer}/health`)) === 200,
      deadline,
      timeoutMs,
    );

    log(`starting kube-apiserver on ${server}`);
    start(
      "kube-apiserver",
      binaries.kubeApiserver,
      apiserverArgs(certs, path.join(root, "pki"), etcdServer, securePort),
      APISERVER_STOP_GRACE_MS,
    );
    await waitUntilReady(
      "kube-apiserver",
      running,
      () => answers200(`${server}/readyz`, credentials),
      deadline,
      timeoutMs,
    );
    await fs.writeFile(kubeconfigPath, renderKubeconfig(server, ADMIN_USER, credentials), { mode: 0o600 });

    if (controllers.length > 0) {
      const managerUrl = `https://${HOST}:${managerPort}`;
      log(`starting kube-controller-manager (${controllers.join(", ")}) on ${managerUrl}`);
      start(
        "kube-controller-manager",
        binaries.kubeControllerManager,
        controllerManagerArgs(
          certs,
          path.join(root, "controller-manager"),
          kubeconfigPath,
          managerPort,
          controllers,
        ),
        CONTROLLER_MANAGER_STOP_GRACE_MS,
      );
      await waitUntilReady(
        "kube-controller-manager",
        running,
        () => answers200(`${managerUrl}/healthz`, credentials),
        deadline,
        timeoutMs,
      );
    }
    return { processes: started, server, etcdServer };
  } catch (error) {
    for (const { process: child, graceMs } of started) await child.stop(graceMs);
    throw error;
  }
}

/**
 * Starts etcd, kube-apiserver and kube-controller-manager on 127.0.0.1 on free ports, the way
 * controller-runtime's envtest starts its control plane: a temporary folder with fresh certificates,
 * an admin client certificate in system:masters, RBAC on. Resolves once kube-apiserver's `/readyz`
 * and the controller manager's `/healthz` answer 200. No scheduler or kubelet runs: objects are
 * stored, served, garbage-collected and deleted, but pods never run.
 */
export async function startControlPlane(options: ControlPlaneOptions): Promise<ControlPlane> {
  const log = options.log ?? ((): void => undefined);
  const binaries = binariesIn(options.binDir);
  await requireExecutable(binaries.etcd);
  await requireExecutable(binaries.kubeApiserver);
  const controllers = await chooseControllers(options.controllers, binaries.kubeControllerManager, log);
  if (controllers.length > 0) await requireExecutable(binaries.kubeControllerManager);
  const planeOptions: ControlPlaneOptions = { ...options, controllers };

  const parent = options.dataDir ?? os.tmpdir();
  await fs.mkdir(parent, { recursive: true });
  const root = await fs.mkdtemp(path.join(parent, "tidegate-k8s-"));
  try {
    const certs = await generateCertificates(path.join(root, "pki"));
    const credentials: KubeCredentials = {
      ca: await fs.readFile(certs.caCert, "utf8"),
      cert: await fs.readFile(certs.adminCert, "utf8"),
      key: await fs.readFile(certs.adminKey, "utf8"),
    };
    const kubeconfigPath = path.join(root, "kubeconfig");

    let started: Attempt | undefined;
    for (let attempt = 1; started === undefined; attempt++) {
      try {
        started = await attemptStart(planeOptions, root, attempt, certs, credentials, kubeconfigPath, log);
      } catch (error) {
        if (!(error instanceof StartError && error.portTaken && attempt < PORT_ATTEMPTS)) throw error;
        log(
          `a port was taken before it was bound (${error.message.split("\n")[0] ?? ""}); trying other ports`,
        );
      }
    }
    const { processes, server, etcdServer } = started;
    log(`control plane ready at ${server} (kubeconfig ${kubeconfigPath})`);

    let stopping: Promise<void> | undefined;
    const stop = (): Promise<void> => {
      stopping ??= (async () => {
        // Clients of the API server first, and the API server before its storage.
        for (const { process: child, graceMs } of processes) await child.stop(graceMs);
        await fs.rm(root, { recursive: true, force: true });
      })();
      return stopping;
    };
    return { kubeconfigPath, server, credentials, etcdServer, stop };
  } catch (error) {
    await fs.rm(root, { recursive: true, force: true });
    throw error;
  }
}

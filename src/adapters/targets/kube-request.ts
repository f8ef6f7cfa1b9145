import * as https from "node:https";

/** PEM contents (not paths) of what a client presents to an API server, or a bearer token. */
export interface KubeCredentials {
  /** The cluster's CA; absent: the system's roots. */
  ca?: string;
  cert?: string;
  key?: string;
  token?: string;
}

export interface KubeResponse {
  status: number;
  body: string;
}

export interface KubeRequest {
  method?: string;
  /** API path, e.g. `/api/v1/namespaces`. */
  path: string;
  /** Sent as JSON. */
  body?: unknown;
  /** Default application/json (a JSON patch needs application/json-patch+json). */
  contentType?: string;
  timeoutMs?: number;
}

/**
 * One HTTPS request to the API server. `fetch` cannot present a client certificate without
 * undici's own Agent (not a dependency), so this uses node:https, with no connection reuse: nothing
 * keeps a socket to the server open after the answer.
 */
export function kubeRequest(
  server: string,
  credentials: KubeCredentials,
  request: KubeRequest,
): Promise<KubeResponse> {
  const url = new URL(request.path, server);
  const payload = request.body === undefined ? undefined : JSON.stringify(request.body);
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      {
        method: request.method ?? "GET",
        ...(credentials.ca === undefined ? {} : { ca: credentials.ca }),
        ...(credentials.cert === undefined ? {} : { cert: credentials.cert }),
        ...(credentials.key === undefined ? {} : { key: credentials.key }),
        agent: false,
        timeout: request.timeoutMs ?? 10_000,
        headers: {
          accept: "application/json",
          ...(credentials.token === undefined ? {} : { authorization: `Bearer ${credentials.token}` }),
          ...(payload === undefined
            ? {}
            : {
                "content-type": request.contentType ?? "application/json",
                "content-length": Buffer.byteLength(payload),
              }),
        },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.once("error", reject);
        response.once("end", () =>
          resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }),
        );
      },
    );
    req.once("timeout", () => req.destroy(new Error(`${req.method} ${url.href} timed out`)));
    req.once("error", reject);
    req.end(payload);
  });
}

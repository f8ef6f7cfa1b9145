import { stringify } from "yaml";

import type { KubeCredentials } from "./client";

export const KUBECONFIG_CONTEXT = "tidegate";

/**
 * A self-contained kubeconfig (certificates inlined as *-data), so it stays usable when passed as
 * content, e.g. to the Pulumi Kubernetes provider's `kubeconfig` setting, not only as a path.
 */
export function renderKubeconfig(server: string, user: string, credentials: KubeCredentials): string {
  const b64 = (pem: string): string => Buffer.from(pem, "utf8").toString("base64");
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      { name: KUBECONFIG_CONTEXT, cluster: { server, "certificate-authority-data": b64(credentials.ca) } },
    ],
    users: [
      {
        name: user,
        user: {
          "client-certificate-data": b64(credentials.cert),
          "client-key-data": b64(credentials.key),
        },
      },
    ],
    contexts: [{ name: KUBECONFIG_CONTEXT, context: { cluster: KUBECONFIG_CONTEXT, user } }],
    "current-context": KUBECONFIG_CONTEXT,
  });
}

import type { KubeCredentials as AnyCredentials } from "../../adapters/targets/kube-request";

// The control plane's admin client: the adapters' request, with a client certificate always.
export { kubeRequest, type KubeRequest, type KubeResponse } from "../../adapters/targets/kube-request";

/** PEM contents (not paths) of what a client needs to talk to the control plane as its admin. */
export type KubeCredentials = Required<Pick<AnyCredentials, "ca" | "cert" | "key">>;

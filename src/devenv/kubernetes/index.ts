export {
  binariesIn,
  describeFound,
  lookupKubernetes,
  parseLookup,
  provisionKubernetes,
  KubernetesBinariesError,
  type KubernetesBinaries,
  type KubernetesBinariesOptions,
  type KubernetesLookup,
  type FoundBinary,
} from "./binaries";
export { kubeRequest, type KubeCredentials, type KubeRequest, type KubeResponse } from "./client";
export {
  DEFAULT_CONTROLLERS,
  startControlPlane,
  type ControlPlane,
  type ControlPlaneOptions,
} from "./control-plane";

export {
  binariesIn,
  provisionKubernetes,
  KubernetesBinariesError,
  type KubernetesBinaries,
  type KubernetesBinariesOptions,
} from "./binaries";
export { kubeRequest, type KubeCredentials, type KubeRequest, type KubeResponse } from "./client";
export {
  DEFAULT_CONTROLLERS,
  startControlPlane,
  type ControlPlane,
  type ControlPlaneOptions,
} from "./control-plane";

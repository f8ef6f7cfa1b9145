export { jitterDelay } from "./jitter";
export {
  Scheduler,
  type JobConfig,
  type RunResult,
  type SchedulerOptions,
  type SkipReason,
  type StopResult,
} from "./scheduler";
export { FORCED_EXIT_CODE, onShutdown, type ShutdownOptions, type SignalTarget } from "./signals";
export { Schedules } from "./schedules";

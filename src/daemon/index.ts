export { Daemon, type DaemonEngine, type DaemonOptions } from "./daemon";
export { jitterDelay } from "./jitter";
export {
  WorkQueue,
  type AddOutcome,
  type ItemResult,
  type QueueStats,
  type StopResult,
  type WorkItem,
  type WorkKind,
  type WorkPriority,
  type WorkRequest,
} from "./queue";
export { RequestFeed, type RequestSource } from "./requests";
export { Scheduler, type TickConfig } from "./scheduler";
export { scheduleEnvironments } from "./schedules";
export { FORCED_EXIT_CODE, onShutdown, type ShutdownOptions, type SignalTarget } from "./signals";

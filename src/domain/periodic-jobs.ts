/** The periodic jobs of the worker role, by the names their leases and settings use. */
export const JOB_NAMES = ['dns-recheck', 'retention', 'reputation'] as const;
export type JobName = (typeof JOB_NAMES)[number];

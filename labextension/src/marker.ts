/** The run marker a tracked cell leaves in its outputs, read defensively (it is saved JSON). */

import type { MetricValue, RunStatus } from './types';

export interface IRunMarker {
  runId: string;
  name: string;
  /** 'unknown' for a marker whose status this version does not know (a damaged file). */
  status: RunStatus | 'unknown';
  duration: number | null;
  metrics: Record<string, MetricValue>;
  /** The metric the run is judged on by convention (auc before accuracy …), when it has one. */
  headline: string | null;
}

const STATUSES: readonly RunStatus[] = [
  'running',
  'ok',
  'error',
  'interrupted',
  'crashed'
];

function isMetricValue(value: unknown): value is MetricValue {
  return (
    (typeof value === 'number' && Number.isFinite(value)) ||
    value === 'NaN' ||
    value === 'Infinity' ||
    value === '-Infinity'
  );
}

export function readMarker(data: unknown): IRunMarker | null {
  if (typeof data !== 'object' || data === null) {
    return null;
  }
  const raw = data as Record<string, unknown>;
  if (typeof raw.run_id !== 'string' || raw.run_id === '') {
    return null;
  }
  const metrics: Record<string, MetricValue> = {};
  const first = raw.metric as
    { name?: unknown; value?: unknown } | null | undefined;
  if (first && typeof first.name === 'string' && isMetricValue(first.value)) {
    metrics[first.name] = first.value;
  }
  if (
    typeof raw.metrics === 'object' &&
    raw.metrics !== null &&
    !Array.isArray(raw.metrics)
  ) {
    for (const [name, value] of Object.entries(
      raw.metrics as Record<string, unknown>
    )) {
      if (isMetricValue(value)) {
        metrics[name] = value;
      }
    }
  }
  const status = STATUSES.includes(raw.status as RunStatus)
    ? (raw.status as RunStatus)
    : 'unknown';
  return {
    runId: raw.run_id,
    name:
      typeof raw.name === 'string' && raw.name
        ? raw.name
        : raw.run_id.slice(0, 12),
    status,
    duration: typeof raw.duration === 'number' ? raw.duration : null,
    metrics,
    headline:
      typeof raw.headline === 'string' && Object.hasOwn(metrics, raw.headline)
        ? raw.headline
        : null
  };
}

/** The metric a badge shows: the preferred one when the run has it, else its headline. */
export function badgeMetric(
  marker: IRunMarker,
  preferred: string
): [string, MetricValue] | null {
  const names = Object.keys(marker.metrics);
  const wanted = preferred
    ? names.find(name => name.toLowerCase() === preferred.toLowerCase())
    : undefined;
  const name = wanted ?? marker.headline ?? names[0];
  return name === undefined ? null : [name, marker.metrics[name]];
}

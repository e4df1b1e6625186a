/** How runs read in the panel and the badges: short, exact enough, never "undefined". */

import type { MetricValue, RunStatus } from './types';

const STATUS_SYMBOL: Record<RunStatus, string> = {
  running: '●',
  ok: '✓',
  error: '✗',
  interrupted: '■',
  crashed: '✗'
};

const STATUS_TEXT: Record<RunStatus, string> = {
  running: 'running',
  ok: 'finished',
  error: 'failed',
  interrupted: 'interrupted',
  crashed: 'crashed (kernel died)'
};

function isKnown(status: string): status is RunStatus {
  return Object.hasOwn(STATUS_SYMBOL, status);
}

export function statusSymbol(status: string): string {
  return isKnown(status) ? STATUS_SYMBOL[status] : '?';
}

export function statusText(status: string): string {
  return isKnown(status) ? STATUS_TEXT[status] : 'status unknown';
}

/** Four significant digits, like the report; integers stay integers. */
export function formatMetric(value: MetricValue | undefined): string {
  if (value === null || value === undefined) {
    return '–';
  }
  if (value === 'NaN') {
    return 'NaN';
  }
  if (value === 'Infinity') {
    return '∞';
  }
  if (value === '-Infinity') {
    return '−∞';
  }
  if (Number.isInteger(value) && Math.abs(value) < 1e15) {
    return value.toLocaleString('en-US');
  }
  const magnitude = Math.abs(value);
  if (magnitude !== 0 && (magnitude < 1e-3 || magnitude >= 1e6)) {
    return value.toExponential(3);
  }
  return String(Number(value.toPrecision(4)));
}

export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) {
    return '';
  }
  if (seconds < 1) {
    return `${Math.round(seconds * 1000)} ms`;
  }
  if (seconds < 60) {
    return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  }
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) {
    return `${minutes} min ${Math.round(seconds % 60)} s`;
  }
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** "just now", "5 min ago", "3 h ago", then the date. */
export function formatAge(started: number, now: number): string {
  const seconds = Math.max(0, now - started);
  if (seconds < 45) {
    return 'just now';
  }
  if (seconds < 3600) {
    return `${Math.max(1, Math.round(seconds / 60))} min ago`;
  }
  if (seconds < 86400) {
    return `${Math.round(seconds / 3600)} h ago`;
  }
  return new Date(started * 1000).toISOString().slice(0, 10);
}

export function formatValue(value: unknown): string {
  if (value === null || value === undefined) {
    return '–';
  }
  if (typeof value === 'number') {
    return formatMetric(value);
  }
  if (typeof value === 'string') {
    return value;
  }
  return JSON.stringify(value);
}

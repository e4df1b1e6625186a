/**
 * The Model Book panel's state, without any DOM: the active notebook's runs, the filter, the
 * ticked runs and the key metric. The panel widget renders it; unit tests drive it directly.
 */

import { DEFAULT_REPORT_FORMAT, isFormatName } from './reportformats';
import type { IRunList, IRunSummary, MetricValue } from './types';

export type RefreshMode = 'on-execute' | 'interval' | 'manual';
/** A report format's name in the server's registry: "html", "md", "json", "pdf", "docx", … */
export type ReportFormat = string;

export interface IPanelSettings {
  /** Metric shown in the list and the badges; empty: the notebook's headline metric. */
  keyMetric: string;
  refresh: RefreshMode;
  /** Seconds between refreshes in 'interval' mode. */
  refreshInterval: number;
  /** Newest runs the panel loads. */
  maxRuns: number;
  /** The format the export dialog proposes (until a choice is made there). */
  reportFormat: ReportFormat;
}

export const DEFAULT_SETTINGS: IPanelSettings = {
  keyMetric: '',
  refresh: 'on-execute',
  refreshInterval: 30,
  maxRuns: 200,
  reportFormat: DEFAULT_REPORT_FORMAT
};

/** Id digits an annotation cites when a name is ambiguous (the first 12 are the time). */
export const CITED_ID_DIGITS = 16;

/** Most runs one comparison shows (the server's limit too). */
export const MAX_COMPARED_RUNS = 20;

export function readSettings(
  raw: Partial<Record<keyof IPanelSettings, unknown>>
): IPanelSettings {
  const refresh = raw.refresh;
  const format = raw.reportFormat;
  const interval = Number(raw.refreshInterval);
  const maxRuns = Number(raw.maxRuns);
  return {
    keyMetric:
      typeof raw.keyMetric === 'string'
        ? raw.keyMetric.trim()
        : DEFAULT_SETTINGS.keyMetric,
    refresh:
      refresh === 'on-execute' || refresh === 'interval' || refresh === 'manual'
        ? refresh
        : DEFAULT_SETTINGS.refresh,
    refreshInterval:
      Number.isFinite(interval) && interval >= 5
        ? interval
        : DEFAULT_SETTINGS.refreshInterval,
    maxRuns:
      Number.isFinite(maxRuns) && maxRuns >= 10
        ? Math.min(1000, Math.floor(maxRuns))
        : DEFAULT_SETTINGS.maxRuns,
    // Spelt like a format name; whether the server offers it is told when the dialog opens.
    reportFormat: isFormatName(format) ? format : DEFAULT_SETTINGS.reportFormat
  };
}

function numeric(value: MetricValue | undefined): number | null {
  if (typeof value === 'number') {
    return value;
  }
  if (value === 'Infinity') {
    return Infinity;
  }
  if (value === '-Infinity') {
    return -Infinity;
  }
  return null;
}

function searchable(run: IRunSummary): string {
  const params = Object.entries(run.params).map(
    ([name, value]) => `${name} ${String(value)}`
  );
  return [
    run.name,
    run.status,
    run.failed ? 'failed' : '',
    run.error ?? '',
    ...run.tags,
    ...params
  ]
    .join('\n')
    .toLocaleLowerCase();
}

export type ChangeListener = () => void;

export class RunsModel {
  notebook: string | null = null;
  runs: IRunSummary[] = [];
  total = 0;
  metricNames: string[] = [];
  headline: string | null = null;
  lowerIsBetter = new Set<string>();
  store = '';
  /** The server's ETag of the list shown, so an unchanged store answers 304. */
  etag: string | null = null;
  filter = '';
  error: string | null = null;
  loading = false;
  settings: IPanelSettings = { ...DEFAULT_SETTINGS };
  private selected: string[] = [];
  private listeners = new Set<ChangeListener>();
  private searchText = new Map<string, string>();

  onChange(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(): void {
    for (const listener of [...this.listeners]) {
      listener();
    }
  }

  /** Another notebook became active: its runs replace these, the ticks go. */
  setNotebook(path: string | null): void {
    if (path === this.notebook) {
      return;
    }
    this.notebook = path;
    this.runs = [];
    this.total = 0;
    this.metricNames = [];
    this.headline = null;
    this.lowerIsBetter = new Set();
    this.etag = null;
    this.error = null;
    this.selected = [];
    this.searchText.clear();
    this.changed();
  }

  setSettings(settings: IPanelSettings): void {
    this.settings = settings;
    this.changed();
  }

  setLoading(loading: boolean): void {
    if (loading !== this.loading) {
      this.loading = loading;
      this.changed();
    }
  }

  setError(message: string | null): void {
    this.error = message;
    if (message !== null) {
      this.etag = null; // the next answer must be a full list, which clears the error
    }
    this.loading = false;
    this.changed();
  }

  /** A fresh list from the server; ticks on runs that are gone are dropped. */
  update(list: IRunList, etag: string | null): void {
    if (list.notebook !== this.notebook) {
      return; // an answer for a notebook that is no longer active
    }
    this.runs = list.runs;
    this.total = list.total;
    this.metricNames = list.metric_names;
    this.headline = list.headline ?? null;
    this.lowerIsBetter = new Set(list.lower_is_better ?? []);
    this.store = list.store;
    this.etag = etag;
    this.error = null;
    this.loading = false;
    this.searchText = new Map(
      list.runs.map(run => [run.run_id, searchable(run)])
    );
    const present = new Set(list.runs.map(run => run.run_id));
    this.selected = this.selected.filter(id => present.has(id));
    this.changed();
  }

  setFilter(text: string): void {
    if (text !== this.filter) {
      this.filter = text;
      this.changed();
    }
  }

  /** Runs matching every word of the filter (name, tags, status, params, error), newest first. */
  visibleRuns(): IRunSummary[] {
    const words = this.filter.toLocaleLowerCase().split(/\s+/).filter(Boolean);
    if (words.length === 0) {
      return this.runs;
    }
    return this.runs.filter(run => {
      const text = this.searchText.get(run.run_id) ?? searchable(run);
      return words.every(
        word => text.includes(word) || run.run_id.startsWith(word)
      );
    });
  }

  /** The metric the list shows: the setting when the notebook has it, else the headline. */
  keyMetric(): string | null {
    const wanted = this.settings.keyMetric;
    if (wanted) {
      const match = this.metricNames.find(
        name => name.toLowerCase() === wanted.toLowerCase()
      );
      if (match) {
        return match;
      }
    }
    return this.headline ?? this.metricNames[0] ?? null;
  }

  /** The run with the best key metric among those listed (NaN and missing never win). */
  bestRunId(): string | null {
    const metric = this.keyMetric();
    if (metric === null) {
      return null;
    }
    const sign = this.lowerIsBetter.has(metric) ? -1 : 1;
    let best: string | null = null;
    let bestValue = -Infinity;
    for (const run of this.runs) {
      const value = run.failed ? null : numeric(run.metrics[metric]);
      if (value !== null && sign * value > bestValue) {
        bestValue = sign * value;
        best = run.run_id;
      }
    }
    return best;
  }

  isSelected(runId: string): boolean {
    return this.selected.includes(runId);
  }

  toggle(runId: string): void {
    const at = this.selected.indexOf(runId);
    if (at >= 0) {
      this.selected.splice(at, 1);
    } else if (this.runs.some(run => run.run_id === runId)) {
      this.selected.push(runId);
    }
    this.changed();
  }

  clearSelection(): void {
    if (this.selected.length > 0) {
      this.selected = [];
      this.changed();
    }
  }

  /** Ticked runs in the order they were ticked (the first is the comparison's reference). */
  selectedRuns(): IRunSummary[] {
    const byId = new Map(this.runs.map(run => [run.run_id, run]));
    return this.selected.flatMap(id => {
      const run = byId.get(id);
      return run ? [run] : [];
    });
  }

  canCompare(): boolean {
    const count = this.selected.length;
    return count >= 2 && count <= MAX_COMPARED_RUNS;
  }

  run(runId: string): IRunSummary | undefined {
    return this.runs.find(run => run.run_id === runId);
  }

  /**
   * How an annotation cites a run: its name when that name means this very run (a name
   * cites the latest run of that name), else enough of its id to be unique.
   */
  citation(runId: string): string {
    const run = this.run(runId);
    if (run === undefined) {
      return runId.slice(0, CITED_ID_DIGITS);
    }
    const latestOfName = this.runs.find(other => other.name === run.name);
    if (
      latestOfName?.run_id === runId &&
      /^[\w.-]+$/.test(run.name) &&
      !run.name.endsWith('.')
    ) {
      return run.name;
    }
    return runId.slice(0, CITED_ID_DIGITS);
  }
}

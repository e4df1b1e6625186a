/** The JSON the server extension answers with (nbmodelbook/server). */

export type RunStatus = 'running' | 'ok' | 'error' | 'interrupted' | 'crashed';

/** A metric value: a number, or the name of a value JSON cannot hold. */
export type MetricValue = number | 'NaN' | 'Infinity' | '-Infinity' | null;

export interface IRunSummary {
  run_id: string;
  name: string;
  status: RunStatus;
  failed: boolean;
  started: number;
  duration: number | null;
  cell_id: string | null;
  execution_count: number | null;
  tags: string[];
  metrics: Record<string, MetricValue>;
  params: Record<string, unknown>;
  error: string | null;
  /** Params beyond the first ones listed (the run's own endpoint has them all). */
  params_left_out?: number;
}

export interface IRunList {
  notebook: string;
  store: string;
  seq: number | string;
  total: number;
  metric_names: string[];
  /** The metric shown when the settings name none: a conventional headline (auc, f1, …). */
  headline: string | null;
  /** Metrics whose smaller values are better (the review report's reading of the names). */
  lower_is_better: string[];
  runs: IRunSummary[];
}

export interface IRunDetail extends IRunSummary {
  code: string;
  code_hash: string;
  notebook: string | null;
}

export interface IComparedRun {
  run_id: string;
  label: string;
  name: string;
  status: RunStatus;
  started: number;
}

export interface IComparison {
  runs: IComparedRun[];
  headline: string | null;
  params: { name: string; values: unknown[]; differs: boolean }[];
  metrics: {
    name: string;
    values: MetricValue[];
    best: number | null;
    higher_is_better: boolean | null;
  }[];
  data: (string | null)[];
  code_changed: boolean[];
}

export interface IReadinessItem {
  code: string;
  blocking: boolean;
  message: string;
  cell: number | null;
}

export interface IExportResult {
  report: string;
  ready: boolean;
  items: IReadinessItem[];
}

/** A report format the server's registry offers, and whether this server can write it. */
export interface IReportFormatInfo {
  name: string;
  description: string;
  /** The written file's extension, e.g. ".pdf". */
  extension: string;
  /** Appended to the notebook's stem: ".review.pdf". */
  suffix: string;
  available: boolean;
  /** Why it cannot be written here (a missing package or library), when it cannot. */
  reason: string | null;
}

export interface IReportFormatList {
  formats: IReportFormatInfo[];
}

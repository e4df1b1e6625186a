import type { IRunList, IRunSummary } from '../src/types';

let clock = 1_700_000_000;

export function run(overrides: Partial<IRunSummary> = {}): IRunSummary {
  clock += 60;
  const id =
    overrides.run_id ??
    `${clock.toString(16).padStart(12, '0')}${'0'.repeat(20)}`;
  return {
    run_id: id,
    name: 'logreg',
    status: 'ok',
    failed: false,
    started: clock,
    duration: 1.5,
    cell_id: `cell-${id.slice(-4)}`,
    execution_count: 1,
    tags: [],
    metrics: {},
    params: {},
    error: null,
    ...overrides
  };
}

export function list(
  notebook: string,
  runs: IRunSummary[],
  metricNames: string[] = [],
  headline: string | null = null,
  lowerIsBetter: string[] = []
): IRunList {
  return {
    notebook,
    store: 'sqlite:///runs.sqlite',
    seq: 1,
    total: runs.length,
    metric_names: metricNames,
    headline,
    lower_is_better: lowerIsBetter,
    runs
  };
}

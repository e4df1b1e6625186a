import {
  DEFAULT_SETTINGS,
  MAX_COMPARED_RUNS,
  RunsModel,
  readSettings
} from '../src/model';
import { list, run } from './fixtures';

function loaded(
  runs = [run()],
  metricNames: string[] = [],
  headline: string | null = null,
  lowerIsBetter: string[] = []
): RunsModel {
  const model = new RunsModel();
  model.setNotebook('work/model.ipynb');
  model.update(
    list('work/model.ipynb', runs, metricNames, headline, lowerIsBetter),
    '"1"'
  );
  return model;
}

describe('RunsModel', () => {
  it('ignores an answer for a notebook that is no longer active', () => {
    const model = new RunsModel();
    model.setNotebook('a.ipynb');
    model.setNotebook('b.ipynb');
    model.update(list('a.ipynb', [run()]), '"1"');
    expect(model.runs).toEqual([]);
    expect(model.etag).toBeNull();
  });

  it('tells listeners about every change, and stops when asked', () => {
    const model = new RunsModel();
    const seen: number[] = [];
    const stop = model.onChange(() => seen.push(model.runs.length));
    model.setNotebook('a.ipynb');
    model.update(list('a.ipynb', [run(), run()]), null);
    stop();
    model.setFilter('x');
    expect(seen).toEqual([0, 2]);
  });

  it('filters on every word: name, tag, status, params, error, id prefix', () => {
    const a = run({
      name: 'rf-500',
      tags: ['baseline'],
      params: { n_estimators: 500 }
    });
    const b = run({
      name: 'gbm',
      status: 'error',
      failed: true,
      error: 'ValueError: bad input'
    });
    const c = run({ name: 'logreg', params: { C: 0.1, penalty: 'l2' } });
    const model = loaded([c, b, a]);
    const names = (filter: string) => {
      model.setFilter(filter);
      return model.visibleRuns().map(r => r.name);
    };
    expect(names('')).toEqual(['logreg', 'gbm', 'rf-500']);
    expect(names('BASELINE')).toEqual(['rf-500']);
    expect(names('failed')).toEqual(['gbm']);
    expect(names('valueerror')).toEqual(['gbm']);
    expect(names('penalty l2')).toEqual(['logreg']);
    expect(names('penalty l1')).toEqual([]);
    expect(names('n_estimators 500')).toEqual(['rf-500']);
    expect(names(a.run_id.slice(0, 14))).toEqual(['rf-500']);
  });

  it('keeps ticks in the order they were made and drops ticks on runs that went away', () => {
    const [a, b, c] = [
      run({ name: 'a' }),
      run({ name: 'b' }),
      run({ name: 'c' })
    ];
    const model = loaded([a, b, c]);
    model.toggle(c.run_id);
    model.toggle(a.run_id);
    expect(model.canCompare()).toBe(true);
    expect(model.selectedRuns().map(r => r.name)).toEqual(['c', 'a']);
    model.toggle('not-a-run');
    expect(model.selectedRuns()).toHaveLength(2);
    model.update(list('work/model.ipynb', [a, b]), null);
    expect(model.selectedRuns().map(r => r.name)).toEqual(['a']);
    expect(model.canCompare()).toBe(false);
    model.toggle(a.run_id);
    expect(model.selectedRuns()).toEqual([]);
  });

  it('compares at most the server limit of runs', () => {
    const runs = Array.from({ length: MAX_COMPARED_RUNS + 1 }, (_, i) =>
      run({ name: `r${i}` })
    );
    const model = loaded(runs);
    runs.slice(0, MAX_COMPARED_RUNS).forEach(r => model.toggle(r.run_id));
    expect(model.canCompare()).toBe(true);
    model.toggle(runs[MAX_COMPARED_RUNS].run_id);
    expect(model.canCompare()).toBe(false);
  });

  it('forgets runs, ticks and the ETag when another notebook becomes active', () => {
    const model = loaded([run(), run()]);
    model.toggle(model.runs[0].run_id);
    model.setNotebook('other.ipynb');
    expect([model.runs, model.selectedRuns(), model.etag]).toEqual([
      [],
      [],
      null
    ]);
  });

  it('shows the key metric from the settings when the notebook has it, else the headline', () => {
    const model = loaded(
      [run({ metrics: { accuracy: 0.9, auc: 0.8, log_loss: 0.4 } })],
      ['accuracy', 'auc', 'log_loss'],
      'auc'
    );
    expect(model.keyMetric()).toBe('auc');
    model.setSettings({ ...DEFAULT_SETTINGS, keyMetric: 'LOG_LOSS' });
    expect(model.keyMetric()).toBe('log_loss');
    model.setSettings({ ...DEFAULT_SETTINGS, keyMetric: 'f1' });
    expect(model.keyMetric()).toBe('auc');
    expect(loaded([run()], ['accuracy']).keyMetric()).toBe('accuracy');
    expect(loaded([run()]).keyMetric()).toBeNull();
  });

  it('marks the best run by the key metric, in the metric direction, never a failed or NaN one', () => {
    const good = run({ name: 'good', metrics: { auc: 0.9, log_loss: 0.3 } });
    const better = run({
      name: 'failed',
      failed: true,
      status: 'error',
      metrics: { auc: 0.99, log_loss: 0.01 }
    });
    const nan = run({ name: 'nan', metrics: { auc: 'NaN', log_loss: 'NaN' } });
    const worse = run({ name: 'worse', metrics: { auc: 0.7, log_loss: 0.6 } });
    const model = loaded(
      [good, better, nan, worse],
      ['auc', 'log_loss'],
      null,
      ['log_loss'] // the server's reading of the names
    );
    expect(model.bestRunId()).toBe(good.run_id);
    model.setSettings({ ...DEFAULT_SETTINGS, keyMetric: 'log_loss' });
    expect(model.bestRunId()).toBe(good.run_id);
    const infinite = run({ name: 'inf', metrics: { auc: 'Infinity' } });
    expect(loaded([good, infinite], ['auc']).bestRunId()).toBe(infinite.run_id);
  });

  it('cites a run by name when the name means that run, else by an id prefix', () => {
    const newest = run({ name: 'rf-500' });
    const older = run({ name: 'rf-500' });
    const odd = run({ name: 'my model (v2)' });
    const model = loaded([newest, older, odd]);
    expect(model.citation(newest.run_id)).toBe('rf-500');
    expect(model.citation(older.run_id)).toBe(older.run_id.slice(0, 16));
    expect(model.citation(odd.run_id)).toBe(odd.run_id.slice(0, 16));
  });
});

describe('settings', () => {
  it('keeps valid values and replaces invalid ones by the defaults', () => {
    expect(readSettings({})).toEqual(DEFAULT_SETTINGS);
    expect(
      readSettings({
        keyMetric: ' auc ',
        refresh: 'interval',
        refreshInterval: 10,
        maxRuns: 50,
        reportFormat: 'md'
      })
    ).toEqual({
      keyMetric: 'auc',
      refresh: 'interval',
      refreshInterval: 10,
      maxRuns: 50,
      reportFormat: 'md'
    });
    expect(
      readSettings({
        refresh: 'always',
        refreshInterval: 1,
        maxRuns: 5000,
        reportFormat: 'PDF file'
      })
    ).toEqual({
      ...DEFAULT_SETTINGS,
      maxRuns: 1000
    });
  });

  it('takes any report format spelt like a registry name: the server says which it offers', () => {
    for (const format of ['pdf', 'docx', 'json', 'my_format-2']) {
      expect(readSettings({ reportFormat: format }).reportFormat).toBe(format);
    }
    for (const format of ['', 'PDF', '.pdf', 'a b', 3, null, 'x'.repeat(33)]) {
      expect(readSettings({ reportFormat: format }).reportFormat).toBe('html');
    }
  });

  it('takes the direction of each metric from the server', () => {
    const low = run({ name: 'low', metrics: { score: 0.2 } });
    const high = run({ name: 'high', metrics: { score: 0.8 } });
    expect(loaded([low, high], ['score']).bestRunId()).toBe(high.run_id);
    expect(loaded([low, high], ['score'], null, ['score']).bestRunId()).toBe(
      low.run_id
    );
  });
});

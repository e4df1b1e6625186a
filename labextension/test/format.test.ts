import {
  formatAge,
  formatDuration,
  formatMetric,
  formatValue,
  statusSymbol,
  statusText
} from '../src/format';
import { differingParams } from '../src/comparison';
import { badgeMetric, readMarker } from '../src/marker';

describe('formatting', () => {
  it('writes metrics with four significant digits and names what JSON cannot hold', () => {
    expect(
      [
        0.912345,
        12,
        1234567,
        0.00001234,
        'NaN',
        'Infinity',
        '-Infinity',
        null
      ].map(v => formatMetric(v as never))
    ).toEqual(['0.9123', '12', '1,234,567', '1.234e-5', 'NaN', '∞', '−∞', '–']);
  });

  it('writes durations and ages a person reads at a glance', () => {
    expect([0.0042, 3.21, 42, 125, 7300, null].map(formatDuration)).toEqual([
      '4 ms',
      '3.2 s',
      '42 s',
      '2 min 5 s',
      '2 h 1 min',
      ''
    ]);
    expect(formatAge(1000, 1010)).toBe('just now');
    expect(formatAge(1000, 1000 + 600)).toBe('10 min ago');
    expect(formatAge(1000, 1000 + 7200)).toBe('2 h ago');
    expect(formatAge(0, 3 * 86400)).toBe('1970-01-01');
  });

  it('shows values of any type and a symbol per status', () => {
    expect([
      formatValue('l2'),
      formatValue(true),
      formatValue([1, 2]),
      formatValue(undefined)
    ]).toEqual(['l2', 'true', '[1,2]', '–']);
    expect(
      ['ok', 'error', 'crashed', 'interrupted', 'running'].map(s =>
        statusSymbol(s as never)
      )
    ).toEqual(['✓', '✗', '✗', '■', '●']);
  });
});

describe('run markers', () => {
  it('reads a marker and picks the preferred metric for the badge', () => {
    const marker = readMarker({
      run_id: 'r1',
      name: 'rf',
      status: 'ok',
      duration: 2,
      metric: { name: 'accuracy', value: 0.8 },
      metrics: { accuracy: 0.8, auc: 0.9, log_loss: 0.31 },
      headline: 'auc'
    });
    expect(marker).toEqual({
      runId: 'r1',
      name: 'rf',
      status: 'ok',
      duration: 2,
      metrics: { accuracy: 0.8, auc: 0.9, log_loss: 0.31 },
      headline: 'auc'
    });
    expect(badgeMetric(marker!, 'LOG_LOSS')).toEqual(['log_loss', 0.31]);
    expect(badgeMetric(marker!, 'f1')).toEqual(['auc', 0.9]);
    expect(badgeMetric(marker!, '')).toEqual(['auc', 0.9]);
    // Markers written before the headline travelled: the first metric.
    const older = readMarker({
      run_id: 'r2',
      metric: { name: 'accuracy', value: 0.8 }
    });
    expect(badgeMetric(older!, '')).toEqual(['accuracy', 0.8]);
  });

  it('survives markers saved by older or damaged notebooks', () => {
    expect(readMarker(null)).toBeNull();
    expect(readMarker({ name: 'no id' })).toBeNull();
    const odd = readMarker({
      run_id: '0123456789abcdef',
      status: 'exploded',
      metric: { name: 'auc', value: 'high' }
    });
    expect(odd).toEqual({
      runId: '0123456789abcdef',
      name: '0123456789ab',
      status: 'unknown',
      duration: null,
      metrics: {},
      headline: null
    });
    expect(badgeMetric(odd!, 'auc')).toBeNull();
    expect([statusSymbol(odd!.status), statusText(odd!.status)]).toEqual([
      '?',
      'status unknown'
    ]);
    // Names an object inherits are no metrics; an array is no table of metrics.
    const tricky = readMarker({
      run_id: 'r3',
      status: 'toString',
      headline: 'constructor',
      metrics: [0.5, 0.7]
    });
    expect(tricky).toMatchObject({
      status: 'unknown',
      headline: null,
      metrics: {}
    });
    expect(badgeMetric(tricky!, 'constructor')).toBeNull();
  });
});

describe('comparison parameters', () => {
  it('shows the parameters every run sets and counts those only some runs set', () => {
    const { shared, partial } = differingParams([
      { name: 'C', values: [1, 0.5], differs: true },
      { name: 'max_iter', values: [500, 500], differs: false },
      { name: 'max_depth', values: [null, 3], differs: true },
      { name: 'learning_rate', values: [null, 0.1], differs: true }
    ]);
    expect(shared.map(param => param.name)).toEqual(['C']);
    expect(partial).toBe(2);
  });
});

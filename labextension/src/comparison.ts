/** The comparison of ticked runs, drawn in the panel from the server's comparison data. */

import { button, h } from './dom';
import { formatMetric, formatValue, statusSymbol } from './format';
import type { IComparison } from './types';

export interface IComparisonActions {
  insertCell(): void;
  close(): void;
}

export function renderComparison(
  comparison: IComparison,
  actions: IComparisonActions
): HTMLElement {
  const head = h(
    'tr',
    {},
    h('th', {}, ''),
    ...comparison.runs.map(run =>
      h(
        'th',
        {
          title: `${run.label} (run ${run.run_id})`,
          className: `jp-ModelBook-status-${run.status}`
        },
        `${statusSymbol(run.status)} ${run.label}`
      )
    )
  );
  const rows: HTMLTableRowElement[] = [];
  for (const metric of comparison.metrics) {
    const cells = metric.values.map((value, index) => {
      const best = metric.best === index;
      return h(
        'td',
        {
          className: best ? 'jp-ModelBook-best' : '',
          title: `${formatMetric(value)}${best ? ' (best)' : ''}`
        },
        formatMetric(value) + (best ? ' ★' : '')
      );
    });
    const headline = metric.name === comparison.headline;
    rows.push(
      h(
        'tr',
        { className: headline ? 'jp-ModelBook-headline' : '' },
        h('th', { title: metric.name }, metric.name),
        ...cells
      )
    );
  }
  const { shared, partial } = differingParams(comparison.params);
  for (const param of shared) {
    rows.push(
      h(
        'tr',
        { className: 'jp-ModelBook-param' },
        h('th', { title: param.name }, param.name),
        ...param.values.map(value =>
          h('td', { title: formatValue(value) }, formatValue(value))
        )
      )
    );
  }
  const notes = comparison.runs.slice(1).flatMap((run, index) => {
    const found: string[] = [];
    if (comparison.code_changed[index]) {
      found.push(`${run.label}: code differs from ${comparison.runs[0].label}`);
    }
    const data = comparison.data[index];
    if (data) {
      found.push(`${run.label}: ${data}`);
    }
    return found;
  });
  return h(
    'section',
    {
      className: 'jp-ModelBook-comparison',
      attrs: { 'aria-label': 'Comparison' }
    },
    h(
      'div',
      { className: 'jp-ModelBook-comparisonHeader' },
      h('h3', {}, `Comparing ${comparison.runs.length} runs`),
      button(
        'Insert cell',
        'jp-mod-styled jp-ModelBook-insertComparison',
        actions.insertCell,
        'Add a cell with mb.compare(...) below the active cell and run it'
      ),
      button(
        '×',
        'jp-mod-minimal jp-ModelBook-close',
        actions.close,
        'Close the comparison'
      )
    ),
    h('table', {}, h('thead', {}, head), h('tbody', {}, ...rows)),
    shared.length === 0 && partial === 0
      ? h('p', { className: 'jp-ModelBook-note' }, 'Same parameters.')
      : null,
    partial > 0
      ? h(
          'p',
          { className: 'jp-ModelBook-note' },
          `${partial} more parameter(s) set in only some of these runs (other model families): Insert cell shows them all.`
        )
      : null,
    notes.length > 0
      ? h(
          'ul',
          { className: 'jp-ModelBook-notes' },
          ...notes.map(note => h('li', {}, note))
        )
      : null
  );
}

/**
 * The parameters that differ, split: those every run sets (shown side by side) and how many
 * only some runs set (a logistic regression has no `max_depth`: listing them fills a panel).
 */
export function differingParams(params: IComparison['params']): {
  shared: IComparison['params'];
  partial: number;
} {
  const differing = params.filter(param => param.differs);
  const shared = differing.filter(param =>
    param.values.every(value => value !== null && value !== undefined)
  );
  return { shared, partial: differing.length - shared.length };
}

/** The code cell "Insert cell" adds: the full comparison widget, kept in the notebook. */
export function comparisonCell(runIds: readonly string[]): string {
  const refs = runIds.map(id => JSON.stringify(id)).join(', ');
  return `import nbmodelbook as mb\n\nmb.compare(${refs})`;
}

/** The Model Book side panel: the active notebook's runs, a filter, ticks and actions. */

import { Widget } from '@lumino/widgets';

import { renderComparison } from './comparison';
import { button, h } from './dom';
import {
  formatAge,
  formatDuration,
  formatMetric,
  statusSymbol,
  statusText
} from './format';
import type { RunsModel } from './model';
import type { IComparison, IRunSummary } from './types';

export interface IPanelActions {
  refresh(): void;
  showRun(runId: string): void;
  compare(runIds: string[]): void;
  insertComparison(runIds: string[]): void;
  annotate(): void;
  exportReport(): void;
}

export type MessageLevel = 'info' | 'warning' | 'error';

export class RunsPanel extends Widget {
  private readonly filterInput: HTMLInputElement;
  private readonly summary: HTMLElement;
  private readonly list: HTMLOListElement;
  private readonly message: HTMLElement;
  private readonly compareButton: HTMLButtonElement;
  private readonly comparisonArea: HTMLElement;
  private readonly notebookName: HTMLElement;
  private highlighted: string | null = null;
  private comparedIds: string[] = [];
  private clock: number | undefined;

  constructor(
    private readonly model: RunsModel,
    private readonly actions: IPanelActions
  ) {
    super();
    this.addClass('jp-ModelBook');
    this.title.caption = 'Model Book: runs of this notebook';
    this.notebookName = h('span', { className: 'jp-ModelBook-notebook' });
    this.filterInput = h('input', {
      className: 'jp-mod-styled jp-ModelBook-filter',
      attrs: {
        type: 'search',
        placeholder: 'Filter: name, tag, status, param…',
        'aria-label': 'Filter runs'
      }
    });
    this.filterInput.addEventListener('input', () =>
      model.setFilter(this.filterInput.value)
    );
    this.summary = h('div', {
      className: 'jp-ModelBook-summary',
      attrs: { role: 'status' }
    });
    this.list = h('ol', {
      className: 'jp-ModelBook-runs',
      attrs: { 'aria-label': 'Runs' }
    });
    this.message = h('div', {
      className: 'jp-ModelBook-message',
      attrs: { role: 'alert' }
    });
    this.message.hidden = true;
    this.compareButton = button(
      'Compare',
      'jp-mod-styled jp-mod-accept jp-ModelBook-compare',
      () => actions.compare(model.selectedRuns().map(run => run.run_id)),
      'Compare the ticked runs (2 to 20)'
    );
    this.comparisonArea = h('div', {
      className: 'jp-ModelBook-comparisonArea'
    });
    this.node.append(
      h(
        'header',
        { className: 'jp-ModelBook-header' },
        h('h2', {}, 'Model Book'),
        this.notebookName,
        button(
          '⟳',
          'jp-mod-minimal jp-ModelBook-refresh',
          () => actions.refresh(),
          'Refresh the runs'
        )
      ),
      this.filterInput,
      this.summary,
      this.message,
      this.list,
      h(
        'div',
        { className: 'jp-ModelBook-actions' },
        this.compareButton,
        button(
          'Annotate…',
          'jp-mod-styled jp-ModelBook-annotate',
          () => actions.annotate(),
          'Insert a decision, risk or limitation cell citing the ticked runs'
        ),
        button(
          'Export report',
          'jp-mod-styled jp-ModelBook-export',
          () => actions.exportReport(),
          'Write the review report next to the notebook and open it'
        )
      ),
      this.comparisonArea
    );
    model.onChange(() => this.render());
    this.render();
  }

  /** A message under the summary (cleared by the next one). */
  say(text: string, level: MessageLevel = 'info'): void {
    this.message.textContent = text;
    this.message.dataset.level = level;
    this.message.hidden = text === '';
  }

  /** Scroll to a run and mark it (a badge's link lands here). */
  highlight(runId: string): boolean {
    this.highlighted = runId;
    this.render();
    const row = this.list.querySelector(`[data-run-id="${CSS.escape(runId)}"]`);
    row?.scrollIntoView({ block: 'nearest' });
    return row !== null;
  }

  showComparison(comparison: IComparison): void {
    this.comparedIds = comparison.runs.map(run => run.run_id);
    this.comparisonArea.replaceChildren(
      renderComparison(comparison, {
        insertCell: () => this.actions.insertComparison(this.comparedIds),
        close: () => this.closeComparison()
      })
    );
  }

  closeComparison(): void {
    this.comparedIds = [];
    this.comparisonArea.replaceChildren();
  }

  protected onAfterShow(): void {
    this.actions.refresh();
    // Ages ("5 min ago") stay true while the panel is open.
    window.clearInterval(this.clock);
    this.clock = window.setInterval(() => this.render(), 60_000);
  }

  protected onAfterHide(): void {
    window.clearInterval(this.clock);
  }

  dispose(): void {
    window.clearInterval(this.clock);
    super.dispose();
  }

  private render(): void {
    const model = this.model;
    this.notebookName.textContent = model.notebook
      ? (model.notebook.split('/').pop() ?? '')
      : '';
    this.notebookName.title = model.notebook ?? '';
    this.filterInput.disabled = model.notebook === null;
    this.summary.textContent = this.summaryText();
    this.node.classList.toggle('jp-mod-loading', model.loading);
    const metric = model.keyMetric();
    const best = model.bestRunId();
    const now = Date.now() / 1000;
    this.list.replaceChildren(
      ...model
        .visibleRuns()
        .map(run => this.row(run, metric, run.run_id === best, now))
    );
    const ticked = model.selectedRuns().length;
    this.compareButton.textContent =
      ticked > 0 ? `Compare (${ticked})` : 'Compare';
    this.compareButton.disabled = !model.canCompare();
  }

  private summaryText(): string {
    const model = this.model;
    if (model.notebook === null) {
      return 'Open a notebook to see its runs.';
    }
    if (model.error) {
      return model.error;
    }
    if (model.runs.length === 0) {
      return model.loading
        ? 'Loading runs…'
        : 'No runs yet: start a cell with %%track (after %load_ext nbmodelbook) and run it.';
    }
    const shown = model.visibleRuns().length;
    const parts = [
      model.filter
        ? `${shown} of ${model.runs.length} runs`
        : `${model.runs.length} runs`
    ];
    if (model.total > model.runs.length) {
      parts.push(`newest of ${model.total.toLocaleString('en-US')}`);
    }
    const metric = model.keyMetric();
    if (metric) {
      parts.push(`key metric ${metric}`);
    }
    return parts.join(' · ');
  }

  private row(
    run: IRunSummary,
    metric: string | null,
    best: boolean,
    now: number
  ): HTMLLIElement {
    const tick = h('input', {
      attrs: { type: 'checkbox', 'aria-label': `Select ${run.name}` }
    });
    tick.checked = this.model.isSelected(run.run_id);
    tick.addEventListener('click', event => event.stopPropagation());
    tick.addEventListener('change', () => this.model.toggle(run.run_id));
    const value =
      metric !== null && metric in run.metrics
        ? `${metric} ${formatMetric(run.metrics[metric])}`
        : '';
    const details = [formatDuration(run.duration), formatAge(run.started, now)]
      .filter(Boolean)
      .join(' · ');
    const classes = ['jp-ModelBook-run', `jp-ModelBook-status-${run.status}`];
    if (run.run_id === this.highlighted) {
      classes.push('jp-mod-highlighted');
    }
    if (best) {
      classes.push('jp-ModelBook-bestRun');
    }
    const tooltip = [
      `${run.name} — ${statusText(run.status)}`,
      run.error ?? '',
      run.tags.length ? `tags: ${run.tags.join(', ')}` : '',
      'Click to show its cell'
    ]
      .filter(Boolean)
      .join('\n');
    const row = h(
      'li',
      {
        className: classes.join(' '),
        title: tooltip,
        attrs: { 'data-run-id': run.run_id, tabindex: '0' }
      },
      tick,
      h(
        'span',
        {
          className: 'jp-ModelBook-statusIcon',
          attrs: { 'aria-label': statusText(run.status) }
        },
        statusSymbol(run.status)
      ),
      h('span', { className: 'jp-ModelBook-name' }, run.name),
      h(
        'span',
        { className: 'jp-ModelBook-meta' },
        value
          ? h(
              'span',
              { className: 'jp-ModelBook-metric' },
              value + (best ? ' ★' : '')
            )
          : null,
        h('span', { className: 'jp-ModelBook-details' }, details)
      ),
      run.tags.length > 0
        ? h(
            'span',
            { className: 'jp-ModelBook-tags' },
            run.tags.map(tag => `#${tag}`).join(' ')
          )
        : null
    );
    row.addEventListener('click', () => this.actions.showRun(run.run_id));
    row.addEventListener('keydown', event => {
      if (event.key === 'Enter') {
        this.actions.showRun(run.run_id);
      } else if (event.key === ' ') {
        event.preventDefault();
        this.model.toggle(run.run_id);
      }
    });
    return row;
  }
}

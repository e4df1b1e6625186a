/**
 * Keeps the Model Book panel on the active notebook: loads its runs when it becomes active,
 * when one of its cells finishes (or on a timer, by the settings), and carries out the
 * panel's actions on the notebook.
 */

import type { JupyterFrontEnd } from '@jupyterlab/application';
import { Notification } from '@jupyterlab/apputils';
import type { ICodeCellModel } from '@jupyterlab/cells';
import {
  NotebookActions,
  type INotebookTracker,
  type Notebook,
  type NotebookPanel
} from '@jupyterlab/notebook';

import { annotationKind, annotationMarkdown } from './annotation';
import { fetchComparison, fetchRun, fetchRuns } from './api';
import { locateRunCell, markerRunIds, type ICellInfo } from './cells';
import { comparisonCell } from './comparison';
import { badgePreferences, onShowRun } from './events';
import { chooseReportFormat, type FormatMemory } from './exportdialog';
import type { IPanelSettings, RunsModel } from './model';
import type { IPanelActions, RunsPanel } from './panel';
import { exportAndOpen } from './report';

/** After a cell finishes, look for its run after each of these pauses (ms). */
const RETRY_AFTER_EXECUTION = [300, 1500, 4000];

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function cellInfos(notebook: Notebook): ICellInfo[] {
  const cells = notebook.model?.cells;
  if (!cells) {
    return [];
  }
  const infos: ICellInfo[] = [];
  for (let index = 0; index < cells.length; index++) {
    const cell = cells.get(index);
    const outputs =
      cell.type === 'code' ? (cell as ICodeCellModel).outputs.toJSON() : [];
    infos.push({
      id: cell.id,
      source: cell.sharedModel.getSource(),
      markerRunIds: markerRunIds(outputs)
    });
  }
  return infos;
}

export class ModelBookController implements IPanelActions {
  panel: RunsPanel | null = null;
  private busy: Promise<boolean> | null = null;
  private again = false;
  private retryTimer: number | undefined;
  private intervalTimer: number | undefined;
  private watched: NotebookPanel | null = null;

  constructor(
    private readonly app: JupyterFrontEnd,
    private readonly tracker: INotebookTracker,
    private readonly model: RunsModel,
    private readonly formatMemory: FormatMemory
  ) {
    tracker.currentChanged.connect(() => this.follow(tracker.currentWidget));
    NotebookActions.executed.connect((_, { notebook }) => {
      if (
        notebook === this.tracker.currentWidget?.content &&
        this.model.settings.refresh !== 'manual'
      ) {
        this.refreshAfterExecution();
      }
    });
    onShowRun(runId => void this.revealInPanel(runId));
    this.follow(tracker.currentWidget);
  }

  applySettings(settings: IPanelSettings): void {
    const reload = settings.maxRuns !== this.model.settings.maxRuns;
    this.model.setSettings(settings);
    badgePreferences.keyMetric = settings.keyMetric;
    window.clearInterval(this.intervalTimer);
    if (settings.refresh === 'interval') {
      this.intervalTimer = window.setInterval(() => {
        if (this.panel?.isVisible && document.visibilityState === 'visible') {
          void this.refresh();
        }
      }, settings.refreshInterval * 1000);
    }
    if (reload) {
      this.model.etag = null;
      void this.refresh();
    }
  }

  /** Load the runs unless the store is unchanged; true when the list changed. */
  refresh(): Promise<boolean> {
    if (this.busy) {
      this.again = true;
      return this.busy;
    }
    this.busy = this.load().finally(() => {
      this.busy = null;
      if (this.again) {
        this.again = false;
        void this.refresh();
      }
    });
    return this.busy;
  }

  async showRun(runId: string): Promise<void> {
    const notebook = this.tracker.currentWidget;
    const run = this.model.run(runId);
    if (
      notebook === null ||
      run === undefined ||
      notebook.context.path !== this.model.notebook
    ) {
      return;
    }
    let code: string | undefined;
    try {
      code = (await fetchRun(notebook.context.path, runId)).code;
    } catch {
      code = undefined; // the cell is still found; only "edited" cannot be told
    }
    const location = locateRunCell(cellInfos(notebook.content), run, code);
    if (!location.found) {
      this.panel?.say(
        `The cell of run “${run.name}” is no longer in this notebook: it was deleted, or the run was made in another copy of the notebook.`,
        'warning'
      );
      return;
    }
    const content = notebook.content;
    content.deselectAll();
    content.activeCellIndex = location.index;
    content.mode = 'command';
    const cell = content.widgets[location.index];
    if (cell) {
      await content.scrollToCell(cell, 'center');
    }
    this.app.shell.activateById(notebook.id);
    this.panel?.say(
      location.edited
        ? `Cell ${location.index + 1} was edited after run “${run.name}”: its code now differs from what ran.`
        : `Run “${run.name}” came from cell ${location.index + 1}.`,
      location.edited ? 'warning' : 'info'
    );
  }

  async compare(runIds: string[]): Promise<void> {
    const notebook = this.model.notebook;
    if (notebook === null || runIds.length < 2) {
      return;
    }
    try {
      const comparison = await fetchComparison(notebook, runIds);
      if (notebook === this.model.notebook) {
        this.panel?.showComparison(comparison);
        this.panel?.say('');
      }
    } catch (error) {
      if (notebook === this.model.notebook) {
        this.panel?.say(`Cannot compare: ${message(error)}`, 'error');
      }
    }
  }

  async insertComparison(runIds: string[]): Promise<void> {
    const notebook = this.tracker.currentWidget;
    if (notebook === null) {
      return;
    }
    const content = notebook.content;
    NotebookActions.insertBelow(content);
    NotebookActions.changeCellType(content, 'code');
    content.activeCell?.model.sharedModel.setSource(comparisonCell(runIds));
    await NotebookActions.run(content, notebook.sessionContext);
  }

  annotate(): void {
    void this.app.commands.execute('nbmodelbook:insert-annotation');
  }

  exportReport(): void {
    void this.app.commands.execute('nbmodelbook:export-report');
  }

  /** Insert an annotation cell of `kind` below the active cell, citing the ticked runs. */
  insertAnnotation(kind: string): boolean {
    const notebook = this.tracker.currentWidget;
    const entry = annotationKind(kind);
    if (notebook === null || entry === undefined) {
      return false;
    }
    const citations =
      notebook.context.path === this.model.notebook
        ? this.model.selectedRuns().map(run => this.model.citation(run.run_id))
        : [];
    const content = notebook.content;
    NotebookActions.insertBelow(content);
    NotebookActions.changeCellType(content, 'markdown');
    content.activeCell?.model.sharedModel.setSource(
      annotationMarkdown(entry, citations)
    );
    content.mode = 'edit';
    if (citations.length === 0) {
      Notification.info(
        'Tick runs in the Model Book panel before inserting an annotation to cite them as evidence.',
        {
          autoClose: 6000
        }
      );
    }
    return true;
  }

  /** Export the active notebook's report: in `format`, else in the one chosen in the dialog. */
  async exportCurrent(format?: string): Promise<void> {
    const notebook = this.tracker.currentWidget;
    if (notebook === null) {
      return;
    }
    const chosen =
      format ??
      (await chooseReportFormat(
        notebook.context.path,
        this.model.settings.reportFormat,
        this.formatMemory
      ));
    if (chosen !== null) {
      await exportAndOpen(this.app, notebook, chosen);
    }
  }

  /** A badge's link: open the panel on that run. */
  private async revealInPanel(runId: string): Promise<void> {
    if (this.panel === null) {
      return;
    }
    this.app.shell.activateById(this.panel.id);
    if (this.model.run(runId) === undefined) {
      await this.refresh();
    }
    if (!this.panel.highlight(runId)) {
      this.panel.say(
        'That run is not among the runs listed for this notebook.',
        'warning'
      );
    }
  }

  private follow(notebook: NotebookPanel | null): void {
    if (this.watched !== null) {
      this.watched.context.pathChanged.disconnect(this.onPathChanged, this);
    }
    this.watched = notebook;
    if (notebook === null) {
      this.model.setNotebook(null);
      return;
    }
    notebook.context.pathChanged.connect(this.onPathChanged, this);
    void notebook.context.ready.then(() => {
      if (this.watched === notebook) {
        this.model.setNotebook(notebook.context.path);
        this.panel?.closeComparison();
        this.panel?.say('');
        void this.refresh();
      }
    });
  }

  private onPathChanged(): void {
    if (this.watched !== null) {
      this.model.setNotebook(this.watched.context.path);
      void this.refresh();
    }
  }

  /** A cell finished: its run is written by the kernel's writer thread moments later, so look
   * a few times (an unchanged store answers 304 at once). */
  private refreshAfterExecution(): void {
    window.clearTimeout(this.retryTimer);
    const attempt = (step: number) => {
      this.retryTimer = window.setTimeout(() => {
        void this.refresh();
        if (step + 1 < RETRY_AFTER_EXECUTION.length) {
          attempt(step + 1);
        }
      }, RETRY_AFTER_EXECUTION[step]);
    };
    attempt(0);
  }

  private async load(): Promise<boolean> {
    const notebook = this.model.notebook;
    if (notebook === null) {
      return false;
    }
    this.model.setLoading(true);
    try {
      const result = await fetchRuns(
        notebook,
        this.model.settings.maxRuns,
        this.model.etag
      );
      if (result === null) {
        this.model.setLoading(false);
        return false;
      }
      this.model.update(result.list, result.etag);
      return true;
    } catch (error) {
      if (notebook === this.model.notebook) {
        this.model.setError(`Runs could not be loaded: ${message(error)}`);
      }
      return false;
    }
  }
}

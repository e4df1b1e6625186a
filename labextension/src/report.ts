/** Export review report: write it next to the notebook, open it sandboxed, say how it went. */

import type { JupyterFrontEnd } from '@jupyterlab/application';
import {
  Dialog,
  MainAreaWidget,
  Notification,
  showDialog,
  showErrorMessage
} from '@jupyterlab/apputils';
import type { NotebookPanel } from '@jupyterlab/notebook';
import { ServerConnection } from '@jupyterlab/services';
import { Widget } from '@lumino/widgets';

import { ApiError, exportReport, reportUrl } from './api';
import { h } from './dom';
import { reportIcon } from './icons';
import type { ReportFormat } from './model';
import type { IReadinessItem } from './types';

/** A written report in a Lab tab: an iframe with every sandbox restriction (no script runs). */
class ReportView extends Widget {
  private readonly frame: HTMLIFrameElement;

  constructor() {
    super();
    this.addClass('jp-ModelBook-report');
    this.frame = h('iframe', {
      attrs: {
        sandbox: '',
        referrerpolicy: 'no-referrer',
        title: 'Review report'
      }
    });
    this.node.append(this.frame);
  }

  /** Load the report from the server (sandboxed there too); its own links then work. */
  load(url: string): void {
    this.frame.src = url;
  }
}

const openReports = new Map<string, MainAreaWidget<ReportView>>();

async function openReport(app: JupyterFrontEnd, report: string): Promise<void> {
  if (!report.endsWith('.html')) {
    await app.commands.execute('docmanager:open', { path: report });
    return;
  }
  // The tab's frame sends Jupyter's login cookie, not the token: check first that the report
  // is served, so a refusal is a clear message rather than an error page in the tab.
  const settings = ServerConnection.makeSettings();
  const url = reportUrl(report);
  const response = await ServerConnection.makeRequest(url, {}, settings);
  if (!response.ok) {
    throw new ApiError(
      `The report was written but cannot be shown (${response.status}): open ${report} from the file browser`,
      response.status
    );
  }
  let widget = openReports.get(report);
  if (widget === undefined || widget.isDisposed) {
    widget = new MainAreaWidget({ content: new ReportView() });
    widget.id = `nbmodelbook-report-${openReports.size}-${Date.now()}`;
    widget.title.label = `Review: ${report.split('/').pop()}`;
    widget.title.caption = report;
    widget.title.icon = reportIcon;
    widget.title.closable = true;
    openReports.set(report, widget);
    app.shell.add(widget, 'main', { mode: 'split-right' });
  }
  // A new query each time, so an export of the same notebook shows its new report.
  widget.content.load(`${url}&shown=${Date.now()}`);
  app.shell.activateById(widget.id);
}

function findingsList(items: readonly IReadinessItem[]): HTMLElement {
  return h(
    'ul',
    { className: 'jp-ModelBook-findings' },
    ...items.map(item =>
      h(
        'li',
        { className: item.blocking ? 'jp-mod-blocking' : '' },
        `${item.blocking ? '✗' : '!'} ${item.cell !== null ? `cell ${item.cell}: ` : ''}${item.message}`
      )
    )
  );
}

function showFindings(
  title: string,
  message: string,
  items: readonly IReadinessItem[]
): Promise<unknown> {
  const body = new Widget({
    node: h(
      'div',
      { className: 'jp-ModelBook-findingsDialog' },
      h('p', {}, message),
      findingsList(items)
    )
  });
  return showDialog({
    title,
    body,
    buttons: [Dialog.okButton({ label: 'OK' })]
  });
}

export async function exportAndOpen(
  app: JupyterFrontEnd,
  notebook: NotebookPanel,
  format: ReportFormat
): Promise<void> {
  const progress = Notification.emit(
    `Writing the review report of ${notebook.context.path}…`,
    'in-progress',
    { autoClose: false }
  );
  try {
    if (notebook.context.model.dirty) {
      await notebook.context.save(); // the report reads the notebook as saved
    }
    const result = await exportReport(notebook.context.path, format);
    await openReport(app, result.report);
    Notification.update({
      id: progress,
      message: `Review report written: ${result.report}`,
      type: 'success',
      autoClose: 6000
    });
    const blocking = result.items.filter(item => item.blocking);
    if (!result.ready) {
      Notification.warning(
        `The notebook is not ready for review yet: ${blocking.length} finding(s) a reviewer would raise.`,
        {
          autoClose: false,
          actions: [
            {
              label: 'Show findings',
              callback: () =>
                void showFindings(
                  'Not ready for review',
                  'The report is written. Before a committee sees it:',
                  result.items
                )
            }
          ]
        }
      );
    }
  } catch (error) {
    Notification.dismiss(progress);
    if (error instanceof ApiError && error.items.length > 0) {
      await showFindings(
        'Review report not written',
        error.message,
        error.items
      );
    } else {
      await showErrorMessage(
        'Review report not written',
        error instanceof Error ? error.message : String(error)
      );
    }
  }
}

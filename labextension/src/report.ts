/**
 * Export review report: write it next to the notebook, show it (HTML in a sandboxed tab, what
 * Lab has a viewer for in that viewer), offer it as a download, say how it went.
 */

import type { JupyterFrontEnd } from '@jupyterlab/application';
import {
  Dialog,
  MainAreaWidget,
  Notification,
  showDialog,
  showErrorMessage
} from '@jupyterlab/apputils';
import type { IDocumentWidget } from '@jupyterlab/docregistry';
import type { NotebookPanel } from '@jupyterlab/notebook';
import { ServerConnection } from '@jupyterlab/services';
import { Widget } from '@lumino/widgets';

import { ApiError, exportReport, reportUrl } from './api';
import { h } from './dom';
import { reportIcon } from './icons';
import type { ReportFormat } from './model';
import { reportDisplay } from './reportformats';
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

/** Save the written file through the browser, from Jupyter's files URL (as the file browser's
 * Download does): the way to a file Lab cannot show, such as a Word report. */
async function downloadReport(
  app: JupyterFrontEnd,
  report: string
): Promise<void> {
  const url = await app.serviceManager.contents.getDownloadUrl(report);
  const link = h('a', {
    attrs: { href: url, download: report.split('/').pop() ?? '' }
  });
  link.style.display = 'none';
  document.body.append(link);
  link.click();
  link.remove();
}

function isDocumentWidget(widget: Widget): widget is IDocumentWidget {
  const context = (widget as { context?: { path?: unknown } }).context;
  return typeof context?.path === 'string';
}

function openDocument(
  app: JupyterFrontEnd,
  path: string
): IDocumentWidget | undefined {
  for (const widget of app.shell.widgets('main')) {
    if (isDocumentWidget(widget) && widget.context.path === path) {
      return widget;
    }
  }
  return undefined;
}

/** Show the written report; false when Lab has nothing to show it in (download only). */
async function showReport(
  app: JupyterFrontEnd,
  report: string
): Promise<boolean> {
  const display = reportDisplay(
    report,
    app.docRegistry.getFileTypesForPath(report).length > 0
  );
  if (display === 'download-only') {
    return false;
  }
  if (display === 'lab') {
    // A tab still showing an earlier export reads the new file: Lab does not watch files.
    // The report is written either way: a tab that cannot reread it keeps what it shows.
    await openDocument(app, report)
      ?.context.revert()
      .catch(error => console.warn('nbmodelbook: could not reload', error));
    // Lab's own viewer for the type: Markdown and JSON as text, a PDF in its PDF viewer.
    await app.commands.execute('docmanager:open', { path: report });
    return true;
  }
  await openReportTab(app, report);
  return true;
}

async function openReportTab(
  app: JupyterFrontEnd,
  report: string
): Promise<void> {
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
    const shown = await showReport(app, result.report);
    const extension = result.report.split('.').pop() ?? '';
    Notification.update({
      id: progress,
      message: shown
        ? `Review report written: ${result.report}`
        : `Review report written: ${result.report}. JupyterLab cannot show .${extension} files: download it to open it.`,
      type: 'success',
      autoClose: shown ? 6000 : false,
      actions: [
        {
          label: 'Download',
          caption: `Download ${result.report}`,
          callback: () => void downloadReport(app, result.report)
        }
      ]
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

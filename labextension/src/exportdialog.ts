/**
 * The export dialog: the report formats the server offers, one to pick, the ones this server
 * cannot write greyed out with the reason. It starts on the last choice (remembered in Lab's
 * state database, per workspace), else on the settings' format.
 */

import { Dialog, showDialog, showErrorMessage } from '@jupyterlab/apputils';
import type { IStateDB } from '@jupyterlab/statedb';
import { Widget } from '@lumino/widgets';

import { fetchFormats } from './api';
import { h } from './dom';
import {
  proposedFormat,
  readRemembered,
  reportName,
  unlistedSetting,
  type IRememberedFormat
} from './reportformats';
import type { IReportFormatInfo } from './types';

const STATE_KEY = 'nbmodelbook:export-format';

/** The last format chosen, kept in the state database when Lab has one, else for the page. */
export class FormatMemory {
  private last: IRememberedFormat | null = null;

  constructor(private readonly state: IStateDB | null) {}

  async recall(): Promise<IRememberedFormat | null> {
    if (this.last === null && this.state !== null) {
      try {
        this.last = readRemembered(await this.state.fetch(STATE_KEY));
      } catch {
        this.last = null; // an unreadable entry is as good as none
      }
    }
    return this.last;
  }

  async remember(format: string, setting: string): Promise<void> {
    this.last = { format, setting };
    try {
      await this.state?.save(STATE_KEY, { format, setting });
    } catch (error) {
      console.warn(
        'nbmodelbook: the report format could not be remembered',
        error
      );
    }
  }
}

/** One option per format; a format this server cannot write is shown, disabled, with why. */
class FormatChooser
  extends Widget
  implements Dialog.IBodyWidget<string | null>
{
  private readonly inputs: HTMLInputElement[] = [];

  constructor(
    notebook: string,
    formats: readonly IReportFormatInfo[],
    proposed: string | null,
    note: string | null
  ) {
    super();
    this.addClass('jp-ModelBook-exportDialog');
    const list = h('div', {
      className: 'jp-ModelBook-formats',
      attrs: { role: 'radiogroup', 'aria-label': 'Report format' }
    });
    for (const entry of formats) {
      const input = h('input', {
        attrs: { type: 'radio', name: 'nbmodelbook-report-format' }
      });
      input.value = entry.name;
      input.checked = entry.name === proposed;
      input.disabled = !entry.available;
      this.inputs.push(input);
      list.append(
        h(
          'label',
          {
            className: `jp-ModelBook-format${entry.available ? '' : ' jp-mod-disabled'}`,
            attrs: { 'data-format': entry.name },
            title: entry.reason ?? entry.description
          },
          input,
          h(
            'span',
            { className: 'jp-ModelBook-formatText' },
            h('span', { className: 'jp-ModelBook-formatName' }, entry.name),
            h(
              'span',
              { className: 'jp-ModelBook-formatFile' },
              reportName(notebook, entry)
            ),
            h(
              'span',
              { className: 'jp-ModelBook-formatDescription' },
              entry.description
            ),
            entry.available
              ? null
              : h(
                  'span',
                  { className: 'jp-ModelBook-formatReason' },
                  `Not available on this server: ${entry.reason ?? 'no reason given'}`
                )
          )
        )
      );
    }
    this.node.append(
      h(
        'p',
        {},
        'The report is written next to the notebook. Choose its format:'
      ),
      list
    );
    if (note !== null) {
      this.node.append(h('p', { className: 'jp-ModelBook-formatNote' }, note));
    }
  }

  getValue(): string | null {
    return this.inputs.find(input => input.checked)?.value ?? null;
  }
}

/**
 * Ask which format to export the notebook's report in; null when the dialog is cancelled or
 * the formats cannot be listed (that is said in an error dialog).
 */
export async function chooseReportFormat(
  notebook: string,
  setting: string,
  memory: FormatMemory
): Promise<string | null> {
  let formats: IReportFormatInfo[];
  try {
    formats = await fetchFormats();
  } catch (error) {
    await showErrorMessage(
      'Review report formats not available',
      error instanceof Error ? error.message : String(error)
    );
    return null;
  }
  const proposed = proposedFormat(formats, setting, await memory.recall());
  const body = new FormatChooser(
    notebook,
    formats,
    proposed,
    unlistedSetting(formats, setting)
  );
  const result = await showDialog({
    title: `Export review report of ${notebook.split('/').pop() ?? notebook}`,
    body,
    buttons: [
      Dialog.cancelButton(),
      Dialog.okButton({
        label: 'Export',
        ariaLabel: 'Export the review report'
      })
    ],
    focusNodeSelector: 'input:checked'
  });
  const chosen = result.button.accept ? result.value : null;
  if (chosen) {
    await memory.remember(chosen, setting);
  }
  return chosen ?? null;
}

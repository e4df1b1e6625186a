/** nbmodelbook for JupyterLab: the Model Book panel, review report export and annotations. */

import {
  ILayoutRestorer,
  type JupyterFrontEnd,
  type JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  ICommandPalette,
  InputDialog,
  ToolbarButton
} from '@jupyterlab/apputils';
import type { DocumentRegistry } from '@jupyterlab/docregistry';
import {
  INotebookTracker,
  type INotebookModel,
  type NotebookPanel
} from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IStateDB } from '@jupyterlab/statedb';
import type { IDisposable } from '@lumino/disposable';

import { ANNOTATION_KINDS, annotationKind } from './annotation';
import { fetchFormats } from './api';
import { ModelBookController } from './controller';
import { FormatMemory } from './exportdialog';
import { modelBookIcon, reportIcon } from './icons';
import { RunsModel, readSettings } from './model';
import { RunsPanel } from './panel';

const PLUGIN_ID = 'nbmodelbook:plugin';
const PANEL_ID = 'nbmodelbook-panel';

export const CommandIDs = {
  exportReport: 'nbmodelbook:export-report',
  insertAnnotation: 'nbmodelbook:insert-annotation',
  showPanel: 'nbmodelbook:show-panel',
  refresh: 'nbmodelbook:refresh'
} as const;

/** The "Review report" button on every notebook's toolbar. */
class ExportButton implements DocumentRegistry.IWidgetExtension<
  NotebookPanel,
  INotebookModel
> {
  constructor(private readonly app: JupyterFrontEnd) {}

  createNew(panel: NotebookPanel): IDisposable {
    const button = new ToolbarButton({
      className: 'jp-ModelBook-exportButton',
      icon: reportIcon,
      label: 'Review report',
      tooltip:
        'Export review report: choose its format, write it next to the notebook and open it',
      onClick: () => void this.app.commands.execute(CommandIDs.exportReport)
    });
    panel.toolbar.insertItem(10, 'nbmodelbook-export', button);
    return button;
  }
}

function addCommands(
  app: JupyterFrontEnd,
  tracker: INotebookTracker,
  controller: ModelBookController,
  palette: ICommandPalette | null
): void {
  const hasNotebook = () => tracker.currentWidget !== null;
  app.commands.addCommand(CommandIDs.exportReport, {
    label: args =>
      typeof args.format === 'string'
        ? `Export Review Report (${args.format})`
        : 'Export Review Report…',
    caption:
      'Write the review report next to the notebook and open it (without a format given, a dialog offers the formats the server can write)',
    icon: reportIcon,
    isEnabled: hasNotebook,
    execute: args =>
      controller.exportCurrent(
        typeof args.format === 'string' ? args.format : undefined
      )
  });
  app.commands.addCommand(CommandIDs.insertAnnotation, {
    label: args => {
      const kind = annotationKind(String(args.kind ?? ''));
      return kind ? `Insert ${kind.label} Annotation` : 'Insert Annotation…';
    },
    caption:
      'Insert a Markdown annotation cell citing the runs ticked in the Model Book panel',
    isEnabled: hasNotebook,
    execute: async args => {
      let kind = typeof args.kind === 'string' ? args.kind : '';
      if (!annotationKind(kind)) {
        const choice = await InputDialog.getItem({
          title: 'Insert annotation',
          label: 'What does it record?',
          items: ANNOTATION_KINDS.map(entry => entry.label),
          current: 0
        });
        if (!choice.button.accept || choice.value === null) {
          return false;
        }
        kind = choice.value;
      }
      return controller.insertAnnotation(kind);
    }
  });
  app.commands.addCommand(CommandIDs.showPanel, {
    label: 'Show Model Book Panel',
    icon: modelBookIcon,
    execute: () => app.shell.activateById(PANEL_ID)
  });
  app.commands.addCommand(CommandIDs.refresh, {
    label: 'Refresh Model Book',
    execute: () => controller.refresh()
  });
  if (palette) {
    const category = 'Model Book';
    palette.addItem({ command: CommandIDs.exportReport, category });
    palette.addItem({ command: CommandIDs.insertAnnotation, category });
    for (const entry of ANNOTATION_KINDS.slice(0, 4)) {
      palette.addItem({
        command: CommandIDs.insertAnnotation,
        category,
        args: { kind: entry.kind }
      });
    }
    palette.addItem({ command: CommandIDs.showPanel, category });
    palette.addItem({ command: CommandIDs.refresh, category });
  }
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description:
    'Model Book panel, review report export and annotations for nbmodelbook runs.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ICommandPalette, ISettingRegistry, ILayoutRestorer, IStateDB],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    palette: ICommandPalette | null,
    settingRegistry: ISettingRegistry | null,
    restorer: ILayoutRestorer | null,
    state: IStateDB | null
  ) => {
    const model = new RunsModel();
    const controller = new ModelBookController(
      app,
      tracker,
      model,
      new FormatMemory(state)
    );
    const panel = new RunsPanel(model, controller);
    panel.id = PANEL_ID;
    panel.title.icon = modelBookIcon;
    controller.panel = panel;
    app.shell.add(panel, 'right', { rank: 600 });
    restorer?.add(panel, PANEL_ID);
    addCommands(app, tracker, controller, palette);
    app.docRegistry.addWidgetExtension('Notebook', new ExportButton(app));
    // The server learns once whether each format can be written (loading WeasyPrint takes
    // seconds): ask when Lab is up, so the export dialog opens at once.
    void app.restored.then(() => fetchFormats()).catch(() => undefined);
    if (settingRegistry) {
      void settingRegistry
        .load(PLUGIN_ID)
        .then(settings => {
          const apply = () =>
            controller.applySettings(
              readSettings(settings.composite as Record<string, unknown>)
            );
          settings.changed.connect(apply);
          apply();
        })
        .catch(error =>
          console.warn(
            'nbmodelbook: settings could not be loaded; using defaults',
            error
          )
        );
    }
  }
};

export default plugin;

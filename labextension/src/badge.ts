/**
 * The badge on each tracked cell: a renderer for the run marker's mimetype. The marker holds
 * that mimetype alone (an older one also an empty text/plain), so frontends without this
 * extension render nothing for it: JupyterLab's output area puts an empty widget where no
 * renderer matches.
 */

import type { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Widget } from '@lumino/widgets';

import { RUN_MIMETYPE } from './cells';
import { h } from './dom';
import { badgePreferences, requestShowRun } from './events';
import {
  formatDuration,
  formatMetric,
  statusSymbol,
  statusText
} from './format';
import { badgeMetric, readMarker } from './marker';

export class RunBadge extends Widget implements IRenderMime.IRenderer {
  constructor() {
    super();
    this.addClass('jp-ModelBook-badgeOutput');
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const marker = readMarker(model.data[RUN_MIMETYPE]);
    if (marker === null) {
      this.node.replaceChildren();
      return;
    }
    const metric = badgeMetric(marker, badgePreferences.keyMetric);
    const link = h(
      'button',
      {
        className: 'jp-ModelBook-badgeLink',
        title: 'Show this run in the Model Book panel'
      },
      'Model Book ›'
    );
    link.type = 'button';
    link.addEventListener('click', () => requestShowRun(marker.runId));
    this.node.replaceChildren(
      h(
        'div',
        {
          className: `jp-ModelBook-badge jp-ModelBook-status-${marker.status}`,
          title: `run ${marker.runId} — ${statusText(marker.status)}`,
          attrs: { 'data-run-id': marker.runId }
        },
        h(
          'span',
          { className: 'jp-ModelBook-statusIcon' },
          statusSymbol(marker.status)
        ),
        h('span', { className: 'jp-ModelBook-badgeName' }, marker.name),
        metric
          ? h(
              'span',
              { className: 'jp-ModelBook-badgeMetric' },
              `${metric[0]} ${formatMetric(metric[1])}`
            )
          : null,
        marker.duration !== null
          ? h(
              'span',
              { className: 'jp-ModelBook-badgeDuration' },
              formatDuration(marker.duration)
            )
          : null,
        link
      )
    );
  }
}

const rendererFactory: IRenderMime.IRendererFactory = {
  safe: true,
  mimeTypes: [RUN_MIMETYPE],
  defaultRank: 0,
  createRenderer: () => new RunBadge()
};

const extension: IRenderMime.IExtension = {
  id: 'nbmodelbook:badge',
  description: 'Badges on tracked cells: run name, status and key metric.',
  rendererFactory,
  rank: 0,
  dataType: 'json'
};

export default extension;

/**
 * Which cell of the open notebook a run came from. The strongest link first: the run marker
 * the tracked cell left in its outputs, then the cell id the frontend sent with the execution.
 */

export const RUN_MIMETYPE = 'application/vnd.nbmodelbook.run+json';

/** What the lookup needs of a cell; built from the live notebook model. */
export interface ICellInfo {
  id: string;
  source: string;
  /** Run ids held by run markers in the cell's outputs. */
  markerRunIds: string[];
}

export type CellLocation =
  | { found: true; index: number; how: 'marker' | 'cell_id'; edited: boolean }
  | { found: false };

/** Run ids of the run markers in a list of output bundles (nbformat JSON). */
export function markerRunIds(outputs: readonly unknown[]): string[] {
  const ids: string[] = [];
  for (const output of outputs) {
    if (typeof output !== 'object' || output === null) {
      continue;
    }
    const data = (output as { data?: Record<string, unknown> }).data;
    const marker = data?.[RUN_MIMETYPE];
    if (typeof marker === 'object' && marker !== null) {
      const runId = (marker as { run_id?: unknown }).run_id;
      if (typeof runId === 'string') {
        ids.push(runId);
      }
    }
  }
  return ids;
}

/**
 * Where `run` ran. `code` (the run's recorded cell source), when known, tells whether the
 * cell was edited since: a run whose cell now holds other code is still found, but flagged.
 */
export function locateRunCell(
  cells: readonly ICellInfo[],
  run: { run_id: string; cell_id: string | null },
  code?: string
): CellLocation {
  const edited = (cell: ICellInfo) =>
    code !== undefined && normalise(cell.source) !== normalise(code);
  const byMarker = cells.findIndex(cell =>
    cell.markerRunIds.includes(run.run_id)
  );
  if (byMarker >= 0) {
    return {
      found: true,
      index: byMarker,
      how: 'marker',
      edited: edited(cells[byMarker])
    };
  }
  if (run.cell_id) {
    const byId = cells.findIndex(cell => cell.id === run.cell_id);
    if (byId >= 0) {
      return {
        found: true,
        index: byId,
        how: 'cell_id',
        edited: edited(cells[byId])
      };
    }
  }
  return { found: false };
}

/** Line endings and trailing blanks are not edits. */
function normalise(source: string): string {
  return source.replace(/\r\n?/g, '\n').replace(/\s+$/, '');
}

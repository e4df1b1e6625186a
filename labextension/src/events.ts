/**
 * What the badges and the panel share. Both live in this extension's bundle, so one module
 * instance holds the badge preferences, and a DOM event carries "show this run" to the panel.
 */

export const SHOW_RUN_EVENT = 'nbmodelbook:show-run';

export interface IShowRunDetail {
  runId: string;
}

export const badgePreferences = {
  /** The metric badges show when the run has it (else the run's first metric). */
  keyMetric: ''
};

export function requestShowRun(runId: string): void {
  document.dispatchEvent(
    new CustomEvent<IShowRunDetail>(SHOW_RUN_EVENT, { detail: { runId } })
  );
}

export function onShowRun(listener: (runId: string) => void): () => void {
  const handler = (event: Event) => {
    const detail = (event as CustomEvent<IShowRunDetail>).detail;
    if (detail && typeof detail.runId === 'string') {
      listener(detail.runId);
    }
  };
  document.addEventListener(SHOW_RUN_EVENT, handler);
  return () => document.removeEventListener(SHOW_RUN_EVENT, handler);
}

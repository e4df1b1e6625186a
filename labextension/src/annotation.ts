/** The Markdown an "Insert annotation" command writes: a `> [!KIND]` alert citing runs. */

export interface IAnnotationKind {
  kind: string;
  label: string;
  /** What the modeller is asked to write, as the alert's first line. */
  prompt: string;
}

/** The kinds the review report reads (nbmodelbook/report/model.py AnnotationKind). */
export const ANNOTATION_KINDS: readonly IAnnotationKind[] = [
  { kind: 'DECISION', label: 'Decision', prompt: 'Chose … because …' },
  { kind: 'REJECTED', label: 'Rejected', prompt: 'Rejected … because …' },
  { kind: 'RISK', label: 'Risk', prompt: 'What could go wrong …' },
  {
    kind: 'LIMITATION',
    label: 'Limitation',
    prompt: 'Where the model should not be used …'
  },
  { kind: 'ASSUMPTION', label: 'Assumption', prompt: 'The model assumes …' },
  { kind: 'DATA', label: 'Data', prompt: 'The data …' },
  { kind: 'METHOD', label: 'Method', prompt: 'The method …' },
  { kind: 'CONTEXT', label: 'Context', prompt: 'Why this model is needed …' }
];

export function annotationKind(kind: string): IAnnotationKind | undefined {
  const wanted = kind.trim().toUpperCase();
  return ANNOTATION_KINDS.find(entry => entry.kind === wanted);
}

/**
 * The annotation cell's source. `citations` are `run:` refs (names or id prefixes) of the
 * runs ticked in the panel; the first is the subject of a decision, the rest the evidence.
 */
export function annotationMarkdown(
  kind: IAnnotationKind,
  citations: readonly string[]
): string {
  const refs = citations.map(citation => `run:${citation}`);
  if (refs.length === 0) {
    return `> [!${kind.kind}] ${kind.prompt}`;
  }
  if (kind.kind === 'DECISION') {
    const lines = [`> [!DECISION] Chose ${refs[0]} because …`];
    if (refs.length > 1) {
      lines.push('>', `> Compared with ${refs.slice(1).join(', ')}.`);
    }
    return lines.join('\n');
  }
  if (kind.kind === 'REJECTED') {
    return `> [!REJECTED] Rejected ${refs.join(', ')} because …`;
  }
  return [
    `> [!${kind.kind}] ${kind.prompt}`,
    '>',
    `> Evidence: ${refs.join(', ')}.`
  ].join('\n');
}

import {
  ANNOTATION_KINDS,
  annotationKind,
  annotationMarkdown
} from '../src/annotation';

// The review report's annotation syntax: `> [!KIND] title` and `run:REF` refs.
const MARKER = /^> \[!([A-Z]+)\] \S/;
const REFS = /(?<![^\W_])run:([\w.-]+)/gi;

function refs(markdown: string): string[] {
  return [...markdown.matchAll(REFS)].map(match => match[1].replace(/\.$/, ''));
}

describe('annotations', () => {
  it('knows the kinds the report reads, by any case', () => {
    expect(ANNOTATION_KINDS.map(kind => kind.kind)).toEqual([
      'DECISION',
      'REJECTED',
      'RISK',
      'LIMITATION',
      'ASSUMPTION',
      'DATA',
      'METHOD',
      'CONTEXT'
    ]);
    expect(annotationKind(' risk ')?.kind).toBe('RISK');
    expect(annotationKind('verdict')).toBeUndefined();
  });

  it('writes a decision citing the chosen run in its title and the others as comparison', () => {
    const text = annotationMarkdown(annotationKind('decision')!, [
      'gbm-tuned',
      'logreg',
      '0190abcdef123456'
    ]);
    const lines = text.split('\n');
    expect(lines[0]).toMatch(MARKER);
    expect(lines[0]).toContain('run:gbm-tuned');
    expect(lines.every(line => line.startsWith('>'))).toBe(true);
    expect(refs(text)).toEqual(['gbm-tuned', 'logreg', '0190abcdef123456']);
  });

  it('cites every run of the other kinds, and writes a bare alert when none is ticked', () => {
    for (const kind of ANNOTATION_KINDS) {
      const text = annotationMarkdown(kind, ['a', 'b.c']);
      expect(text.split('\n')[0]).toMatch(
        new RegExp(`^> \\[!${kind.kind}\\] `)
      );
      expect(refs(text)).toEqual(['a', 'b.c']);
      expect(annotationMarkdown(kind, [])).toBe(
        `> [!${kind.kind}] ${kind.prompt}`
      );
    }
  });
});

import {
  proposedFormat,
  readRemembered,
  reportDisplay,
  reportName,
  unlistedSetting
} from '../src/reportformats';
import type { IReportFormatInfo } from '../src/types';

function format(
  name: string,
  available = true,
  reason: string | null = null
): IReportFormatInfo {
  return {
    name,
    description: `${name} report`,
    extension: `.${name}`,
    suffix: `.review.${name}`,
    available,
    reason: available ? null : reason
  };
}

const SERVER = [
  format('html'),
  format('md'),
  format('json'),
  format('pdf', false, 'WeasyPrint cannot find Pango'),
  format('docx')
];

describe('the format the export dialog proposes', () => {
  it('is the settings’ format until a choice is made, then the last choice', () => {
    expect(proposedFormat(SERVER, 'md', null)).toBe('md');
    expect(
      proposedFormat(SERVER, 'md', { format: 'docx', setting: 'md' })
    ).toBe('docx');
  });

  it('is the new setting once the setting changes after the last choice', () => {
    expect(
      proposedFormat(SERVER, 'json', { format: 'docx', setting: 'md' })
    ).toBe('json');
  });

  it('is never a format the server cannot write or does not list', () => {
    expect(proposedFormat(SERVER, 'pdf', null)).toBe('html');
    expect(proposedFormat(SERVER, 'md', { format: 'pdf', setting: 'md' })).toBe(
      'md'
    );
    expect(proposedFormat(SERVER, 'rtf', null)).toBe('html');
    expect(
      proposedFormat([format('html', false, 'x'), format('md')], 'html', null)
    ).toBe('md');
    expect(
      proposedFormat([format('html', false, 'x')], 'html', null)
    ).toBeNull();
    expect(proposedFormat([], 'html', null)).toBeNull();
  });
});

describe('the remembered choice', () => {
  it('is read back only when both names are format names', () => {
    expect(readRemembered({ format: 'pdf', setting: 'html' })).toEqual({
      format: 'pdf',
      setting: 'html'
    });
    for (const value of [
      null,
      'pdf',
      42,
      { format: 'pdf' },
      { format: '<b>', setting: 'html' },
      { format: 'pdf', setting: 7 }
    ]) {
      expect(readRemembered(value)).toBeNull();
    }
  });
});

describe('a written report', () => {
  it('opens HTML in the report tab, what Lab knows in Lab, and offers the rest to download', () => {
    expect(reportDisplay('work/credit.review.html', true)).toBe('report-tab');
    expect(reportDisplay('work/credit.review.HTM', false)).toBe('report-tab');
    expect(reportDisplay('work/credit.review.md', true)).toBe('lab');
    expect(reportDisplay('work/credit.review.pdf', true)).toBe('lab');
    expect(reportDisplay('work/credit.review.docx', false)).toBe(
      'download-only'
    );
  });

  it('is named after the notebook, with the format’s suffix', () => {
    expect(reportName('work/credit.ipynb', format('pdf'))).toBe(
      'credit.review.pdf'
    );
    expect(reportName('model.v2.ipynb', format('docx'))).toBe(
      'model.v2.review.docx'
    );
  });

  it('says when the settings name a format the server does not offer', () => {
    expect(unlistedSetting(SERVER, 'pdf')).toBeNull();
    expect(unlistedSetting(SERVER, 'rtf')).toBe(
      'The settings ask for “rtf” reports, which this server does not offer (it offers html, md, json, pdf, docx).'
    );
  });
});

/**
 * The report formats the export offers, without any DOM: which one the dialog proposes, and
 * how Lab shows a report once it is written. The server's registry is the list of formats;
 * nothing here names one beyond the default.
 */

import type { IReportFormatInfo } from './types';

/** The format a server always writes, and the settings' default. */
export const DEFAULT_REPORT_FORMAT = 'html';

/** How a format's name is spelt in the server's registry ("html", "md", "pdf", "docx"). */
const FORMAT_NAME = /^[a-z][a-z0-9_-]{0,31}$/;

export function isFormatName(value: unknown): value is string {
  return typeof value === 'string' && FORMAT_NAME.test(value);
}

/**
 * The format last chosen in the export dialog, with the settings' format when it was chosen:
 * once the setting changes, the new setting is proposed again.
 */
export interface IRememberedFormat {
  format: string;
  setting: string;
}

export function readRemembered(value: unknown): IRememberedFormat | null {
  if (typeof value !== 'object' || value === null) {
    return null;
  }
  const { format, setting } = value as Record<string, unknown>;
  return isFormatName(format) && isFormatName(setting)
    ? { format, setting }
    : null;
}

/**
 * The format the dialog starts on: the last choice (unless the setting changed since), else
 * the setting, else HTML, else the first the server can write; null when it can write none.
 * A format the server does not list, or cannot write, is never proposed.
 */
export function proposedFormat(
  formats: readonly IReportFormatInfo[],
  setting: string,
  remembered: IRememberedFormat | null
): string | null {
  const writable = (name: string | undefined) =>
    formats.some(entry => entry.name === name && entry.available);
  const wanted = [
    remembered?.setting === setting ? remembered.format : undefined,
    setting,
    DEFAULT_REPORT_FORMAT
  ];
  return (
    wanted.find(writable) ??
    formats.find(entry => entry.available)?.name ??
    null
  );
}

/** What to say when the settings name a format the server does not offer (null: it does). */
export function unlistedSetting(
  formats: readonly IReportFormatInfo[],
  setting: string
): string | null {
  if (formats.some(entry => entry.name === setting)) {
    return null;
  }
  const names = formats.map(entry => entry.name).join(', ');
  return `The settings ask for “${setting}” reports, which this server does not offer (it offers ${names}).`;
}

/**
 * How a written report is shown: HTML in the sandboxed report tab; a file Lab has a viewer or
 * editor for (Markdown, JSON, PDF) opened in it; anything else (a Word file, which a text
 * editor would show as bytes) is only offered as a download.
 */
export type ReportDisplay = 'report-tab' | 'lab' | 'download-only';

export function reportDisplay(
  report: string,
  labHasFileType: boolean
): ReportDisplay {
  if (/\.html?$/i.test(report)) {
    return 'report-tab';
  }
  return labHasFileType ? 'lab' : 'download-only';
}

/** The file a format writes for a notebook: its stem and the format's suffix, beside it. */
export function reportName(notebook: string, entry: IReportFormatInfo): string {
  const name = notebook.split('/').pop() ?? notebook;
  const stem = name.replace(/\.ipynb$/i, '');
  return `${stem}${entry.suffix}`;
}

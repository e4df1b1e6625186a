/** Requests to the server extension, authenticated like every Jupyter request. */

import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import type {
  IComparison,
  IExportResult,
  IReadinessItem,
  IReportFormatInfo,
  IReportFormatList,
  IRunDetail,
  IRunList
} from './types';

const API = 'nbmodelbook/api';

/** A refused request, with the server's message and (for an export) its findings. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly items: IReadinessItem[] = []
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

function endpoint(path: string, query: Record<string, string> = {}): string {
  const settings = ServerConnection.makeSettings();
  const url = URLExt.join(settings.baseUrl, API, path);
  const search = new URLSearchParams(query).toString();
  return search ? `${url}?${search}` : url;
}

async function request(url: string, init: RequestInit = {}): Promise<Response> {
  const settings = ServerConnection.makeSettings();
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new ApiError(
      `The Jupyter server cannot be reached: ${String(error)}`,
      0
    );
  }
  if (!response.ok && response.status !== 304) {
    throw await refusal(response);
  }
  return response;
}

async function refusal(response: Response): Promise<ApiError> {
  let body: { message?: unknown; items?: unknown; reason?: unknown } = {};
  try {
    body = await response.json();
  } catch {
    // not JSON: a proxy's page, say
  }
  const message =
    typeof body.message === 'string' && body.message
      ? body.message
      : response.status === 404 && body.message === undefined
        ? 'The nbmodelbook server extension is not enabled: run `jupyter server extension enable nbmodelbook` and restart Jupyter'
        : `${response.status} ${response.statusText}`;
  const items = Array.isArray(body.items)
    ? (body.items as IReadinessItem[])
    : [];
  return new ApiError(message, response.status, items);
}

/** The notebook's runs, or null when they are unchanged since `etag`. */
export async function fetchRuns(
  notebook: string,
  limit: number,
  etag: string | null
): Promise<{ list: IRunList; etag: string | null } | null> {
  const headers: Record<string, string> = {};
  if (etag) {
    headers['If-None-Match'] = etag;
  }
  const response = await request(
    endpoint('runs', { path: notebook, limit: String(limit) }),
    {
      headers,
      cache: 'no-cache'
    }
  );
  if (response.status === 304) {
    return null;
  }
  return {
    list: (await response.json()) as IRunList,
    etag: response.headers.get('ETag')
  };
}

export async function fetchRun(
  notebook: string,
  runId: string
): Promise<IRunDetail> {
  const response = await request(
    endpoint(`runs/${encodeURIComponent(runId)}`, { path: notebook })
  );
  return (await response.json()) as IRunDetail;
}

export async function fetchComparison(
  notebook: string,
  runIds: string[]
): Promise<IComparison> {
  const response = await request(
    endpoint('compare', { path: notebook, ids: runIds.join(',') })
  );
  return (await response.json()) as IComparison;
}

/** The report formats the server offers, in its registry's order. */
export async function fetchFormats(): Promise<IReportFormatInfo[]> {
  const response = await request(endpoint('formats'), { cache: 'no-cache' });
  return ((await response.json()) as IReportFormatList).formats;
}

export async function exportReport(
  notebook: string,
  format: string
): Promise<IExportResult> {
  const response = await request(endpoint('export'), {
    method: 'POST',
    body: JSON.stringify({ path: notebook, format })
  });
  return (await response.json()) as IExportResult;
}

/** Where a written report is served (sandboxed: no script runs). */
export function reportUrl(report: string): string {
  return endpoint('report', { path: report });
}

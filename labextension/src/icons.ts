import { LabIcon } from '@jupyterlab/ui-components';

const BOOK = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" width="16"><path class="jp-icon3" fill="#616161" d="M6 2h11a2 2 0 0 1 2 2v16a2 2 0 0 1-2 2H6a3 3 0 0 1-3-3V5a3 3 0 0 1 3-3zm0 2a1 1 0 0 0-1 1v11.2A3 3 0 0 1 6 16h11V4zm0 14a1 1 0 0 0 0 2h11v-2zm2-11h7v2H8zm0 4h5v2H8z"/></svg>`;

const REPORT = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" width="16"><path class="jp-icon3" fill="#616161" d="M6 2h8l6 6v12a2 2 0 0 1-2 2H6a2 2 0 0 1-2-2V4a2 2 0 0 1 2-2zm7 1.5V9h5.5zM7 12v2h10v-2zm0 4v2h7v-2zm9.3-5.7-1.4-1.4L11 12.8 9.1 10.9l-1.4 1.4 3.3 3.3z"/></svg>`;

export const modelBookIcon = new LabIcon({
  name: 'nbmodelbook:book',
  svgstr: BOOK
});
export const reportIcon = new LabIcon({
  name: 'nbmodelbook:report',
  svgstr: REPORT
});

import {
  RUN_MIMETYPE,
  locateRunCell,
  markerRunIds,
  type ICellInfo
} from '../src/cells';

const marker = (runId: string) => ({
  output_type: 'display_data',
  data: { [RUN_MIMETYPE]: { run_id: runId }, 'text/plain': '' }
});

describe('markerRunIds', () => {
  it('reads run ids from run markers and ignores everything else', () => {
    const outputs = [
      { output_type: 'stream', text: 'hello' },
      marker('aaa'),
      {
        output_type: 'display_data',
        data: { [RUN_MIMETYPE]: 'not an object' }
      },
      { output_type: 'display_data', data: { [RUN_MIMETYPE]: { run_id: 7 } } },
      null,
      marker('bbb')
    ];
    expect(markerRunIds(outputs)).toEqual(['aaa', 'bbb']);
  });
});

describe('locateRunCell', () => {
  const code = '%%track rf\nmodel.fit(X, y)';
  const cells: ICellInfo[] = [
    { id: 'intro', source: '# Title', markerRunIds: [] },
    { id: 'c1', source: code, markerRunIds: ['old', 'r1'] },
    { id: 'c2', source: '%%track gbm\nother()', markerRunIds: [] }
  ];

  it('finds a cell by its run marker first, even when the cell id says otherwise', () => {
    expect(locateRunCell(cells, { run_id: 'r1', cell_id: 'c2' }, code)).toEqual(
      { found: true, index: 1, how: 'marker', edited: false }
    );
  });

  it('falls back to the cell id', () => {
    expect(locateRunCell(cells, { run_id: 'r9', cell_id: 'c2' })).toEqual({
      found: true,
      index: 2,
      how: 'cell_id',
      edited: false
    });
  });

  it('says when the cell was edited since the run, but not for line endings or trailing blanks', () => {
    expect(
      locateRunCell(
        cells,
        { run_id: 'r1', cell_id: null },
        '%%track rf\nmodel.fit(X)'
      )
    ).toMatchObject({ edited: true });
    expect(
      locateRunCell(
        cells,
        { run_id: 'r1', cell_id: null },
        '%%track rf\r\nmodel.fit(X, y)\n\n'
      )
    ).toMatchObject({ edited: false });
  });

  it('says when the cell is gone', () => {
    expect(locateRunCell(cells, { run_id: 'r9', cell_id: 'deleted' })).toEqual({
      found: false
    });
    expect(locateRunCell(cells, { run_id: 'r9', cell_id: null })).toEqual({
      found: false
    });
  });
});

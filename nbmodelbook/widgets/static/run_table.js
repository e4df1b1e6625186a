// The run table of nbmodelbook.browse(): draws one page of runs that Python queried, and sends
// back only intents (sort by a column, select runs). Every value is set as text, never as markup.

const STATUS_MARK = {
  ok: "✓",
  running: "…",
  error: "✗",
  interrupted: "■",
  crashed: "✗",
};

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function render({ model, el }) {
  el.classList.add("nbmb-run-table");
  const wrapper = element("div", "nbmb-run-table-scroll");
  const table = element("table");
  wrapper.appendChild(table);
  el.appendChild(wrapper);

  function setSelected(ids) {
    model.set("selected", ids);
    model.save_changes();
  }

  function toggle(id) {
    const selected = model.get("selected").slice();
    const at = selected.indexOf(id);
    if (at >= 0) selected.splice(at, 1);
    else selected.push(id);
    setSelected(selected);
  }

  function sortBy(column) {
    if (!column.sortable) return;
    if (model.get("sort") === column.key) {
      model.set("descending", !model.get("descending"));
    } else {
      model.set("sort", column.key);
      model.set("descending", Boolean(column.descending_first));
    }
    model.save_changes();
  }

  function head(columns, rows, selected) {
    const thead = element("thead");
    const tr = element("tr");
    const all = element("th", "nbmb-select");
    const box = element("input");
    box.type = "checkbox";
    box.title = "Select every run on this page";
    box.setAttribute("aria-label", "Select every run on this page");
    const onPage = rows.map((row) => row.id);
    box.checked = onPage.length > 0 && onPage.every((id) => selected.has(id));
    box.addEventListener("change", () => {
      const kept = model.get("selected").filter((id) => !onPage.includes(id));
      setSelected(box.checked ? kept.concat(onPage) : kept);
    });
    all.appendChild(box);
    tr.appendChild(all);
    const sort = model.get("sort");
    const descending = model.get("descending");
    for (const column of columns) {
      const th = element("th", column.numeric ? "nbmb-num" : "");
      th.dataset.key = column.key;
      if (column.sortable) {
        const button = element("button", "nbmb-sort", column.label);
        button.type = "button";
        button.title = `Sort by ${column.label}`;
        if (sort === column.key) {
          button.appendChild(element("span", "nbmb-arrow", descending ? " ▼" : " ▲"));
          th.setAttribute("aria-sort", descending ? "descending" : "ascending");
        }
        button.addEventListener("click", () => sortBy(column));
        th.appendChild(button);
      } else {
        th.appendChild(element("span", "", column.label));
      }
      tr.appendChild(th);
    }
    thead.appendChild(tr);
    return thead;
  }

  function body(columns, rows, selected) {
    const tbody = element("tbody");
    if (rows.length === 0) {
      const tr = element("tr", "nbmb-empty");
      const td = element("td", "", model.get("empty_message"));
      td.colSpan = columns.length + 1;
      tr.appendChild(td);
      tbody.appendChild(tr);
      return tbody;
    }
    for (const row of rows) {
      const tr = element("tr", `nbmb-status-${row.status}`);
      tr.dataset.runId = row.id;
      if (row.failed) tr.classList.add("nbmb-failed");
      if (selected.has(row.id)) tr.classList.add("nbmb-selected");
      const pick = element("td", "nbmb-select");
      const box = element("input");
      box.type = "checkbox";
      box.checked = selected.has(row.id);
      box.setAttribute("aria-label", `Select run ${row.cells[0] ?? row.id}`);
      box.addEventListener("change", () => toggle(row.id));
      pick.appendChild(box);
      tr.appendChild(pick);
      columns.forEach((column, index) => {
        const value = row.cells[index] ?? "";
        const td = element("td", column.numeric ? "nbmb-num" : "");
        if (column.key === "status") {
          td.classList.add("nbmb-status");
          td.textContent = `${STATUS_MARK[row.status] ?? "?"} ${value}`;
        } else {
          td.textContent = value;
        }
        if (value.length > 24) td.title = value;
        tr.appendChild(td);
      });
      tr.addEventListener("click", (event) => {
        if (event.target instanceof HTMLInputElement) return;
        toggle(row.id);
      });
      tbody.appendChild(tr);
    }
    return tbody;
  }

  function draw() {
    const columns = model.get("columns");
    const rows = model.get("rows");
    const selected = new Set(model.get("selected"));
    table.replaceChildren(head(columns, rows, selected), body(columns, rows, selected));
  }

  const events = [
    "change:rows",
    "change:columns",
    "change:sort",
    "change:descending",
    "change:selected",
    "change:empty_message",
  ];
  for (const name of events) model.on(name, draw);
  draw();
  return () => {
    for (const name of events) model.off(name, draw);
  };
}

export default { render };

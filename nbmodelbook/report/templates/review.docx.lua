-- What the HTML report does with CSS, written as text for Word (render_docx.py).
-- Only the report's own classes are read; they change how text looks, never what it says.

-- A severity or kind badge before a title: "[HIGH] Cell edited after its run".
-- A mark after a value or a run: "0.91 (best)", "random-forest (chosen)".
function Span(el)
  if el.classes:includes("badge") then
    return {pandoc.Strong({pandoc.Str("[" .. pandoc.utils.stringify(el):upper() .. "]")}),
            pandoc.Space()}
  end
  if el.classes:includes("best-mark") then
    return pandoc.Emph({pandoc.Str("(" .. pandoc.utils.stringify(el) .. ")")})
  end
  if el.classes:includes("best") then
    return pandoc.Strong(el.content)
  end
end

-- Word bookmarks a span, not a table row: a row's id (the run log's `run-...`, which every run
-- link points to) moves onto an empty span at the start of its first cell.
function Table(tbl)
  for _, body in ipairs(tbl.bodies) do
    for _, row in ipairs(body.body) do
      local first = row.cells[1] and row.cells[1].contents[1]
      if row.identifier ~= "" and first and (first.t == "Plain" or first.t == "Para") then
        first.content:insert(1, pandoc.Span({}, {id = row.identifier}))
        row.identifier = ""
      end
    end
  end
  return tbl
end

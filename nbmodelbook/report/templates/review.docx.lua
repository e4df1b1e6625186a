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

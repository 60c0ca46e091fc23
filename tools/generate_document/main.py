#!/opt/persona/office/venv/bin/python3 -BI
"""generate_document: a .docx from a list of blocks (python-docx).

Blocks: heading, paragraph, bullets, numbered (each numbered list starts again at 1), table,
image (a file in the workspace), pageBreak. Headings use the primary design token (#7E5DFF);
table headers are filled with it.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)), "..", "office_runtime"))
import persona_office  # noqa: E402
from persona_office import fail  # noqa: E402

MAX_BLOCKS = 5_000
MAX_PARAGRAPHS = 20_000  # paragraphs and list items together
MAX_TABLE_CELLS = 100_000  # all tables together
MAX_TABLE_COLUMNS = 50
MAX_TEXT = 100_000  # characters in one paragraph, item or cell
PRIMARY = "7E5DFF"
HEADER_TEXT = "FFFFFF"
ROW_ALT = "F4F2FF"


def text_of(value, what):
    return persona_office.text_of(value, what, MAX_TEXT)


def build(arguments):
    import docx
    from docx.enum.section import WD_ORIENT
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Emu, Inches, Mm, Pt, RGBColor

    blocks = arguments.get("blocks")
    if not isinstance(blocks, list) or not blocks:
        fail("invalid_arguments", "blocks must be a non-empty array")
    if len(blocks) > MAX_BLOCKS:
        fail("too_many_blocks", f"{len(blocks)} blocks requested; the limit is {MAX_BLOCKS}")
    paragraphs = sum(len(b.get("items") or []) if isinstance(b, dict) else 0 for b in blocks) + len(blocks)
    if paragraphs > MAX_PARAGRAPHS:
        fail("too_many_paragraphs", f"{paragraphs} paragraphs and list items requested; the limit is {MAX_PARAGRAPHS}")
    cells = 0
    for b in blocks:
        if isinstance(b, dict) and b.get("type") == "table":
            table = b.get("table") or {}
            cells += len(table.get("columns") or []) * (len(table.get("rows") or []) + 1)
    if cells > MAX_TABLE_CELLS:
        fail("too_many_cells", f"{cells} table cells requested; the limit is {MAX_TABLE_CELLS} in all tables together")

    document = docx.Document()
    section = document.sections[0]
    if arguments.get("pageSize", "A4") == "A4":
        section.page_width, section.page_height = Mm(210), Mm(297)
    else:
        section.page_width, section.page_height = Inches(8.5), Inches(11)
    if arguments.get("orientation") == "landscape":
        section.orientation = WD_ORIENT.LANDSCAPE
        section.page_width, section.page_height = section.page_height, section.page_width
    for side in ("left_margin", "right_margin"):
        setattr(section, side, Inches(1))
    usable_width = section.page_width - section.left_margin - section.right_margin
    primary = RGBColor.from_string(PRIMARY)
    for level in range(1, 5):
        style = document.styles[f"Heading {level}"]
        style.font.color.rgb = primary
    document.styles["Title"].font.color.rgb = primary

    images = persona_office.Images()
    counts = {"headings": 0, "tables": 0, "images": 0, "pageBreaks": 0, "listItems": 0}
    numbering = document.part.numbering_part.element

    def restart_numbering(style_name):
        """A new w:num on the style's list definition, starting at 1: each numbered list counts from 1."""
        style = document.styles[style_name]
        base = style.element.pPr.numPr.numId.val
        abstract = numbering.num_having_numId(base).abstractNumId.val
        num = numbering.add_num(abstract)
        num.add_lvlOverride(ilvl=0).add_startOverride(1)
        return num.numId

    def shade(cell, colour):
        tcPr = cell._tc.get_or_add_tcPr()
        fill = OxmlElement("w:shd")
        fill.set(qn("w:val"), "clear")
        fill.set(qn("w:color"), "auto")
        fill.set(qn("w:fill"), colour)
        tcPr.append(fill)

    def add_runs(paragraph, block, where):
        text = text_of(block.get("text"), f"{where}.text")
        run = paragraph.add_run(text)
        run.bold = bool(block.get("bold")) or None
        run.italic = bool(block.get("italic")) or None
        return run

    title = arguments.get("title")
    if title:
        document.add_heading(text_of(title, "title"), level=0)
    for index, block in enumerate(blocks):
        where = f"blocks[{index}]"
        if not isinstance(block, dict):
            fail("invalid_arguments", f"{where} must be an object")
        kind = block.get("type")
        if kind == "heading":
            level = block.get("level", 1)
            if not isinstance(level, int) or not 1 <= level <= 4:
                fail("invalid_arguments", f"{where}.level must be 1 to 4")
            document.add_heading(text_of(block.get("text"), f"{where}.text"), level=level)
            counts["headings"] += 1
        elif kind == "paragraph":
            paragraph = document.add_paragraph()
            add_runs(paragraph, block, where)
            align = block.get("align")
            if align:
                paragraph.alignment = {"left": WD_ALIGN_PARAGRAPH.LEFT, "center": WD_ALIGN_PARAGRAPH.CENTER,
                                       "right": WD_ALIGN_PARAGRAPH.RIGHT, "justify": WD_ALIGN_PARAGRAPH.JUSTIFY}[align]
        elif kind in ("bullets", "numbered"):
            items = block.get("items")
            if not isinstance(items, list) or not items:
                fail("invalid_arguments", f"{where}: a {kind} block needs a non-empty items array")
            base = "List Bullet" if kind == "bullets" else "List Number"
            restarted = {}
            for n, item in enumerate(items):
                level = 0
                if isinstance(item, dict):
                    level = item.get("level", 0)
                    if not isinstance(level, int) or not 0 <= level <= 2:
                        fail("invalid_arguments", f"{where}.items[{n}].level must be 0 to 2")
                    item = item.get("text")
                style = base if level == 0 else f"{base} {level + 1}"
                paragraph = document.add_paragraph(text_of(item, f"{where}.items[{n}]"), style=style)
                if kind == "numbered":
                    if style not in restarted:
                        restarted[style] = restart_numbering(style)
                    paragraph._p.get_or_add_pPr().get_or_add_numPr().get_or_add_numId().val = restarted[style]
            counts["listItems"] += len(items)
        elif kind == "table":
            spec = block.get("table")
            if not isinstance(spec, dict) or not spec.get("columns"):
                fail("invalid_arguments", f"{where}: a table block needs table.columns (headings) and table.rows")
            columns, rows = spec["columns"], spec.get("rows") or []
            if len(columns) > MAX_TABLE_COLUMNS:
                fail("table_too_large", f"{where}.table has {len(columns)} columns; the limit is {MAX_TABLE_COLUMNS}")
            for r, row in enumerate(rows):
                if not isinstance(row, list) or len(row) > len(columns):
                    fail("invalid_arguments", f"{where}.table.rows[{r}] must be an array of at most {len(columns)} cells")
            table = document.add_table(rows=len(rows) + 1, cols=len(columns))
            table.style = document.styles["Table Grid"]
            table.alignment = WD_TABLE_ALIGNMENT.CENTER
            for c, heading in enumerate(columns):
                cell = table.cell(0, c)
                cell.text = text_of(heading, f"{where}.table.columns[{c}]")
                for run in cell.paragraphs[0].runs:
                    run.bold = True
                    run.font.color.rgb = RGBColor.from_string(HEADER_TEXT)
                shade(cell, PRIMARY)
            # Repeat the header row on every page the table spans.
            header_pr = table.rows[0]._tr.get_or_add_trPr()
            repeat = OxmlElement("w:tblHeader")
            repeat.set(qn("w:val"), "true")
            header_pr.append(repeat)
            for r, row in enumerate(rows):
                cells_of_row = table.rows[r + 1].cells
                for c in range(len(columns)):
                    value = row[c] if c < len(row) else None
                    cell = cells_of_row[c]
                    cell.text = text_of(value, f"{where}.table.rows[{r}][{c}]")
                    if isinstance(value, (int, float)) and not isinstance(value, bool):
                        cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT
                    if r % 2 == 1:
                        shade(cell, ROW_ALT)
            if spec.get("caption"):
                caption = document.add_paragraph(text_of(spec["caption"], f"{where}.table.caption"), style="Caption")
                caption.alignment = WD_ALIGN_PARAGRAPH.CENTER
            counts["tables"] += 1
        elif kind == "image":
            spec = block.get("image")
            if not isinstance(spec, dict) or not spec.get("path"):
                fail("invalid_arguments", f"{where}: an image block needs image.path (a file in the workspace)")
            path, pixel_width, pixel_height = images.load(spec["path"])
            width = Inches(float(spec["widthInches"])) if spec.get("widthInches") else min(usable_width, Inches(6))
            width = min(width, usable_width)
            # No taller than 8 inches, keeping the aspect ratio.
            height = int(width * pixel_height / pixel_width)
            if height > Inches(8):
                width = int(width * Inches(8) / height)
            document.add_picture(path, width=Emu(int(width)))
            document.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
            if spec.get("caption"):
                caption = document.add_paragraph(text_of(spec["caption"], f"{where}.image.caption"), style="Caption")
                caption.alignment = WD_ALIGN_PARAGRAPH.CENTER
            counts["images"] += 1
        elif kind == "pageBreak":
            document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
            counts["pageBreaks"] += 1
        else:
            fail("invalid_arguments", f"{where}.type must be heading, paragraph, bullets, numbered, table, image or pageBreak")

    properties = document.core_properties
    properties.title = text_of(title or "", "title")[:255]
    properties.author = text_of(arguments.get("author") or "Persona", "author")[:255]
    return document, counts


def run(arguments):
    path = arguments.get("path")
    persona_office.resolve_output(path, ".docx", create=False)  # path problems before any work
    document, counts = build(arguments)
    relative, size, artifact = persona_office.save(path, ".docx", document.save)
    return {"path": relative, "bytes": size, "artifact": artifact, "paragraphs": len(document.paragraphs), **counts}


if __name__ == "__main__":
    sys.exit(persona_office.main(run))

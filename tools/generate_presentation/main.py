#!/opt/persona/office/venv/bin/python3 -BI
"""generate_presentation: a 16:9 .pptx from slide descriptions (python-pptx).

Slide layouts: title, section, bullets, table, image; each slide may carry speaker notes.
The default theme ("persona") uses the platform's design tokens: background #0B0F1E, panels
#13182B, primary #7E5DFF, secondary #FFA726, gradient #7E5DFF -> #4DA0FC, outline
rgba(255,255,255,0.08) (#262A3C over the panel). The tokens name no text colour: text is
#F4F5FB and secondary text #A9AFC8 on the dark theme. "light" keeps the accents on white.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)), "..", "office_runtime"))
import persona_office  # noqa: E402
from persona_office import fail  # noqa: E402

MAX_SLIDES = 200
MAX_BULLETS = 40  # per slide
MAX_TABLE_ROWS = 40  # per table slide, header included
MAX_TABLE_COLUMNS = 12
MAX_TEXT = 5_000  # characters in one title, bullet, cell or caption
MAX_NOTES = 20_000  # characters of speaker notes per slide

THEMES = {
    "persona": {
        "background": "0B0F1E", "panel": "13182B", "primary": "7E5DFF", "secondary": "FFA726",
        "gradientEnd": "4DA0FC", "outline": "262A3C", "text": "F4F5FB", "muted": "A9AFC8",
        "headerText": "FFFFFF", "rowAlt": "181E34",
    },
    "light": {
        "background": "FFFFFF", "panel": "F4F2FF", "primary": "7E5DFF", "secondary": "FFA726",
        "gradientEnd": "4DA0FC", "outline": "DDD8F5", "text": "0B0F1E", "muted": "4A4F66",
        "headerText": "FFFFFF", "rowAlt": "EAE6FF",
    },
}
HEADING_FONT = "Space Grotesk"  # the typography tokens; viewers without them substitute
BODY_FONT = "Inter"


def text_of(value, what):
    return persona_office.text_of(value, what, MAX_TEXT)


def build(arguments):
    from pptx import Presentation
    from pptx.dml.color import RGBColor
    from pptx.enum.shapes import MSO_SHAPE
    from pptx.enum.text import MSO_ANCHOR, PP_ALIGN
    from pptx.oxml.ns import qn
    from pptx.util import Emu, Inches, Pt

    slides = arguments.get("slides")
    if not isinstance(slides, list) or not slides:
        fail("invalid_arguments", "slides must be a non-empty array")
    if len(slides) > MAX_SLIDES:
        fail("too_many_slides", f"{len(slides)} slides requested; the limit is {MAX_SLIDES}")
    theme_name = arguments.get("theme", "persona")
    if theme_name not in THEMES:
        fail("invalid_arguments", f"theme must be one of {', '.join(THEMES)}")
    colours = dict(THEMES[theme_name])
    for key, value in (arguments.get("colors") or {}).items():
        if key not in colours:
            fail("invalid_arguments", f"colors.{key} is not a theme colour ({', '.join(sorted(colours))})")
        colours[key] = persona_office.hex_colour(value, f"colors.{key}")
    rgb = {key: RGBColor.from_string(value) for key, value in colours.items()}

    prs = Presentation()
    prs.slide_width = Emu(12_192_000)  # 13.333 x 7.5 inches: PowerPoint's 16:9
    prs.slide_height = Emu(6_858_000)
    width, height = prs.slide_width, prs.slide_height
    margin = Inches(0.6)
    images = persona_office.Images()
    counts = {"bullets": 0, "tables": 0, "images": 0, "notes": 0}

    def style_runs(frame, size, colour, font=BODY_FONT, bold=None):
        for paragraph in frame.paragraphs:
            for run in paragraph.runs:
                run.font.size = Pt(size)
                run.font.name = font
                run.font.color.rgb = colour
                if bold is not None:
                    run.font.bold = bold

    def set_text(shape, text, size, colour, font=BODY_FONT, bold=None, align=None):
        frame = shape.text_frame
        frame.word_wrap = True
        frame.text = text
        for paragraph in frame.paragraphs:
            if align is not None:
                paragraph.alignment = align
        style_runs(frame, size, colour, font, bold)
        return frame

    def place(shape, left, top, w, h):
        shape.left, shape.top, shape.width, shape.height = Emu(left), Emu(top), Emu(w), Emu(h)

    def background(slide):
        fill = slide.background.fill
        fill.solid()
        fill.fore_color.rgb = rgb["background"]

    def accent_bar(slide, left, top, w, h):
        bar = slide.shapes.add_shape(MSO_SHAPE.RECTANGLE, Emu(left), Emu(top), Emu(w), Emu(h))
        bar.line.fill.background()
        bar.fill.gradient()
        bar.fill.gradient_angle = 0
        stops = bar.fill.gradient_stops
        stops[0].color.rgb = rgb["primary"]
        stops[1].color.rgb = rgb["gradientEnd"]
        bar.shadow.inherit = False
        return bar

    def title_placeholder(slide, text, index):
        title = slide.shapes.title
        place(title, margin, Inches(0.35), width - 2 * margin, Inches(1.0))
        frame = set_text(title, text_of(text, f"slides[{index}].title"), 32, rgb["text"], HEADING_FONT, True, PP_ALIGN.LEFT)
        frame.vertical_anchor = MSO_ANCHOR.MIDDLE
        accent_bar(slide, margin, Inches(1.38), Inches(1.2), Inches(0.06))

    def footer(slide, number):
        box = slide.shapes.add_textbox(width - margin - Inches(2), height - Inches(0.5), Inches(2), Inches(0.35))
        set_text(box, f"{number} / {len(slides)}", 11, rgb["muted"], align=PP_ALIGN.RIGHT)

    def panel(slide, left, top, w, h):
        shape = slide.shapes.add_shape(MSO_SHAPE.ROUNDED_RECTANGLE, Emu(left), Emu(top), Emu(w), Emu(h))
        shape.adjustments[0] = 0.04
        shape.fill.solid()
        shape.fill.fore_color.rgb = rgb["panel"]
        shape.line.color.rgb = rgb["outline"]
        shape.line.width = Pt(1)
        shape.shadow.inherit = False
        # Behind the slide's placeholders (the first two children are the group's own properties).
        tree = slide.shapes._spTree
        tree.remove(shape._element)
        tree.insert(2, shape._element)
        return shape

    def cell_borders(cell, colour):
        """Thin borders in the outline colour (the default table style draws white ones)."""
        tcPr = cell._tc.get_or_add_tcPr()
        for position, tag in enumerate(("a:lnL", "a:lnR", "a:lnT", "a:lnB")):
            for old in tcPr.findall(qn(tag)):
                tcPr.remove(old)
            line = tcPr.makeelement(qn(tag), {"w": "12700", "cap": "flat", "cmpd": "sng", "algn": "ctr"})
            fill = line.makeelement(qn("a:solidFill"), {})
            fill.append(fill.makeelement(qn("a:srgbClr"), {"val": colour}))
            line.append(fill)
            tcPr.insert(position, line)  # the borders precede the cell's fill in a:tcPr

    content_top = Inches(1.7)
    content_height = height - content_top - Inches(0.75)

    for index, spec in enumerate(slides):
        if not isinstance(spec, dict):
            fail("invalid_arguments", f"slides[{index}] must be an object")
        layout = spec.get("layout", "bullets")
        where = f"slides[{index}]"
        if layout == "title":
            slide = prs.slides.add_slide(prs.slide_layouts[0])
            background(slide)
            accent_bar(slide, 0, 0, width, Inches(0.12))
            title = slide.shapes.title
            place(title, margin + Inches(0.4), Inches(2.2), width - 2 * margin - Inches(0.8), Inches(1.8))
            frame = set_text(title, text_of(spec.get("title"), f"{where}.title"), 44, rgb["text"], HEADING_FONT, True, PP_ALIGN.LEFT)
            frame.vertical_anchor = MSO_ANCHOR.BOTTOM
            subtitle = slide.placeholders[1]
            place(subtitle, margin + Inches(0.4), Inches(4.2), width - 2 * margin - Inches(0.8), Inches(1.2))
            set_text(subtitle, text_of(spec.get("subtitle"), f"{where}.subtitle"), 22, rgb["muted"], align=PP_ALIGN.LEFT)
            bar = slide.shapes.add_shape(MSO_SHAPE.RECTANGLE, margin, Inches(2.4), Inches(0.12), Inches(2.9))
            bar.fill.solid()
            bar.fill.fore_color.rgb = rgb["secondary"]
            bar.line.fill.background()
            bar.shadow.inherit = False
        elif layout == "section":
            slide = prs.slides.add_slide(prs.slide_layouts[2])
            background(slide)
            title = slide.shapes.title
            place(title, margin, Inches(2.6), width - 2 * margin, Inches(1.4))
            frame = set_text(title, text_of(spec.get("title"), f"{where}.title"), 40, rgb["text"], HEADING_FONT, True, PP_ALIGN.LEFT)
            frame.vertical_anchor = MSO_ANCHOR.BOTTOM
            for run in frame.paragraphs[0].runs:
                run.font._rPr.set("cap", "none")  # the layout's title is all caps; keep the text as given
            accent_bar(slide, margin, Inches(4.15), Inches(2.4), Inches(0.08))
            body = slide.placeholders[1]
            place(body, margin, Inches(4.4), width - 2 * margin, Inches(1.2))
            set_text(body, text_of(spec.get("subtitle"), f"{where}.subtitle"), 20, rgb["muted"], align=PP_ALIGN.LEFT)
            footer(slide, index + 1)
        elif layout == "bullets":
            bullets = spec.get("bullets")
            if not isinstance(bullets, list) or not bullets:
                fail("invalid_arguments", f"{where}: a bullets slide needs a non-empty bullets array")
            if len(bullets) > MAX_BULLETS:
                fail("too_many_bullets", f"{where} has {len(bullets)} bullets; the limit is {MAX_BULLETS} per slide")
            slide = prs.slides.add_slide(prs.slide_layouts[1])
            background(slide)
            title_placeholder(slide, spec.get("title"), index)
            panel(slide, margin, content_top, width - 2 * margin, content_height)
            body = slide.placeholders[1]
            place(body, margin + Inches(0.35), content_top + Inches(0.25), width - 2 * margin - Inches(0.7), content_height - Inches(0.5))
            frame = body.text_frame
            frame.word_wrap = True
            size = 24 if len(bullets) <= 6 else 20 if len(bullets) <= 9 else 16 if len(bullets) <= 14 else 12
            for number, bullet in enumerate(bullets):
                level = 0
                if isinstance(bullet, dict):
                    level = bullet.get("level", 0)
                    if not isinstance(level, int) or not 0 <= level <= 4:
                        fail("invalid_arguments", f"{where}.bullets[{number}].level must be 0 to 4")
                    bullet = bullet.get("text")
                paragraph = frame.paragraphs[0] if number == 0 else frame.add_paragraph()
                paragraph.text = text_of(bullet, f"{where}.bullets[{number}]")
                paragraph.level = level
                paragraph.space_after = Pt(6)
                for run in paragraph.runs:
                    run.font.size = Pt(max(size - 2 * level, 10))
                    run.font.name = BODY_FONT
                    run.font.color.rgb = rgb["text"] if level == 0 else rgb["muted"]
            counts["bullets"] += len(bullets)
            footer(slide, index + 1)
        elif layout == "table":
            table_spec = spec.get("table")
            if not isinstance(table_spec, dict):
                fail("invalid_arguments", f"{where}: a table slide needs a table object with columns and rows")
            columns = table_spec.get("columns") or []
            rows = table_spec.get("rows") or []
            if not columns or not isinstance(columns, list):
                fail("invalid_arguments", f"{where}.table.columns must be a non-empty array of headings")
            if len(columns) > MAX_TABLE_COLUMNS:
                fail("table_too_large", f"{where}.table has {len(columns)} columns; the limit is {MAX_TABLE_COLUMNS}")
            if len(rows) + 1 > MAX_TABLE_ROWS:
                fail("table_too_large", f"{where}.table has {len(rows)} rows; the limit is {MAX_TABLE_ROWS - 1} under the header")
            for r, row in enumerate(rows):
                if not isinstance(row, list) or len(row) > len(columns):
                    fail("invalid_arguments", f"{where}.table.rows[{r}] must be an array of at most {len(columns)} cells")
            slide = prs.slides.add_slide(prs.slide_layouts[5])
            background(slide)
            title_placeholder(slide, spec.get("title"), index)
            row_height = min(Inches(0.6), int(content_height / (len(rows) + 1)))
            shape = slide.shapes.add_table(len(rows) + 1, len(columns), margin, content_top,
                                           width - 2 * margin, row_height * (len(rows) + 1))
            table = shape.table
            size = 16 if len(rows) <= 8 else 12 if len(rows) <= 16 else 10
            for c, heading in enumerate(columns):
                cell = table.cell(0, c)
                cell.fill.solid()
                cell.fill.fore_color.rgb = rgb["primary"]
                set_text(cell, text_of(heading, f"{where}.table.columns[{c}]"), size, rgb["headerText"], HEADING_FONT, True)
                cell.vertical_anchor = MSO_ANCHOR.MIDDLE
                cell_borders(cell, colours["outline"])
            for r, row in enumerate(rows):
                for c in range(len(columns)):
                    cell = table.cell(r + 1, c)
                    cell.fill.solid()
                    cell.fill.fore_color.rgb = rgb["panel"] if r % 2 == 0 else rgb["rowAlt"]
                    value = row[c] if c < len(row) else None
                    align = PP_ALIGN.RIGHT if isinstance(value, (int, float)) and not isinstance(value, bool) else PP_ALIGN.LEFT
                    set_text(cell, text_of(value, f"{where}.table.rows[{r}][{c}]"), size, rgb["text"], align=align)
                    cell.vertical_anchor = MSO_ANCHOR.MIDDLE
                    cell_borders(cell, colours["outline"])
            for r in range(len(rows) + 1):
                table.rows[r].height = row_height
            counts["tables"] += 1
            footer(slide, index + 1)
        elif layout == "image":
            image_spec = spec.get("image")
            if not isinstance(image_spec, dict) or "path" not in image_spec:
                fail("invalid_arguments", f"{where}: an image slide needs image.path (a file in the workspace)")
            path, pixel_width, pixel_height = images.load(image_spec["path"])
            slide = prs.slides.add_slide(prs.slide_layouts[5])
            background(slide)
            title_placeholder(slide, spec.get("title"), index)
            caption = text_of(image_spec.get("caption"), f"{where}.image.caption")
            area_height = content_height - (Inches(0.6) if caption else 0)
            area_width = width - 2 * margin
            scale = min(area_width / pixel_width, area_height / pixel_height)
            w, h = int(pixel_width * scale), int(pixel_height * scale)
            left = int((width - w) / 2)
            picture = slide.shapes.add_picture(path, Emu(left), Emu(content_top), Emu(w), Emu(h))
            picture.line.color.rgb = rgb["outline"]
            if caption:
                box = slide.shapes.add_textbox(margin, content_top + h + Inches(0.1), area_width, Inches(0.5))
                set_text(box, caption, 16, rgb["muted"], align=PP_ALIGN.CENTER)
            counts["images"] += 1
            footer(slide, index + 1)
        else:
            fail("invalid_arguments", f"{where}.layout must be title, section, bullets, table or image")

        notes = spec.get("notes")
        if notes:
            if not isinstance(notes, str) or len(notes) > MAX_NOTES:
                fail("text_too_long", f"{where}.notes must be text of at most {MAX_NOTES} characters")
            slide.notes_slide.notes_text_frame.text = notes
            counts["notes"] += 1

    properties = prs.core_properties
    first_title = next((s.get("title") for s in slides if isinstance(s, dict) and s.get("title")), None)
    properties.title = text_of(arguments.get("title") or first_title or "", "title")[:255]
    properties.author = text_of(arguments.get("author") or "Persona", "author")[:255]
    return prs, counts


def run(arguments):
    path = arguments.get("path")
    persona_office.resolve_output(path, ".pptx", create=False)  # path problems before any work
    prs, counts = build(arguments)
    relative, size, artifact = persona_office.save(path, ".pptx", prs.save)
    return {"path": relative, "bytes": size, "artifact": artifact, "slides": len(prs.slides), **counts}


if __name__ == "__main__":
    sys.exit(persona_office.main(run))

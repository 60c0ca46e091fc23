#!/opt/persona/office/venv/bin/python3 -BI
"""office_runtime: checks the office tools' Python runtime (the venv in the persona image) by
importing each library, building a tiny file with each in memory, and reporting versions."""

import io
import os
import platform
import sys

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import persona_office  # noqa: E402

# Distribution names, as pinned in images/persona/requirements-office.txt.
LIBRARIES = ["python-pptx", "python-docx", "openpyxl", "XlsxWriter", "lxml", "pillow", "et_xmlfile", "typing_extensions"]


def run(_arguments):
    from importlib import metadata

    versions = {}
    missing = []
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            missing.append(name)
    if missing:
        persona_office.fail("runtime_incomplete", "not installed: " + ", ".join(missing))

    # Each library writes a small file in memory: proves the imports and lxml/Pillow's native code work.
    import docx
    import openpyxl
    import pptx
    from PIL import Image

    checks = {}
    stream = io.BytesIO()
    pptx.Presentation().save(stream)
    checks["pptx"] = len(stream.getvalue())
    stream = io.BytesIO()
    document = docx.Document()
    document.add_paragraph("check")
    document.save(stream)
    checks["docx"] = len(stream.getvalue())
    stream = io.BytesIO()
    workbook = openpyxl.Workbook()
    workbook.active["A1"] = 1
    workbook.save(stream)
    checks["xlsx"] = len(stream.getvalue())
    stream = io.BytesIO()
    Image.new("RGB", (2, 2), (126, 93, 255)).save(stream, "PNG")
    checks["png"] = len(stream.getvalue())

    return {
        "ok": True,
        "python": platform.python_version(),
        "executable": sys.executable,
        "prefix": sys.prefix,
        "libraries": versions,
        "checkBytes": checks,
        "limits": {
            "outputBytes": persona_office.MAX_OUTPUT_BYTES,
            "imageBytes": persona_office.MAX_IMAGE_BYTES,
            "imagePixels": persona_office.MAX_IMAGE_PIXELS,
            "imagesPerFile": persona_office.MAX_IMAGES,
        },
    }


if __name__ == "__main__":
    sys.exit(persona_office.main(run))

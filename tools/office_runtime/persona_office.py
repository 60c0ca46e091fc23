"""Shared by the office tools (generate_presentation, generate_spreadsheet, generate_document).

The tool protocol: one JSON object on stdin, one JSON object on stdout. A failure prints
{"error": "...", "code": "..."} and exits 1, so the supervisor records the run as failed with
that object as its output. Paths are relative to the workspace (PERSONA_WORKSPACE, else the
working directory, /workspace in a persona container); absolute paths, `..` and symlinks that
leave the workspace are refused. Each generated file is written into the workspace and copied
into $TOOL_OUTPUT_DIR, whose files become the invocation's artifacts.
"""

import io
import json
import os
import stat
import sys
import tempfile
import traceback

# Limits shared by the three tools (each tool documents its own on top).
MAX_OUTPUT_BYTES = 50 * 1024 * 1024  # the finished file
MAX_IMAGE_BYTES = 20 * 1024 * 1024  # one embedded image file
MAX_IMAGE_PIXELS = 40_000_000  # one embedded image, width x height
MAX_IMAGES = 100  # per file
IMAGE_FORMATS = {"PNG", "JPEG", "GIF", "BMP", "TIFF"}


class ToolError(Exception):
    """A failure the caller can act on: printed as {"error": message, "code": code}."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


def fail(code, message):
    raise ToolError(code, message)


def workspace_root():
    return os.path.realpath(os.environ.get("PERSONA_WORKSPACE") or os.getcwd())


def _inside(root, path):
    return path == root or path.startswith(root + os.sep)


def _check_relative(path, what):
    if not isinstance(path, str) or not path.strip():
        fail("invalid_path", f"{what} must be a non-empty path relative to the workspace")
    if "\x00" in path:
        fail("invalid_path", f"{what} contains a NUL byte")
    if path.startswith("/") or path.startswith("~"):
        fail("path_outside_workspace",
             f"{what} must be relative to the workspace (/workspace), not absolute: {path}")
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if ".." in parts:
        fail("path_outside_workspace", f"{what} may not contain '..': {path}")
    if not parts:
        fail("invalid_path", f"{what} names the workspace itself, not a file: {path}")
    return parts


def resolve_output(path, extension, create=True):
    """The absolute path to write `path` (relative to the workspace, ending in `extension`),
    its parent directories created (with `create`; without, only checked, so a request that
    fails later leaves nothing behind). Refuses escapes, a wrong extension and a target that is
    a directory or a symlink."""
    parts = _check_relative(path, "path")
    if not parts[-1].lower().endswith(extension) or len(parts[-1]) <= len(extension):
        fail("invalid_path", f"path must name a {extension} file: {path}")
    root = workspace_root()
    parent = os.path.join(root, *parts[:-1])
    # Check what exists before creating anything, then again after: a symlinked directory on
    # the way may not lead outside.
    existing = parent
    while not os.path.lexists(existing):
        existing = os.path.dirname(existing)
    if not _inside(root, os.path.realpath(existing)):
        fail("path_outside_workspace", f"path leads outside the workspace through a symbolic link: {path}")
    if existing != parent and not os.path.isdir(existing):
        fail("invalid_path", f"a parent of {path} is a file, not a directory")
    if not create:
        target = os.path.join(os.path.realpath(parent), parts[-1]) if existing == parent else None
        if target and os.path.islink(target) and not _inside(root, os.path.realpath(target)):
            fail("path_outside_workspace", f"path is a symbolic link that leads outside the workspace: {path}")
        if target and os.path.isdir(target):
            fail("invalid_path", f"path is a directory: {path}")
        return target
    try:
        os.makedirs(parent, exist_ok=True)
    except FileExistsError:
        fail("invalid_path", f"a parent of {path} is a file, not a directory")
    except NotADirectoryError:
        fail("invalid_path", f"a parent of {path} is a file, not a directory")
    real_parent = os.path.realpath(parent)
    if not _inside(root, real_parent):
        fail("path_outside_workspace", f"path leads outside the workspace through a symbolic link: {path}")
    target = os.path.join(real_parent, parts[-1])
    if os.path.islink(target):
        if not _inside(root, os.path.realpath(target)):
            fail("path_outside_workspace", f"path is a symbolic link that leads outside the workspace: {path}")
        fail("invalid_path", f"path is a symbolic link; name a regular file: {path}")
    if os.path.isdir(target):
        fail("invalid_path", f"path is a directory: {path}")
    return target


def resolve_input_file(path, what="image"):
    """The absolute path of an existing regular file inside the workspace."""
    parts = _check_relative(path, what)
    root = workspace_root()
    candidate = os.path.join(root, *parts)
    real = os.path.realpath(candidate)
    if not _inside(root, real):
        fail("path_outside_workspace", f"{what} {path} leads outside the workspace through a symbolic link")
    try:
        info = os.stat(real)
    except FileNotFoundError:
        fail(f"{what}_not_found", f"{what} {path} does not exist in the workspace")
    if not stat.S_ISREG(info.st_mode):
        fail(f"{what}_not_found", f"{what} {path} is not a regular file")
    return real, info.st_size


class Images:
    """Validates images named by workspace paths (size, format, pixel count) and counts them."""

    def __init__(self):
        self.count = 0

    def load(self, path):
        """Returns (absolute path, width, height) of a valid image; fails with a clear code."""
        from PIL import Image

        real, size = resolve_input_file(path, "image")
        if size > MAX_IMAGE_BYTES:
            fail("image_too_large", f"image {path} is {size} bytes; the limit is {MAX_IMAGE_BYTES} bytes")
        self.count += 1
        if self.count > MAX_IMAGES:
            fail("too_many_images", f"at most {MAX_IMAGES} images per file")
        Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
        try:
            with Image.open(real) as image:
                fmt = image.format
                width, height = image.size
                if width * height > MAX_IMAGE_PIXELS:
                    fail("image_too_large",
                         f"image {path} is {width}x{height} pixels; the limit is {MAX_IMAGE_PIXELS} pixels")
                image.verify()
        except ToolError:
            raise
        except Image.DecompressionBombError:
            fail("image_too_large", f"image {path} has more than {MAX_IMAGE_PIXELS} pixels")
        except Exception as error:  # noqa: BLE001 - Pillow raises many kinds for bad files
            fail("image_invalid", f"image {path} could not be read as an image: {error}")
        if fmt not in IMAGE_FORMATS:
            fail("image_invalid", f"image {path} is {fmt}; use PNG, JPEG, GIF, BMP or TIFF")
        return real, width, height


def save(path, extension, write):
    """Renders the file with `write(stream)`, enforces the size limit, writes it into the
    workspace (atomically: a temporary file renamed over the target) and copies it into
    $TOOL_OUTPUT_DIR. Returns (workspace-relative path, bytes, artifact name)."""
    target = resolve_output(path, extension)
    buffer = io.BytesIO()
    write(buffer)
    data = buffer.getvalue()
    if len(data) > MAX_OUTPUT_BYTES:
        fail("file_too_large", f"the file would be {len(data)} bytes; the limit is {MAX_OUTPUT_BYTES} bytes")
    directory = os.path.dirname(target)
    fd, temporary = tempfile.mkstemp(prefix=".tmp-", suffix=extension, dir=directory)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise
    artifact = None
    output_dir = os.environ.get("TOOL_OUTPUT_DIR")
    if output_dir:
        artifact = os.path.basename(target)
        with open(os.path.join(output_dir, artifact), "wb") as out:
            out.write(data)
    relative = os.path.relpath(target, workspace_root())
    return relative, len(data), artifact


def text_of(value, what, limit):
    """A cell, bullet or paragraph value as text: integers without separators (2024 may be a
    year), floats to 12 significant digits (0.3, not 0.30000000000000004), booleans as
    true/false; longer than `limit` characters fails with text_too_long."""
    if value is None:
        return ""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, int):
        text = str(value)
    elif isinstance(value, float):
        text = f"{value:.12g}"
    else:
        text = str(value)
    if len(text) > limit:
        fail("text_too_long", f"{what} has {len(text)} characters; the limit is {limit}")
    return text


def hex_colour(value, what):
    text = value[1:] if isinstance(value, str) and value.startswith("#") else value
    if not isinstance(text, str) or len(text) != 6 or any(c not in "0123456789abcdefABCDEF" for c in text):
        fail("invalid_arguments", f"{what} must be a colour like #7E5DFF")
    return text.upper()


def read_arguments():
    raw = sys.stdin.buffer.read()
    if not raw.strip():
        return {}
    try:
        arguments = json.loads(raw)
    except ValueError as error:
        fail("invalid_arguments", f"stdin is not JSON: {error}")
    if not isinstance(arguments, dict):
        fail("invalid_arguments", "the arguments must be a JSON object")
    return arguments


def main(run):
    """Runs `run(arguments) -> dict` as a tool: prints its result, or the error, as JSON."""
    try:
        result = run(read_arguments())
    except ToolError as error:
        print(json.dumps({"error": error.message, "code": error.code}))
        return 1
    except MemoryError:
        print(json.dumps({"error": "out of memory: make the request smaller", "code": "out_of_memory"}))
        return 1
    except Exception as error:  # noqa: BLE001 - every failure must still print JSON
        traceback.print_exc(file=sys.stderr)
        print(json.dumps({"error": f"{type(error).__name__}: {error}", "code": "internal_error"}))
        return 1
    print(json.dumps(result, separators=(",", ":")))
    return 0

"""Members' pictures fetched safely: from the platform's hosts only, no redirect followed, a size cap
before and during the download, the type from the bytes, bombs and corrupt files refused, EXIF
orientation applied, metadata dropped."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from shared.errors import InvalidRequest
from shared.imaging.member_images import fetch, prepare
from tests.fakes.http import FakeServer, Recorded, Reply


def png(width: int = 40, height: int = 20, colour=(200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, format="PNG")
    return buffer.getvalue()


class Files(FakeServer):
    """A file host: /ok.png, an oversized file with and without Content-Length, and a redirect."""

    def __init__(self) -> None:
        super().__init__()
        self.elsewhere = ""

    def answer(self, request: Recorded) -> Reply:
        if request.path == "/ok.png":
            return Reply(200, png(), {"content-type": "image/png"})
        if request.path == "/big.png":
            return Reply(200, b"x" * 5000, {"content-type": "image/png"})
        if request.path == "/moved.png":
            return Reply(302, b"", {"content-type": "text/plain", "location": f"{self.elsewhere}/ok.png"})
        return Reply(404, b"", {"content-type": "text/plain"})


@pytest.fixture
def files():
    with Files() as server:
        yield server


def host_of(url: str) -> str:
    return url.split("://", 1)[1]


def test_a_picture_from_the_platforms_host_is_fetched(files):
    assert fetch(f"{files.url}/ok.png", hosts={host_of(files.url)}, max_bytes=10_000) == png()


def test_another_host_or_a_redirect_to_one_is_refused_before_anything_is_read(files):
    with Files() as other:
        files.elsewhere = other.url
        with pytest.raises(InvalidRequest, match="only take pictures uploaded to this chat"):
            fetch(f"{other.url}/ok.png", hosts={host_of(files.url)}, max_bytes=10_000)  # 127.0.0.1:other
        assert other.requests == []
        with pytest.raises(InvalidRequest, match="only take pictures uploaded to this chat"):
            fetch(f"{files.url}/moved.png", hosts={host_of(files.url)}, max_bytes=10_000)
        assert other.requests == []  # the redirect was not followed
    with pytest.raises(InvalidRequest, match="only take pictures"):
        fetch("file:///etc/passwd", hosts={host_of(files.url)}, max_bytes=10_000)


def test_an_oversized_file_is_refused(files):
    with pytest.raises(InvalidRequest, match="larger than"):
        fetch(f"{files.url}/big.png", hosts={host_of(files.url)}, max_bytes=1000)
    with pytest.raises(InvalidRequest, match="could not download"):
        fetch(f"{files.url}/gone.png", hosts={host_of(files.url)}, max_bytes=1000)


def test_the_type_comes_from_the_bytes_and_bad_files_are_refused():
    assert prepare(png(40, 20)).size == (40, 20)
    with pytest.raises(InvalidRequest, match="not a picture"):
        prepare(b"<html>not an image</html>")
    with pytest.raises(InvalidRequest, match="not a picture"):
        prepare(png()[:60])  # truncated: corrupt
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, format="BMP")
    with pytest.raises(InvalidRequest, match="not a picture"):
        prepare(buffer.getvalue())  # a format we do not take


def test_a_decompression_bomb_is_refused():
    buffer = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(buffer, format="PNG")  # 100 Mpixel, a few KB
    with pytest.raises(InvalidRequest, match="too many pixels"):
        prepare(buffer.getvalue())


def test_exif_orientation_is_applied_metadata_dropped_and_size_capped():
    image = Image.new("RGB", (40, 20), (10, 20, 30))
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90° to display
    exif[0x010E] = "secret description"
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif)
    clean = prepare(buffer.getvalue())
    assert clean.size == (20, 40) and not clean.getexif() and not clean.info
    assert prepare(png(3000, 1000), max_edge=600).size == (600, 200)
    frames = io.BytesIO()
    first, second = Image.new("RGB", (10, 10), (255, 0, 0)), Image.new("RGB", (10, 10), (0, 0, 255))
    first.save(frames, format="GIF", save_all=True, append_images=[second])
    assert prepare(frames.getvalue()).getpixel((5, 5))[0] > 200  # the first frame

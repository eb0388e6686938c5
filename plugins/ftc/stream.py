"""Reading a CSV file as a stream of byte blocks, in bounded memory.

A 90-day FTC mirror file is ~220 MB; read whole, decoded and copied it peaked at
~1.3 GB. Here the bytes arrive in blocks (about ``BLOCK_BYTES`` each, from a local
file or an HTTP body) and ``RecordSplitter`` turns them into text holding only
complete CSV records, keeping the incomplete tail for the next block:

- decoding is incremental UTF-8 (a BOM is dropped even when split across blocks,
  a multi-byte character split across blocks is joined; bad bytes become U+FFFD);
- the text is cut at the last newline that is outside quotes. A newline is inside a
  quoted field iff the number of ``"`` since the record start is odd (an escaped
  ``""`` adds two, so it keeps the parity). For well-formed CSV this is exactly
  where ``csv.reader`` ends a record, so parsing the pieces one after the other
  gives the same rows as parsing the whole text;
- a record longer than ``max_record`` characters is a ``SourceError`` naming the
  file and the line it starts on: a stray quote would otherwise swallow the rest of
  the file into one "record" held in memory.

Memory is therefore about one block plus one record, whatever the file size.
"""

from __future__ import annotations

import asyncio
import codecs
from collections.abc import AsyncGenerator, AsyncIterator
from pathlib import Path

from cidrep.contract import SourceError

BLOCK_BYTES = 1 << 20  # read size for local files; HTTP bodies are regrouped to this
MAX_RECORD_CHARS = 1_000_000  # one CSV record; real FTC rows are ~120 characters


class RecordSplitter:
    """Bytes in, text made of whole CSV records out (see the module docstring).

    ``lines`` is the number of newline-terminated lines handed out so far, so the
    record being assembled starts on line ``lines + 1`` of the file.
    """

    def __init__(self, name: str, max_record: int = MAX_RECORD_CHARS) -> None:
        self.name = name
        self.max_record = max_record
        self.lines = 0
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="replace")
        self._pending = ""  # the start of an incomplete record
        self._odd = False  # whether _pending holds an odd number of quotes

    def feed(self, data: bytes) -> str:
        """The complete records that ``data`` finishes (may be ``""``)."""
        return self._split(self._decoder.decode(data))

    def finish(self) -> str:
        """Whatever is left at the end of the file (a last line without a newline)."""
        rest = self._pending + self._decoder.decode(b"", final=True)
        self._pending, self._odd = "", False
        self._check(len(rest))
        self.lines += rest.count("\n")
        return rest

    def _split(self, text: str) -> str:
        if not text:
            return ""
        # Walk back over newlines, counting the quotes after each one, until one is
        # reached with an even number of quotes before it (since the record start).
        total = int(self._odd) + text.count('"')
        after = 0
        end = len(text)
        cut = text.rfind("\n")
        while cut >= 0:
            after += text.count('"', cut + 1, end)
            if (total - after) % 2 == 0:
                break
            end = cut
            cut = text.rfind("\n", 0, cut)
        if cut < 0:
            self._check(len(self._pending) + len(text))
            self._pending += text
            self._odd = total % 2 == 1
            return ""
        if self._pending:
            self._check(len(self._pending) + self._first_record_end(text))
        complete = self._pending + text[: cut + 1]
        self._pending = text[cut + 1 :]
        self._odd = after % 2 == 1
        self.lines += complete.count("\n")
        return complete

    def _first_record_end(self, text: str) -> int:
        """Length of the part of ``text`` that completes the pending record."""
        odd = self._odd
        start = 0
        while (newline := text.find("\n", start)) >= 0:
            odd ^= text.count('"', start, newline) % 2 == 1
            if not odd:
                return newline + 1
            start = newline + 1
        return len(text)

    def _check(self, length: int) -> None:
        if length > self.max_record:
            raise SourceError(
                f"FTC file {self.name}, line {self.lines + 1}: a record longer than "
                f"{self.max_record:,} characters (an unclosed quote?); the file is malformed"
            )


async def file_blocks(path: Path, block: int = BLOCK_BYTES) -> AsyncGenerator[bytes, None]:
    """The bytes of a local file, ``block`` at a time, read off the event loop.

    Works for anything that can be opened and read (a FIFO, a device): the caller
    bounds how much it takes. Errors are ``SourceError``s naming the file.
    """
    try:
        handle = await asyncio.to_thread(path.open, "rb")
    except OSError as exc:
        raise SourceError(f"cannot read FTC file {path}: {exc.strerror or exc}") from None
    try:
        while True:
            try:
                data = await asyncio.to_thread(handle.read, block)
            except OSError as exc:
                raise SourceError(f"cannot read FTC file {path}: {exc.strerror or exc}") from None
            if not data:
                return
            yield data
    finally:
        handle.close()


async def regroup(
    blocks: AsyncIterator[bytes], size: int = BLOCK_BYTES
) -> AsyncGenerator[bytes, None]:
    """Join small blocks (an HTTP body arrives in pieces of a few kB) into ~``size``
    bytes, so the per-block work (a hop to a worker thread) stays cheap."""
    parts: list[bytes] = []
    held = 0
    async for data in blocks:
        parts.append(data)
        held += len(data)
        if held >= size:
            yield b"".join(parts)
            parts, held = [], 0
    if held:
        yield b"".join(parts)

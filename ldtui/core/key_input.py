"""What a person gives a lookup: context keys (typed, pasted, a file, a CSV column) and
segment specs (``KEY`` or ``KEY=GENERATION``), checked and hashed as the SDKs hash them
(store-schema.md §1). No I/O: files arrive as bytes.
"""

from __future__ import annotations

import base64
import binascii
import csv
import hashlib
import io
from collections.abc import Iterable, Iterator, Sequence
from typing import NamedTuple

# No context key of LaunchDarkly's is anywhere near this; a longer "key" is almost always a
# whole file pasted as one line. The SDK would hash it, but nothing could ever match it.
MAX_KEY_BYTES = 65_536
DEFAULT_KEY_COLUMNS = ("key", "context_key", "contextKey", "user_key", "userKey")


class KeyInputError(ValueError):
    """Bad keys or a bad keys file: the message names where and what to do."""


# --- keys ---------------------------------------------------------------------------------------


def check_key(key: str, where: str = "the context key") -> str:
    """The key exactly as the SDKs would hash it, or ``KeyInputError``."""
    if key == "":
        raise KeyInputError(f"{where} is empty: SDKs reject a context with an empty key")
    try:
        size = len(key.encode("utf-8"))
    except UnicodeEncodeError:
        raise KeyInputError(f"{where} is not valid Unicode text (it holds a lone surrogate)") from None
    if size > MAX_KEY_BYTES:
        raise KeyInputError(
            f"{where} is {size:,} bytes long; ldtui looks up keys of at most {MAX_KEY_BYTES:,} "
            "bytes (was a whole file pasted as one key?)"
        )
    return key


def _lines(text: str) -> Iterable[tuple[int, str]]:
    # Only line endings are removed: a context key may begin or end with spaces.
    for n, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            yield n, line


_SURELY_SHORT = MAX_KEY_BYTES // 4  # characters: at most 4 UTF-8 bytes each


def keys_from_text(text: str, source: str = "the pasted text") -> list[str]:
    """One key per line; blank lines are skipped."""
    out = []
    for n, line in _lines(text):
        out.append(line if len(line) <= _SURELY_SHORT else check_key(line, f"{source}, line {n}"))
    return out


def decode_keys_file(data: bytes, source: str) -> str:
    """UTF-8 (a leading byte order mark is dropped), or a message naming the line and byte."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise KeyInputError(
            f"{source}, line {line}, column {column}: byte 0x{data[exc.start]:02x} is not valid "
            "UTF-8; save the file as UTF-8 (context keys are hashed as UTF-8, so a key in "
            "another encoding would never match)"
        ) from None


def keys_from_csv(text: str, source: str, column: str | None) -> list[str]:
    """Keys from one column of a CSV file with a header row. Without a column, a header named
    like a key column is used (``key``, ``context_key``, ...)."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise KeyInputError(f"{source} is empty: expected a header row and one key per row") from None
    except csv.Error as exc:
        raise KeyInputError(f"{source}, line 1: {exc}") from None
    names = [h.strip() for h in header]
    shown = ", ".join(repr(n) for n in names[:12]) + (", ..." if len(names) > 12 else "")
    if column is None:
        found = next((c for c in DEFAULT_KEY_COLUMNS if c in names), None)
        if found is None:
            raise KeyInputError(
                f"{source}: no key column; the columns are {shown}; choose one (--key-column NAME)"
            )
        column = found
    if column not in names:
        if column.isdigit() and 1 <= int(column) <= len(names):
            index = int(column) - 1
        else:
            raise KeyInputError(f"{source}: no column {column!r}; the columns are {shown}")
    else:
        index = names.index(column)
    keys = []
    try:
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            n = reader.line_num
            if index >= len(row):
                raise KeyInputError(f"{source}, line {n}: the row has no column {column!r}")
            keys.append(check_key(row[index], f"{source}, line {n}, column {column!r}"))
    except csv.Error as exc:
        raise KeyInputError(f"{source}, line {reader.line_num}: {exc}") from None
    return keys


def keys_from_file(
    data: bytes, source: str, *, column: str | None = None, as_csv: bool | None = None
) -> list[str]:
    """A keys file: CSV when ``as_csv`` (default: a column was chosen or the name ends in .csv),
    else one key per line."""
    text = decode_keys_file(data, source)
    if as_csv is None:
        as_csv = column is not None or source.lower().endswith(".csv")
    keys = keys_from_csv(text, source, column) if as_csv else keys_from_text(text, source)
    if not keys:
        raise KeyInputError(f"{source} holds no keys")
    return keys


# --- keys, streamed ------------------------------------------------------------------------------


def _undecodable(source: str, line: int, raw: bytes, exc: UnicodeDecodeError) -> KeyInputError:
    return KeyInputError(
        f"{source}, line {line}, column {exc.start + 1}: byte 0x{raw[exc.start]:02x} is not valid "
        "UTF-8; save the file as UTF-8 (context keys are hashed as UTF-8, so a key in another "
        "encoding would never match)"
    )


def decode_lines(raw_lines: Iterable[bytes], source: str) -> Iterator[tuple[int, str]]:
    """Numbered lines (line endings kept) of a keys file given as raw lines: strict UTF-8,
    a leading byte order mark dropped, a bad byte named by line and column."""
    for n, raw in enumerate(raw_lines, start=1):
        try:
            text = raw.decode("utf-8-sig" if n == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            if n == 1 and raw.startswith(b"\xef\xbb\xbf"):
                exc = UnicodeDecodeError(exc.encoding, exc.object, exc.start + 3, exc.end + 3, exc.reason)
            raise _undecodable(source, n, raw, exc) from None
        yield n, text


def iter_line_keys(lines: Iterable[tuple[int, str]], source: str) -> Iterator[str]:
    """One key per line (only the line ending is removed: a key may begin or end with
    spaces); blank lines skipped."""
    for n, line in lines:
        key = line[:-1] if line.endswith("\n") else line
        if key.endswith("\r"):
            key = key[:-1]
        if not key.strip():
            continue
        yield key if len(key) <= _SURELY_SHORT else check_key(key, f"{source}, line {n}")


def iter_csv_keys(lines: Iterable[tuple[int, str]], source: str, column: str | None) -> Iterator[str]:
    """Keys from one column of a CSV file with a header row, streamed (a quoted field may span
    lines). Without a column, a header named like a key column is used."""
    physical = (line for _, line in lines)
    reader = csv.reader(physical)
    try:
        header = next(reader)
    except StopIteration:
        raise KeyInputError(f"{source} is empty: expected a header row and one key per row") from None
    except csv.Error as exc:
        raise KeyInputError(f"{source}, line 1: {exc}") from None
    names = [h.strip() for h in header]
    index = _column_index(names, column, source)
    label = column or names[index]
    try:
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            if index >= len(row):
                raise KeyInputError(f"{source}, line {reader.line_num}: the row has no column {label!r}")
            yield check_key(row[index], f"{source}, line {reader.line_num}, column {label!r}")
    except csv.Error as exc:
        raise KeyInputError(f"{source}, line {reader.line_num}: {exc}") from None


def _column_index(names: list[str], column: str | None, source: str) -> int:
    shown = ", ".join(repr(n) for n in names[:12]) + (", ..." if len(names) > 12 else "")
    if column is None:
        found = next((c for c in DEFAULT_KEY_COLUMNS if c in names), None)
        if found is None:
            raise KeyInputError(
                f"{source}: no key column; the columns are {shown}; choose one (--key-column NAME)"
            )
        return names.index(found)
    if column in names:
        return names.index(column)
    if column.isdigit() and 1 <= int(column) <= len(names):
        return int(column) - 1
    raise KeyInputError(f"{source}: no column {column!r}; the columns are {shown}")


def key_blocks(chunks: Iterable[bytes], source: str, *, line_limit: int) -> Iterator[list[str]]:
    """The keys of a one-key-per-line file, a block at a time, from its bytes in chunks: each
    block decoded and split at once (a file of millions of keys is read at C speed, not a
    generator step per line). Only line endings are removed (``\\n``, ``\\r\\n``); blank lines
    are skipped; a bad byte is named by line and column, a too long line or key by its line."""
    line_no = 0  # lines before the current block
    carry = b""
    first = True
    for chunk in chunks:
        data = carry + chunk if carry else chunk
        cut = data.rfind(b"\n")
        if cut < 0:
            if len(data) > line_limit:
                raise _line_too_long(source, line_no + 1, line_limit)
            carry = data
            continue
        block, carry = data[: cut + 1], data[cut + 1 :]
        if len(carry) > line_limit:
            raise _line_too_long(source, line_no + block.count(b"\n") + 1, line_limit)
        yield _block_keys(block, source, line_no, first)
        first = False
        line_no += block.count(b"\n")
    if carry:
        yield _block_keys(carry, source, line_no, first)


def _line_too_long(source: str, line: int, limit: int) -> KeyInputError:
    return KeyInputError(
        f"{source}, line {line} is longer than {limit // (1024 * 1024)} MiB without a line break: "
        "not a keys file (one key per line, or CSV)"
    )


def _block_keys(block: bytes, source: str, line_no: int, first: bool) -> list[str]:
    try:
        text = block.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = line_no + block.count(b"\n", 0, exc.start) + 1
        column = exc.start - (block.rfind(b"\n", 0, exc.start) + 1) + 1
        raise KeyInputError(
            f"{source}, line {line}, column {column}: byte 0x{block[exc.start]:02x} is not valid "
            "UTF-8; save the file as UTF-8 (context keys are hashed as UTF-8, so a key in another "
            "encoding would never match)"
        ) from None
    if first and text.startswith("\ufeff"):
        text = text[1:]
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    keys = [line[:-1] if line.endswith("\r") else line for line in lines] if "\r" in text else lines
    if max(map(len, keys), default=0) > _SURELY_SHORT:
        for n, key in enumerate(keys, start=line_no + 1):
            if len(key) > _SURELY_SHORT and key.strip():
                check_key(key, f"{source}, line {n}")
    # Blank and whitespace-only lines are not keys (str.strip strips what str.isspace calls
    # space: the same test as ``k and not k.isspace()``, at C speed).
    return list(filter(str.strip, keys))


def iter_keys(
    raw_lines: Iterable[bytes], source: str, *, column: str | None = None, as_csv: bool | None = None
) -> Iterator[str]:
    """The keys of a keys file, streamed from its raw lines: CSV when ``as_csv`` (default: a
    column was chosen or the name ends in .csv), else one key per line."""
    if as_csv is None:
        as_csv = column is not None or source.lower().endswith(".csv")
    lines = decode_lines(raw_lines, source)
    return iter_csv_keys(lines, source, column) if as_csv else iter_line_keys(lines, source)


# --- segments -----------------------------------------------------------------------------------

# A generation is a counter LaunchDarkly bumps; nothing real has more digits than this, and
# a 5,000-digit "generation" must be refused before ``int()`` refuses it with a traceback.
MAX_GENERATION_DIGITS = 18


class SegmentSpec(NamedTuple):
    key: str
    generation: int | None  # None: ask the segments API


def parse_segment_spec(spec: str) -> SegmentSpec:
    """``KEY=GEN`` (a typed generation) or ``KEY`` (the generation comes from the API)."""
    key, eq, gen = spec.strip().rpartition("=") if "=" in spec else (spec.strip(), "", "")
    key = key.strip()
    if not key:
        raise KeyInputError(f"segment {_short(spec)}: expected KEY=GENERATION, for example beta-testers=3")
    if not eq:
        return SegmentSpec(key, None)
    gen = gen.strip()
    if not (gen.isascii() and gen.isdigit()):
        raise KeyInputError(
            f"segment {_short(spec)}: the generation {_short(gen)} is not a whole number "
            "(KEY=GENERATION, for example beta-testers=3)"
        )
    if len(gen.lstrip("0")) > MAX_GENERATION_DIGITS:
        raise KeyInputError(
            f"segment {_short(spec)}: the generation has {len(gen):,} digits; a generation is a "
            f"small whole number (at most {MAX_GENERATION_DIGITS} digits)"
        )
    return SegmentSpec(key, int(gen))


def _short(text: str, width: int = 60) -> str:
    """``repr`` of a piece of input, cut to ``width`` (a message quotes, it does not echo)."""
    shown = repr(text)
    return shown if len(shown) <= width else shown[: width - 4] + "...'"


def parse_segment_specs(text: str) -> dict[str, int | None]:
    """A comma- or space-separated list of segment specs, as typed in the inspector."""
    out: dict[str, int | None] = {}
    for part in text.replace(",", " ").split():
        key, gen = parse_segment_spec(part)
        out[key] = gen
    return out


# --- hashing ------------------------------------------------------------------------------------


class HashedKey(NamedTuple):
    key: str
    hash: str | None  # base64(SHA-256(key)); None when the key is refused
    error: str | None  # why the key is refused


def hash_checked(keys: Sequence[str]) -> list[str]:
    """The hashes of keys already checked (``check_key``: not empty, not too long): the bulk
    path, one C call after another."""
    sha256, b64 = hashlib.sha256, binascii.b2a_base64
    # encode() and decode() with their defaults (UTF-8; base64 is ASCII): the same bytes, and
    # no encoding name parsed a million times.
    return [b64(sha256(k.encode()).digest(), newline=False).decode() for k in keys]


def hash_keys(keys: Sequence[str]) -> list[HashedKey]:
    """Each key with its hash, or with the reason it cannot be looked up."""
    out: list[HashedKey] = []
    sha256, b64 = hashlib.sha256, base64.b64encode
    for k in keys:
        try:
            raw = k.encode("utf-8")
        except UnicodeEncodeError:
            raw = b""
        if not raw or len(raw) > MAX_KEY_BYTES:
            try:
                check_key(k)
            except KeyInputError as exc:
                out.append(HashedKey(k, None, str(exc)))
                continue
        out.append(HashedKey(k, b64(sha256(raw).digest()).decode("ascii"), None))
    return out

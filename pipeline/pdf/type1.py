"""Reading Type 1 fonts faster for pikepdf's PDF/A validator, with the same results.

LibreOffice 7.4 (Debian 12) embeds the Noto CJK fonts of every document it converts as Type 1 fonts of 256 glyphs,
and the validator reads each of them in pure Python (fontTools): it decrypts the program and every charstring,
and runs every glyph's charstring to compare its advance width with the PDF's /Widths. A dossier holds 20 to 30
such fonts, 1,461 glyph programs in that of examples/institution-onsite, only 581 of them different (each
document has its own subsets of the same faces). Two changes, each exact:

- decryption (`type1_decrypt`) as a plain byte loop, not a function call and a tuple per byte;
- a glyph's width is remembered by the bytes of its charstring and of the font's subroutines, the only input of
  the charstring's program, so a glyph already run in another subset is not run again. Only widths that were
  read are remembered; a charstring that fails is run (and fails) every time.

Both are installed into the pinned fontTools and pikepdf (`install`, at import of `pipeline.pdf.pdfa`);
tests/test_pdfa.py and tests/test_dossier.py compare them with the libraries' own results. The jobs that check
(normalisation, the dossier's check) are forked afresh, so the widths they read come back with their answer and go
to the next job (`with_shared_widths`): a dossier's glyphs are mostly those of the dossiers before it.
"""
from __future__ import annotations

import hashlib
import threading

KEPT_WIDTHS = 200_000         # widths a process keeps (then it starts again)
SHARED_WIDTHS = 20_000        # widths handed to a job at most
_widths: dict[tuple[bytes, bytes], float] = {}
_widths_lock = threading.Lock()


def shared_widths() -> dict[tuple[bytes, bytes], float]:
    """The widths this process has read or learnt, to hand to a job (forked jobs begin with their server's, none):
    a copy, empty once there are more than `SHARED_WIDTHS` (then a job reads its own)."""
    with _widths_lock:
        return dict(_widths) if len(_widths) <= SHARED_WIDTHS else {}


def learn_widths(widths: dict[tuple[bytes, bytes], float]) -> None:
    """Widths a job read, for the jobs that follow."""
    with _widths_lock:
        if len(_widths) + len(widths) >= KEPT_WIDTHS:
            _widths.clear()
        _widths.update(widths)


def with_shared_widths(target, known: dict[tuple[bytes, bytes], float], *args, **kwargs):
    """In a job: `target(*args, **kwargs)` knowing the `known` widths; returns (its value, the widths it read)."""
    learn_widths(known)
    value = target(*args, **kwargs)
    with _widths_lock:
        read = {key: width for key, width in _widths.items() if key not in known}
    return value, read


def type1_decrypt(cipher: bytes, key: int) -> tuple[bytes, int]:
    """fontTools' `eexec.decrypt` (Adobe Type 1 Font Format, 7.2): the same result, several times faster."""
    plain = bytearray(len(cipher))
    state = key
    for i, byte in enumerate(cipher):
        plain[i] = byte ^ (state >> 8)
        state = ((byte + state) * 52845 + 22719) & 0xFFFF
    return bytes(plain), state


def _subroutines_key(program, charstring) -> bytes:
    """The font's subroutines, as read (before any of them ran and was decompiled), once per font program."""
    key = getattr(program, "_yuetan_subrs", None)
    if key is None:
        digest = hashlib.sha256()
        for subr in charstring.subrs or ():
            code = subr.bytecode if subr.bytecode is not None else repr(subr.program).encode()
            digest.update(len(code).to_bytes(4, "big") + code)
        key = program._yuetan_subrs = digest.digest()
    return key


def install() -> None:
    """Put both into fontTools and pikepdf's validator (idempotent)."""
    from fontTools.misc import eexec
    from pikepdf.pdfa import _fontprogram

    eexec.decrypt = type1_decrypt
    program_class = _fontprogram.Type1Program
    if getattr(program_class.advance_1000, "remembered", False):
        return
    read_width = program_class.advance_1000

    def advance_1000(self, gid: int) -> float | None:
        if not self.has_gid(gid) or gid in self._widths:
            return read_width(self, gid)
        charstring = self._charstrings[self._order[gid]]
        if charstring.bytecode is None:                 # already run: nothing to key it by
            return read_width(self, gid)
        key = (_subroutines_key(self, charstring), charstring.bytecode)
        with _widths_lock:
            width = _widths.get(key)
        if width is not None:
            self._widths[gid] = width
            return width
        width = read_width(self, gid)
        with _widths_lock:
            if len(_widths) >= KEPT_WIDTHS:
                _widths.clear()
            _widths[key] = width
        return width

    advance_1000.remembered = True
    advance_1000.__wrapped__ = read_width
    program_class.advance_1000 = advance_1000

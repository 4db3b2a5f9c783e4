"""A seal whose signature happens to end in a zero byte is still a sound seal (issue 17, item 7).

About one ECDSA signature in 256 ends in 0x00. The dossier's /Contents is the DER signature followed by zero
padding, so it must be read by the length its DER header declares, never by stripping zeros.
"""
from __future__ import annotations

import asyncio
import hashlib
import re
import shutil

from pyhanko.pdf_utils.reader import PdfFileReader

from pipeline.pdf.pdfa import _cms_counts, check_pdfa
from pipeline.pdf.seal import der_value, load_seal
from pipeline.pdf.verify import verify_dossier

from .conftest import EXAMPLE_NAMES


def _signature_ending_in_zero(signer, digest: bytes) -> bytes:
    """Sign the same digest again and again (ECDSA is randomised) until the DER ends in 0x00."""
    loop = asyncio.new_event_loop()
    try:
        for _ in range(5000):
            der = loop.run_until_complete(signer.async_sign(digest, "sha256", use_pades=True)).dump()
            if der[-1] == 0:
                return der
    finally:
        loop.close()
    raise AssertionError("no signature ending in 0x00 in 5000 tries (expected about one in 256)")


def test_a_dossier_whose_signature_ends_in_a_zero_byte_verifies(example_archive, example_dossiers, tmp_path):
    dossier = tmp_path / "zero.pdf"
    shutil.copyfile(example_dossiers[EXAMPLE_NAMES[0]], dossier)
    data = bytearray(dossier.read_bytes())
    (sig,) = PdfFileReader(open(dossier, "rb"), strict=False).embedded_signatures
    start, length, end, tail = (int(v) for v in sig.sig_object["/ByteRange"])
    digest = hashlib.sha256(bytes(data[start:start + length]) + bytes(data[end:end + tail])).digest()

    signer = load_seal(example_archive.seal_pkcs12, example_archive.seal_passphrase())
    der = _signature_ending_in_zero(signer, digest)
    slot = end - (start + length) - 2                           # hex digits between < and >
    assert len(der) * 2 <= slot
    data[start + length + 1:end - 1] = der.hex().upper().encode("ascii").ljust(slot, b"0")
    dossier.write_bytes(bytes(data))

    contents = bytes.fromhex(re.search(rb"<([0-9A-F]+)>", bytes(data[start + length:end]))[1].decode())
    assert contents[:len(der)] == der and der_value(contents) == der
    assert contents.rstrip(b"\0") != der                        # what stripping zeros would have parsed
    assert _cms_counts(contents) == (1, 1)
    assert not any("PKCS#7" in p for p in check_pdfa(dossier, expect_part=3))
    report = verify_dossier(dossier, trust=example_archive.seal_pkcs12.with_suffix(".crt"))
    assert report.ok, [c.message for c in report.checks if not c.ok]


def test_der_value_reads_the_declared_length_and_refuses_a_truncated_element():
    assert der_value(bytes([0x30, 0x03, 1, 2, 0, 0, 0])) == bytes([0x30, 0x03, 1, 2, 0])
    long_form = bytes([0x30, 0x82, 0x01, 0x00]) + bytes(256) + bytes(10)
    assert len(der_value(long_form)) == 260
    for bad in (b"", b"\x30", bytes([0x30, 0x05, 1]), bytes([0x30, 0x80, 0, 0])):
        try:
            der_value(bad)
        except ValueError:
            continue
        raise AssertionError(f"{bad!r} accepted")

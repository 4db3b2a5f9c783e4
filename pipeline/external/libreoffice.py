"""LibreOffice kept running to convert Word documents to PDF/A-2b, one document at a time.

A cold `soffice --convert-to` pays about a second of start-up per document; here one LibreOffice
(`soffice.bin`, headless, with its own private user profile) stays up for a whole batch and is
driven through the UNO API over a loopback socket. The UNO API is used directly rather than
through `unoserver.server`, whose start-up waits a fixed seven seconds; the conversion is what
`unoserver.converter` does, with the import filter pinned by suffix (a zip of junk named .docx is
refused instead of being imported as text), macros and link updates off, and PDF/A-2b export.

LibreOffice runs in its own process group. A conversion that exceeds its time-out, or a
LibreOffice that dies, is killed and restarted and the document is tried once more; then the
document fails with its name in the message. A small guard process kills LibreOffice if the
Python process that started it dies without closing it, so no soffice is left behind.

The exported PDF gets /Lang zh-CN (LibreOffice writes the profile's en-US), is written with the
PDF/A save settings under a temporary name beside `dest`, checked by the `check_output` the caller hands in, and renamed.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path

import pikepdf
import pikepdf.pdfa as pdfa_writer
from pikepdf import String

from archive_store.durable import atomic_path
from archive_store.errors import (
    ConversionFailed,
    ExternalProgramError,
    InvalidArgument,
    YuetanError,
)
from pipeline.external.process import brief, file_tail, kill_group, tail, wait_exit

__all__ = ["LibreOfficeConverter", "PDF_EXPORT_OPTIONS", "IMPORT_FILTERS"]

SOFFICE = "soffice"
DEBIAN_PACKAGES = "libreoffice-writer-nogui python3-uno fonts-noto-cjk"
LANGUAGE = "zh-CN"
START_TIMEOUT = 60.0          # seconds for LibreOffice to accept the UNO connection
STOP_TIMEOUT = 10.0
RESTART_REQUESTED = 81        # soffice.bin's exit status when a fresh profile asks for a restart

# writer_pdf_Export's FilterData: PDF/A-2b (SelectPdfVersion 2), tagged, every font embedded,
# no form fields or comments in the archive copy.
PDF_EXPORT_OPTIONS = {
    "SelectPdfVersion": 2,
    "UseTaggedPDF": True,
    "EmbedStandardFonts": True,
    "ExportFormFields": False,
    "ExportNotes": False,
}
IMPORT_FILTERS = {
    ".docx": "MS Word 2007 XML",
    ".doc": "MS Word 97",
    ".odt": "writer8",
    ".rtf": "Rich Text Format",
}
_NEVER_EXECUTE_MACROS = 0     # com.sun.star.document.MacroExecMode.NEVER_EXECUTE
_NO_LINK_UPDATE = 0           # com.sun.star.document.UpdateDocMode.NO_UPDATE
_ACCEPT = "socket,host=127.0.0.1,port={port},tcpNoDelay=1;urp;StarOffice.ComponentContext"

# Runs as its own process, started before LibreOffice and kept across its restarts: reads its stdin until the
# converter writes "q" (stopped normally) or the pipe breaks (the converter's process died); in the second case it
# kills every soffice.bin running with this converter's profile (each leads a process group of its own). It looks
# again a little later for one whose start was under way as the converter died (not yet showing its command line).
_GUARD = """\
import os, signal, sys, time
marker = sys.argv[1].encode()
signal.signal(signal.SIGINT, signal.SIG_IGN)
if not sys.stdin.buffer.read(1):
    for pause in (0, 0.2, 1.0):
        time.sleep(pause)
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    argv = f.read().split(b"\\0")
                if argv[0].endswith(b"soffice.bin") and marker in argv[1:]:
                    os.killpg(int(entry), signal.SIGKILL)
            except OSError:
                pass
"""


class _Hung(Exception):
    """LibreOffice did not finish the document within its time-out (and was killed)."""


class _Crashed(Exception):
    """LibreOffice died or its connection broke during the document."""


class _Unreadable(Exception):
    """LibreOffice is fine but cannot open or export this document."""


class LibreOfficeConverter:
    """A running LibreOffice that converts Word documents to PDF/A-2b.

    Use as a context manager (`with LibreOfficeConverter() as converter:`); entering launches
    LibreOffice, leaving stops it and removes its private profile. It also starts on the first
    conversion and may be shared by threads (conversions take turns).

    `profile_dir`: the LibreOffice user profile; by default a fresh one in a temporary folder,
    removed on close (a given folder is kept, and must not be used by any other LibreOffice).
    `port`: the loopback port for UNO; by default a free one is found. `default_timeout`: seconds
    per document.
    """

    def __init__(self, *, profile_dir: Path | None = None, port: int | None = None,
                 default_timeout: float = 120.0, check_output: Callable[[Path], list[str]] | None = None):
        """`check_output` (a PDF/A checker from the PDF layer) returns the problems of each output, if any."""
        self.check_output = check_output
        if default_timeout <= 0:
            raise InvalidArgument(f"转换超时时间应大于 0 秒，而不是 {default_timeout:g}")
        self.default_timeout = float(default_timeout)
        self._given_profile = Path(profile_dir).absolute() if profile_dir is not None else None
        self._given_port = port
        self._lock = threading.RLock()
        self._root: Path | None = None
        self._office: _Office | None = None
        self.restarts = 0   # LibreOffice restarts after a crash or time-out, for logs and tests

    # --- lifecycle --------------------------------------------------------------------------------

    def __enter__(self) -> LibreOfficeConverter:
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def start(self) -> None:
        """Launch LibreOffice (not waiting for it: the first conversion does)."""
        with self._lock:
            if self._office is None:
                self._office = self._launch()

    def close(self) -> None:
        """Stop LibreOffice and remove the temporary profile and work folder."""
        with self._lock:
            if self._office is not None:
                office, self._office = self._office, None
                office.stop()
            if self._root is not None:
                root, self._root = self._root, None
                shutil.rmtree(root, ignore_errors=True)

    @property
    def pid(self) -> int | None:
        """Process id of the running soffice.bin, or None when none runs."""
        office = self._office
        return office.pid if office is not None and office.alive() else None

    @property
    def profile_dir(self) -> Path | None:
        """The user profile LibreOffice runs with (None before the first start)."""
        if self._given_profile is not None:
            return self._given_profile
        return self._root / "profile" if self._root is not None else None

    # --- conversion -------------------------------------------------------------------------------

    def convert_to_pdfa(self, src: Path, dest: Path, *, timeout: float | None = None, checked: bool = True) -> Path:
        """Convert the Word document `src` to PDF/A-2b at `dest` (written whole or not at all).

        `checked=False` leaves out the converter's `check_output` for an intermediate file that is checked where it
        ends up (a document of the dossier, checked in the dossier): the output is still opened and rewritten."""
        src, dest = Path(src), Path(dest)
        limit = self.default_timeout if timeout is None else float(timeout)
        name = src.name
        if limit <= 0:
            raise InvalidArgument(f"文书“{name}”的转换超时时间应大于 0 秒，而不是 {limit:g}")
        import_filter = IMPORT_FILTERS.get(src.suffix.lower())
        if import_filter is None:
            raise ConversionFailed(_failed(name, f"不支持的文件类型“{src.suffix or '（无扩展名）'}”，"
                                                 "只能转换 Word 文档（.docx、.doc）、.odt 和 .rtf"))
        if not src.is_file():
            raise InvalidArgument(f"文书“{name}”不存在或不是文件：{src}")
        with self._lock:
            self.start()
            work = Path(tempfile.mkdtemp(prefix="convert-", dir=self._root))
            try:
                source = work / f"source{src.suffix.lower()}"
                shutil.copyfile(src, source)
                exported = work / "export.pdf"
                self._export_with_retry(source, exported, import_filter, limit, name)
                return _finish(exported, dest, name, self.check_output if checked else None)
            finally:
                shutil.rmtree(work, ignore_errors=True)

    def export_only(self, src: Path, dest: Path) -> None:
        """LibreOffice's own export of the Word document `src` to PDF/A-2b at `dest`, with nothing of ours around
        it (no copy, no retry, no rewrite): the converter's floor, which bench/ingest.py measures."""
        with self._lock:
            self.start()
            self._office.export(Path(src).absolute(), Path(dest).absolute(), IMPORT_FILTERS[Path(src).suffix.lower()],
                                self.default_timeout)

    def _export_with_retry(self, source: Path, exported: Path, import_filter: str, limit: float,
                           name: str) -> None:
        for attempt in (1, 2):
            try:
                self._office.export(source, exported, import_filter, limit)
                return
            except _Unreadable as exc:
                raise ConversionFailed(_failed(name, f"LibreOffice 无法打开或导出该文件（{exc}）：文件可能已损坏、"
                                                     "加密或不是 Word 文档，请在 Word 中打开检查、另存后重试")) from None
            except (_Hung, _Crashed) as exc:
                self._office.stop()
                self._office = None
                if self._given_profile is None and self._root is not None:
                    # what a LibreOffice that died mid-document left in its profile can kill the next one too
                    # (seen in CI: both attempts "Binary URP bridge disposed during call")
                    shutil.rmtree(self._root / "profile", ignore_errors=True)
                self._office = self._launch()
                self.restarts += 1
                if attempt == 2:
                    raise ConversionFailed(_failed(name, _retry_failure(exc, limit))) from None

    def _launch(self) -> _Office:
        if self._root is None:
            self._root = Path(tempfile.mkdtemp(prefix="yuetan-libreoffice-"))
        profile = self.profile_dir
        profile.mkdir(parents=True, exist_ok=True)
        try:
            return _Office.launch(profile, self._given_port, self._root / "soffice.log",
                                  graceful=self._given_profile is not None)
        except BaseException:
            self.close()
            raise


# --- one LibreOffice process -----------------------------------------------------------------------------

class _Office:
    """One soffice.bin process with its UNO connection (made on first use) and guard process."""

    def __init__(self, executable: Path, profile: Path, port: int, fixed_port: bool, log: Path, graceful: bool):
        self.executable = executable
        self.profile = profile
        self.profile_url = profile.as_uri()
        self.port = port
        self.fixed_port = fixed_port
        self.log = log
        self.graceful = graceful      # a profile that is kept: let LibreOffice quit and write it; else just kill
        self.proc: subprocess.Popen | None = None
        self.guard: subprocess.Popen | None = None
        self.desktop = None
        self._spawning = threading.Lock()   # the connecting thread restarts LibreOffice while stop() may run
        self._stopped = False
        self.timed_out = False
        self._finalizer = None
        self._ready = threading.Event()     # set when the background connection is made, or has failed
        self._connect_error: BaseException | None = None
        self._connecting: threading.Thread | None = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    @classmethod
    def launch(cls, profile: Path, port: int | None, log: Path, *, graceful: bool = True) -> _Office:
        """Start soffice.bin and connect to it in the background: LibreOffice takes a second or more to start, which
        then passes while the caller does other work; the first conversion waits only for what is left of it."""
        _uno_modules()
        office = cls(_soffice_bin(), profile, port or _free_port(), port is not None, log, graceful)
        office._start_guard()
        office._spawn()
        office._connect_in_background()
        return office

    @property
    def _profile_arg(self) -> str:
        return f"-env:UserInstallation={self.profile_url}"

    def _start_guard(self) -> None:
        """Before LibreOffice: a converter killed at any moment after this leaves none running."""
        self.guard = subprocess.Popen([sys.executable, "-c", _GUARD, self._profile_arg],
                                      stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, start_new_session=True)

    def _spawn(self) -> None:
        cmd = [os.fspath(self.executable), "--headless", "--invisible", "--nocrashreport", "--nodefault",
               "--nologo", "--nofirststartwizard", "--norestore", "--nolockcheck",
               self._profile_arg, f"--accept={_ACCEPT.format(port=self.port)}"]
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                         start_new_session=True)
        if self._finalizer is not None:
            self._finalizer.detach()
        self._finalizer = weakref.finalize(self, _kill_quietly, self.proc, self.guard)

    def _respawn(self) -> None:
        """Start LibreOffice again (its first start with a new profile asks for that), unless stop() has begun: a
        LibreOffice started behind its back would run on, unguarded, and hold the profile against the next one."""
        with self._spawning:
            if self._stopped:
                raise _Crashed("LibreOffice 已停止")
            self._spawn()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def _connect_in_background(self) -> None:
        self._ready.clear()
        self._connect_error = None

        def connecting() -> None:
            try:
                self._connect()
            except BaseException as exc:  # noqa: BLE001 - handed to the conversion that waits for it
                self._connect_error = exc
            finally:
                self._ready.set()

        self._connecting = threading.Thread(target=connecting, name="yuetan-uno-connect", daemon=True)
        self._connecting.start()

    def connect(self) -> None:
        """Wait for the background connection (an event); connect again after a lost bridge."""
        if self._ready.is_set() and self.desktop is None and self._connect_error is None:
            self._connect_in_background()
        if not self._ready.wait(START_TIMEOUT + STOP_TIMEOUT):
            raise ExternalProgramError(f"LibreOffice 在 {START_TIMEOUT:g} 秒内未能启动（端口 {self.port}）："
                                       "请检查机器负载后重试")
        if self.timed_out:
            raise _Hung()
        if self._connect_error is not None:
            raise self._connect_error

    def _connect(self) -> None:
        """Connect once LibreOffice accepts UNO, restarting it once when a new profile asks to. LibreOffice gives no
        sign that it listens, so the attempts are repeated; this runs in the background, and no conversion waits
        on it idle unless it asks before LibreOffice is up."""
        deadline = time.monotonic() + START_TIMEOUT
        relaunched = False
        resolver = _uno_resolver()
        url = f"uno:{_ACCEPT.format(port=self.port)}"
        while True:
            try:
                context = resolver.resolve(url)
                desktop = context.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", context)
                ours = self._is_ours(context)
                break
            except Exception:  # noqa: BLE001 - NoConnectException until LibreOffice listens; a LibreOffice that
                # listens but is still starting may refuse the first services (RuntimeException)
                status = self.proc.poll()
                if self.timed_out:
                    raise _Hung() from None
                if status == RESTART_REQUESTED and not relaunched:     # a new profile asks for one restart
                    relaunched = True
                    self._respawn()
                elif status is not None:
                    raise ExternalProgramError(
                        f"LibreOffice 启动失败（退出码 {status}）：{_log_tail(self.log)}请确认 Debian 软件包 "
                        f"{DEBIAN_PACKAGES} 安装完好") from None
                elif time.monotonic() > deadline:
                    self.stop()
                    raise ExternalProgramError(
                        f"LibreOffice 在 {START_TIMEOUT:g} 秒内未能启动（端口 {self.port}）：{_log_tail(self.log)}"
                        "请检查机器负载后重试") from None
                time.sleep(0.02)
        if not ours:
            self.stop()
            if self.fixed_port:
                raise ExternalProgramError(f"端口 {self.port} 已被另一个 LibreOffice 占用：请换一个端口，"
                                           "或不指定端口（自动选择空闲端口）")
            raise _Crashed(f"端口 {self.port} 上响应的不是本转换器启动的 LibreOffice")
        self.desktop = desktop

    def _is_ours(self, context) -> bool:
        """A free port may be taken between finding and binding it: check whose profile answers."""
        paths = context.ServiceManager.createInstanceWithContext("com.sun.star.util.PathSubstitution", context)
        return paths.getSubstituteVariableValue("$(user)").startswith(self.profile_url)

    def export(self, source: Path, exported: Path, import_filter: str, limit: float) -> None:
        """Load `source` hidden and read-only, store it as PDF/A-2b; classify what goes wrong.
        The time-out covers connecting too, so a LibreOffice that hangs while starting is restarted."""
        uno, PropertyValue = _uno_modules()
        self.timed_out = False
        timer = threading.Timer(limit, self._time_out)
        timer.daemon = True
        timer.start()
        document = None
        try:
            if self.desktop is None:
                try:
                    self.connect()
                except (_Hung, _Crashed, YuetanError):
                    raise
                except Exception as exc:  # noqa: BLE001 - LibreOffice's fault, not the document's: restart it
                    raise _Crashed(f"无法连接 LibreOffice（{brief(exc)}）") from None
            # only now: while it starts, LibreOffice exits once to be started again (a new profile asks for that)
            if not self.alive():
                raise _Crashed("LibreOffice 进程已退出")
            load = (PropertyValue(Name="Hidden", Value=True), PropertyValue(Name="ReadOnly", Value=True),
                    PropertyValue(Name="FilterName", Value=import_filter),
                    PropertyValue(Name="MacroExecutionMode", Value=_NEVER_EXECUTE_MACROS),
                    PropertyValue(Name="UpdateDocMode", Value=_NO_LINK_UPDATE))
            document = self.desktop.loadComponentFromURL(uno.systemPathToFileUrl(os.fspath(source)),
                                                         "_blank", 0, load)
            if document is None:
                raise _Unreadable("导入失败")
            options = tuple(PropertyValue(Name=k, Value=v) for k, v in PDF_EXPORT_OPTIONS.items())
            store = (PropertyValue(Name="FilterName", Value="writer_pdf_Export"),
                     PropertyValue(Name="Overwrite", Value=True),
                     PropertyValue(Name="FilterData", Value=uno.Any("[]com.sun.star.beans.PropertyValue", options)))
            document.storeToURL(uno.systemPathToFileUrl(os.fspath(exported)), store)
        except (_Unreadable, _Crashed, _Hung, YuetanError):
            raise
        except Exception as exc:  # noqa: BLE001 - UNO exceptions, classified below
            raise self._classify(exc) from None
        finally:
            timer.cancel()
            if document is not None:
                try:
                    document.close(True)
                except Exception:  # noqa: BLE001 - a document that will not close dies with LibreOffice
                    pass
        if self.timed_out:
            raise _Hung()
        if not exported.is_file() or exported.stat().st_size == 0:
            raise _Unreadable("没有生成 PDF")

    def _classify(self, exc: Exception) -> Exception:
        if self.timed_out:
            return _Hung()
        bridge_lost = type(exc).__name__ == "DisposedException" or "disposed" in str(exc).lower()
        if bridge_lost or not self.alive():
            self.desktop = None
            return _Crashed(brief(exc))
        return _Unreadable(brief(exc))

    def _time_out(self) -> None:
        self.timed_out = True
        _kill(self.proc)

    def stop(self) -> None:
        """Ask LibreOffice to quit; kill its process group if it does not within STOP_TIMEOUT."""
        with self._spawning:
            self._stopped = True
            proc = self.proc
        if proc is None:
            return
        if self.graceful and proc.poll() is None and self.desktop is not None:
            try:
                self.desktop.terminate()
                wait_exit(proc, STOP_TIMEOUT)
            except Exception:  # noqa: BLE001 - the connection closes as LibreOffice exits; or it hangs
                pass
        self.desktop = None
        if proc.poll() is None:
            _kill(proc)
            proc.wait()
        connecting = self._connecting
        if connecting is not None and connecting is not threading.current_thread():
            # a UNO call still under way in that thread when the interpreter exits can abort the process
            connecting.join(STOP_TIMEOUT)
        self._release_guard()
        if self._finalizer is not None:
            self._finalizer.detach()

    def _release_guard(self) -> None:
        """Tell the guard the exit was ours, so it does not kill a process group by number."""
        guard, self.guard = self.guard, None
        if guard is None:
            return
        try:
            guard.stdin.write(b"q")
            guard.stdin.close()
        except OSError:
            pass
        if not wait_exit(guard, STOP_TIMEOUT):
            guard.kill()
            guard.wait()


# --- output ----------------------------------------------------------------------------------------------

def _finish(exported: Path, dest: Path, name: str, check_output: Callable[[Path], list[str]] | None) -> Path:
    """Set /Lang, save with the PDF/A settings under a temporary name, check, fsync, rename."""
    with atomic_path(dest) as part:
        try:
            with pikepdf.open(exported) as pdf:
                pdf.Root.Lang = String(LANGUAGE)
                if "/DocChecksum" in pdf.trailer:   # stale once rewritten; the PDF/A validator stops at it
                    del pdf.trailer["/DocChecksum"]
                pdf.save(part, **pdfa_writer.resolve_save_kwargs("2b"))
        except pikepdf.PdfError as exc:
            raise ConversionFailed(_failed(name, f"LibreOffice 生成的 PDF 无法读取（{brief(exc)}）")) from None
        problems = check_output(part) if check_output else []
        if problems:
            raise ConversionFailed(_failed(name, "输出不符合 PDF/A-2b：" + "；".join(problems[:5])))
    return dest


# --- helpers ---------------------------------------------------------------------------------------------

def _failed(name: str, reason: str) -> str:
    return f"文书“{name}”转换为 PDF/A 失败：{reason}"


def _retry_failure(exc: Exception, limit: float) -> str:
    if isinstance(exc, _Hung):
        return (f"超过 {limit:g} 秒仍未完成（已重启 LibreOffice 重试一次，仍然超时）："
                "文件可能过大或结构异常，请拆分或在 Word 中另存后重试")
    return (f"LibreOffice 在转换该文件时意外退出（{exc or '进程已终止'}），重启后重试仍然失败："
            "文件可能已损坏，请在 Word 中打开检查、另存后重试")


def _soffice_bin() -> Path:
    """soffice.bin beside the `soffice` launcher: run directly, it is the process we manage."""
    found = shutil.which(SOFFICE)
    if found is None:
        raise ExternalProgramError(
            f"未找到 LibreOffice（{SOFFICE}），无法把 Word 文档转换为 PDF/A：请安装 Debian 软件包 "
            f"{DEBIAN_PACKAGES}（apt-get install {DEBIAN_PACKAGES}，或在项目目录执行 make install）")
    program = Path(found).resolve().parent / "soffice.bin"
    if not os.access(program, os.X_OK):
        raise ExternalProgramError(
            f"找到了 {found}，但其旁边没有 soffice.bin（{program}）：LibreOffice 安装不完整，"
            f"请重新安装 Debian 软件包 {DEBIAN_PACKAGES}")
    return program


def _uno_modules():
    """(uno, PropertyValue) from python3-uno, which only Debian's own Python (or a venv made from it
    with --system-site-packages) can import."""
    try:
        import uno
        from com.sun.star.beans import PropertyValue
    except ImportError:
        raise ExternalProgramError(
            "Python 无法导入 LibreOffice 的 uno 模块：请安装 Debian 软件包 python3-uno，并用系统 Python "
            "以 --system-site-packages 创建虚拟环境（在项目目录执行 make install）") from None
    return uno, PropertyValue


def _uno_resolver():
    uno, _ = _uno_modules()
    local = uno.getComponentContext()
    return local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _kill_quietly(proc: subprocess.Popen, guard: subprocess.Popen | None) -> None:
    """Finalizer for an _Office never stopped (garbage collected, or the interpreter exiting)."""
    if proc.poll() is None:
        _kill(proc)
        proc.wait()
    if guard is not None and guard.poll() is None:
        try:
            guard.stdin.write(b"q")
            guard.stdin.close()
        except (OSError, ValueError):
            pass


def _log_tail(log: Path, limit: int = 300) -> str:
    text = file_tail(log, limit + 80).replace("Warning: failed to launch javaldx - java may not function correctly",
                                              "").strip()
    return f"{tail(text, limit)}；" if text and text != "（无输出）" else ""


def _kill(proc: subprocess.Popen) -> None:
    kill_group(proc, reap=False)

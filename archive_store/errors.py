"""One exception hierarchy; each class carries its exit status so the CLI maps errors in one place."""
from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from enum import IntEnum


class ExitCode(IntEnum):
    ok = 0
    failed_check = 1          # a verification/audit ran and found problems
    invalid_input = 2         # the case or the command's input is refused
    conversion_failed = 3     # an external program could not convert a document
    archive_conflict = 4      # the archive refuses (number held, case exists, ...)
    configuration = 5         # the archive home or settings are missing or wrong
    external_program = 6      # a required program is missing or broke
    archive_damaged = 7       # the archive's own state is lost or replaced: refused until restored
    internal = 10


class YuetanError(Exception):
    """Base of all errors yuetan reports to a user; the message is Chinese and says what to do."""

    exit_code: ExitCode = ExitCode.internal

    def __init__(self, message: str, *, reported: bool = False):
        super().__init__(message)
        self.message = message
        self.reported = reported      # the face has shown the details already; only the exit status is left

    def __reduce__(self):
        """Pickled with its own fields, so an error raised in a worker process arrives whole."""
        return (_rebuild, (type(self), self.__dict__))


@dataclass(frozen=True)
class CaseProblem:
    """One reason a case is refused: where (key path or file name) and what is wrong."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}：{self.message}" if self.path else self.message


class InvalidCase(YuetanError):
    """The case is refused; carries every problem found, not only the first."""

    exit_code = ExitCode.invalid_input

    def __init__(self, problems: list[CaseProblem], *, source: str = "", reported: bool = False):
        self.problems = list(problems)
        self.source = source
        head = f"案件 {source} 不符合数据契约，共 {len(self.problems)} 处问题" if source else \
            f"案件不符合数据契约，共 {len(self.problems)} 处问题"
        super().__init__(head + "：\n" + "\n".join(f"  - {p}" for p in self.problems), reported=reported)


def _rebuild(cls: type, fields: dict) -> YuetanError:
    error = cls.__new__(cls)
    Exception.__init__(error, fields.get("message", ""))
    error.__dict__.update(fields)
    return error


class InvalidArgument(YuetanError):
    exit_code = ExitCode.invalid_input


class ConfigurationError(YuetanError):
    exit_code = ExitCode.configuration


class ArchiveConflict(YuetanError):
    exit_code = ExitCode.archive_conflict


class NumberAlreadyHeld(ArchiveConflict):
    """A notice number is already held by another case; numbers are never issued twice."""


class ConversionFailed(YuetanError):
    exit_code = ExitCode.conversion_failed


class ExternalProgramError(YuetanError):
    exit_code = ExitCode.external_program


class ArchiveDamaged(YuetanError):
    """The catalog is missing, empty, unreadable or not the one the archive last wrote; nothing runs on it."""

    exit_code = ExitCode.archive_damaged


class IndexDamaged(ArchiveDamaged):
    """The search index is missing or unreadable; unlike the catalog it is derived data: reindex makes it anew."""


class VerificationFailed(YuetanError):
    exit_code = ExitCode.failed_check


def environment_error(exc: BaseException) -> YuetanError | None:
    """A file-system or SQLite error, said in Chinese with its exit status (5: the machine, not the input, is at
    fault: a full disk, a read-only or forbidden place); None for anything else."""
    import sqlite3

    orig = getattr(exc, "orig", None)          # SQLAlchemy wraps the driver's error
    if isinstance(orig, BaseException) and type(exc).__module__.startswith("sqlalchemy"):
        exc = orig
    if isinstance(exc, (sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.InterfaceError)):
        return None                 # a fault of the program, not of the machine
    if isinstance(exc, sqlite3.Error):
        from .db import database_error
        return database_error(exc)
    if not isinstance(exc, OSError):
        return None
    where = "、".join(str(f) for f in (exc.filename, exc.filename2) if isinstance(f, (str, bytes, os.PathLike)))
    at = f"（{where}）" if where else ""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return ConfigurationError(f"磁盘空间已满{at}：操作未完成，请腾出空间后重试")
    if exc.errno == errno.EROFS:
        return ConfigurationError(f"文件系统只读{at}：无法写入，请检查挂载方式")
    if exc.errno in (errno.EACCES, errno.EPERM):
        return ConfigurationError(f"没有权限{at}：请检查文件与文件夹的权限")
    return ConfigurationError(f"文件操作失败：{exc.strerror or exc}{at}")


def machine_fault(exc: BaseException) -> YuetanError | None:
    """A full disk or a read-only file system, whatever file it struck: never a document's fault, so a converter
    that trips on it reports the machine (5) instead of blaming the upload."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS):
        return environment_error(exc)
    return None

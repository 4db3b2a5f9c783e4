"""The one way yuetan unpacks a zip someone handed it: a closed case's zip at intake, an export or a yearly
handover given back for verification. One set of rules for every zip (no name outside the folder, no links, no
names twice, no bombs, damaged members named, GBK names from Chinese Windows recovered); the limits are one table
here, a case being small and an export holding a year of dossiers.

Problems are returned, each naming its member, in Simplified Chinese; the caller decides what they mean (intake
refuses the case at the first one, verification lists them all). A full or read-only disk is the machine's
fault and is raised, not reported as the zip's.
"""
from __future__ import annotations

import errno
import stat
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

MIB = 1024 * 1024


@dataclass(frozen=True)
class ZipLimits:
    """How much one zip may hold: members, bytes once unpacked (None: the disk decides), and how far one member
    may expand (more is a bomb)."""

    members: int
    total_bytes: int | None
    ratio: int = 200


CASE_ZIP = ZipLimits(members=500, total_bytes=512 * MIB)
BAG_ZIP = ZipLimits(members=100_000, total_bytes=None)


@dataclass(frozen=True)
class ZipProblem:
    member: str           # "" for the zip as a whole
    message: str

    def __str__(self) -> str:
        return f"zip 成员 {self.member}：{self.message}" if self.member else self.message


def member_name(info: zipfile.ZipInfo) -> str:
    """Names from Chinese Windows zips are GBK without the UTF-8 flag; recover them."""
    if info.flag_bits & 0x800:
        return info.filename
    try:
        return info.filename.encode("cp437").decode("gbk")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return info.filename


def member_names(path: Path) -> list[str]:
    """The names of a zip's files as extraction would read them (a name held twice appears twice); [] for no zip."""
    try:
        with zipfile.ZipFile(path) as archive:
            return [member_name(info) for info in archive.infolist() if not info.is_dir()]
    except Exception:  # whatever breaks, it is no zip: extract says so
        return []


def extract(path: Path, dest: Path, limits: ZipLimits, *, all_or_nothing: bool) -> list[ZipProblem]:
    """Unpack `path` into `dest`. With `all_or_nothing` (a case) any problem stops before or at the first damaged
    member and the caller discards `dest`; without it (verification) unsafe members are skipped and damaged ones
    named, so that every problem is listed."""
    try:
        archive = zipfile.ZipFile(path)
    except Exception as exc:  # zipfile parses a hostile file; whatever breaks, it is no zip
        if isinstance(exc, OSError) and exc.errno in (errno.EACCES, errno.EPERM):
            raise
        return [ZipProblem("", f"{Path(path).name} 不是有效的 zip 文件（{_brief(exc)}），请重新打包")]
    with archive:
        infos = archive.infolist()
        if len(infos) > limits.members:
            return [ZipProblem("", f"zip 内文件过多（{len(infos)} 个，上限 {limits.members}），已拒收")]
        problems, plan = _plan(infos, limits)
        if problems and all_or_nothing:
            return problems
        total = 0
        for info, relative in plan:
            target = dest.joinpath(*relative.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            total, problem = _copy_member(archive, info, target, total, limits, str(relative))
            if problem is not None:
                target.unlink(missing_ok=True)
                problems.append(problem)
                if all_or_nothing:
                    break
    return problems


def _plan(infos: list[zipfile.ZipInfo], limits: ZipLimits) -> tuple[list[ZipProblem], list]:
    problems: list[ZipProblem] = []
    plan: list[tuple[zipfile.ZipInfo, PurePosixPath]] = []
    for info in infos:
        name = member_name(info)
        if not name.strip("/"):
            problems.append(ZipProblem("", "zip 内有没有名字的文件，已拒收"))
            continue
        if info.is_dir():
            continue
        pure = PurePosixPath(name.replace("\\", "/"))
        if any(len(part.encode("utf-8", "surrogateescape")) > 255 for part in pure.parts):
            problems.append(ZipProblem(name[:80], "文件名过长（超过 255 字节），已拒收"))
        elif pure.is_absolute() or ".." in pure.parts or (pure.parts and ":" in pure.parts[0]):
            problems.append(ZipProblem(name, "路径不安全：越出解压文件夹（绝对路径或含 ..），未解压"))
        elif stat.S_ISLNK(info.external_attr >> 16):
            problems.append(ZipProblem(name, "路径不安全：是符号链接，未解压"))
        elif info.file_size > limits.ratio * max(info.compress_size, 1) and info.file_size > MIB:
            problems.append(ZipProblem(name, "压缩比异常（疑似 zip 炸弹），已拒收"))
        else:
            plan.append((info, pure))
    problems += _clashes(plan)
    declared = sum(info.file_size for info, _ in plan)
    if limits.total_bytes is not None and declared > limits.total_bytes:
        problems.append(ZipProblem("", f"zip 解压后总大小超过上限 {limits.total_bytes // MIB} MiB，已拒收"))
    return problems, [(info, pure) for info, pure in plan if not _clashing(pure, problems)]


def _clashes(plan: list[tuple[zipfile.ZipInfo, PurePosixPath]]) -> list[ZipProblem]:
    """A name held twice (the last would silently win), and a name that is a file and a folder at once."""
    problems = []
    seen: dict[tuple, int] = {}
    for _, pure in plan:
        seen[pure.parts] = seen.get(pure.parts, 0) + 1
    for parts, count in seen.items():
        if count > 1:
            problems.append(ZipProblem("/".join(parts), f"zip 内有 {count} 个同名文件，无法确定用哪一个，已拒收"))
    folders = {parts[:i] for parts in seen for i in range(1, len(parts))}
    for parts in sorted(folders & set(seen)):
        problems.append(ZipProblem("/".join(parts), "这个名字既是文件又是文件夹，已拒收"))
    return problems


def _clashing(pure: PurePosixPath, problems: list[ZipProblem]) -> bool:
    name = "/".join(pure.parts)
    return any(p.member == name for p in problems)


def _copy_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, total: int, limits: ZipLimits,
                 name: str) -> tuple[int, ZipProblem | None]:
    """Stream one member, counting real bytes: the sizes a hostile zip declares may lie."""
    written = 0
    try:
        with archive.open(info) as source, open(target, "wb") as out:
            while chunk := source.read(MIB):
                written += len(chunk)
                if limits.total_bytes is not None and total + written > limits.total_bytes:
                    return total, ZipProblem(name, "解压后实际大小超过上限（疑似 zip 炸弹），已拒收")
                if written > MIB and written > limits.ratio * max(info.compress_size, 1):
                    return total, ZipProblem(name, "解压后实际大小与压缩大小不成比例（疑似 zip 炸弹），已拒收")
                out.write(chunk)
    except (zipfile.BadZipFile, zlib.error, EOFError, UnicodeDecodeError, ValueError) as exc:
        return total, ZipProblem(name, f"已损坏，无法解压（{_brief(exc)}），请重新打包")
    except RuntimeError as exc:     # zipfile: "File ... is encrypted, password required for extraction"
        return total, ZipProblem(name, f"已加密，无法解压（{_brief(exc)}），请不加密重新打包")
    except NotImplementedError as exc:
        return total, ZipProblem(name, f"压缩方式不受支持（{_brief(exc)}），请用普通 zip 重新打包")
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM):
            raise                   # the machine's fault, not the zip's
        return total, ZipProblem(name, f"无法解压（{exc.strerror}），请重新打包")
    return total + written, None


def _brief(exc: BaseException) -> str:
    return str(exc)[:120]

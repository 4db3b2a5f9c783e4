"""Blobs on S3-compatible object storage under Object Lock (COMPLIANCE), through boto3.

The keys are the local store's: aa/bb/<sha256>. The bucket must have Object Lock on (hence versioning), so no
administrator, not even the account's root, can delete or overwrite a stored version before its retain-until
date. Every blob is written with a COMPLIANCE retention until the day its case may be destroyed; when a later case
shares the blob, the retention is extended (COMPLIANCE retention can only ever be extended). A legal hold on a
case puts the S3 legal hold on its blobs. A delete removes every version of the key and is refused by the store
itself while any version is locked: the catalog's own rules are not the only guard.

Writes are conditional (If-None-Match: *), so two nodes putting the same blob at once leave one version; the
stored SHA-256 checksum is sent with the bytes, so a store that checks checksums refuses a corrupted upload.
Credentials come from boto3's usual chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY in the environment, or a
profile), never from yuetan.toml.
"""
from __future__ import annotations

import base64
import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import BinaryIO

from .blobs import CHUNK, BlobMissing, check_sha, export_checked, sha256_stream
from .durable import sha256_file
from .errors import ArchiveConflict, ConfigurationError, InvalidArgument

LOCK_MODE = "COMPLIANCE"
# A blob whose term has already ended when it is stored is still locked this long: nothing is ever written
# unlocked, and a fresh ingest cannot be deleted behind the archive's back the same day.
MIN_LOCK = timedelta(days=1)
SPOOL_IN_MEMORY = 16 << 20
_KEY_RE = re.compile(r"^([0-9a-f]{2})/([0-9a-f]{2})/([0-9a-f]{64})$")


class BlobLocked(ArchiveConflict):
    """The object store refuses to delete a version still under retention or legal hold."""


@dataclass(frozen=True)
class ObjectVersion:
    """One stored version of a key, with its lock, as the store reports it."""

    key: str
    version_id: str
    size: int
    is_latest: bool
    retain_until: datetime | None = None
    lock_mode: str | None = None
    legal_hold: bool = False
    checksum_sha256: str | None = None        # hex, when the store kept the checksum sent with the upload


@dataclass
class StoredObject:
    """A key and all its versions (newest first); `sha` is None for a key that is no blob name."""

    key: str
    sha: str | None
    versions: list[ObjectVersion] = field(default_factory=list)
    delete_markers: int = 0


def blob_key(sha: str) -> str:
    return f"{sha[:2]}/{sha[2:4]}/{sha}"


def sha_of_key(key: str) -> str | None:
    match = _KEY_RE.match(key)
    if match and match[3][:2] == match[1] and match[3][2:4] == match[2]:
        return match[3]
    return None


def lock_until_for(purgeable_from: datetime) -> datetime:
    """The retain-until date for a term ending before `purgeable_from`, at least MIN_LOCK from now."""
    at_least = datetime.now(timezone.utc).replace(microsecond=0) + MIN_LOCK
    return max(purgeable_from.astimezone(timezone.utc), at_least)


class S3BlobStore:
    """The `BlobStore` protocol on an Object Lock bucket; `retain_until` on writes is what locks a blob."""

    def __init__(self, *, bucket: str, endpoint: str | None = None, region: str | None = None,
                 path_style: bool = True, client=None):
        self.bucket = bucket
        self.endpoint = endpoint
        self.client = client or _make_client(endpoint, region, path_style)

    def __repr__(self) -> str:
        return f"S3BlobStore(bucket={self.bucket!r}, endpoint={self.endpoint!r})"

    # --- the bucket -------------------------------------------------------------------------------------

    def check_bucket(self) -> None:
        """Refuse a bucket without Object Lock: without it nothing stops a delete or an overwrite."""
        try:
            config = self.client.get_object_lock_configuration(Bucket=self.bucket)
        except self._errors() as exc:
            code = _code(exc)
            if code in ("ObjectLockConfigurationNotFoundError", "ObjectLockConfigurationNotFound"):
                raise ConfigurationError(f"对象存储桶 {self.bucket} 未启用对象锁定（Object Lock）：档案不能存放在"
                                         "可被删除或覆盖的存储桶中，请新建启用对象锁定的存储桶") from None
            raise _unreachable(self, exc) from None
        if config.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled") != "Enabled":
            raise ConfigurationError(f"对象存储桶 {self.bucket} 未启用对象锁定（Object Lock）")

    # --- writing ----------------------------------------------------------------------------------------

    def put_file(self, path: Path, *, retain_until: datetime | None = None) -> str:
        try:
            sha = sha256_file(path)
        except OSError as exc:
            raise InvalidArgument(f"无法读取要入库的文件 {path}：{exc.strerror}") from None
        with open(path, "rb") as body:
            return self._put(sha, body, os.path.getsize(path), retain_until)

    def put_bytes(self, data: bytes, *, retain_until: datetime | None = None) -> str:
        sha = hashlib.sha256(data).hexdigest()
        return self._put(sha, data, len(data), retain_until)

    def _put(self, sha: str, body, size: int, retain_until: datetime | None) -> str:
        until = lock_until_for(retain_until or datetime.now(timezone.utc))
        if self.has(sha):
            self.extend_retention(sha, until)
            return sha
        try:
            self.client.put_object(
                Bucket=self.bucket, Key=blob_key(sha), Body=body, ContentLength=size, IfNoneMatch="*",
                ChecksumAlgorithm="SHA256", ChecksumSHA256=base64.b64encode(bytes.fromhex(sha)).decode("ascii"),
                ObjectLockMode=LOCK_MODE, ObjectLockRetainUntilDate=until)
        except self._errors() as exc:
            if _code(exc) not in ("PreconditionFailed", "ConditionalRequestConflict"):
                raise _unreachable(self, exc) from None
            self.extend_retention(sha, until)       # another node put the same bytes just now
        return sha

    def extend_retention(self, sha: str, until: datetime) -> None:
        """Every version of the blob locked at least until `until`; a later lock stays (it cannot shorten)."""
        until = until.astimezone(timezone.utc).replace(microsecond=0)
        for version in self.versions(sha):
            if version.retain_until is None or version.retain_until < until:
                self._call("put_object_retention", Bucket=self.bucket, Key=version.key,
                           VersionId=version.version_id, Retention={"Mode": LOCK_MODE, "RetainUntilDate": until})

    def set_legal_hold(self, sha: str, on: bool) -> None:
        for version in self.versions(check_sha(sha)):
            if version.legal_hold != on:
                self._call("put_object_legal_hold", Bucket=self.bucket, Key=version.key,
                           VersionId=version.version_id, LegalHold={"Status": "ON" if on else "OFF"})

    # --- reading ----------------------------------------------------------------------------------------

    def has(self, sha: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=blob_key(check_sha(sha)))
            return True
        except self._errors() as exc:
            if _code(exc) in ("404", "NoSuchKey", "NotFound"):
                return False
            raise _unreachable(self, exc) from None

    def open(self, sha: str) -> BinaryIO:
        """The latest version's bytes in a seekable temporary file (in memory up to 16 MiB)."""
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=blob_key(check_sha(sha)))
            for chunk in response["Body"].iter_chunks(CHUNK):
                spool.write(chunk)
        except self._errors() as exc:
            spool.close()
            if _code(exc) in ("404", "NoSuchKey", "NotFound"):
                raise BlobMissing(f"档案库中缺少内容 {sha}（对象存储桶 {self.bucket} 中没有 {blob_key(sha)}）") from None
            raise _unreachable(self, exc) from None
        spool.seek(0)
        return spool

    def read_bytes(self, sha: str) -> bytes:
        with self.open(sha) as f:
            return f.read()

    def verify(self, sha: str) -> bool:
        try:
            f = self.open(sha)
        except BlobMissing:
            return False
        with f:
            return sha256_stream(f) == sha

    def iter_shas(self) -> Iterator[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket):
                for item in page.get("Contents", []):
                    sha = sha_of_key(item["Key"])
                    if sha:
                        yield sha
        except self._errors() as exc:
            raise _unreachable(self, exc) from None

    def export_to(self, sha: str, dest_path: Path) -> Path:
        return export_checked(self, sha, dest_path)

    # --- versions and locks ----------------------------------------------------------------------------

    def versions(self, sha: str) -> list[ObjectVersion]:
        """Every version stored under the blob's key, newest first, each with its lock (one HEAD each)."""
        found = self._listing(prefix=blob_key(check_sha(sha)))
        stored = found.get(blob_key(sha))
        return stored.versions if stored else []

    def objects(self) -> Iterator[StoredObject]:
        """Every key in the bucket with all its versions and locks: what `audit` compares with the catalog."""
        yield from self._listing(prefix="").values()

    def locked_until(self, sha: str) -> datetime | None:
        """The latest retain-until date over the blob's versions (None when none is locked)."""
        dates = [v.retain_until for v in self.versions(sha) if v.retain_until]
        return max(dates) if dates else None

    def _listing(self, prefix: str) -> dict[str, StoredObject]:
        found: dict[str, StoredObject] = {}
        paginator = self.client.get_paginator("list_object_versions")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                for item in page.get("Versions", []):
                    if prefix and item["Key"] != prefix:
                        continue
                    stored = found.setdefault(item["Key"], StoredObject(item["Key"], sha_of_key(item["Key"])))
                    stored.versions.append(self._version(item))
                for item in page.get("DeleteMarkers", []):
                    if prefix and item["Key"] != prefix:
                        continue
                    found.setdefault(item["Key"], StoredObject(item["Key"], sha_of_key(item["Key"]))) \
                        .delete_markers += 1
        except self._errors() as exc:
            raise _unreachable(self, exc) from None
        for stored in found.values():
            stored.versions.sort(key=lambda v: not v.is_latest)
        return found

    def _version(self, item: dict) -> ObjectVersion:
        head = self._call("head_object", Bucket=self.bucket, Key=item["Key"], VersionId=item["VersionId"],
                          ChecksumMode="ENABLED")
        until = head.get("ObjectLockRetainUntilDate")
        checksum = head.get("ChecksumSHA256")
        return ObjectVersion(
            key=item["Key"], version_id=item["VersionId"], size=item["Size"], is_latest=item["IsLatest"],
            retain_until=until.astimezone(timezone.utc) if until else None, lock_mode=head.get("ObjectLockMode"),
            legal_hold=head.get("ObjectLockLegalHoldStatus") == "ON",
            checksum_sha256=base64.b64decode(checksum).hex() if checksum and "-" not in checksum else None)

    # --- removing ---------------------------------------------------------------------------------------

    def delete(self, sha: str) -> None:
        """Delete every version of the blob; the store refuses while a version is under retention or hold.

        Deleting what is not there is not an error, so a purge can rerun."""
        key = blob_key(check_sha(sha))
        listing = self._listing(prefix=key).get(key)
        if listing is None:
            return
        now = datetime.now(timezone.utc)
        for version in listing.versions:
            try:
                self.client.delete_object(Bucket=self.bucket, Key=key, VersionId=version.version_id)
            except self._errors() as exc:
                if _code(exc) not in ("AccessDenied", "InvalidRequest", "ObjectLocked"):
                    raise _unreachable(self, exc) from None
                if version.legal_hold:
                    why = "处于法律保全（legal hold）"
                elif version.retain_until and version.retain_until > now:
                    why = f"锁定至 {version.retain_until.isoformat(timespec='seconds')}（{version.lock_mode}）"
                else:
                    why = "对象存储拒绝删除"
                raise BlobLocked(f"对象存储拒绝删除内容 {sha}（版本 {version.version_id}）：{why}；"
                                 "保管期满且解除保全之前，任何人都不能删除") from None
        self._delete_markers(key)

    def _delete_markers(self, key: str) -> None:
        paginator = self.client.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=key):
            for item in page.get("DeleteMarkers", []):
                if item["Key"] == key:
                    self._call("delete_object", Bucket=self.bucket, Key=key, VersionId=item["VersionId"])

    # --- helpers ----------------------------------------------------------------------------------------

    def _call(self, name: str, **kwargs):
        try:
            return getattr(self.client, name)(**kwargs)
        except self._errors() as exc:
            if name == "delete_object" and _code(exc) == "AccessDenied":
                raise BlobLocked(f"对象存储拒绝删除 {kwargs.get('Key')}（仍在锁定期内或处于法律保全）") from None
            raise _unreachable(self, exc) from None

    @staticmethod
    def _errors():
        from botocore.exceptions import BotoCoreError, ClientError

        return (ClientError, BotoCoreError)


def _make_client(endpoint: str | None, region: str | None, path_style: bool):
    import boto3
    from botocore.config import Config

    config = Config(retries={"max_attempts": 5, "mode": "standard"}, connect_timeout=10, read_timeout=120,
                    s3={"addressing_style": "path" if path_style else "virtual"},
                    request_checksum_calculation="when_required", response_checksum_validation="when_required")
    return boto3.session.Session().client("s3", endpoint_url=endpoint or None, region_name=region or None,
                                          config=config)


def _code(exc) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def _unreachable(store: S3BlobStore, exc) -> ConfigurationError:
    return ConfigurationError(f"无法使用对象存储（{store.endpoint or '默认地址'}，存储桶 {store.bucket}）：{exc}；"
                              "请检查 yuetan.toml 的 [store] 设置、网络和环境变量中的访问密钥")

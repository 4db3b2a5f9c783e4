"""Which blob store `[store]` in yuetan.toml names: the home's blobs/ folder (default) or an S3 bucket.

    [store]
    kind = "s3"                                   # "local" (default) or "s3"
    endpoint = "https://oss.example.gov.cn"       # omit for AWS itself
    bucket = "yuetan-archive"                     # must have Object Lock
    region = "cn-jiangxi-1"
    path_style = true                             # MinIO and most on-premises stores want path-style addressing

Credentials: boto3's chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY in the environment, or a profile), never
this file.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path

from .errors import ConfigurationError

_KEYS = {"kind", "endpoint", "bucket", "region", "path_style"}
_S3_STORES: dict[tuple, object] = {}
_LOCK = threading.Lock()


def open_blob_store(raw_settings: dict, home_path: Path, *, settings_file: Path | None = None):
    where = settings_file or Path(home_path) / "yuetan.toml"
    section = raw_settings.get("store", {})
    if not isinstance(section, dict):
        raise ConfigurationError(f"设置文件 {where} 中 store 应为 [store] 节，实为 {section!r}")
    unknown = sorted(set(section) - _KEYS)
    if unknown:
        raise ConfigurationError(f"设置文件 {where} 的 [store] 中有不认识的设置：{'、'.join(unknown)}"
                                 f"（可用：{'、'.join(sorted(_KEYS))}；访问密钥只从环境变量 AWS_ACCESS_KEY_ID / "
                                 "AWS_SECRET_ACCESS_KEY 读取）")
    kind = section.get("kind", "local")
    if kind == "local":
        from .blobs import FilesystemBlobStore

        return FilesystemBlobStore(Path(home_path) / "blobs")
    if kind != "s3":
        raise ConfigurationError(f"设置文件 {where} 中 store.kind 应为 \"local\" 或 \"s3\"，实为 {kind!r}")
    for key in ("bucket",):
        if not isinstance(section.get(key), str) or not section[key].strip():
            raise ConfigurationError(f"设置文件 {where} 中 store.{key} 应为非空字符串（[store] kind = \"s3\" 时必填）")
    for key in ("endpoint", "region"):
        if key in section and not isinstance(section[key], str):
            raise ConfigurationError(f"设置文件 {where} 中 store.{key} 应为字符串，实为 {section[key]!r}")
    path_style = section.get("path_style", True)
    if not isinstance(path_style, bool):
        raise ConfigurationError(f"设置文件 {where} 中 store.path_style 应为 true 或 false，实为 {path_style!r}")
    from .s3blobs import S3BlobStore

    # One client per store and process: boto3 clients are thread-safe and slow to make. The credentials are
    # part of the key, so a changed environment gets a new client.
    key = (os.getpid(), section["bucket"].strip(), section.get("endpoint") or None, section.get("region") or None,
           path_style, os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("AWS_SECRET_ACCESS_KEY"),
           os.environ.get("AWS_PROFILE"))
    with _LOCK:
        store = _S3_STORES.get(key)
        if store is None:
            store = S3BlobStore(bucket=key[1], endpoint=key[2], region=key[3], path_style=path_style)
            store.check_bucket()          # a bucket without Object Lock is refused before anything is written
            _S3_STORES[key] = store
    return store

"""The blob store on S3 with Object Lock, against moto's S3 server: same keys as the local store, COMPLIANCE
retention at write, extension when shared, legal holds, and deletes the store itself refuses."""
from __future__ import annotations

import hashlib
import os
import threading
from datetime import datetime, timedelta, timezone

import pytest
from botocore.exceptions import ClientError

from archive_store.blobs import BlobMissing, BlobStore
from archive_store.errors import ConfigurationError, InvalidArgument
from archive_store.s3blobs import MIN_LOCK, BlobLocked, S3BlobStore, blob_key

NOW = datetime.now(timezone.utc).replace(microsecond=0)
IN_A_YEAR = NOW + timedelta(days=365)
IN_TWO_YEARS = NOW + timedelta(days=730)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def store(moto_s3, s3_bucket) -> S3BlobStore:
    return S3BlobStore(bucket=s3_bucket, endpoint=moto_s3.endpoint, region="us-east-1")


@pytest.fixture
def raw(moto_s3):
    return moto_s3.client()


def shorten_lock_to_past(raw, bucket: str, key: str) -> None:
    """Only moto allows this (real S3 refuses to shorten COMPLIANCE): it stands in for the term passing."""
    past = datetime(2020, 1, 1, tzinfo=timezone.utc)
    for version in raw.list_object_versions(Bucket=bucket, Prefix=key).get("Versions", []):
        raw.put_object_retention(Bucket=bucket, Key=key, VersionId=version["VersionId"],
                                 Retention={"Mode": "COMPLIANCE", "RetainUntilDate": past})


def test_round_trip_under_the_local_stores_keys(store, raw, tmp_path):
    assert isinstance(store, BlobStore)
    store.check_bucket()
    data = "约谈通知书 赣市监检约〔2025〕3号".encode() * 1000
    key = store.put_bytes(data, retain_until=IN_A_YEAR)
    assert key == sha(data) and store.has(key)
    assert store.read_bytes(key) == data
    with store.open(key) as f:
        assert f.read() == data
    source = tmp_path / "upload.bin"
    source.write_bytes(os.urandom(3 * (1 << 20) + 17))
    key2 = store.put_file(source, retain_until=IN_A_YEAR)
    assert key2 == sha(source.read_bytes())
    assert sorted([key, key2]) == sorted(store.iter_shas())
    listed = {o["Key"] for o in raw.list_objects_v2(Bucket=store.bucket)["Contents"]}
    assert listed == {f"{k[:2]}/{k[2:4]}/{k}" for k in (key, key2)}
    assert store.verify(key) and store.verify(key2)
    out = store.export_to(key2, tmp_path / "out.bin")
    assert out.read_bytes() == source.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin", "upload.bin"]     # no temp file left


def test_every_write_is_locked_in_compliance_mode_until_the_term(store, raw):
    key = store.put_bytes(b"dossier", retain_until=IN_A_YEAR)
    head = raw.head_object(Bucket=store.bucket, Key=blob_key(key))
    assert head["ObjectLockMode"] == "COMPLIANCE"
    assert head["ObjectLockRetainUntilDate"].astimezone(timezone.utc) == IN_A_YEAR
    assert store.locked_until(key) == IN_A_YEAR


def test_a_term_already_over_still_locks_for_a_day(store):
    key = store.put_bytes(b"old case", retain_until=datetime(2019, 1, 1, tzinfo=timezone.utc))
    until = store.locked_until(key)
    assert NOW + MIN_LOCK - timedelta(seconds=5) <= until <= datetime.now(timezone.utc) + MIN_LOCK


def test_a_later_case_sharing_the_blob_extends_its_lock_and_an_earlier_one_never_shortens_it(store, raw):
    key = store.put_bytes(b"shared attachment", retain_until=IN_A_YEAR)
    assert store.put_bytes(b"shared attachment", retain_until=IN_TWO_YEARS) == key
    assert store.locked_until(key) == IN_TWO_YEARS
    store.put_bytes(b"shared attachment", retain_until=IN_A_YEAR)
    assert store.locked_until(key) == IN_TWO_YEARS
    versions = raw.list_object_versions(Bucket=store.bucket)["Versions"]
    assert len(versions) == 1, "the same bytes again must not add a version"


def test_two_writers_of_the_same_blob_leave_one_version(store, raw):
    data = os.urandom(2 << 20)
    errors = []

    def put():
        try:
            S3BlobStore(bucket=store.bucket, endpoint=store.endpoint, region="us-east-1").put_bytes(
                data, retain_until=IN_A_YEAR)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=put) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(raw.list_object_versions(Bucket=store.bucket)["Versions"]) == 1
    assert store.read_bytes(sha(data)) == data


def test_the_store_refuses_a_direct_delete_of_a_locked_version(store, raw):
    key = store.put_bytes(b"sealed dossier", retain_until=IN_A_YEAR)
    version = raw.head_object(Bucket=store.bucket, Key=blob_key(key))["VersionId"]
    with pytest.raises(ClientError) as refused:
        raw.delete_object(Bucket=store.bucket, Key=blob_key(key), VersionId=version)
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    with pytest.raises(BlobLocked) as locked:
        store.delete(key)
    assert key in locked.value.message and "锁定至" in locked.value.message
    assert store.read_bytes(key) == b"sealed dossier"


def test_after_the_term_a_delete_removes_every_version(store, raw):
    key = store.put_bytes(b"expired dossier", retain_until=IN_A_YEAR)
    raw.delete_object(Bucket=store.bucket, Key=blob_key(key))          # no version: only a delete marker
    shorten_lock_to_past(raw, store.bucket, blob_key(key))
    store.delete(key)
    listing = raw.list_object_versions(Bucket=store.bucket)
    assert not listing.get("Versions") and not listing.get("DeleteMarkers")
    assert not store.has(key)
    store.delete(key)                                                  # a rerun is not an error


def test_legal_hold_blocks_a_delete_even_after_the_term_until_released(store, raw):
    key = store.put_bytes(b"held dossier", retain_until=IN_A_YEAR)
    store.set_legal_hold(key, True)
    head = raw.head_object(Bucket=store.bucket, Key=blob_key(key))
    assert head["ObjectLockLegalHoldStatus"] == "ON"
    shorten_lock_to_past(raw, store.bucket, blob_key(key))
    with pytest.raises(BlobLocked) as held:
        store.delete(key)
    assert "法律保全" in held.value.message
    store.set_legal_hold(key, False)
    assert raw.head_object(Bucket=store.bucket, Key=blob_key(key))["ObjectLockLegalHoldStatus"] == "OFF"
    store.delete(key)
    assert not store.has(key)


def test_an_overwritten_key_fails_verification_and_shows_both_versions(store, raw):
    key = store.put_bytes(b"original", retain_until=IN_A_YEAR)
    raw.put_object(Bucket=store.bucket, Key=blob_key(key), Body=b"forged")     # a new version on top
    assert not store.verify(key)
    [stored] = list(store.objects())
    assert stored.sha == key and len(stored.versions) == 2
    assert stored.versions[0].is_latest and stored.versions[0].retain_until is None
    assert stored.versions[1].retain_until == IN_A_YEAR


def test_missing_blobs_and_bad_names(store):
    absent = sha(b"never stored")
    assert not store.has(absent)
    assert not store.verify(absent)
    with pytest.raises(BlobMissing) as missing:
        store.open(absent)
    assert store.bucket in missing.value.message
    with pytest.raises(InvalidArgument):
        store.has("../../etc/passwd")


def test_a_bucket_without_object_lock_is_refused(moto_s3, s3_bucket):
    moto_s3.client().create_bucket(Bucket=s3_bucket + "-open")
    with pytest.raises(ConfigurationError) as refused:
        S3BlobStore(bucket=s3_bucket + "-open", endpoint=moto_s3.endpoint, region="us-east-1").check_bucket()
    assert "对象锁定" in refused.value.message


def test_an_unreachable_store_is_a_configuration_error(s3_bucket):
    from tests.services import free_port

    store = S3BlobStore(bucket=s3_bucket, endpoint=f"http://127.0.0.1:{free_port()}", region="us-east-1")
    store.client.meta.config.retries["max_attempts"] = 1
    with pytest.raises(ConfigurationError) as refused:
        store.has(sha(b"x"))
    assert "无法使用对象存储" in refused.value.message

"""[catalog] in yuetan.toml → one set of connection settings for the archive and for Django; the password
never from the file itself. Connected for real to the test cluster with the password from each source."""
from __future__ import annotations

import os

import pytest
import sqlalchemy as sa

from archive_store.database import CatalogLocation, catalog_location, make_engine
from archive_store.errors import ConfigurationError


def test_without_a_url_the_catalog_is_the_homes_sqlite_file(tmp_path):
    location = catalog_location({}, tmp_path)
    assert location.is_sqlite and location.path == tmp_path / "catalog.sqlite"
    assert location.django_database()["NAME"] == str(tmp_path / "catalog.sqlite")
    assert location.django_database()["ENGINE"] == "django.db.backends.sqlite3"
    relative = catalog_location({"catalog": {"url": "sqlite:///db/catalog.sqlite"}}, tmp_path)
    assert relative.path == tmp_path / "db" / "catalog.sqlite"
    absolute = catalog_location({"catalog": {"url": "sqlite:////srv/x.sqlite"}}, tmp_path)
    assert str(absolute.path) == "/srv/x.sqlite"


def test_postgresql_url_for_both_sqlalchemy_and_django(tmp_path, monkeypatch):
    monkeypatch.setenv("YUETAN_CATALOG_PASSWORD", "s3cret")
    location = catalog_location({"catalog": {"url": "postgresql://yuetan@db.example:6543/archive?sslmode=require"}},
                                tmp_path)
    url = location.sqlalchemy_url()
    assert (url.drivername, url.username, url.password, url.host, url.port, url.database) == \
        ("postgresql+psycopg", "yuetan", "s3cret", "db.example", 6543, "archive")
    assert url.query == {"sslmode": "require"}
    django = location.django_database()
    assert django == {"ENGINE": "django.db.backends.postgresql", "NAME": "archive", "USER": "yuetan",
                      "PASSWORD": "s3cret", "HOST": "db.example", "PORT": "6543",
                      "OPTIONS": {"sslmode": "require"}, "CONN_MAX_AGE": 60, "CONN_HEALTH_CHECKS": True}
    assert "s3cret" not in location.describe()


@pytest.mark.parametrize("raw, words", [
    ({"catalog": {"url": "postgresql://yuetan:pw@db/archive"}}, "口令不得写入 yuetan.toml"),
    ({"catalog": {"url": "mysql://db/archive"}}, "不受支持"),
    ({"catalog": {"url": "postgresql://db"}}, "主机和数据库名"),
    ({"catalog": {"url": "postgresql://db/x", "passwd": "x"}}, "不认识的设置：passwd"),
    ({"catalog": {"url": 5}}, "应为字符串"),
    ({"catalog": "postgresql://db/x"}, "应为 [catalog] 节"),
    ({"catalog": {"url": "postgresql://db/x", "pool_size": 0}}, "pool_size"),
])
def test_bad_catalog_settings_name_the_key(tmp_path, raw, words):
    with pytest.raises(ConfigurationError) as refused:
        catalog_location(raw, tmp_path)
    assert words in refused.value.message


def test_a_password_file_readable_by_others_is_refused(tmp_path, monkeypatch):
    monkeypatch.delenv("YUETAN_CATALOG_PASSWORD", raising=False)
    secret = tmp_path / "secrets" / "catalog-password"
    secret.parent.mkdir()
    secret.write_text("from-file\n")
    os.chmod(secret, 0o644)
    raw = {"catalog": {"url": "postgresql://yuetan@db/archive"}}
    with pytest.raises(ConfigurationError) as refused:
        catalog_location(raw, tmp_path)
    assert "chmod 600" in refused.value.message
    os.chmod(secret, 0o600)
    assert catalog_location(raw, tmp_path).password == "from-file"
    monkeypatch.setenv("YUETAN_CATALOG_PASSWORD", "from-env")        # the environment comes first
    assert catalog_location(raw, tmp_path).password == "from-env"


@pytest.mark.parametrize("source", ["env", "file"])
def test_connects_to_postgresql_with_the_password_from_each_source(postgres, tmp_path, monkeypatch, source):
    monkeypatch.delenv("YUETAN_CATALOG_PASSWORD", raising=False)
    raw = {"catalog": {"url": postgres.url("postgres"), "password_env": "TEST_PG_PASSWORD",
                       "password_file": str(tmp_path / "pw")}}
    if source == "env":
        monkeypatch.setenv("TEST_PG_PASSWORD", postgres.password)
    else:
        (tmp_path / "pw").write_text(postgres.password + "\n")
        os.chmod(tmp_path / "pw", 0o600)
    engine = make_engine(catalog_location(raw, tmp_path))
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT current_user")).scalar() == postgres.user
    engine.dispose()
    wrong = make_engine(CatalogLocation("postgresql", host="127.0.0.1", port=postgres.port, database="postgres",
                                        user=postgres.user, password="wrong"))
    with pytest.raises(sa.exc.OperationalError):
        wrong.connect()


@pytest.mark.parametrize("store, words", [
    ({"kind": "ftp"}, "store.kind"),
    ({"kind": "s3"}, "store.bucket"),
    ({"kind": "s3", "bucket": "b", "secret_key": "x"}, "不认识的设置：secret_key"),
    ({"kind": "s3", "bucket": "b", "path_style": "yes"}, "path_style"),
    ({"kind": "s3", "bucket": "b", "endpoint": 3}, "store.endpoint"),
])
def test_bad_store_settings_name_the_key(tmp_path, store, words):
    from archive_store.stores import open_blob_store

    with pytest.raises(ConfigurationError) as refused:
        open_blob_store({"store": store}, tmp_path)
    assert words in refused.value.message


def test_the_store_is_the_homes_folder_unless_s3_is_named(tmp_path, moto_s3, s3_bucket):
    from archive_store.blobs import FilesystemBlobStore
    from archive_store.s3blobs import S3BlobStore
    from archive_store.stores import open_blob_store

    local = open_blob_store({}, tmp_path)
    assert isinstance(local, FilesystemBlobStore) and local.root == tmp_path / "blobs"
    s3 = open_blob_store({"store": {"kind": "s3", "bucket": s3_bucket, "endpoint": moto_s3.endpoint,
                                    "region": "us-east-1"}}, tmp_path)
    assert isinstance(s3, S3BlobStore) and s3.bucket == s3_bucket
    s3.check_bucket()
    assert open_blob_store({"store": {"kind": "s3", "bucket": s3_bucket, "endpoint": moto_s3.endpoint,
                                      "region": "us-east-1"}}, tmp_path) is s3          # one client per process


def test_a_bucket_without_object_lock_is_refused_when_the_store_is_opened(tmp_path, moto_s3, s3_bucket):
    from archive_store.stores import open_blob_store

    moto_s3.client().create_bucket(Bucket=s3_bucket + "-plain")
    with pytest.raises(ConfigurationError) as refused:
        open_blob_store({"store": {"kind": "s3", "bucket": s3_bucket + "-plain", "endpoint": moto_s3.endpoint,
                                   "region": "us-east-1"}}, tmp_path)
    assert "对象锁定" in refused.value.message

-- A catalog as yuetan wrote it before Alembic (PRAGMA user_version = 1): made by the code of commit 7024d60.
-- tests/test_migrations.py loads it and upgrades it.
BEGIN TRANSACTION;
CREATE TABLE cases (
    case_id              TEXT    NOT NULL,
    version              INTEGER NOT NULL CHECK (version >= 1),
    content_sha256       TEXT    NOT NULL,
    status               TEXT    NOT NULL CHECK (status IN ('current', 'superseded', 'purged')),
    supersedes           INTEGER,
    notice_number        TEXT    NOT NULL,
    title                TEXT    NOT NULL,
    target_name          TEXT    NOT NULL,
    target_kind          TEXT    NOT NULL,
    credit_code          TEXT,
    organizer            TEXT    NOT NULL,
    organizer_level      TEXT    NOT NULL,
    region_code          TEXT    NOT NULL,
    grounds              TEXT    NOT NULL,
    outcome              TEXT    NOT NULL,
    interview_on         TEXT    NOT NULL,
    closed_on            TEXT    NOT NULL,
    archived_at          TEXT    NOT NULL,
    dossier_sha256       TEXT    NOT NULL,
    manifest_sha256      TEXT    NOT NULL,
    page_count           INTEGER NOT NULL,
    text_sha256          TEXT,
    case_json_sha256     TEXT    NOT NULL,
    manifest_json_sha256 TEXT    NOT NULL,
    indexed_at           TEXT,
    PRIMARY KEY (case_id, version)
);
INSERT INTO "cases" VALUES('JX-2025-0001',1,'cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc','current',NULL,'赣市监检约〔2025〕1号','某检测公司约谈案卷（赣市监检约〔2025〕1号）','某检测有限公司','institution','91360000MA35ABCD1X','江西省市场监督管理局','province','360000','["6.2","6.3"]','rectified','2025-03-04','2025-04-30','2025-05-06T10:00:00+08:00','dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd','eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee',12,'ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff','aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa','bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb',NULL);
INSERT INTO "cases" VALUES('JX-2025-0002',1,'cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc','current',NULL,'赣市监检约〔2025〕2号','某检测公司约谈案卷（赣市监检约〔2025〕2号）','某检测有限公司','institution','91360000MA35ABCD1X','江西省市场监督管理局','province','360000','["6.2","6.3"]','rectified','2025-03-04','2025-04-30','2025-05-06T10:00:00+08:00','dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd','eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee',12,'ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff','aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa','bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb',NULL);
CREATE TABLE destruction_plans (
    plan_id     TEXT PRIMARY KEY,
    plan_sha256 TEXT NOT NULL,
    as_of       TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    plan_json   TEXT NOT NULL,
    executed_at TEXT,
    approved_by TEXT
);
CREATE TABLE documents (
    case_id    TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    seq        INTEGER NOT NULL,
    role       TEXT    NOT NULL,
    document   TEXT    NOT NULL DEFAULT '',
    title      TEXT    NOT NULL DEFAULT '',
    name       TEXT    NOT NULL,
    media_type TEXT    NOT NULL,
    size       INTEGER NOT NULL,
    sha256     TEXT    NOT NULL,
    PRIMARY KEY (case_id, version, seq),
    FOREIGN KEY (case_id, version) REFERENCES cases (case_id, version)
);
INSERT INTO "documents" VALUES('JX-2025-0001',1,1,'notice','notice','约谈通知书','约谈通知书.pdf','application/pdf',1234,'1111111111111111111111111111111111111111111111111111111111111111');
CREATE TABLE findings (
    case_id  TEXT    NOT NULL,
    version  INTEGER NOT NULL,
    seq      INTEGER NOT NULL,
    code     TEXT    NOT NULL,
    article  TEXT    NOT NULL,
    severity TEXT    NOT NULL,
    message  TEXT    NOT NULL,
    evidence TEXT    NOT NULL,
    PRIMARY KEY (case_id, version, seq),
    FOREIGN KEY (case_id, version) REFERENCES cases (case_id, version)
);
INSERT INTO "findings" VALUES('JX-2025-0001',1,1,'P-6','第六条','warning','示例','{"k":"v"}');
CREATE TABLE holds (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id        TEXT NOT NULL,
    reason         TEXT NOT NULL,
    held_by        TEXT NOT NULL,
    held_at        TEXT NOT NULL,
    released_by    TEXT,
    released_at    TEXT,
    release_reason TEXT
);
INSERT INTO "holds" VALUES(1,'JX-2025-0002','行政复议中','档案员乙','2025-06-01T09:00:00+08:00',NULL,NULL,NULL);
CREATE TABLE ledger (
    seq        INTEGER PRIMARY KEY,
    at         TEXT NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    case_id    TEXT,
    details    TEXT NOT NULL,
    prev_hash  TEXT NOT NULL,
    entry_hash TEXT NOT NULL
);
INSERT INTO "ledger" VALUES(1,'2025-05-06T10:00:00+08:00','档案员甲','ingest','JX-2025-0001','{"dossier_sha256":"dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd","notice_number":"赣市监检约〔2025〕1号","version":1}','0000000000000000000000000000000000000000000000000000000000000000','6e2a2826c2aa3a3a5bbae610210a41e3897bdb168e6ca0f53b8d3afbc2a0d97d');
INSERT INTO "ledger" VALUES(2,'2025-05-06T10:01:00+08:00','档案员甲','ingest','JX-2025-0002','{"dossier_sha256":"dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd","notice_number":"赣市监检约〔2025〕2号","version":1}','6e2a2826c2aa3a3a5bbae610210a41e3897bdb168e6ca0f53b8d3afbc2a0d97d','07701e76adb7fd0a4800dbab9e552771981e8788257bcbaff56eaaa16848f5f1');
INSERT INTO "ledger" VALUES(3,'2025-06-01T09:00:00+08:00','档案员乙','hold','JX-2025-0002','{"reason":"行政复议中"}','07701e76adb7fd0a4800dbab9e552771981e8788257bcbaff56eaaa16848f5f1','b22e5c78dbfcce1bed885d31da590d2723d55c151ed3c2faf0e335e4e586b3d8');
CREATE TABLE notice_numbers (
    prefix      TEXT    NOT NULL,
    year        INTEGER NOT NULL,
    seq         INTEGER NOT NULL CHECK (seq >= 1),
    case_id     TEXT,
    origin      TEXT    NOT NULL CHECK (origin IN ('allocated', 'registered')),
    recorded_at TEXT    NOT NULL,
    PRIMARY KEY (prefix, year, seq)
);
INSERT INTO "notice_numbers" VALUES('赣市监检约',2025,1,'JX-2025-0001','allocated','2026-11-30T20:37:32+00:00');
INSERT INTO "notice_numbers" VALUES('赣市监检约',2025,2,'JX-2025-0002','allocated','2026-11-30T20:37:32+00:00');
CREATE TABLE tombstones (
    case_id         TEXT    NOT NULL,
    version         INTEGER NOT NULL,
    notice_number   TEXT    NOT NULL,
    target_name     TEXT    NOT NULL,
    credit_code     TEXT,
    organizer       TEXT    NOT NULL,
    interview_on    TEXT    NOT NULL,
    closed_on       TEXT    NOT NULL,
    archived_at     TEXT    NOT NULL,
    manifest_sha256 TEXT    NOT NULL,
    dossier_sha256  TEXT    NOT NULL,
    page_count      INTEGER NOT NULL,
    plan_id         TEXT    NOT NULL,
    plan_sha256     TEXT    NOT NULL,
    approved_by     TEXT    NOT NULL,
    purged_at       TEXT    NOT NULL,
    PRIMARY KEY (case_id, version)
);
CREATE UNIQUE INDEX notice_numbers_case
    ON notice_numbers (prefix, year, case_id) WHERE case_id IS NOT NULL;
CREATE UNIQUE INDEX cases_one_current ON cases (case_id) WHERE status = 'current';
CREATE INDEX cases_notice_number ON cases (notice_number);
CREATE INDEX cases_credit_code ON cases (credit_code);
CREATE INDEX cases_status ON cases (status);
CREATE INDEX documents_sha256 ON documents (sha256);
CREATE INDEX findings_code ON findings (code);
CREATE INDEX holds_case ON holds (case_id);
CREATE INDEX tombstones_notice_number ON tombstones (notice_number);
CREATE INDEX ledger_case ON ledger (case_id);
CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger
BEGIN SELECT RAISE(ABORT, '账本只能追加，不能修改已有账目'); END;
CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger
BEGIN SELECT RAISE(ABORT, '账本只能追加，不能删除已有账目'); END;
DELETE FROM "sqlite_sequence";
INSERT INTO "sqlite_sequence" VALUES('holds',1);
COMMIT;
